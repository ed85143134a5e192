package receiver

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

// Timestamps: Standard Webhooks "Verifying signatures" (tolerance against replay), Stripe's and
// Slack's 5-minute windows. The catalogue limits these cases to the schemes that sign a
// timestamp; for github and shopify they are not applicable.
func (e *env) timestamps() {
	Describe("Timestamps", Label("timestamps"), func() {
		harness.Case("RCV-TS-001", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			age := e.tolerance + time.Second
			e.expectRejected(ctx, c, []forged{{fmt.Sprintf("signed %s ago (tolerance %s)", age, e.tolerance),
				e.sign(d, time.Now().Add(-age)), d.Body}})
		})

		harness.Case("RCV-TS-002", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			ahead := e.tolerance + 10*time.Second
			e.expectRejected(ctx, c, []forged{{fmt.Sprintf("signed %s in the future (tolerance %s)", ahead, e.tolerance),
				e.sign(d, time.Now().Add(ahead)), d.Body}})
		})

		harness.Case("RCV-TS-003", func(ctx SpecContext, c *harness.Check) {
			inside := e.tolerance - 30*time.Second
			var bad []string
			for _, off := range []time.Duration{inside, -inside} {
				d := e.event("", 1)
				note := fmt.Sprintf("signed %s ago (tolerance %s)", inside, e.tolerance)
				if off < 0 {
					note = fmt.Sprintf("signed %s in the future (tolerance %s)", inside, e.tolerance)
				}
				if resp := e.accept(ctx, c, note, d, off); !resp.OK() {
					bad = append(bad, note+": "+resp.Describe())
				}
			}
			c.Assert(len(bad) == 0, "2xx for deliveries inside the tolerance, in the past and in the future", strings.Join(bad, "\n"))
		})

		// The replay is the captured request resent byte for byte; it runs direct (no chaos),
		// because its point is timing: signed 2 s inside the window, replayed 3 s later.
		harness.Case("RCV-TS-004", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			signedAt := time.Now().Add(-e.tolerance + 2*time.Second)
			req := e.request("delivery signed 2 s inside the tolerance", e.sign(d, signedAt), d.Body)
			first := e.client.Do(ctx, c, req)
			if !first.OK() {
				// A replay of a rejected delivery proves nothing.
				notAcked("original (2 s in tolerance)", "RCV-TS-003", first)
			}
			wait := time.Until(signedAt.Add(e.tolerance + 1500*time.Millisecond))
			select {
			case <-ctx.Done():
				c.Fail("the replay sent after the timestamp left the tolerance", "the case ran out of time")
			case <-time.After(wait):
			}
			req.Note = "the same request replayed byte for byte, now outside the tolerance"
			replay := e.client.Do(ctx, c, req)
			c.Assert(replay.Is4xx(), "a 4xx rejection of the replay", replay.Describe())
		}, SpecTimeout(30*time.Second))
	})
}
