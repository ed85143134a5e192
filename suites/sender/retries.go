package sender

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

// Backoff bounds of SND-RETRY-004: no delay may be under half the one before (jitter, and
// the noise of a busy sender, which only ever adds delay), and the third must be at least
// growth times the first (a backoff, not a fixed interval).
const (
	jitterSlack = 0.5
	growth      = 1.5
)

func (e *env) retries() {
	ginkgo.Describe("retries", func() {
		e.spec("SND-RETRY-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-RETRY-001", Answer{Status: 500}, Answer{Status: 502}, Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 3, e.o.RetryWait, "the event delivered again after a 500 and again after a 502")
		}, 0)

		e.spec("SND-RETRY-002", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-RETRY-002", Answer{Hang: true, MaxHang: e.o.MaxTimeout, Status: 503}, Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			as := e.expectAnswered(ctx, c, s, 1, e.o.MaxTimeout+5*time.Second)
			if !as[0].GaveUp {
				c.Fail(fmt.Sprintf("the sender gives up on an attempt left without an answer, within %s", e.o.MaxTimeout),
					fmt.Sprintf("it was still waiting after %s (no request timeout?)", e.o.MaxTimeout))
			}
			e.expectAttempts(ctx, c, s, 2, e.o.RetryWait, "the event delivered again after the attempt timed out")
		}, e.o.MaxTimeout)

		e.spec("SND-RETRY-003", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-RETRY-003", Answer{Reset: true}, Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 2, e.o.RetryWait, "the event delivered again after a reset connection")
		}, 0)

		// The premise is three retries (SND-RETRY-001 is the case that requires retrying):
		// with fewer, a delay that shrank too much still fails, and the case is otherwise not
		// observable.
		e.spec("SND-RETRY-004", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-RETRY-004", Answer{Status: 500}, Answer{Status: 500}, Answer{Status: 500}, Answer{})
			defer e.evidence(c, s)
			as, complete := e.awaitAttempts(ctx, c, s, 4, e.o.RetryWait, "the event delivered")
			if len(as) < 2 {
				e.noRetry(as, 4, e.o.RetryWait, "SND-RETRY-001")
			}
			n := min(len(as), 4)
			as = e.expectAnswered(ctx, c, s, n-1, e.o.RetryWait)[:n]
			d := make([]time.Duration, len(as)-1)
			shown := make([]string, len(d))
			for i := range d {
				d[i] = as[i+1].At.Sub(as[i].AnsweredAt)
				shown[i] = d[i].Round(time.Millisecond).String()
			}
			delays := "delays " + strings.Join(shown, ", ")
			for i := 1; i < len(d); i++ {
				c.Assert(float64(d[i]) >= (1-jitterSlack)*float64(d[i-1]),
					fmt.Sprintf("each delay at least %.0f%% of the one before (jitter allowed)", 100*(1-jitterSlack)), delays)
			}
			if !complete {
				harness.NotObservable("only %d of 3 retries came; see SND-RETRY-001 (too few to see a backoff: %s)", len(d), delays)
			}
			c.Assert(float64(d[2]) >= growth*float64(d[0]),
				fmt.Sprintf("the third delay at least %.1f times the first (a backoff, not a fixed interval)", growth), delays)
		}, 0)

		e.spec("SND-RETRY-005", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-RETRY-005", Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			e.quiet(ctx, c, s, 1, e.o.Quiet, fmt.Sprintf("no attempt after the 200, for %s", e.o.Quiet))
		}, 0)
	})
}

func (e *env) timeouts() {
	ginkgo.Describe("timeouts", func() {
		e.spec("SND-TIMEOUT-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			if e.o.SkipLong {
				harness.Skipped("long case left out (--skip-long)")
			}
			s := e.start(ctx, c, "SND-TIMEOUT-001", Answer{Hang: true, MaxHang: e.o.MaxTimeout, Status: 503}, Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			as := e.expectAnswered(ctx, c, s, 1, e.o.MaxTimeout+5*time.Second)
			waited := as[0].AnsweredAt.Sub(as[0].At)
			// The sender starts its clock before the request reaches hookproof: a little slack.
			lo, hi := 15*time.Second-500*time.Millisecond, 30*time.Second+500*time.Millisecond
			actual := fmt.Sprintf("it gave up after %s", waited.Round(100*time.Millisecond))
			if !as[0].GaveUp {
				actual = fmt.Sprintf("it was still waiting after %s", waited.Round(100*time.Millisecond))
			}
			c.Assert(as[0].GaveUp && waited >= lo && waited <= hi, "the sender gives up on an unanswered attempt after 15 to 30 s", actual)
		}, e.o.MaxTimeout)
	})
}
