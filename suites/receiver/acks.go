package receiver

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

// Ack deadlines. Senders give up after a few seconds (Stripe, GitHub: 10 s; hookproof's load
// runs: 5 s); the suite waits a little longer than each deadline so that a late ack is
// measured, not just timed out.
const (
	ackMust   = 5 * time.Second
	ackShould = 1 * time.Second
	burstSize = 20
	medianOf  = 5
)

// Acks: Standard Webhooks "Delivery success and failure" and "Request timeouts". Every ack case
// runs direct, without chaos: injected delays would measure the proxy, not the receiver.
func (e *env) acks() {
	Describe("Acks", Label("acks"), func() {
		harness.Case("RCV-ACK-001", func(ctx SpecContext, c *harness.Check) {
			resp := e.timedDelivery(ctx, c, "one valid delivery", ackMust+time.Second)
			c.Assert(resp.OK() && resp.Duration < ackMust, "a 2xx within "+ackMust.String(), resp.Describe())
		})

		harness.Case("RCV-ACK-002", func(ctx SpecContext, c *harness.Check) {
			resp := e.timedDelivery(ctx, c, "one valid delivery", ackShould+500*time.Millisecond)
			c.Assert(resp.OK() && resp.Duration < ackShould, "a 2xx within "+ackShould.String(), resp.Describe())
		})

		harness.Case("RCV-ACK-003", func(ctx SpecContext, c *harness.Check) {
			ds := make([]delivery, burstSize)
			for i := range ds {
				ds[i] = e.event("", 1)
			}
			resps := make([]harness.Response, burstSize)
			var wg sync.WaitGroup
			for i, d := range ds {
				wg.Go(func() {
					req := e.request(fmt.Sprintf("burst delivery %d of %d", i+1, burstSize), e.sign(d, time.Time{}), d.Body)
					req.Timeout = ackMust + time.Second
					resps[i] = e.client.Do(ctx, c, req)
				})
			}
			wg.Wait()
			var lat []time.Duration
			var failed []string
			for i, r := range resps {
				lat = append(lat, r.Duration)
				if !r.OK() {
					failed = append(failed, fmt.Sprintf("delivery %d: %s", i+1, r.Describe()))
				}
			}
			p99 := percentile(lat, 0.99)
			c.Note("burst of %d: p50 %s, p99 %s", burstSize, percentile(lat, 0.5).Round(time.Millisecond), p99.Round(time.Millisecond))
			actual := fmt.Sprintf("p99 %s; %d of %d not acknowledged", p99.Round(time.Millisecond), len(failed), burstSize)
			if len(failed) > 0 {
				actual += "\n" + strings.Join(failed, "\n")
			}
			c.Assert(len(failed) == 0 && p99 < ackMust,
				fmt.Sprintf("all %d acknowledged with 2xx, p99 under %s", burstSize, ackMust), actual)
		})

		harness.Case("RCV-ACK-004", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			resp := e.client.Do(ctx, c, e.request("one valid delivery (redirects are not followed)", e.sign(d, time.Time{}), d.Body))
			if resp.Err == nil && resp.Status >= 300 && resp.Status <= 399 {
				c.Fail("a 2xx answer from the URL itself", resp.Describe()+": senders do not follow redirects, so this delivery failed")
			}
			c.Assert(resp.OK(), "a 2xx answer from the URL itself", resp.Describe())
		})

		harness.Case("RCV-ACK-005", func(ctx SpecContext, c *harness.Check) {
			var lat []time.Duration
			var failed []string
			for i := range medianOf {
				resp := e.timedDelivery(ctx, c, fmt.Sprintf("sequential delivery %d of %d", i+1, medianOf), harness.DefaultTimeout)
				lat = append(lat, resp.Duration)
				if !resp.OK() {
					failed = append(failed, resp.Describe())
				}
			}
			if len(failed) > 0 {
				// No ack, no ack latency: acknowledging is RCV-ACK-001's requirement.
				harness.NotObservable("%d of %d not acknowledged; see RCV-ACK-001 (no ack latency to report: %s)",
					len(failed), medianOf, strings.Join(failed, "; "))
			}
			c.Note("median ack latency %s over %d sequential deliveries", percentile(lat, 0.5).Round(100*time.Microsecond), medianOf)
		})
	})
}

// timedDelivery sends one fresh valid delivery directly, waiting at most timeout.
func (e *env) timedDelivery(ctx SpecContext, c *harness.Check, note string, timeout time.Duration) harness.Response {
	d := e.event("", 1)
	req := e.request(note, e.sign(d, time.Time{}), d.Body)
	req.Timeout = timeout
	return e.client.Do(ctx, c, req)
}

// percentile is the nearest-rank percentile of ds (q in (0,1]); a timed-out request counts
// with the time it waited.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
