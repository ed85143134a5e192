package session

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookproof/hookproof/reports"
)

// ErrNonConformant is the verdict's error when no more precise one applies.
var ErrNonConformant = errors.New("non-conformant")

// ErrInconclusive is the error of a run in which no case passed: skipped is not passed.
var ErrInconclusive = errors.New("inconclusive: no case could be checked (all skipped, not applicable or not observable)")

// AllowUnobservedUsage is the help text of --allow-unobserved, on every command that grades.
const AllowUnobservedUsage = "exit 0 when every observed MUST held but some MUST requirements could not be observed (verdict stays \"incomplete\"; recorded in the results)"

// VerdictError is the error a command ends with after it printed and wrote the results of
// rs: nil when they pass (exit 0), else one line that names why they do not (exit 1).
func VerdictError(rs ...*reports.Results) error {
	if reports.OverallPassing(rs...) {
		return nil
	}
	switch reports.Overall(rs...) {
	case reports.Interrupted:
		for _, r := range rs {
			if r.Interrupted != nil {
				return fmt.Errorf("interrupted after %.1fs (%s): the results are partial and were written as interrupted", r.Interrupted.AfterS, r.Interrupted.Reason)
			}
		}
	case reports.Incomplete:
		var ids []string
		for _, r := range rs {
			if !r.Run.AllowUnobserved {
				ids = append(ids, r.UnobservedMust()...)
			}
		}
		return fmt.Errorf("incomplete: %d MUST requirement(s) not observable (%s); make them observable (e.g. --sink), or pass --allow-unobserved to accept an incomplete verdict",
			len(ids), strings.Join(ids, ", "))
	case reports.Inconclusive:
		return ErrInconclusive
	}
	var must, should int
	var failedTh []string
	void := false
	for _, r := range rs {
		t := r.Tally()
		must += t.MustFailed
		if r.Run.Strict {
			should += t.ShouldFailed
		}
		if r.Load != nil {
			for _, th := range r.Load.Thresholds {
				if th.Result() == reports.Failed {
					failedTh = append(failedTh, th.Expr)
				}
			}
			void = void || r.Load.Ledger.Void
		}
	}
	var parts []string
	if must > 0 {
		parts = append(parts, fmt.Sprintf("%d MUST case(s) failed", must))
	}
	if should > 0 {
		parts = append(parts, fmt.Sprintf("%d SHOULD case(s) failed (--strict)", should))
	}
	if len(failedTh) > 0 {
		parts = append(parts, "failed: "+strings.Join(failedTh, ", "))
	}
	if void {
		parts = append(parts, "ledger void")
	}
	if len(parts) == 0 {
		return ErrNonConformant
	}
	return errors.New("non-conformant: " + strings.Join(parts, "; "))
}
