package sender_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/badsender"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
)

// Ginkgo runs one suite per process, so every run below is this test binary again, running
// TestSenderSuite with flags and writing its results JSON.

// runSuite runs the suite in a subprocess and returns its results, or why there are none.
func runSuite(args ...string) (*reports.Results, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "hookproof-sender-suite-")
	if err != nil {
		return nil, err.Error()
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "results.json")
	argv := append([]string{"-test.run=^TestSenderSuite$", "-test.count=1", "-out", out}, args...)
	cmd := exec.CommandContext(ctx, os.Args[0], argv...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HOOKPROOF_") })
	output, err := cmd.CombinedOutput()
	res, rerr := reports.ReadFile(out)
	if rerr != nil {
		return nil, fmt.Sprintf("suite run %v: %v, and no results (%v):\n%s", args, err, rerr, output)
	}
	return res, ""
}

// teeth maps each known-bad sender to the cases its flaw breaks (they fail) and the cases
// whose premise it removes (they are not observable: a sender that never retries leaves the
// id and timestamp of a retry nothing to look at); it must pass every other case.
type tooth struct {
	flaw         string
	fails        []string
	unobservable []string
}

var teeth = []tooth{
	{"new-id-per-retry", []string{"SND-ID-001"}, nil},
	{"one-id-for-all", []string{"SND-ID-002"}, nil},
	{"event-time-timestamp", []string{"SND-TS-001"}, nil},
	{"no-retries", []string{"SND-RETRY-001", "SND-RETRY-002", "SND-RETRY-003"},
		[]string{"SND-ID-001", "SND-TS-001", "SND-RETRY-004", "SND-STATUS-001", "SND-STATUS-003"}},
	{"no-backoff", []string{"SND-RETRY-004"}, nil},
	{"follows-redirects", []string{"SND-STATUS-001"}, nil},
	{"3xx-is-success", []string{"SND-STATUS-001"}, nil},
	{"ignores-retry-after", []string{"SND-STATUS-003"}, nil},
}

func TestEveryFlawHasTeeth(t *testing.T) {
	for _, f := range badsender.Flaws() {
		if !slices.ContainsFunc(teeth, func(r tooth) bool { return r.flaw == f }) {
			t.Errorf("flaw %s has no proof-of-teeth row", f)
		}
	}
}

// checkCases checks that exactly the cases in fails failed, exactly those in unobservable were
// not observable (each with a reason naming the case that covers its missing premise), and
// every other one passed (the long case aside, skipped in these runs).
func checkCases(t *testing.T, res *reports.Results, fails, unobservable []string) {
	t.Helper()
	for _, c := range res.Cases {
		wantFail, wantNO := slices.Contains(fails, c.ID), slices.Contains(unobservable, c.ID)
		switch {
		case c.ID == "SND-TIMEOUT-001" && !wantFail:
			if c.Outcome != reports.Skipped && c.Outcome != reports.Passed {
				t.Errorf("%s: %s, want skipped (long) or passed", c.ID, c.Outcome)
			}
		case wantFail && c.Outcome != reports.Failed:
			t.Errorf("%s: %s, want failed (the flaw breaks it)\n  reason: %s", c.ID, c.Outcome, c.Reason)
		case wantNO && c.Outcome != reports.NotObservable:
			t.Errorf("%s: %s, want not observable (the flaw removes its premise)\n  expected: %s\n  actual: %s\n  reason: %s",
				c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
		case wantNO && !strings.Contains(c.Reason, "see SND-"):
			t.Errorf("%s: not observable because %q, want a reason naming the case that covers the premise", c.ID, c.Reason)
		case !wantFail && !wantNO && c.Outcome != reports.Passed:
			t.Errorf("%s: %s, want passed\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
		}
	}
	if got, want := len(res.Cases), len(catalog.MustAll(catalog.Sender)); got != want {
		t.Errorf("%d cases in the results, want all %d of the catalogue", got, want)
	}
}

// TestSuiteRuns runs the suite in subprocesses, all at once (they wait on timers, and go
// test would otherwise run two at a time), then grades each in a subtest:
//
//   - teeth/FLAW: every known-bad sender fails exactly the cases its flaw breaks and is graded
//     non-conformant (the flaw-free reference passes every case: TestSenderSuite);
//   - reference/fixed-url: the reference sender with one fixed URL (a trigger without {url},
//     cases routed by time) passes every case;
//   - reference/long-case: SND-TIMEOUT-001 against the reference sender's default 15 s request
//     timeout. This is the one run of the long case in `make test`; the others leave it out.
func TestSuiteRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	t.Parallel()
	type run struct {
		name string
		args []string
		res  *reports.Results
		err  string
	}
	var runs []*run
	for i, tc := range teeth {
		runs = append(runs, &run{name: "teeth/" + tc.flaw,
			args: []string{"-builtin", "badsender:" + tc.flaw, "-seed", fmt.Sprint(300 + i), "-retry-wait", "2s"}})
	}
	runs = append(runs,
		&run{name: "reference/fixed-url", args: []string{"-builtin", "reference", "-fixed", "-seed", "400"}},
		&run{name: "reference/long-case", args: []string{"-builtin", "reference", "-builtin-timeout", "15s", "-id", "SND-TIMEOUT-001", "-seed", "500"}})
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.res, r.err = runSuite(r.args...)
		}()
	}
	wg.Wait()
	get := func(t *testing.T, name string) *reports.Results {
		for _, r := range runs {
			if r.name == name {
				if r.res == nil {
					t.Fatal(r.err)
				}
				t.Logf("suite run %v: %s", r.args, r.res.Run.Finished.Sub(r.res.Run.Started).Round(time.Millisecond))
				return r.res
			}
		}
		t.Fatalf("no run %s", name)
		return nil
	}

	for _, tc := range teeth {
		t.Run("teeth/"+tc.flaw, func(t *testing.T) {
			res := get(t, "teeth/"+tc.flaw)
			checkCases(t, res, tc.fails, tc.unobservable)
			mustFailed := slices.ContainsFunc(res.Cases, func(c reports.Case) bool {
				return c.Outcome == reports.Failed && c.Level == reports.MUST
			})
			switch v := res.Verdict(); {
			case mustFailed && v != reports.NonConformant:
				t.Errorf("verdict %q, want non-conformant", v)
			case !mustFailed && v != reports.ConformantShouldGaps:
				t.Errorf("verdict %q, want %q (its flaw breaks a SHOULD)", v, reports.ConformantShouldGaps)
			}
		})
	}
	t.Run("reference/fixed-url", func(t *testing.T) {
		checkCases(t, get(t, "reference/fixed-url"), nil, nil)
	})
	t.Run("reference/long-case", func(t *testing.T) {
		res := get(t, "reference/long-case")
		if len(res.Cases) != 1 || res.Cases[0].ID != "SND-TIMEOUT-001" || res.Cases[0].Outcome != reports.Passed {
			for _, c := range res.Cases {
				t.Errorf("%s: %s\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
			}
			t.Fatalf("%d cases, want SND-TIMEOUT-001 passed", len(res.Cases))
		}
	})
}

// TestCatalogMatchesSpecs walks the specs without running them: every catalogue requirement
// has exactly one spec and every spec names one.
func TestCatalogMatchesSpecs(t *testing.T) {
	t.Parallel()
	res, why := runSuite("-builtin", "badsender:none", "-dry-run", "-seed", "1")
	if res == nil {
		t.Fatal(why)
	}
	var got, want []string
	for _, c := range res.Cases {
		got = append(got, c.ID)
		if c.Outcome != reports.Skipped {
			t.Errorf("%s: %s in a dry run, want skipped", c.ID, c.Outcome)
		}
	}
	for _, r := range catalog.MustAll(catalog.Sender) {
		want = append(want, r.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cases %v\nwant (catalogue order) %v", got, want)
	}
}
