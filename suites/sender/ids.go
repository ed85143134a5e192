package sender

import (
	"fmt"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

func (e *env) ids() {
	ginkgo.Describe("ids", func() {
		e.spec("SND-ID-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-ID-001", Answer{Status: 500}, Answer{Status: 500}, Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 3, e.o.RetryWait, "the event retried after two 500s")
			first := e.idOf(as[0].Header, as[0].Body)
			var ids []string
			same := first != ""
			for _, a := range as {
				id := e.idOf(a.Header, a.Body)
				ids = append(ids, fmt.Sprintf("%q", id))
				same = same && id == first
			}
			c.Assert(same, "one delivery id on every attempt", fmt.Sprintf("ids %v", ids))
		}, 0)

		e.spec("SND-ID-002", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-ID-002", Answer{})
			defer e.evidence(c, s)
			e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the first event delivered")
			e.trigger(ctx, c, s)
			as := e.expectAttempts(ctx, c, s, 2, e.o.RetryWait, "the second event delivered")
			a, b := e.idOf(as[0].Header, as[0].Body), e.idOf(as[1].Header, as[1].Body)
			c.Assert(a != "" && a != b, "two events, two distinct delivery ids", fmt.Sprintf("ids %q and %q", a, b))
		}, 0)
	})
}

func (e *env) timestamps() {
	// The first attempt is held, so its retry comes seconds after the event: a sender that
	// signs the event's time (or reuses the first attempt's headers) sends the old timestamp.
	const hold = 3 * time.Second
	ginkgo.Describe("timestamps", func() {
		e.spec("SND-TS-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-TS-001", Answer{Status: 500, Hold: hold}, Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 2, e.o.RetryWait+hold, "the event retried after a slow 500")
			t1, ok1 := e.timestampOf(as[0])
			t2, ok2 := e.timestampOf(as[1])
			if !ok1 || !ok2 {
				c.Fail("a signed timestamp on every attempt", "a timestamp is missing or not integer unix seconds")
			}
			gap := as[1].At.Sub(as[0].At)
			want := max(1, int64(gap.Seconds())-1)
			c.Assert(t2-t1 >= want, fmt.Sprintf("the retry, %s after the first attempt, signed at least %ds later", gap.Round(time.Millisecond), want),
				fmt.Sprintf("timestamps %d then %d (%+ds)", t1, t2, t2-t1))
			skew := as[1].At.Sub(time.Unix(t2, 0))
			c.Assert(skew.Abs() <= e.traits.Tolerance, fmt.Sprintf("the retry's timestamp within %s of its arrival", e.traits.Tolerance),
				fmt.Sprintf("%s off", skew.Round(time.Second)))
		}, hold)
	})
}
