package sender

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

func (e *env) statuses() {
	ginkgo.Describe("status codes", func() {
		// Only a retry shows that the 3xx was taken as a failure. Without one, a control event
		// answered 500 tells a sender that takes a 3xx for a success (it retries the 500: the
		// case fails) from one that retries nothing (SND-RETRY-001 fails; this case is not
		// observable).
		e.spec("SND-STATUS-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-STATUS-001", Answer{Status: 301, Header: map[string]string{"Location": "{moved}"}}, Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			as, _ := s.Wait(ctx, 2, e.o.RetryWait, true)
			if m := s.Moved(); len(m) > 0 {
				c.Fail("the 301 not followed", fmt.Sprintf("the sender followed it: %s received the event", m[0].URL))
			}
			if len(as) >= 2 {
				return
			}
			ctl := e.start(ctx, c, "SND-STATUS-001-control", Answer{Status: 500}, Answer{})
			defer e.evidence(c, ctl)
			e.expectAttempts(ctx, c, ctl, 1, e.o.RetryWait, "the control event delivered")
			if cs, err := ctl.Wait(ctx, 2, e.o.RetryWait, false); err != nil {
				harness.NotObservable("no retry after a 301 or a 500; see SND-RETRY-001 (301: %s; control event: %s)",
					describe(as), describe(cs))
			}
			c.Fail(fmt.Sprintf("the event retried at its own URL within %s (a 3xx is a failed attempt)", e.o.RetryWait),
				fmt.Sprintf("%d attempt(s): %s; yet a control event answered 500 was retried, so the 301 was taken for a success", len(as), describe(as)))
		}, 0)

		// The premise is an attempt after the 429 and after the 503 (retrying is SND-RETRY-001's):
		// each delay that was seen is graded, and a missing attempt leaves the case not
		// observable unless a delay seen was already too short.
		e.spec("SND-STATUS-003", func(ctx ginkgo.SpecContext, c *harness.Check) {
			ra := strconv.Itoa(RetryAfterSeconds)
			s := e.start(ctx, c, "SND-STATUS-003",
				Answer{Status: 429, Header: map[string]string{"Retry-After": ra}},
				Answer{Status: 503, Header: map[string]string{"Retry-After": ra}},
				Answer{})
			defer e.evidence(c, s)
			wait := e.o.RetryWait + RetryAfterSeconds*time.Second
			as, complete := e.awaitAttempts(ctx, c, s, 3, wait, "the event delivered")
			n := min(len(as), 3)
			as = e.expectAnswered(ctx, c, s, n-1, e.o.RetryWait)[:n]
			// Retry-After counts whole seconds from the answer; allow for a sender that rounds
			// its clock to the millisecond.
			least := RetryAfterSeconds*time.Second - 50*time.Millisecond
			for i := 1; i < n; i++ {
				d := as[i].At.Sub(as[i-1].AnsweredAt)
				c.Assert(d >= least, fmt.Sprintf("the attempt after a %d with Retry-After: %s at least %ds later", as[i-1].Answer.status(), ra, RetryAfterSeconds),
					fmt.Sprintf("it came %s later (%s)", d.Round(time.Millisecond), describe(as)))
			}
			if !complete {
				harness.NotObservable("no retry after the %d; see SND-RETRY-001 (no Retry-After delay to measure: %s)",
					as[n-1].Answer.status(), describe(as))
			}
		}, 2*RetryAfterSeconds*time.Second)
	})
}

// gone is registered last: with a fixed URL it disables the sender's only endpoint.
func (e *env) gone() {
	ginkgo.Describe("gone", func() {
		e.spec("SND-STATUS-002", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-STATUS-002", Answer{Status: 410})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			e.quiet(ctx, c, s, 1, e.o.Quiet, fmt.Sprintf("no retry after the 410, for %s", e.o.Quiet))
			if err := e.tryTrigger(ctx, c, s); err != nil {
				c.Note("the trigger of the next event failed (%s): taken as the sender refusing a disabled endpoint", excerpt(err.Error(), 120))
				return
			}
			e.quiet(ctx, c, s, 1, e.o.Quiet, fmt.Sprintf("nothing more after the 410: not the next event either, for %s", e.o.Quiet))
		}, 0)
	})
}
