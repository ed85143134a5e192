package sender

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	testSecret  = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	testSecret2 = "whsec_" + base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// step is one scripted answer.
type step struct {
	status int
	header map[string]string
	hang   time.Duration // wait this long (or until the client gives up) before answering
	reset  bool          // close the connection without an answer
}

// recorded is one request a recorder received.
type recorded struct {
	at     time.Time
	path   string
	header http.Header
	body   []byte
}

// recorder is a scripted receiver: request i gets script[i] (the last step repeats) and every
// request is recorded.
type recorder struct {
	mu     sync.Mutex
	script []step
	reqs   []recorded
	srv    *httptest.Server
}

func newRecorder(t *testing.T, script ...step) *recorder {
	t.Helper()
	r := &recorder{script: script}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) URL() string { return r.srv.URL + "/hook" }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{at: time.Now(), path: req.URL.Path, header: req.Header.Clone(), body: body})
	st := step{status: 200}
	if n := len(r.reqs) - 1; len(r.script) > 0 {
		st = r.script[min(n, len(r.script)-1)]
	}
	r.mu.Unlock()
	if st.hang > 0 {
		select {
		case <-time.After(st.hang):
		case <-req.Context().Done():
			return
		}
	}
	if st.reset {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st.status)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) setScript(s ...step) {
	r.mu.Lock()
	r.script, r.reqs = s, nil
	r.mu.Unlock()
}

// openTest opens a Sender on a fresh database in t.TempDir and closes it at cleanup.
func openTest(t *testing.T, opts ...Option) *Sender {
	t.Helper()
	// Test receivers listen on loopback: the SSRF guard is off unless a test says otherwise.
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"), append([]Option{WithAllowPrivate()}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func mustEndpoint(t *testing.T, s *Sender, spec EndpointSpec) Endpoint {
	t.Helper()
	if spec.Secret == "" {
		spec.Secret = testSecret
	}
	e, _, err := s.CreateEndpoint(context.Background(), spec)
	if err != nil {
		t.Fatalf("CreateEndpoint: %v", err)
	}
	return e
}

func mustSend(t *testing.T, s *Sender, endpointID string, data string) Message {
	t.Helper()
	m, _, err := s.Send(context.Background(), SendRequest{EndpointID: endpointID, Type: "order.updated", Data: []byte(data)})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return m
}

// eventually polls cond every 10 ms until it holds or the (generous) deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deliverDue(t *testing.T, s *Sender) int {
	t.Helper()
	n, err := s.DeliverDue(context.Background())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	return n
}

func message(t *testing.T, s *Sender, id string) Message {
	t.Helper()
	m, err := s.Message(context.Background(), id)
	if err != nil {
		t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

func attempts(t *testing.T, s *Sender, id string) []Attempt {
	t.Helper()
	a, err := s.Attempts(context.Background(), id)
	if err != nil {
		t.Fatalf("Attempts(%s): %v", id, err)
	}
	return a
}
