package load

import (
	"strconv"
	"strings"
	"testing"
)

// ledgerOf builds a slab from a compact description: one letter per delivery.
// a acked, f failed, p pending (cut off), i invalid rejected, I invalid answered 2xx.
func ledgerOf(spec string) *slab {
	var s slab
	for _, c := range spec {
		_, d := s.add()
		switch c {
		case 'a':
			d.state = stateAcked
		case 'f':
			d.state = stateFailed
		case 'p':
			d.state = statePending
		case 'i', 'I':
			d.invalid = 1 + uint8(len(invalidKinds)-1) // missing-signature
			d.got2xx = c == 'I'
		}
	}
	return &s
}

func idOf(n uint64) string { return "msg_" + strconv.FormatUint(n, 10) }

func TestReconcile(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		effects map[uint64]int // nil: no sink
		want    tally
	}{
		{"all acked, no sink", "aaa", nil,
			tally{published: 3, acked: 3, effects: -1}},
		{"mixed states", "aafpp", nil,
			tally{published: 5, acked: 2, failed: 1, cutOff: 2, effects: -1}},
		{"exactly once", "aaf", map[uint64]int{0: 1, 1: 1},
			tally{published: 3, acked: 2, failed: 1, effects: 2, observed: true}},
		{"lost and doubled", "aaaf", map[uint64]int{0: 2, 2: 1, 3: 3},
			tally{published: 4, acked: 3, failed: 1, effects: 6, lost: 1, doubled: 2, observed: true}},
		{"a failed event with its one effect is fine", "f", map[uint64]int{0: 1},
			tally{published: 1, failed: 1, effects: 1, observed: true}},
		{"invalid accepted by status or by effect", "iIia", map[uint64]int{2: 1, 3: 1},
			tally{published: 1, acked: 1, invalidSent: 3, invalidAccepted: 2, effects: 2, observed: true}},
	}
	for _, tt := range tests {
		var c counts
		if tt.effects != nil {
			c = func(id string) int {
				n, _ := strconv.ParseUint(strings.TrimPrefix(id, "msg_"), 10, 64)
				return tt.effects[n]
			}
		}
		got := reconcile(ledgerOf(tt.spec), idOf, c)
		w := tt.want
		if got.published != w.published || got.acked != w.acked || got.failed != w.failed || got.cutOff != w.cutOff ||
			got.invalidSent != w.invalidSent || got.invalidAccepted != w.invalidAccepted || got.effects != w.effects ||
			got.lost != w.lost || got.doubled != w.doubled || got.observed != w.observed {
			t.Errorf("%s: got %+v\nwant %+v", tt.name, got, w)
		}
		if got.published != got.acked+got.failed+got.cutOff {
			t.Errorf("%s: the arithmetic does not close: %+v", tt.name, got)
		}
	}
}

func TestVoidReason(t *testing.T) {
	ok := tally{published: 10, acked: 8, failed: 1, cutOff: 1}
	whole := checks{created: 12, resolved: 12, results: 12, ok: 9, vegetaOK: 9}
	tests := []struct {
		name string
		t    tally
		c    checks
		want string
	}{
		{"closes", ok, whole, ""},
		{"arithmetic", tally{published: 10, acked: 8}, whole, "published 10 != acked 8 + failed 0 + cut off 0"},
		{"unrecorded attempt", ok, checks{created: 12, resolved: 11, results: 12, ok: 9, vegetaOK: 9}, "12 attempts sent but 11 outcomes recorded"},
		{"missing result", ok, checks{created: 12, resolved: 12, results: 13, ok: 9, vegetaOK: 9}, "Vegeta reported 13 results"},
		{"ack disagreement", ok, checks{created: 12, resolved: 12, results: 12, ok: 9, vegetaOK: 8}, "9 acks recorded but Vegeta counted 8"},
	}
	for _, tt := range tests {
		got := voidReason(tt.t, tt.c)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		l := tt.t.ledger(tt.c, 12, 2)
		if l.Void != (tt.want != "") || l.VoidReason != got {
			t.Errorf("%s: ledger void %v %q", tt.name, l.Void, l.VoidReason)
		}
	}
}

func TestAcceptedDetail(t *testing.T) {
	tl := tally{invalidAccepted: 3, acceptedBy: map[Invalid]int{InvalidStaleTimestamp: 2, InvalidTamperedBody: 1}}
	if got := tl.acceptedDetail(); got != "3 (stale-timestamp: 2, tampered-body: 1)" {
		t.Errorf("got %q", got)
	}
	if got := (tally{}).acceptedDetail(); got != "0" {
		t.Errorf("got %q", got)
	}
}

func TestSlabGrowsAcrossChunks(t *testing.T) {
	var s slab
	for i := 0; i < 3<<chunkBits; i++ {
		n, d := s.add()
		d.seq = int64(n)
	}
	for _, n := range []uint64{0, 1<<chunkBits - 1, 1 << chunkBits, 3<<chunkBits - 1} {
		if got := s.get(n).seq; got != int64(n) {
			t.Errorf("get(%d).seq = %d", n, got)
		}
	}
}

func TestExactlyOnceDetail(t *testing.T) {
	tl := tally{foreign: 7}
	tests := []struct {
		n    int
		ex   []string
		lost bool
		want string
	}{
		{0, nil, true, "0"},
		{2, []string{"msg_a_1_4", "msg_a_1_9"}, false, "2 (e.g. msg_a_1_4, msg_a_1_9)"},
		{1, []string{"msg_a_1_4"}, true, "1 (e.g. msg_a_1_4); the sink got effects for 7 ids this run never sent: is webhook_id the delivery id?"},
	}
	for _, tt := range tests {
		if got := tl.exactlyOnceDetail(tt.n, tt.ex, tt.lost); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
