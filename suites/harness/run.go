package harness

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// Config is one run of a suite.
type Config struct {
	Suite       catalog.Suite // which catalogue the specs implement
	Kind        reports.Kind
	Description string // Ginkgo's suite description
	// Requirements replaces the suite's catalogue (tests of the harness itself); nil means
	// catalog.All(Suite).
	Requirements []catalog.Requirement

	Scheme       string   // cases limited to other schemes are not applicable
	Capabilities []string // what the run can observe, matched against requirement needs ("sink")
	OptIns       []string // optional checks the target asked for ("cloudevents")
	Selector     catalog.Selector
	Seed         int64 // spec order and every random choice of the suite derive from it
	Strict       bool
	Timeout      time.Duration // for the whole suite; 0: Ginkgo's default (1 h)
	DryRun       bool          // walk the specs without running them (every case is skipped)

	// Out gets a line per case as it ends (reports.PrintCase), nil for none.
	Out         io.Writer
	TextOptions []reports.TextOption
	// GinkgoOutput keeps Ginkgo's own console reporter; by default the harness silences it.
	GinkgoOutput bool

	// Meta is copied into the results; Run fills in the seed, scheme, strictness, times and
	// the Go and Ginkgo versions.
	Meta reports.RunMeta
}

// Errors of Run.
var (
	// ErrAlreadyRan: Ginkgo runs one suite per process.
	ErrAlreadyRan = errors.New("a suite already ran in this process (Ginkgo runs one per process)")
	// ErrCatalogMismatch: the specs and the catalogue do not match one to one.
	ErrCatalogMismatch = errors.New("specs and requirements catalogue do not match one to one")
	// ErrEmptySelection: the selection matches no requirement.
	ErrEmptySelection = errors.New("the selection matches no requirement")
	// ErrIncomplete: the suite was interrupted or timed out. Run returns the results so far
	// with it; cases that did not run are skipped ("not run"), so the verdict is not one.
	ErrIncomplete = errors.New("the suite did not run to the end")
)

// T is a ginkgo.GinkgoTestingT for runs outside `go test`: it only remembers a failure.
type T struct {
	mu     sync.Mutex
	failed bool
}

// Fail marks the run failed.
func (t *T) Fail() { t.mu.Lock(); t.failed = true; t.mu.Unlock() }

// Failed reports whether Fail was called.
func (t *T) Failed() bool { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }

// runState is the one run of this process, read by the Case wrappers and report hooks.
type runState struct {
	cfg      Config
	reqs     []catalog.Requirement
	selected map[string]bool
	dryRun   bool
	deadline time.Time // the suite timeout; specs skipped after it did not run

	mu     sync.Mutex
	checks map[string]*Check
	cases  map[string]reports.Case
	seen   map[string]int // spec count per ID, deselected specs included
	stray  []string       // specs without a catalogue ID label
	broken []string       // why Ginkgo says the suite as a whole failed (interrupt, timeout)
	halted bool           // a spec was interrupted or aborted: the specs after it are skipped
}

var (
	stateMu sync.Mutex
	state   *runState
	ran     bool
)

func current() *runState {
	stateMu.Lock()
	defer stateMu.Unlock()
	return state
}

// lookup finds requirement id in the run's catalogue.
func (st *runState) lookup(id string) (catalog.Requirement, bool) {
	for _, r := range st.reqs {
		if r.ID == id {
			return r, true
		}
	}
	return catalog.Requirement{}, false
}

func (st *runState) setCheck(id string, c *Check) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.checks[id] = c
}

// Run defines the suite (define registers its Ginkgo containers), runs it once with cfg and
// returns its results in catalogue order. t receives Ginkgo's pass/fail (nil: a private T).
// The error is for runs that could not be graded: a second run in one process, a selection
// that matches nothing, or specs that do not match the catalogue (no results); or a run that
// was interrupted or timed out (ErrIncomplete, with the results so far).
func Run(t ginkgo.GinkgoTestingT, cfg Config, define func()) (*reports.Results, error) {
	stateMu.Lock()
	if ran {
		stateMu.Unlock()
		return nil, ErrAlreadyRan
	}
	ran = true
	stateMu.Unlock()

	reqs := cfg.Requirements
	if reqs == nil {
		var err error
		if reqs, err = catalog.ForScheme(cfg.Suite, cfg.Scheme); err != nil {
			return nil, fmt.Errorf("harness: %w", err)
		}
	}
	st := &runState{cfg: cfg, reqs: reqs, selected: map[string]bool{},
		checks: map[string]*Check{}, cases: map[string]reports.Case{}, seen: map[string]int{}}
	var ids []string
	for _, r := range reqs {
		if cfg.Selector.Match(r) {
			st.selected[r.ID] = true
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("harness: %s: %w", cfg.Suite, ErrEmptySelection)
	}

	sc, rc := ginkgo.GinkgoConfiguration()
	sc.RandomSeed = cfg.Seed
	sc.DryRun = sc.DryRun || cfg.DryRun
	st.dryRun = sc.DryRun
	if cfg.Timeout > 0 {
		sc.Timeout = cfg.Timeout
	}
	if len(ids) < len(reqs) {
		sc.LabelFilter = andFilters(sc.LabelFilter, strings.Join(ids, " || "))
	}
	if _, err := types.ParseLabelFilter(sc.LabelFilter); err != nil {
		return nil, fmt.Errorf("harness: label filter %q: %w", sc.LabelFilter, err)
	}

	stateMu.Lock()
	state = st
	stateMu.Unlock()

	if define != nil {
		define()
	}
	ginkgo.ReportAfterEach(st.afterEach)
	ginkgo.ReportAfterSuite("hookproof harness", func(r types.Report) {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.broken = append(st.broken, r.SpecialSuiteFailureReasons...)
	})
	gomega.RegisterFailHandler(ginkgo.Fail)

	if !cfg.GinkgoOutput {
		saved := formatter.ColorableStdOut
		formatter.ColorableStdOut = io.Discard
		defer func() { formatter.ColorableStdOut = saved }()
	}
	if t == nil {
		t = &T{}
	}
	started := time.Now()
	st.deadline = started.Add(sc.Timeout)
	ginkgo.RunSpecs(t, cfg.Description, sc, rc)
	finished := time.Now()
	res, err := st.results(started, finished)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.broken) > 0 {
		// Ginkgo's reasons are "Interrupted by User" (a signal) or "Suite Timeout Elapsed":
		// either way the run did not reach its end, and its verdict is "interrupted".
		why := strings.Join(st.broken, "; ")
		res.Interrupted = reports.NewInterruption(started, finished, why)
		return res, fmt.Errorf("harness: %w: %s", ErrIncomplete, why)
	}
	return res, nil
}

func andFilters(a, b string) string {
	switch {
	case strings.TrimSpace(a) == "":
		return b
	case strings.TrimSpace(b) == "":
		return a
	}
	return "(" + a + ") && (" + b + ")"
}

// afterEach turns one spec report into a case and prints its line.
func (st *runState) afterEach(r types.SpecReport) {
	id := specID(r.Labels())
	st.mu.Lock()
	if id == "" {
		st.stray = append(st.stray, r.FullText())
		st.mu.Unlock()
		return
	}
	st.seen[id]++
	chk := st.checks[id]
	halted := st.halted || (!st.deadline.IsZero() && time.Now().After(st.deadline))
	if r.State.Is(types.SpecStateInterrupted | types.SpecStateAborted) {
		st.halted = true
	}
	st.mu.Unlock()
	if !st.selected[id] || st.seen[id] > 1 {
		return
	}
	req, _ := st.lookup(id)
	c := reports.Case{ID: id, Level: req.Level, Family: req.Family, Requirement: req.Requirement,
		Source: req.Source, DurationMS: float64(r.RunTime) / float64(time.Millisecond)}
	var notes string
	if chk != nil {
		c.Evidence, c.Expected, c.Actual, notes = chk.snapshot()
	}
	msg := strings.TrimSpace(r.Failure.Message)
	switch {
	case r.State == types.SpecStatePassed && st.dryRun:
		c.Outcome, c.Reason = reports.Skipped, "dry run"
	case r.State == types.SpecStatePassed:
		c.Outcome = reports.Passed
	case r.State == types.SpecStateSkipped && msg == "" && halted:
		c.Outcome, c.Reason = reports.Skipped, notRun
	case r.State == types.SpecStateSkipped:
		c.Outcome, c.Reason = skipOutcome(msg)
	case r.State == types.SpecStatePending:
		c.Outcome, c.Reason = reports.Skipped, "pending"
	case r.State == types.SpecStateInterrupted:
		// Stopped by a signal or the suite's --timeout while it ran: what it saw is kept as
		// evidence, but it is not graded (the run's verdict is "interrupted").
		c.Outcome, c.Reason = reports.Skipped, interruptedWhileRunning
	default:
		c.Outcome = reports.Failed
		if r.State != types.SpecStateFailed {
			c.Reason = r.State.String()
		}
		if c.Actual == "" {
			c.Actual = reports.Excerpt([]byte(msg), 1200)
		}
		if c.Expected == "" {
			c.Expected = req.Requirement
		}
	}
	if notes != "" {
		c.Reason = strings.TrimPrefix(c.Reason+"; "+notes, "; ")
	}
	st.mu.Lock()
	st.cases[id] = c
	st.mu.Unlock()
	if st.cfg.Out != nil {
		reports.PrintCase(st.cfg.Out, c, st.cfg.TextOptions...)
	}
}

func skipOutcome(msg string) (reports.Outcome, string) {
	switch {
	case strings.HasPrefix(msg, prefixNotApplicable):
		return reports.NotApplicable, strings.TrimPrefix(msg, prefixNotApplicable)
	case strings.HasPrefix(msg, prefixNotObservable):
		return reports.NotObservable, strings.TrimPrefix(msg, prefixNotObservable)
	case strings.HasPrefix(msg, prefixSkipped):
		return reports.Skipped, strings.TrimPrefix(msg, prefixSkipped)
	case msg == "":
		return reports.Skipped, "filtered out by Ginkgo's focus or skip flags"
	}
	return reports.Skipped, msg
}

// notRun is the reason of a selected case that never ran.
const notRun = "not run: the suite was interrupted or timed out"

// interruptedWhileRunning is the reason of a case that a signal or the suite's timeout stopped.
const interruptedWhileRunning = "interrupted while it ran: not graded"

var idLabel = regexp.MustCompile(`^((RCV|SND)-[A-Z]+-[0-9]{3}|LOAD-[A-Z]+(-[A-Z]+)*)$`)

func specID(labels []string) string {
	for _, l := range labels {
		if idLabel.MatchString(l) {
			return l
		}
	}
	return ""
}

// results checks the specs against the catalogue and assembles the selected cases in
// catalogue order.
func (st *runState) results(started, finished time.Time) (*reports.Results, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var problems []string
	inCat := map[string]bool{}
	for _, r := range st.reqs {
		inCat[r.ID] = true
		switch n := st.seen[r.ID]; {
		case n == 0 && len(st.seen) > 0:
			problems = append(problems, r.ID+" has no spec")
		case n > 1:
			problems = append(problems, fmt.Sprintf("%s has %d specs", r.ID, n))
		}
	}
	var extra []string
	for id := range st.seen {
		if !inCat[id] {
			extra = append(extra, id+" is not in the "+string(st.cfg.Suite)+" catalogue")
		}
	}
	sort.Strings(extra)
	problems = append(problems, extra...)
	for _, s := range st.stray {
		problems = append(problems, fmt.Sprintf("spec %q has no requirement ID label", s))
	}
	if len(st.seen) == 0 {
		problems = append(problems, "no spec reported (the suite did not run)")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("harness: %w: %s", ErrCatalogMismatch, strings.Join(problems, "; "))
	}

	res := &reports.Results{Schema: reports.Schema, Kind: st.cfg.Kind, Run: st.cfg.Meta}
	res.Run.Scheme = st.cfg.Scheme
	res.Run.Seed = st.cfg.Seed
	res.Run.Strict = st.cfg.Strict
	res.Run.Started, res.Run.Finished = started, finished
	if res.Run.Versions == nil {
		res.Run.Versions = map[string]string{}
	}
	res.Run.Versions["go"] = runtime.Version()
	res.Run.Versions["ginkgo"] = types.VERSION
	for _, r := range st.reqs {
		if !st.selected[r.ID] {
			continue
		}
		c, ok := st.cases[r.ID]
		if !ok {
			c = reports.Case{ID: r.ID, Level: r.Level, Family: r.Family, Requirement: r.Requirement,
				Source: r.Source, Outcome: reports.Skipped, Reason: notRun}
		}
		res.Cases = append(res.Cases, c)
	}
	return res, nil
}
