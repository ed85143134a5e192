package chaos

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/h1"
)

// counter is an upstream that records what it received, in order.
type counter struct {
	mu     sync.Mutex
	bodies []string
	keys   []string
	status int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, string(b))
	c.keys = append(c.keys, r.Header.Get("Webhook-Id"))
	status := c.status
	c.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("X-Upstream", "yes")
	w.WriteHeader(status)
	fmt.Fprintf(w, "upstream saw %d bytes, and says hello at some length to make a body worth cutting", len(b))
}

func (c *counter) hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

func (c *counter) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.keys...)
}

// rig is an upstream, a proxy in front of it, and a client that does not pool
// connections the proxy resets.
type rig struct {
	up     *counter
	proxy  *Proxy
	srv    *httptest.Server
	client *http.Client
}

func newRig(t *testing.T, seed int64, specs ...FaultSpec) *rig {
	t.Helper()
	up := &counter{}
	us := httptest.NewServer(up)
	t.Cleanup(us.Close)
	p, err := NewProxy(us.URL, WithSeed(seed), WithFaults(specs...))
	if err != nil {
		t.Fatalf("NewProxy: %v", err)
	}
	ps := serveH1(t, p)
	t.Cleanup(func() {
		p.Close()
		ps.Close()
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &rig{up: up, proxy: p, srv: ps, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// serveH1 serves h as hookproof chaos does on plain HTTP, with h1, behind an httptest.Server
// (for its URL and listener); closing that closes the h1 server too.
func serveH1(t testing.TB, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(nil)
	hs := &h1.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ts.URL = "http://" + ts.Listener.Addr().String()
	go func() { _ = hs.Serve(ts.Listener) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ts
}

// send posts one delivery with a webhook-id and returns the status (0 on a transport
// error), the body and the error.
func (r *rig) send(t *testing.T, id, body string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, r.srv.URL+"/hook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		req.Header.Set("webhook-id", id)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// binomialBound returns the 4-sigma interval for the count of successes in n trials of
// probability p: a correct implementation falls outside it about once in 16,000 runs,
// and with a fixed seed the outcome never changes from run to run.
func binomialBound(n int, p float64) (lo, hi int) {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return int(math.Floor(mean - 4*sd)), int(math.Ceil(mean + 4*sd))
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
