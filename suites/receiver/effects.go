package receiver

import (
	"fmt"
	"sort"
	"strings"
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

// The waits below use Gomega's Eventually and Consistently, intercepting their failure so the
// case reports a plain expected/actual pair rather than a matcher dump.

// waitEffect waits until delivery id has at least one effect at the sink.
func (e *env) waitEffect(ctx SpecContext, c *harness.Check, id string) {
	failed := InterceptGomegaFailures(func() {
		Eventually(ctx, func() int { return e.sink.Distinct(id) }).
			WithTimeout(effectWait).WithPolling(pollEvery).Should(BeNumerically(">=", 1))
	})
	if len(failed) > 0 {
		e.blind()
		c.Fail(fmt.Sprintf("an effect for acknowledged delivery %s at the sink within %s", id, effectWait),
			fmt.Sprintf("no effect after %s (is the receiver reporting its effects to the sink?)", effectWait))
	}
}

// awaitEffect waits until delivery id has at least one effect at the sink and says whether it
// came, for a case whose premise (not requirement) is that effect.
func (e *env) awaitEffect(ctx SpecContext, id string) bool {
	failed := InterceptGomegaFailures(func() {
		Eventually(ctx, func() int { return e.sink.Distinct(id) }).
			WithTimeout(effectWait).WithPolling(pollEvery).Should(BeNumerically(">=", 1))
	})
	return len(failed) == 0
}

// blind ends the case as not observable when its effects are observed from a database or
// logs and nothing at all has been seen there in this run: an effects query or log pattern
// that sees none of the run's processing cannot tell a receiver that did nothing from one
// whose effects it misses.
func (e *env) blind() {
	if e.opts.EffectsFrom != "" && e.sink.Total() == 0 {
		harness.NotObservable("no effect seen from %s in this run (does the query or pattern see this run's processing?)", e.opts.EffectsFrom)
	}
}

// noEffectReported ends the case as not observable: the effect its premise needs never reached
// the sink. Whether acknowledged deliveries have effects at all is RCV-IDEM-001's requirement.
func noEffectReported(what string) {
	// The console shows about 48 characters of a reason: the premise and the case come first.
	harness.NotObservable("no effect for %s; see RCV-IDEM-001 (none reached the sink within %s: nothing to judge)", what, effectWait)
}

// notAcked ends the case as not observable: a valid delivery its premise needs was not
// acknowledged, which is the failure of the case named by see.
func notAcked(what, see string, resp harness.Response) {
	harness.NotObservable("%s not acknowledged; see %s (nothing to judge: %s)", what, see, resp.Describe())
}

// exactlyOneEffect waits for id's effect, then watches that no second one arrives.
func (e *env) exactlyOneEffect(ctx SpecContext, c *harness.Check, id string) {
	e.waitEffect(ctx, c, id)
	failed := InterceptGomegaFailures(func() {
		Consistently(ctx, func() int { return e.sink.Distinct(id) }).
			WithTimeout(settle).WithPolling(pollEvery).Should(Equal(1))
	})
	if len(failed) > 0 {
		c.Fail("exactly one distinct effect for "+id,
			fmt.Sprintf("%d distinct effects (%d reports)", e.sink.Distinct(id), len(e.sink.Reports(id))))
	}
}

// noEffects watches for settle that none of ids gets an effect.
func (e *env) noEffects(ctx SpecContext, c *harness.Check, ids []string) {
	failed := InterceptGomegaFailures(func() {
		Consistently(ctx, func() map[string]int { return e.effectsOf(ids) }).
			WithTimeout(settle).WithPolling(pollEvery).Should(BeEmpty())
	})
	if len(failed) > 0 {
		got := e.effectsOf(ids)
		var parts []string
		for id, n := range got {
			parts = append(parts, fmt.Sprintf("%s: %d", id, n))
		}
		sort.Strings(parts)
		c.Fail(fmt.Sprintf("no effect for any of the %d rejected deliveries", len(ids)),
			fmt.Sprintf("%d of them had effects (%s)", len(got), strings.Join(parts, ", ")))
	}
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
