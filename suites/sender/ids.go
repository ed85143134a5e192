package sender

import (
	"fmt"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

func (e *env) ids() {
	ginkgo.Describe("ids", func() {
		// The premise is a retry: a sender that does not retry fails SND-RETRY-001, and this
		// case is then not observable. Whatever attempts came are compared.
		e.spec("SND-ID-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-ID-001", Answer{Status: 500}, Answer{Status: 500}, Answer{})
			defer e.evidence(c, s)
			as, complete := e.awaitAttempts(ctx, c, s, 3, e.o.RetryWait, "the event delivered")
			if len(as) < 2 {
				e.noRetry(as, 3, e.o.RetryWait, "SND-RETRY-001")
			}
			first := e.idOf(as[0].Header, as[0].Body)
			var ids []string
			same := first != ""
			for _, a := range as {
				id := e.idOf(a.Header, a.Body)
				ids = append(ids, fmt.Sprintf("%q", id))
				same = same && id == first
			}
			c.Assert(same, "one delivery id on every attempt", fmt.Sprintf("ids %v", ids))
			if !complete {
				c.Note("only %d of 3 attempts came (see SND-RETRY-001); their ids agree", len(as))
			}
		}, 0)

		// The second event's attempt is the one compared. A sender that delivers the first event
		// again after its 2xx (SND-RETRY-005's failure) could pass that redelivery off as the
		// second event: the case then waits for an attempt with another id, and without one it
		// cannot tell, so it is not observable rather than failed.
		e.spec("SND-ID-002", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-ID-002", Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the first event delivered")
			s.Wait(ctx, 2, e.o.Quiet, false) // redeliveries of the first event, if any
			n0 := len(s.Attempts())
			e.trigger(ctx, c, s)
			as := e.expectAttempts(ctx, c, s, n0+1, e.o.RetryWait, "the second event delivered")
			a, b := e.idOf(as[0].Header, as[0].Body), e.idOf(as[n0].Header, as[n0].Body)
			if a != "" && a != b {
				return
			}
			if a != "" && n0 > 1 {
				_, err := s.waitFor(ctx, e.o.RetryWait, func() bool {
					for _, p := range s.attempts[n0:] {
						if e.idOf(p.Header, p.Body) != a {
							return true
						}
					}
					return false
				})
				if err == nil {
					return
				}
				harness.NotObservable("event 1 redelivered after its 2xx; see SND-RETRY-005 (event 2 could not be told from it: %s)",
					describe(s.Attempts()))
			}
			c.Fail("two events, two distinct delivery ids", fmt.Sprintf("ids %q and %q", a, b))
		}, 0)
	})
}

// minRetryGap is how far apart two attempts must arrive for whole-second timestamps signed at
// each to differ, with a margin for the sender's own clock readings.
const minRetryGap = 1100 * time.Millisecond

func (e *env) timestamps() {
	// The first attempt is held, so its retry comes seconds after the event: a sender that
	// signs the event's time (or reuses the first attempt's headers) sends the old timestamp.
	const hold = 3 * time.Second
	ginkgo.Describe("timestamps", func() {
		// The premise is a retry seconds after the first attempt. Without a retry the case is
		// not observable (retrying is SND-RETRY-001's, or SND-RETRY-002's when the sender gave
		// up on the held attempt); with one too soon for the seconds to differ, likewise.
		e.spec("SND-TS-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-TS-001", Answer{Status: 500, Hold: hold}, Answer{})
			defer e.evidence(c, s)
			as, _ := e.awaitAttempts(ctx, c, s, 2, e.o.RetryWait+hold, "the event delivered")
			if len(as) < 2 {
				see := "SND-RETRY-001"
				if as[0].Answered && as[0].GaveUp {
					see = "SND-RETRY-002"
				}
				e.noRetry(as, 2, e.o.RetryWait+hold, see)
			}
			t1, ok1 := e.timestampOf(as[0])
			t2, ok2 := e.timestampOf(as[1])
			if !ok1 || !ok2 {
				c.Fail("a signed timestamp on every attempt", "a timestamp is missing or not integer unix seconds")
			}
			skew := as[1].At.Sub(time.Unix(t2, 0))
			c.Assert(skew.Abs() <= e.traits.Tolerance, fmt.Sprintf("the retry's timestamp within %s of its arrival", e.traits.Tolerance),
				fmt.Sprintf("%s off", skew.Round(time.Second)))
			gap := as[1].At.Sub(as[0].At)
			want := max(1, int64(gap.Seconds())-1)
			if t2-t1 < want && gap < minRetryGap {
				if as[0].GaveUp {
					harness.NotObservable("retry too soon to tell; see SND-TIMEOUT-001 (it gave up on the %s hold after %s and retried %s after the first attempt; whole-second timestamps need %s)",
						hold, as[0].AnsweredAt.Sub(as[0].At).Round(time.Millisecond), gap.Round(time.Millisecond), minRetryGap)
				}
				harness.NotObservable("retry too soon to tell (it came %s after the first attempt, while that one was still held; whole-second timestamps need %s)",
					gap.Round(time.Millisecond), minRetryGap)
			}
			c.Assert(t2-t1 >= want, fmt.Sprintf("the retry, %s after the first attempt, signed at least %ds later", gap.Round(time.Millisecond), want),
				fmt.Sprintf("timestamps %d then %d (%+ds)", t1, t2, t2-t1))
		}, hold)
	})
}
