package receiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
)

// A sink that fails one request in twenty slows the reporter by one backoff per failure, not
// more: 1,000 effects all reach it within 10 s of the last ack.
func TestReporterKeepsUpWithAFlakySink(t *testing.T) {
	const n, bound = 1000, 10 * time.Second
	col := sink.NewCollector()
	var requests, failed atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1)%20 == 0 { // 5 %
			failed.Add(1)
			http.Error(w, "flaky", http.StatusServiceUnavailable)
			return
		}
		col.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	sc, err := sink.NewClient(flaky.URL)
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := Open(context.Background(), testScheme(t), filepath.Join(t.TempDir(), "r.db"), WithSink(sc))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv)
	defer func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rcv.Close(ctx)
	}()
	h := &harness{t: t, scheme: testScheme(t), srv: srv}

	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				id := fmt.Sprint("msg_flaky_", i)
				if got := h.send(nil, id, envelope(id, fmt.Sprint("ord_", i%50), i)); got != http.StatusOK {
					t.Errorf("%s: %d", id, got)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	acked := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for col.Total() < n && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	distinct := len(col.Counts())
	t.Logf("%d effects reported %v after the last ack; %d sink requests, %d failed", distinct, time.Since(acked).Round(time.Millisecond), requests.Load(), failed.Load())
	if distinct < n {
		t.Errorf("%d of %d effects reported within %v of the last ack, behind a sink failing 5%% of requests", distinct, n, bound)
	}
}
