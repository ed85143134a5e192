package reports

// Overall grades several runs together: the worst verdict of any of them (non-conformant,
// then inconclusive, then SHOULD gaps). No runs at all is not evidence of anything, so it
// grades as non-conformant.
func Overall(rs ...*Results) Verdict {
	if len(rs) == 0 {
		return NonConformant
	}
	v := Conformant
	for _, r := range rs {
		switch r.Verdict() {
		case NonConformant:
			return NonConformant
		case Inconclusive:
			v = Inconclusive
		case ConformantShouldGaps:
			if v != Inconclusive {
				v = ConformantShouldGaps
			}
		}
	}
	return v
}

// Passing reports whether v lets a command exit 0: conformant, with or without SHOULD gaps.
func (v Verdict) Passing() bool { return v == Conformant || v == ConformantShouldGaps }

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
			if th.Passed {
				c.Passed++
			} else {
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
			total++
			if th.Passed {
				passed++
			}
		}
	}
	return passed, total
}
