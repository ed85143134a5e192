package receiver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// rawConn opens a TCP connection to the harness's server, with a deadline that bounds the test.
func (h *harness) rawConn(d time.Duration) net.Conn {
	h.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(d))
	return c
}

// rawHead is a POST's head, signed for a body of its own (only the headers' presence matters).
func (h *harness) rawHead(id string, extra string) string {
	h.t.Helper()
	hdr, err := h.scheme.Sign(signature.Message{ID: id, Body: []byte("{}")})
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("POST /webhook HTTP/1.1\r\nHost: x\r\n")
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString(extra)
	b.WriteString("\r\n")
	return b.String()
}

// firstStatus reads the first status line the server sends on c.
func firstStatus(t *testing.T, c net.Conn) string {
	t.Helper()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return strings.TrimSpace(line)
}

// A body that stops arriving, or never ends, is cut by the body deadline: the connection gets
// an answer (408) and does not stay open.
func TestStalledBodyIsCutByTheDeadline(t *testing.T) {
	h := newHarness(t, WithBodyTimeout(300*time.Millisecond))
	t.Run("stalled", func(t *testing.T) {
		c := h.rawConn(5 * time.Second)
		start := time.Now()
		fmt.Fprint(c, h.rawHead("msg_stall", "Content-Length: 1000\r\n")+`{"id":`)
		got := firstStatus(t, c)
		if !strings.Contains(got, "408") || time.Since(start) > 3*time.Second {
			t.Errorf("stalled body: %q after %v, want 408 within 3 s", got, time.Since(start).Round(time.Millisecond))
		}
	})
	t.Run("endless chunked", func(t *testing.T) {
		c := h.rawConn(5 * time.Second)
		start := time.Now()
		fmt.Fprint(c, h.rawHead("msg_endless", "Transfer-Encoding: chunked\r\n"))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			// A chunk every 20 ms, bounded: 250 chunks (5 s) at most.
			for range 250 {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := fmt.Fprint(c, "2\r\n  \r\n"); err != nil {
					return
				}
			}
		})
		got := firstStatus(t, c)
		close(stop)
		wg.Wait()
		if !strings.Contains(got, "408") || time.Since(start) > 3*time.Second {
			t.Errorf("endless body: %q after %v, want 408 within 3 s", got, time.Since(start).Round(time.Millisecond))
		}
	})
}

// Past the read budget a delivery is answered 503 with Retry-After at once, without its body.
func TestBodiesBeyondTheBudgetGet503(t *testing.T) {
	h := newHarness(t, WithReadBudget(2*MaxBody), WithBodyTimeout(5*time.Second))
	// One upload declaring 1 MiB takes most of the large part (1.5 MiB) and stalls.
	hog := h.rawConn(10 * time.Second)
	fmt.Fprint(hog, h.rawHead("msg_hog", fmt.Sprintf("Content-Length: %d\r\n", MaxBody))+"{")
	deadline := time.Now().Add(5 * time.Second)
	for h.rcv.budget.held() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first upload never reached the handler")
		}
		time.Sleep(5 * time.Millisecond)
	}

	c := h.rawConn(3 * time.Second)
	start := time.Now()
	fmt.Fprint(c, h.rawHead("msg_second", fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", MaxBody)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("second upload: no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second upload: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("second upload answered after %v, want at once", d)
	}

	// A small delivery still fits: the last quarter of the budget is kept for them.
	body := envelope("msg_small", "ord_small", 1)
	if got := h.send(nil, "msg_small", body); got != http.StatusOK {
		t.Errorf("small delivery while the budget is taken by large ones: %d, want 200", got)
	}
}

// A Content-Length over MaxBody is refused before the body: 413, and no 100 Continue. So is a
// request without a signature header (401).
func TestRefusedBeforeTheBody(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name, head, want string
	}{
		{"oversized", h.rawHead("msg_huge", fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", 2*MaxBody)), "413"},
		{"unsigned", "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", "401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := h.rawConn(3 * time.Second)
			fmt.Fprint(c, tt.head)
			if got := firstStatus(t, c); !strings.Contains(got, tt.want) {
				t.Errorf("first answer %q, want %s (and no 100 Continue)", got, tt.want)
			}
		})
	}
}

// Once processed, deliveries' bodies are garbage: no reused batch slice keeps them alive.
func TestProcessedBodiesAreNotRetained(t *testing.T) {
	h := newHarness(t, WithReadBudget(256<<20), WithRescan(time.Hour))
	const n, size = 96, 512 << 10
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint("msg_big_", i)
			body := fmt.Appendf(nil, `{"id":%q,"type":"t","pad":%q,"data":{"object_id":"o_%d","seq":1}}`, id, strings.Repeat("p", size), i)
			if got := h.send(nil, id, body); got != http.StatusOK {
				t.Errorf("%s: %d", id, got)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for h.stats().Pending > 0 || h.col.Total() < n {
		if ctx.Err() != nil {
			t.Fatalf("not processed in time: %+v, %d reported", h.stats(), h.col.Total())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The dispatcher may still be parsing a hand-off it had queued: wait for the heap to come
	// down, a few seconds at most. Retained bodies never do.
	var after uint64
	for range 50 {
		if after = heap(); int64(after)-int64(before) <= 8<<20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("heap before %d MiB, after %d MiB (%d MiB of bodies sent)", before>>20, after>>20, n*size>>20)
	if grown := int64(after) - int64(before); grown > 8<<20 {
		t.Errorf("after processing, the heap kept %d MiB more than before: bodies are retained", grown>>20)
	}
}
