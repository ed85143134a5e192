package chaos

import (
	"testing"
)

func TestPassThrough(t *testing.T) {
	r := newRig(t, 1)
	status, body, err := r.send(t, "msg_1", `{"id":"msg_1"}`)
	if err != nil || status != 200 {
		t.Fatalf("send: status %d, err %v", status, err)
	}
	if want := "upstream saw 14 bytes"; len(body) < len(want) || body[:len(want)] != want {
		t.Errorf("body = %q, want prefix %q", body, want)
	}
	if got := r.up.hits(); got != 1 {
		t.Errorf("upstream hits = %d, want 1", got)
	}
	l := r.proxy.Ledger()
	if len(l) != 1 || l[0].Key != "msg_1" || l[0].Attempt != 1 || l[0].UpstreamStatus != 200 || l[0].Outcome != "answered" {
		t.Errorf("ledger = %+v", l)
	}
}
