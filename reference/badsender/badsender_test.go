package badsender

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
)

var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("badsender-test-secret-32-bytes!!"))

type hit struct {
	at   time.Time
	path string
	h    http.Header
	body []byte
}

// scriptedEndpoint answers request i with answers[i] (the last repeats) and records every request.
type scriptedEndpoint struct {
	mu      sync.Mutex
	hits    []hit
	answers []func(w http.ResponseWriter)
}

func (e *scriptedEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.hits = append(e.hits, hit{time.Now(), r.URL.Path, r.Header.Clone(), b})
	n := len(e.hits)
	e.mu.Unlock()
	if r.URL.Path == "/moved" || len(e.answers) == 0 {
		w.WriteHeader(200)
		return
	}
	e.answers[min(n-1, len(e.answers)-1)](w)
}

func (e *scriptedEndpoint) snapshot() []hit {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]hit(nil), e.hits...)
}

func status(code int, kv ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(code)
	}
}

func hold(d time.Duration, code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { time.Sleep(d); w.WriteHeader(code) }
}

// sendOne registers an endpoint at url on s's API and sends one event.
func sendOne(t *testing.T, api, url string) {
	t.Helper()
	c, err := sender.NewClient(api, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ep, err := c.CreateEndpoint(ctx, sender.EndpointSpec{URL: url, Secret: testSecret}, "k:"+url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, sender.SendRequest{EndpointID: ep.ID, Type: "order.updated", Data: json.RawMessage(`{"seq":1}`)}, ""); err != nil {
		t.Fatal(err)
	}
}

func waitHits(t *testing.T, e *scriptedEndpoint, n int, within time.Duration) []hit {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(e.snapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests within %s, want %d", len(e.snapshot()), within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e.snapshot()
}

func ts(h hit) int64 { n, _ := strconv.ParseInt(h.h.Get("webhook-timestamp"), 10, 64); return n }

func bodyTS(t *testing.T, h hit) int64 {
	var env event.Envelope
	if err := json.Unmarshal(h.body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Timestamp.Unix()
}

func TestFlaws(t *testing.T) {
	tests := []struct {
		flaw    string
		answers []func(http.ResponseWriter)
		want    int // requests to wait for
		quiet   time.Duration
		check   func(t *testing.T, hits []hit)
	}{
		{None, []func(http.ResponseWriter){status(500), status(200)}, 2, 300 * time.Millisecond, func(t *testing.T, h []hit) {
			if len(h) != 2 || h[0].h.Get("webhook-id") != h[1].h.Get("webhook-id") {
				t.Errorf("control: %d requests, ids %q %q; want 2 with one id", len(h), h[0].h.Get("webhook-id"), h[len(h)-1].h.Get("webhook-id"))
			}
		}},
		{"new-id-per-retry", []func(http.ResponseWriter){status(500), status(200)}, 2, 0, func(t *testing.T, h []hit) {
			if h[0].h.Get("webhook-id") == h[1].h.Get("webhook-id") {
				t.Error("the retry kept its id")
			}
		}},
		{"event-time-timestamp", []func(http.ResponseWriter){hold(1100*time.Millisecond, 500), status(200)}, 2, 0, func(t *testing.T, h []hit) {
			if ts(h[1]) != bodyTS(t, h[1]) {
				t.Errorf("retry signed at %d, event at %d: want the event time", ts(h[1]), bodyTS(t, h[1]))
			}
		}},
		{None, []func(http.ResponseWriter){hold(1100*time.Millisecond, 500), status(200)}, 2, 0, func(t *testing.T, h []hit) {
			if ts(h[1]) <= bodyTS(t, h[1]) {
				t.Errorf("control: retry signed at %d, event at %d: want the attempt's own time", ts(h[1]), bodyTS(t, h[1]))
			}
		}},
		{"no-retries", []func(http.ResponseWriter){status(500)}, 1, 500 * time.Millisecond, func(t *testing.T, h []hit) {
			if len(h) != 1 {
				t.Errorf("%d requests, want 1", len(h))
			}
		}},
		{"no-backoff", []func(http.ResponseWriter){status(500), status(500), status(500), status(200)}, 4, 0, func(t *testing.T, h []hit) {
			d1, d3 := h[1].at.Sub(h[0].at), h[3].at.Sub(h[2].at)
			if d3 > 3*d1/2 {
				t.Errorf("delays %s then %s: it backs off", d1, d3)
			}
		}},
		{"follows-redirects", []func(http.ResponseWriter){status(302, "Location", "/moved")}, 2, 0, func(t *testing.T, h []hit) {
			if h[1].path != "/moved" {
				t.Errorf("second request to %s, want the redirect followed to /moved", h[1].path)
			}
		}},
		{None, []func(http.ResponseWriter){status(302, "Location", "/moved"), status(200)}, 2, 0, func(t *testing.T, h []hit) {
			if h[1].path == "/moved" {
				t.Error("control followed a redirect")
			}
		}},
		{"3xx-is-success", []func(http.ResponseWriter){status(302, "Location", "/moved")}, 1, 500 * time.Millisecond, func(t *testing.T, h []hit) {
			if len(h) != 1 {
				t.Errorf("%d requests after a 302, want 1 (neither followed nor retried)", len(h))
			}
		}},
		{"ignores-retry-after", []func(http.ResponseWriter){status(429, "Retry-After", "1"), status(200)}, 2, 0, func(t *testing.T, h []hit) {
			if d := h[1].at.Sub(h[0].at); d >= time.Second {
				t.Errorf("retry after %s, want it on the schedule, ignoring Retry-After: 1", d)
			}
		}},
		{None, []func(http.ResponseWriter){status(429, "Retry-After", "1"), status(200)}, 2, 0, func(t *testing.T, h []hit) {
			if d := h[1].at.Sub(h[0].at); d < time.Second {
				t.Errorf("control retried after %s despite Retry-After: 1", d)
			}
		}},
		{None, []func(http.ResponseWriter){status(410)}, 1, 500 * time.Millisecond, func(t *testing.T, h []hit) {
			if len(h) != 1 {
				t.Errorf("control: %d requests after a 410, want 1", len(h))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.flaw, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.flaw, WithRequestTimeout(3*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			api := httptest.NewServer(s)
			defer api.Close()
			ep := &scriptedEndpoint{answers: tt.answers}
			srv := httptest.NewServer(ep)
			defer srv.Close()
			sendOne(t, api.URL, srv.URL+"/hook")
			waitHits(t, ep, tt.want, 10*time.Second)
			time.Sleep(tt.quiet)
			hits := ep.snapshot()
			sc, _ := signature.New("standard", testSecret)
			for i, h := range hits {
				if h.path == "/moved" {
					continue // a followed 302 is a GET without the body
				}
				if _, err := sc.Verify(h.h, h.body); err != nil {
					t.Errorf("request %d: %v (every flaw still signs correctly)", i+1, err)
				}
			}
			tt.check(t, hits)
		})
	}
}

func TestOneIDForAll(t *testing.T) {
	for _, flaw := range []string{None, "one-id-for-all"} {
		t.Run(flaw, func(t *testing.T) {
			t.Parallel()
			s, err := New(flaw)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			api := httptest.NewServer(s)
			defer api.Close()
			ep := &scriptedEndpoint{}
			srv := httptest.NewServer(ep)
			defer srv.Close()
			sendOne(t, api.URL, srv.URL+"/hook")
			sendOne(t, api.URL, srv.URL+"/hook")
			h := waitHits(t, ep, 2, 10*time.Second)
			same := h[0].h.Get("webhook-id") == h[1].h.Get("webhook-id")
			if same != (flaw != None) {
				t.Errorf("two events, ids %q and %q", h[0].h.Get("webhook-id"), h[1].h.Get("webhook-id"))
			}
		})
	}
}

func TestUnknownFlaw(t *testing.T) {
	if _, err := New("no-such-flaw"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("known:")) {
		t.Errorf("New(unknown) = %v, want an error listing the known flaws", err)
	}
	for _, f := range Flaws() {
		if b, ok := Describe(f); !ok || b == "" {
			t.Errorf("flaw %s has no description", f)
		}
	}
}
