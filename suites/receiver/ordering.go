package receiver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

// outOfOrder is the order RCV-ORD-001 delivers seq numbers of one object in.
var outOfOrder = []int64{1, 3, 2, 5, 4}

// Ordering: the effect sink contract (applied effects of one object have increasing seq) and the
// usual provider advice to compare event versions rather than trust arrival order.
func (e *env) ordering() {
	Describe("Ordering", Label("ordering"), func() {
		// The premises are the acks and the effects: an order of application that is already
		// wrong fails the case whatever else happened, but an event that was not acknowledged
		// (RCV-SIG-001's failure), or no effect at all (RCV-IDEM-001's), leaves the order it
		// was applied in nothing to say.
		harness.Case("RCV-ORD-001", func(ctx SpecContext, c *harness.Check) {
			e.canOrder()
			obj := e.newObject()
			var ids, unacked []string
			var newest string
			var refusal harness.Response
			for _, seq := range outOfOrder {
				d := e.event(obj, seq)
				ids = append(ids, d.ID)
				if seq == slices.Max(outOfOrder) {
					newest = d.ID
				}
				resp := e.accept(ctx, c, fmt.Sprintf("object %s, seq %d", obj, seq), d, 0)
				if !resp.OK() {
					unacked, refusal = append(unacked, fmt.Sprint(seq)), resp
				}
			}
			seen := len(unacked) == 0 && e.awaitEffect(ctx, newest)
			// Stale events may be reported (applied:false) or not at all: wait a moment for the
			// rest, without requiring them.
			deadline := time.Now().Add(settle)
			for time.Now().Before(deadline) && len(e.effectsOf(ids)) < len(ids) && ctx.Err() == nil {
				time.Sleep(pollEvery)
			}
			applied := e.sink.AppliedSeq(obj)
			c.Assert(isStrictlyIncreasing(applied), "applied seqs strictly increasing",
				fmt.Sprintf("sent %s; applied, in order: %s", seqList(outOfOrder), seqList(applied)))
			switch {
			case len(unacked) > 0:
				notAcked("seq "+strings.Join(unacked, ", "), "RCV-SIG-001", refusal)
			case !seen && len(e.effectsOf(ids)) == 0:
				noEffectReported(fmt.Sprintf("any of %d events", len(ids)))
			}
			increasing := slices.IsSortedFunc(applied, func(a, b int64) int {
				if a >= b {
					return 0
				}
				return -1
			}) && isStrictlyIncreasing(applied)
			last := int64(-1)
			if len(applied) > 0 {
				last = applied[len(applied)-1]
			}
			c.Assert(increasing && last == slices.Max(outOfOrder),
				fmt.Sprintf("applied seqs strictly increasing, ending with %d", slices.Max(outOfOrder)),
				fmt.Sprintf("sent %s; applied, in order: %s", seqList(outOfOrder), seqList(applied)))
		})

		harness.Case("RCV-ORD-002", func(ctx SpecContext, c *harness.Check) {
			e.canOrder()
			obj := e.newObject()
			newer, older := e.event(obj, 2), e.event(obj, 1)
			// The premise is seq 2 acknowledged and applied before seq 1 is sent; the ack of the
			// late seq 1 is the requirement's ("processed as stale"), so it stays a failure.
			resp := e.accept(ctx, c, fmt.Sprintf("object %s, seq 2", obj), newer, 0)
			if !resp.OK() {
				notAcked("seq 2", "RCV-SIG-001", resp)
			}
			if !e.awaitEffect(ctx, newer.ID) { // seq 2 is applied before the late seq 1 is sent
				noEffectReported("seq 2")
			}
			resp = e.accept(ctx, c, fmt.Sprintf("object %s, seq 1, sent after seq 2 was applied", obj), older, 0)
			c.Assert(resp.OK(), "an ack for the late seq 1 (it is a valid delivery)", resp.Describe())
			// The late event may be reported as stale (applied:false) or not at all: wait for
			// its report, or a moment, then look at what was applied.
			deadline := time.Now().Add(settle)
			for time.Now().Before(deadline) && e.sink.Distinct(older.ID) == 0 && ctx.Err() == nil {
				time.Sleep(pollEvery)
			}
			applied := e.sink.AppliedSeq(obj)
			c.Assert(seqList(applied) == "[2]",
				"applied seqs [2]: the late seq 1 is processed as stale (applied:false) or not reported",
				fmt.Sprintf("applied, in order: %s", seqList(applied)))
		})
	})
}

func isStrictlyIncreasing(s []int64) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

func seqList(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
