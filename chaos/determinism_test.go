package chaos

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// decisions runs the same deliveries through a fresh proxy with 8 concurrent clients and
// returns what happened to each (key, attempt, copy), faults and notes included.
func decisions(t *testing.T, seed int64) map[string]string {
	t.Helper()
	r := newRig(t, seed,
		spec("drop", 0.2, "mode", "502"),
		spec("error", 0.15, "status", "500|502|503"),
		spec("corrupt", 0.2),
		spec("duplicate", 0.2, "copies", "2"),
		spec("delay", 0.3, "duration", "0-3ms"),
	)
	const clients, perClient, attempts = 8, 25, 3
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				id := fmt.Sprintf("msg_%d_%d", c, i)
				// Each delivery's attempts are sequential, as a sender's retries are; the
				// deliveries of different clients interleave however the scheduler likes.
				for a := 0; a < attempts; a++ {
					if _, _, err := r.send(t, id, `{"n":`+fmt.Sprint(i)+`}`); err != nil {
						t.Errorf("%s: %v", id, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	want := clients * perClient * attempts
	eventually(t, "all copies", func() bool {
		st := r.proxy.Stats()
		return st.Requests == int64(want) && int64(len(r.proxy.Ledger())) == st.Requests+st.Copies &&
			st.Copies == 2*st.Faults["duplicate"]
	})
	out := map[string]string{}
	for _, e := range r.proxy.Ledger() {
		k := fmt.Sprintf("%s/%d/%d", e.Key, e.Attempt, e.Copy)
		out[k] = fmt.Sprintf("faults=%v notes=%v status=%d", e.Faults, e.Notes, e.Status)
	}
	if len(out) != want+int(r.proxy.Stats().Copies) {
		t.Fatalf("%d distinct (key, attempt, copy), want %d", len(out), want)
	}
	return out
}

func TestSameSeedSameDecisions(t *testing.T) {
	a, b := decisions(t, 99), decisions(t, 99)
	if !maps.Equal(a, b) {
		var diff []string
		for k, v := range a {
			if b[k] != v {
				diff = append(diff, fmt.Sprintf("%s: %s / %s", k, v, b[k]))
			}
		}
		sort.Strings(diff)
		if len(diff) > 5 {
			diff = diff[:5]
		}
		t.Fatalf("two runs with seed 99 differ (%d vs %d entries):\n%s", len(a), len(b), strings.Join(diff, "\n"))
	}
	faulted := 0
	for _, v := range a {
		if !strings.HasPrefix(v, "faults=[] ") {
			faulted++
		}
	}
	if faulted == 0 {
		t.Fatal("no request was faulted: the comparison proves nothing")
	}
	if c := decisions(t, 100); maps.Equal(a, c) {
		t.Error("seeds 99 and 100 gave identical decisions: the seed does nothing")
	}
}

func TestDefaultKey(t *testing.T) {
	cases := []struct {
		name   string
		header http.Header
		body   string
		want   string
	}{
		{"standard", http.Header{"Webhook-Id": {"msg_1"}}, `{"id":"evt"}`, "msg_1"},
		{"github", http.Header{"X-Github-Delivery": {"gh-1"}}, ``, "gh-1"},
		{"shopify", http.Header{"X-Shopify-Webhook-Id": {"sh-1"}}, ``, "sh-1"},
		{"order", http.Header{"X-Github-Delivery": {"gh"}, "Webhook-Id": {"std"}}, ``, "std"},
		{"stripe body", nil, ` {"id":"evt_1","object":"event"}`, "evt_1"},
		{"numeric id is no id", nil, `{"id":42}`, ""},
		{"header value trimmed", http.Header{"Webhook-Id": {" msg_2 "}}, ``, "msg_2"},
		{"repeated header is no id", http.Header{"Webhook-Id": {"a", "b"}}, `{"id":"evt"}`, ""},
		{"key spelled exactly id", nil, `{"ID":"x"}`, ""},
		{"nested id ignored", nil, `{"data":{"id":"x"}}`, ""},
		{"not json", nil, `id=3`, ""},
		{"array", nil, `[{"id":"x"}]`, ""},
		{"bool id", nil, `{"id":true}`, ""},
		{"empty", nil, ``, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header = tc.header
			if r.Header == nil {
				r.Header = http.Header{}
			}
			if got := DefaultKey(r, []byte(tc.body)); got != tc.want {
				t.Errorf("DefaultKey = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCounterKeyWithoutID(t *testing.T) {
	r := newRig(t, 1)
	for i := 0; i < 3; i++ {
		r.send(t, "", "plain")
	}
	var keys []string
	for _, e := range r.proxy.Ledger() {
		keys = append(keys, fmt.Sprintf("%s/%d", e.Key, e.Attempt))
	}
	if got := strings.Join(keys, " "); got != "req-1/1 req-2/1 req-3/1" {
		t.Errorf("keys = %s, want a counter, each its own attempt 1", got)
	}
}

func TestAttemptMemoryIsBounded(t *testing.T) {
	a := newAttempts(4)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		a.next(k)
	}
	if n := a.next("e"); n != 2 {
		t.Errorf("recent key attempt = %d, want 2", n)
	}
	if len(a.cur)+len(a.prev) > 4+1 {
		t.Errorf("remembers %d keys, want at most about 4", len(a.cur)+len(a.prev))
	}
	if n := a.next("a"); n != 1 {
		t.Errorf("forgotten key attempt = %d, want 1", n)
	}
}

func TestLedgerIsBounded(t *testing.T) {
	up := httptest.NewServer(&counter{})
	defer up.Close()
	p, err := NewProxy(up.URL, WithLedgerLimit(5))
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	defer ps.Close()
	for i := 0; i < 12; i++ {
		resp, err := http.Post(ps.URL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	l := p.Ledger()
	if len(l) != 5 || l[0].Seq != 8 || l[4].Seq != 12 {
		t.Errorf("ledger seqs = %v, want the last 5 (8..12)", seqs(l))
	}
	if st := p.Stats(); st.LedgerDropped != 7 || st.Requests != 12 {
		t.Errorf("stats = %+v, want 12 requests and 7 dropped entries", st)
	}
	p.Reset()
	if len(p.Ledger()) != 0 || p.Stats().Requests != 0 {
		t.Error("Reset left entries or counters")
	}
}

func seqs(l []Entry) []uint64 {
	var s []uint64
	for _, e := range l {
		s = append(s, e.Seq)
	}
	return s
}
