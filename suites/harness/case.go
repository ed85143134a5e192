package harness

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/onsi/ginkgo/v2"
)

// Skip reasons are machine-readable: a prefix naming the outcome, then why.
const (
	prefixNotApplicable = "not-applicable: "
	prefixNotObservable = "not-observable: "
	prefixSkipped       = "skipped: "
)

// NotApplicable ends the running case as not applicable (the requirement does not apply).
func NotApplicable(format string, a ...any) {
	ginkgo.Skip(prefixNotApplicable+fmt.Sprintf(format, a...), 1)
}

// NotObservable ends the running case as not observable (the run lacks what it needs).
func NotObservable(format string, a ...any) {
	ginkgo.Skip(prefixNotObservable+fmt.Sprintf(format, a...), 1)
}

// Skipped ends the running case as skipped (for example a check the target did not opt in to).
func Skipped(format string, a ...any) {
	ginkgo.Skip(prefixSkipped+fmt.Sprintf(format, a...), 1)
}

// DefaultCaseTimeout bounds one case unless it is given a ginkgo.SpecTimeout.
const DefaultCaseTimeout = 60 * time.Second

// Body is a case: it sends what it needs, records evidence into c and fails through c (or
// Gomega, whose failures the harness reports as the actual outcome).
type Body func(ctx ginkgo.SpecContext, c *Check)

// Case registers the spec for catalogue requirement id: its text quotes the requirement, its
// labels are the ID, family, level and needs (so label filters select by any of them), and
// before body runs the harness applies the scheme, sink and opt-in rules. decorators are
// passed to ginkgo.It (SpecTimeout, Serial, ...).
func Case(id string, body Body, decorators ...any) bool {
	req, known := lookup(id)
	args := append([]any{caseLabels(id, req, known)}, decorators...)
	if !hasSpecTimeout(decorators) {
		args = append(args, ginkgo.SpecTimeout(DefaultCaseTimeout))
	}
	args = append(args, func(ctx ginkgo.SpecContext) { runCase(ctx, id, body) })
	return ginkgo.It(caseText(id, req, known), args...)
}

// TableBody is a case of a table: one requirement per entry, sharing one body.
type TableBody[T any] func(ctx ginkgo.SpecContext, c *Check, arg T)

// TableEntry is one row of a Table: a requirement ID and the argument for its body.
type TableEntry[T any] struct {
	ID         string
	Arg        T
	Decorators []any
}

// Row makes a TableEntry.
func Row[T any](id string, arg T, decorators ...any) TableEntry[T] {
	return TableEntry[T]{ID: id, Arg: arg, Decorators: decorators}
}

// Table registers a ginkgo.DescribeTable whose entries are catalogue requirements: families
// of negative cases that differ only in what they send.
func Table[T any](text string, body TableBody[T], rows ...TableEntry[T]) bool {
	entries := make([]any, 0, len(rows))
	for _, r := range rows {
		req, known := lookup(r.ID)
		args := append([]any{caseLabels(r.ID, req, known)}, r.Decorators...)
		if !hasSpecTimeout(r.Decorators) {
			args = append(args, ginkgo.SpecTimeout(DefaultCaseTimeout))
		}
		args = append(args, r.ID, r.Arg)
		entries = append(entries, ginkgo.Entry(caseText(r.ID, req, known), args...))
	}
	return ginkgo.DescribeTable(text, append([]any{func(ctx ginkgo.SpecContext, id string, arg T) {
		runCase(ctx, id, func(ctx ginkgo.SpecContext, c *Check) { body(ctx, c, arg) })
	}}, entries...)...)
}

// lookup finds id in the running suite's catalogue (specs are defined inside Run), or in the
// compiled-in catalogue outside a run.
func lookup(id string) (catalog.Requirement, bool) {
	if st := current(); st != nil {
		return st.lookup(id)
	}
	return catalog.Lookup(id)
}

func caseText(id string, req catalog.Requirement, known bool) string {
	if !known {
		return id + " (not in the catalogue)"
	}
	return id + " " + req.Requirement
}

func caseLabels(id string, req catalog.Requirement, known bool) ginkgo.Labels {
	l := ginkgo.Label(id)
	if !known {
		return l
	}
	l = append(l, labelSafe(req.Family), string(req.Level))
	for _, n := range req.Needs {
		l = append(l, labelSafe(n))
	}
	return l
}

// labelSafe drops the characters Ginkgo forbids in labels.
func labelSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("&|!,()/:", r) {
			return '-'
		}
		return r
	}, s)
}

func hasSpecTimeout(decorators []any) bool {
	return slices.ContainsFunc(decorators, func(d any) bool {
		_, ok := d.(ginkgo.SpecTimeout)
		return ok
	})
}

// runCase applies the run's rules to requirement id, then runs body with a fresh Check.
func runCase(ctx ginkgo.SpecContext, id string, body Body) {
	st := current()
	if st == nil {
		ginkgo.Fail("harness: case run outside harness.Run")
	}
	req, known := st.lookup(id)
	if !known {
		ginkgo.Fail(fmt.Sprintf("%s is not in the requirements catalogue", id))
	}
	// Reasons are short: the console line shows about 48 characters of them.
	switch {
	case !req.AppliesTo(st.cfg.Scheme):
		NotApplicable("not for %s (only %s)", st.cfg.Scheme, strings.Join(req.ApplicableSchemes(), ", "))
	case req.OptIn != "" && !slices.Contains(st.cfg.OptIns, req.OptIn):
		Skipped("not opted in (--opt-in %s)", req.OptIn)
	}
	for _, n := range req.Needs {
		if n == "opt-in" || n == "long" {
			continue
		}
		if !slices.Contains(st.cfg.Capabilities, n) {
			NotObservable("%s", capabilityHint(n))
		}
	}
	c := newCheck(req)
	st.setCheck(id, c)
	body(ctx, c)
}

func capabilityHint(n string) string {
	if n == "sink" {
		return "no effect sink (--sink)"
	}
	return "needs " + n
}
