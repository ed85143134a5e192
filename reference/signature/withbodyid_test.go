package signature

import (
	"errors"
	"testing"
)

// WithBodyID changes only the id's bytes, takes slack's event_id, and refuses what it cannot
// rewrite safely.
func TestWithBodyID(t *testing.T) {
	for _, tt := range []struct{ scheme, in, want string }{
		{"stripe", `{ "id" : "evt_1", "object":"event","data":{"id":"x"}}`, `{ "id" : "evt_2", "object":"event","data":{"id":"x"}}`},
		{"slack", `{"type":"event_callback","event_id":"Ev1","id":"other"}`, `{"type":"event_callback","event_id":"evt_2","id":"other"}`},
		{"stripe", `{"i\u0064":"evt_1"}`, `{"i\u0064":"evt_2"}`},
	} {
		got, err := WithBodyID(tt.scheme, []byte(tt.in), "evt_2")
		if err != nil || string(got) != tt.want {
			t.Errorf("%s %s: %s, %v; want %s", tt.scheme, tt.in, got, err, tt.want)
		}
		if id := SchemeBodyID(tt.scheme, got); id != "evt_2" {
			t.Errorf("%s: SchemeBodyID of the rewritten body is %q", tt.scheme, id)
		}
	}
	for _, in := range []string{`{"id":1}`, `{"id":"a","id":"b"}`, `{"object":"event"}`, `[{"id":"a"}]`, `not json`} {
		if _, err := WithBodyID("stripe", []byte(in), "evt_2"); !errors.Is(err, ErrBodyID) {
			t.Errorf("%s: error %v, want ErrBodyID", in, err)
		}
	}
	for _, id := range []string{"", `a"b`, `a\b`, "é"} {
		if _, err := WithBodyID("stripe", []byte(`{"id":"x"}`), id); !errors.Is(err, ErrBodyID) {
			t.Errorf("id %q: error %v, want ErrBodyID", id, err)
		}
	}
}

func TestRetryHeaders(t *testing.T) {
	for _, name := range Names() {
		h := make(map[string][]string)
		SetRetryHeaders(name, h, 3)
		if len(h) != len(RetryHeaders(name)) {
			t.Errorf("%s: SetRetryHeaders set %v, RetryHeaders lists %v", name, h, RetryHeaders(name))
		}
		for _, k := range RetryHeaders(name) {
			if _, ok := h[k]; !ok {
				t.Errorf("%s: %s listed but not set", name, k)
			}
		}
	}
}
