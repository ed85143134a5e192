package reports

import (
	"fmt"
	"slices"
	"strings"
)

// severity orders verdicts from best to worst, for Overall.
var severity = map[Verdict]int{
	Conformant: 0, ConformantShouldGaps: 1, Incomplete: 2, Inconclusive: 3, Interrupted: 4, NonConformant: 5,
}

// Overall grades several runs together: the worst verdict of any of them (non-conformant,
// interrupted, inconclusive, incomplete, SHOULD gaps, in that order). No runs at all is not
// evidence of anything, so it grades as non-conformant.
func Overall(rs ...*Results) Verdict {
	if len(rs) == 0 {
		return NonConformant
	}
	v := Conformant
	for _, r := range rs {
		if rv := r.Verdict(); severity[rv] > severity[v] {
			v = rv
		}
	}
	return v
}

// OverallPassing reports whether every run passes (see Results.Passing); no runs is not passing.
func OverallPassing(rs ...*Results) bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		if !r.Passing() {
			return false
		}
	}
	return true
}

// Passing reports whether v lets a command exit 0 by itself: conformant, with or without
// SHOULD gaps. An incomplete run passes only when it allowed unobserved MUSTs (Results.Passing).
func (v Verdict) Passing() bool { return v == Conformant || v == ConformantShouldGaps }

// Explain says in one sentence what a verdict other than conformant means for r, for the
// console, the Markdown summary and the HTML banner; "" for a conformant run.
func (r *Results) Explain() string {
	switch r.Verdict() {
	case Interrupted:
		in := r.Interrupted
		return fmt.Sprintf("the run was stopped %.1fs after it started (%s): what it observed is partial and proves nothing", in.AfterS, in.Reason)
	case Incomplete:
		ids := r.UnobservedMust()
		s := fmt.Sprintf("every observed MUST held; %s not observable: %s", plural(len(ids), "MUST requirement"), strings.Join(ids, ", "))
		if hint := r.unobservedHint(); hint != "" {
			s += " — " + hint
		}
		if r.Run.AllowUnobserved {
			s += " (allowed by --allow-unobserved)"
		}
		return s
	case Inconclusive:
		return "no case could be checked: all skipped, not applicable or not observable"
	}
	return ""
}

// unobservedHint names what would make the unobserved MUSTs observable, from their reasons.
func (r *Results) unobservedHint() string {
	var hints []string
	add := func(h string) {
		if h != "" && !slices.Contains(hints, h) {
			hints = append(hints, h)
		}
	}
	for _, c := range r.Cases {
		if c.Outcome == NotObservable && c.Level == MUST && strings.Contains(c.Reason, "sink") {
			add("give --sink (or --effects-sql, --effects-log)")
		}
	}
	if r.Load != nil {
		for _, th := range r.Load.Thresholds {
			if th.Result() != NotObservable {
				continue
			}
			switch {
			case strings.Contains(th.Reason, "--sink"):
				add("give --sink (or --effects-sql, --effects-log)")
			case strings.Contains(th.Reason, "--invalid"):
				add("give --invalid P > 0")
			}
		}
	}
	return strings.Join(hints, ", ")
}

// KindTitle names a kind of run for people.
func KindTitle(k Kind) string {
	switch k {
	case KindConformReceiver:
		return "Receiver conformance"
	case KindConformSender:
		return "Sender conformance"
	case KindLoad:
		return "Load"
	default:
		return string(k)
	}
}

// Counts is what the closing line of a run reports: cases, plus a load run's thresholds and
// ledger check. Skipped includes NotApplicable and NotObservable, which are also given apart.
type Counts struct {
	Passed, Failed, Skipped      int
	NotApplicable, NotObservable int
}

// Count counts r's cases and, for a load run, each threshold and the ledger's consistency
// (a void ledger is one failure).
func Count(rs ...*Results) Counts {
	var c Counts
	for _, r := range rs {
		t := r.Tally()
		c.Passed += t.Passed
		c.Failed += t.Failed
		c.Skipped += t.Skipped + t.NotApplicable + t.NotObservable
		c.NotApplicable += t.NotApplicable
		c.NotObservable += t.NotObservable
		if r.Load == nil {
			continue
		}
		for _, th := range r.Load.Thresholds {
			switch th.Result() {
			case Passed:
				c.Passed++
			case NotObservable:
				c.Skipped++
				c.NotObservable++
			default:
				c.Failed++
			}
		}
		if r.Load.Ledger.Void {
			c.Failed++
		}
	}
	return c
}

// thresholdTally counts the thresholds of rs that passed, out of how many.
func thresholdTally(rs ...*Results) (passed, total int) {
	for _, r := range rs {
		if r.Load == nil {
			continue
		}
		for _, th := range r.Load.Thresholds {
			if th.Result() == NotObservable {
				continue
			}
			total++
			if th.Result() == Passed {
				passed++
			}
		}
	}
	return passed, total
}
