package receiver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

const (
	sequentialCopies = 3
	concurrentCopies = 5
	lostAcks         = 2 // attempts whose ack the proxy loses in RCV-IDEM-003
)

// Idempotency: Standard Webhooks "Verifying signatures" (webhook-id as idempotency key) and the
// effect sink contract (reference/sink). Each copy is a real retry: same id and body, a fresh
// timestamp and signature.
func (e *env) idempotency() {
	Describe("Idempotency", Label("idempotency"), func() {
		harness.Case("RCV-IDEM-001", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			var bad []string
			for i := range sequentialCopies {
				resp := e.accept(ctx, c, fmt.Sprintf("copy %d of %d, freshly signed", i+1, sequentialCopies), d, 0)
				if !resp.OK() {
					bad = append(bad, fmt.Sprintf("copy %d: %s", i+1, resp.Describe()))
				}
			}
			c.Assert(len(bad) == 0, fmt.Sprintf("2xx for all %d copies", sequentialCopies), strings.Join(bad, "\n"))
			e.exactlyOneEffect(ctx, c, d.ID)
		})

		harness.Case("RCV-IDEM-002", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			resps := make([]harness.Response, concurrentCopies)
			var wg sync.WaitGroup
			for i := range concurrentCopies {
				wg.Go(func() {
					resps[i] = e.accept(ctx, c, fmt.Sprintf("concurrent copy %d of %d, freshly signed", i+1, concurrentCopies), d, 0)
				})
			}
			wg.Wait()
			var bad []string
			for i, r := range resps {
				if !r.OK() {
					bad = append(bad, fmt.Sprintf("copy %d: %s", i+1, r.Describe()))
				}
			}
			c.Assert(len(bad) == 0, fmt.Sprintf("2xx for all %d concurrent copies", concurrentCopies), strings.Join(bad, "\n"))
			e.exactlyOneEffect(ctx, c, d.ID)
		})

		// The proxy loses the first acks after the receiver answered them; the suite retries
		// like a sender until one ack gets through. It always runs through its own proxy.
		harness.Case("RCV-IDEM-003", func(ctx SpecContext, c *harness.Check) {
			url, stop := e.lostAckProxy(c)
			DeferCleanup(stop)
			d := e.event("", 1)
			var resp harness.Response
			for attempt := 1; attempt <= lostAcks+3; attempt++ {
				req := e.request(fmt.Sprintf("attempt %d through a proxy that loses the first %d acks", attempt, lostAcks),
					e.sign(d, time.Time{}), d.Body)
				req.URL = url
				if resp = e.client.Do(ctx, c, req); resp.OK() {
					break
				}
			}
			// The premise is one effect and an ack for a retry: a second effect fails the case
			// whatever else happened, while without an ack (acknowledging every copy is
			// RCV-IDEM-001's) or without any effect there is nothing for a retry to repeat.
			if !resp.OK() {
				time.Sleep(settle)
				c.Assert(e.sink.Distinct(d.ID) <= 1, "at most one distinct effect for "+d.ID,
					fmt.Sprintf("%d distinct effects (%d reports)", e.sink.Distinct(d.ID), len(e.sink.Reports(d.ID))))
				notAcked("retry after lost acks", "RCV-IDEM-001", resp)
			}
			if !e.awaitEffect(ctx, d.ID) {
				noEffectReported("the delivery")
			}
			e.exactlyOneEffect(ctx, c, d.ID)
		})
	})
}

// lostAckProxy starts a chaos proxy to the target that loses the first lostAcks acks of every
// delivery (the upstream processed them; the client sees a reset), and returns its URL.
func (e *env) lostAckProxy(c *harness.Check) (url string, stop func()) {
	spec := fmt.Sprintf("lost-ack=1(attempts=1-%d)", lostAcks)
	specs, err := chaos.ParseSpec(spec)
	if err != nil {
		c.Fail("a chaos proxy with "+spec, err.Error())
	}
	p, err := chaos.NewProxy(e.base, chaos.WithSeed(e.seed), chaos.WithFaults(specs...), chaos.WithTLSConfig(e.opts.TLS))
	if err != nil {
		c.Fail("a chaos proxy with "+spec, err.Error())
	}
	srv, err := harness.ServeHot(p, e.path)
	if err != nil {
		_ = p.Close()
		c.Fail("a chaos proxy with "+spec, err.Error())
	}
	return srv.URL(), func() {
		_ = p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	}
}
