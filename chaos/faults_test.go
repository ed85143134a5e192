package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultTests are, per registered fault type, the tests of what it does. A new fault type
// adds its tests (here, or in a file of its own) and its line in this table:
// TestRegistryIsComplete fails for a registered type without one.
var faultTests = map[string][]func(*testing.T){
	"corrupt":   {TestCorruptIsRejected, TestChangeChar},
	"delay":     {TestDelayHonoured, TestClientGoneWhileDelayed},
	"drop":      {TestDropRate, TestDropModes},
	"duplicate": {TestDuplicateRate, TestDuplicateAfterDelay},
	"error":     {TestErrorStatus},
	"lost-ack":  {TestLostAck},
	"reorder":   {TestReorderChangesOrder, TestReorderDoesNotStallASequentialClient},
	"replay":    {TestReplay},
	"reset":     {TestResetPartway},
	"timeout":   {TestTimeout, TestTimeoutMax},
}

func spec(typ string, p float64, params ...string) FaultSpec {
	s := FaultSpec{Type: typ, Probability: p}
	for i := 0; i+1 < len(params); i += 2 {
		if s.Params == nil {
			s.Params = Params{}
		}
		s.Params[params[i]] = params[i+1]
	}
	return s
}

func TestDropRate(t *testing.T) {
	const n, p = 1000, 0.1
	r := newRig(t, 42, spec("drop", p, "mode", "502"))
	drops := 0
	for i := 0; i < n; i++ {
		status, _, err := r.send(t, "msg_"+strconv.Itoa(i), "{}")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if status == http.StatusBadGateway {
			drops++
		}
	}
	lo, hi := binomialBound(n, p)
	if drops < lo || drops > hi {
		t.Errorf("drops = %d of %d at p=%g, want within [%d,%d]", drops, n, p, lo, hi)
	}
	if got := r.up.hits(); got != n-drops {
		t.Errorf("upstream hits = %d, want %d (every request not dropped)", got, n-drops)
	}
	if got := r.proxy.Stats().Faults["drop"]; got != int64(drops) {
		t.Errorf("drop counter = %d, want %d", got, drops)
	}
}

func TestDropModes(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		r := newRig(t, 1, spec("drop", 1))
		if _, _, err := r.send(t, "a", "{}"); err == nil {
			t.Fatal("want a transport error from a reset, got an answer")
		}
		if r.up.hits() != 0 {
			t.Errorf("upstream hits = %d, want 0", r.up.hits())
		}
		eventually(t, "ledger entry", func() bool {
			l := r.proxy.Ledger()
			return len(l) == 1 && l[0].Outcome == "reset" && l[0].Forwarded == 0
		})
	})
	t.Run("hang", func(t *testing.T) {
		r := newRig(t, 1, spec("drop", 1, "mode", "hang"))
		r.client.Timeout = 200 * time.Millisecond
		start := time.Now()
		_, _, err := r.send(t, "a", "{}")
		if err == nil || time.Since(start) < 200*time.Millisecond {
			t.Fatalf("want the client's own timeout after 200ms, got err=%v after %s", err, time.Since(start))
		}
		eventually(t, "hang recorded", func() bool {
			l := r.proxy.Ledger()
			return len(l) == 1 && l[0].Outcome == "hang"
		})
		if r.up.hits() != 0 {
			t.Errorf("upstream hits = %d, want 0", r.up.hits())
		}
	})
}

func TestDuplicateRate(t *testing.T) {
	const n, p = 600, 0.2
	r := newRig(t, 7, spec("duplicate", p))
	for i := 0; i < n; i++ {
		if status, _, err := r.send(t, "msg_"+strconv.Itoa(i), "{}"); err != nil || status != 200 {
			t.Fatalf("request %d: status %d, err %v", i, status, err)
		}
	}
	fired := int(r.proxy.Stats().Faults["duplicate"])
	lo, hi := binomialBound(n, p)
	if fired < lo || fired > hi {
		t.Errorf("duplicated %d of %d at p=%g, want within [%d,%d]", fired, n, p, lo, hi)
	}
	eventually(t, "copies to arrive", func() bool { return r.up.hits() == n+fired })
	// A copy is counted once its exchange ends, which may be just after the upstream saw it.
	eventually(t, "copies to be counted", func() bool {
		st := r.proxy.Stats()
		return st.Copies == int64(fired) && st.Forwarded == int64(n+fired)
	})
}

func TestDuplicateAfterDelay(t *testing.T) {
	r := newRig(t, 1, spec("duplicate", 1, "copies", "2", "after", "150ms"))
	start := time.Now()
	if status, _, err := r.send(t, "a", "body"); err != nil || status != 200 {
		t.Fatalf("status %d, err %v", status, err)
	}
	if r.up.hits() != 1 {
		t.Errorf("upstream hits right after the answer = %d, want 1 (copies come later)", r.up.hits())
	}
	eventually(t, "two delayed copies", func() bool { return r.up.hits() == 3 })
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("copies arrived after %s, want >= 150ms", el)
	}
	for _, b := range r.up.bodies {
		if b != "body" {
			t.Errorf("copy body = %q, want the original", b)
		}
	}
}

func TestDelayHonoured(t *testing.T) {
	cases := []struct {
		name, duration, when string
		min                  time.Duration
	}{
		{"fixed before request", "150ms", "request", 150 * time.Millisecond},
		{"fixed before response", "150ms", "response", 150 * time.Millisecond},
		{"both", "100ms", "both", 200 * time.Millisecond},
		{"uniform", "100ms-200ms", "request", 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 3, spec("delay", 1, "duration", tc.duration, "when", tc.when))
			start := time.Now()
			if status, _, err := r.send(t, "a", "{}"); err != nil || status != 200 {
				t.Fatalf("status %d, err %v", status, err)
			}
			el := time.Since(start)
			// The lower bound is exact; the upper one is generous, for a busy 2-core machine.
			if el < tc.min || el > tc.min+3*time.Second {
				t.Errorf("took %s, want %s to %s", el, tc.min, tc.min+3*time.Second)
			}
			l := r.proxy.Ledger()
			if len(l) != 1 || len(l[0].Notes) == 0 {
				t.Fatalf("ledger = %+v, want one entry with notes", l)
			}
			d := noteDuration(t, l[0].Notes[0])
			dist, _ := ParseDist(tc.duration)
			if d < dist.A || (dist.Kind == Uniform && d > dist.B) {
				t.Errorf("noted delay %s outside %s", d, tc.duration)
			}
			if el < d {
				t.Errorf("took %s, less than the noted delay %s", el, d)
			}
		})
	}
}

// noteDuration reads the duration a delay note starts with ("delay: 150ms before ...").
func noteDuration(t *testing.T, note string) time.Duration {
	t.Helper()
	f := strings.Fields(strings.TrimPrefix(note, "delay: "))
	d, err := time.ParseDuration(f[0])
	if err != nil {
		t.Fatalf("note %q: %v", note, err)
	}
	return d
}

func TestReorderChangesOrder(t *testing.T) {
	const n = 8
	r := newRig(t, 11, spec("reorder", 1, "window", strconv.Itoa(n), "hold", "10s"))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	arrival := make([]string, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("msg_%02d", i)
		arrival[i] = id
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _, err := r.send(t, id, "{}"); err != nil || status != 200 {
				errs <- fmt.Errorf("%s: status %d, err %v", id, status, err)
			}
		}()
		// Send the next only once this one is inside the proxy, so arrival order is known.
		eventually(t, "arrival of "+id, func() bool { return r.proxy.Stats().Requests == int64(i+1) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := r.up.received()
	if len(got) != n {
		t.Fatalf("upstream got %d requests, want %d", len(got), n)
	}
	if slices.Equal(got, arrival) {
		t.Errorf("upstream order %v equals arrival order: not reordered", got)
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, arrival) {
		t.Errorf("upstream got %v, want a permutation of %v", got, arrival)
	}
}

func TestReorderDoesNotStallASequentialClient(t *testing.T) {
	r := newRig(t, 1, spec("reorder", 1, "window", "8", "hold", "100ms"))
	start := time.Now()
	for i := 0; i < 3; i++ {
		if status, _, err := r.send(t, "m"+strconv.Itoa(i), "{}"); err != nil || status != 200 {
			t.Fatalf("request %d: status %d, err %v", i, status, err)
		}
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 5*time.Second {
		t.Errorf("3 sequential requests took %s, want each held about 100ms", el)
	}
}

func TestErrorStatus(t *testing.T) {
	cases := []struct {
		params     []string
		status     int
		retryAfter string
	}{
		{nil, 503, "1"},
		{[]string{"status", "500"}, 500, ""},
		{[]string{"status", "502"}, 502, ""},
		{[]string{"status", "429", "retry-after", "30s"}, 429, "30"},
		{[]string{"status", "429"}, 429, "1"},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			r := newRig(t, 1, spec("error", 1, tc.params...))
			resp, err := r.client.Post(r.srv.URL+"/x", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("got %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tc.status, tc.retryAfter)
			}
			if r.up.hits() != 0 {
				t.Errorf("upstream hits = %d, want 0", r.up.hits())
			}
		})
	}
}

func TestLostAck(t *testing.T) {
	for _, mode := range []string{"reset", "502"} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t, 1, spec("lost-ack", 1, "mode", mode))
			status, _, err := r.send(t, "a", "{}")
			switch mode {
			case "reset":
				if err == nil {
					t.Errorf("client got %d, want a transport error", status)
				}
			default:
				if err != nil || status != 502 {
					t.Errorf("client got %d, %v; want 502", status, err)
				}
			}
			if r.up.hits() != 1 {
				t.Errorf("upstream hits = %d, want 1: the upstream processed it", r.up.hits())
			}
			eventually(t, "ledger", func() bool {
				l := r.proxy.Ledger()
				return len(l) == 1 && l[0].UpstreamStatus == 200
			})
		})
	}
}

func TestReplay(t *testing.T) {
	r := newRig(t, 1, spec("replay", 1, "after", "150ms"))
	start := time.Now()
	if status, _, err := r.send(t, "a", "payload"); err != nil || status != 200 {
		t.Fatalf("status %d, err %v", status, err)
	}
	eventually(t, "the replay", func() bool { return r.up.hits() == 2 })
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("replay after %s, want >= 150ms", el)
	}
	if got := r.up.received(); got[0] != "a" || got[1] != "a" || r.up.bodies[1] != "payload" {
		t.Errorf("upstream got %v %v, want the same delivery twice", got, r.up.bodies)
	}
	eventually(t, "copy in ledger", func() bool {
		for _, e := range r.proxy.Ledger() {
			if e.Copy == 1 && e.Origin == "replay" && e.Outcome == "copy" && e.UpstreamStatus == 200 {
				return true
			}
		}
		return false
	})
}

func TestResetPartway(t *testing.T) {
	r := newRig(t, 1, spec("reset", 1, "at", "0.9"))
	resp, err := r.client.Post(r.srv.URL+"/x", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("want the headers to arrive (cut at 90%%), got %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("read the whole body %q, want an error part-way", b)
	}
	if len(b) == 0 {
		t.Errorf("read no body byte, want part of it")
	}
	if r.up.hits() != 1 {
		t.Errorf("upstream hits = %d, want 1", r.up.hits())
	}
}

func TestTimeout(t *testing.T) {
	r := newRig(t, 1, spec("timeout", 1))
	r.client.Timeout = 200 * time.Millisecond
	_, _, err := r.send(t, "a", "{}")
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a client timeout, got %v", err)
	}
	if r.up.hits() != 0 {
		t.Errorf("upstream hits = %d, want 0", r.up.hits())
	}
}

func TestTimeoutMax(t *testing.T) {
	r := newRig(t, 1, spec("timeout", 1, "max", "100ms", "forward", "true"))
	start := time.Now()
	if _, _, err := r.send(t, "a", "{}"); err == nil {
		t.Fatal("want a reset after max, got an answer")
	}
	if el := time.Since(start); el < 100*time.Millisecond || el > 5*time.Second {
		t.Errorf("reset after %s, want about 100ms", el)
	}
	if r.up.hits() != 1 {
		t.Errorf("upstream hits = %d, want 1 with forward=true", r.up.hits())
	}
}

func TestMatchAttempts(t *testing.T) {
	s := spec("error", 1)
	s.Match = Match{Attempts: "1-2", Method: "POST", Path: "/ho*"}
	r := newRig(t, 1, s)
	var got []int
	for i := 0; i < 3; i++ {
		status, _, err := r.send(t, "evt_1", "{}")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, status)
	}
	if want := []int{503, 503, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v (first two attempts fail)", got, want)
	}
	// Another delivery starts again at attempt 1.
	if status, _, _ := r.send(t, "evt_2", "{}"); status != 503 {
		t.Errorf("first attempt of another delivery = %d, want 503", status)
	}
}

func TestMatchRules(t *testing.T) {
	x := &Exchange{Method: "POST", Path: "/webhooks/stripe", Attempt: 3,
		Header: http.Header{"X-Env": {"staging-eu"}, "Webhook-Id": {"msg_1"}}}
	cases := []struct {
		m    Match
		want bool
	}{
		{Match{}, true},
		{Match{Method: "post"}, true},
		{Match{Method: "GET,PUT"}, false},
		{Match{Path: "/webhooks/*"}, true},
		{Match{Path: "/other/*"}, false},
		{Match{Path: "*stripe"}, true},
		{Match{Header: map[string]string{"x-env": "staging-*"}}, true},
		{Match{Header: map[string]string{"x-env": "prod*"}}, false},
		{Match{Header: map[string]string{"webhook-id": "*"}}, true},
		{Match{Header: map[string]string{"x-missing": "*"}}, false},
		{Match{Attempts: "3"}, true},
		{Match{Attempts: "1-2"}, false},
		{Match{Attempts: "2-"}, true},
		{Match{Attempts: "4-"}, false},
	}
	for _, tc := range cases {
		m, err := tc.m.compile()
		if err != nil {
			t.Fatalf("%+v: %v", tc.m, err)
		}
		if got := m.matches(x); got != tc.want {
			t.Errorf("%+v matches = %v, want %v", tc.m, got, tc.want)
		}
	}
	for _, bad := range []Match{{Attempts: "0"}, {Attempts: "3-1"}, {Attempts: "x"}, {Method: "P OST"}, {Header: map[string]string{"a b": "x"}}} {
		if _, err := bad.compile(); err == nil {
			t.Errorf("%+v compiled, want an error", bad)
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"*", "", true}, {"*", "abc", true}, {"a*c", "abbbc", true},
		{"a*c", "abcd", false}, {"/a/*", "/a/b/c", true}, {"*b*", "abc", true},
		{"a?c", "abc", false}, {"**x", "yyx", true}, {"abc", "ab", false},
	}
	for _, tc := range cases {
		if got := glob(tc.p, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestComposeInDeclaredOrder(t *testing.T) {
	// error before drop: error answers first, drop never runs.
	r := newRig(t, 1, spec("error", 1, "status", "500"), spec("drop", 1))
	if status, _, err := r.send(t, "a", "{}"); err != nil || status != 500 {
		t.Fatalf("got %d, %v; want the outer error's 500", status, err)
	}
	l := r.proxy.Ledger()
	if len(l) != 1 || !slices.Equal(l[0].Faults, []string{"error"}) {
		t.Errorf("faults = %v, want [error]", l[0].Faults)
	}
	// delay then duplicate: the copy goes through what follows duplicate only.
	r = newRig(t, 1, spec("delay", 1, "duration", "10ms"), spec("duplicate", 1), spec("error", 1, "status", "502"))
	if status, _, _ := r.send(t, "a", "{}"); status != 502 {
		t.Errorf("status %d, want 502 from the innermost error", status)
	}
	eventually(t, "copy entry", func() bool {
		for _, e := range r.proxy.Ledger() {
			if e.Copy == 1 && slices.Equal(e.Faults, []string{"error"}) && e.Forwarded == 0 {
				return true
			}
		}
		return false
	})
	if r.up.hits() != 0 {
		t.Errorf("upstream hits = %d, want 0", r.up.hits())
	}
}

func TestClientGoneWhileDelayed(t *testing.T) {
	r := newRig(t, 1, spec("delay", 1, "duration", "10s"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.srv.URL, strings.NewReader("{}"))
	if _, err := r.client.Do(req); err == nil {
		t.Fatal("want the client's deadline to fire")
	}
	eventually(t, "client-gone in ledger", func() bool {
		l := r.proxy.Ledger()
		return len(l) == 1 && l[0].Outcome == "client-gone" && l[0].Forwarded == 0
	})
}
