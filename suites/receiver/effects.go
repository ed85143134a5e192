package receiver

import (
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// How long the suite waits on the effect sink. A receiver may process after it acknowledges
// (an inbox and workers), so effects are awaited, then watched for a while for extras.
const (
	effectWait = 10 * time.Second        // for an expected effect to arrive
	settle     = 1500 * time.Millisecond // watching for an effect that must not arrive
	pollEvery  = 25 * time.Millisecond
)

// waitEffect waits until delivery id has at least one effect at the sink.
func (e *env) waitEffect(ctx SpecContext, c *harness.Check, id string) {
	c.Expect("an effect for %s at the sink within %s", id, effectWait)
	Eventually(ctx, func() int { return e.sink.Distinct(id) }).
		WithTimeout(effectWait).WithPolling(pollEvery).
		Should(BeNumerically(">=", 1), "distinct effects of acknowledged delivery %s (is the receiver reporting to the sink?)", id)
}

// exactlyOneEffect waits for id's effect, then watches that no second one arrives.
func (e *env) exactlyOneEffect(ctx SpecContext, c *harness.Check, id string) {
	e.waitEffect(ctx, c, id)
	c.Expect("exactly one distinct effect for %s", id)
	Consistently(ctx, func() int { return e.sink.Distinct(id) }).
		WithTimeout(settle).WithPolling(pollEvery).
		Should(Equal(1), "distinct effects of delivery %s", id)
}

// effectsOf returns the ids among ids that have effects, with their distinct counts.
func (e *env) effectsOf(ids []string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		if n := e.sink.Distinct(id); n > 0 {
			out[id] = n
		}
	}
	return out
}
