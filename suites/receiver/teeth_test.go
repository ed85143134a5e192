package receiver_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/receiver"
)

// Ginkgo runs one suite per process, so every run below is this test binary again, running
// TestReceiverSuite with flags and writing its results JSON. Runs mostly wait on the network
// and on timers, so more of them run at once than the box has cores.
var subprocesses = make(chan struct{}, 4)

// runSuite runs the suite in a subprocess and returns its results.
func runSuite(t *testing.T, args ...string) *reports.Results {
	t.Helper()
	subprocesses <- struct{}{}
	defer func() { <-subprocesses }()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "results.json")
	argv := append([]string{"-test.run=^TestReceiverSuite$", "-test.count=1", "-out", out}, args...)
	cmd := exec.CommandContext(ctx, os.Args[0], argv...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HOOKPROOF_SECRET=") })
	started := time.Now()
	output, err := cmd.CombinedOutput()
	res, rerr := reports.ReadFile(out)
	if rerr != nil {
		t.Fatalf("suite run %v: %v, and no results (%v):\n%s", args, err, rerr, output)
	}
	t.Logf("suite run %v took %s (suite %s)", args, time.Since(started).Round(time.Millisecond),
		res.Run.Finished.Sub(res.Run.Started).Round(time.Millisecond))
	return res
}

// teeth maps each known-bad receiver to the cases it must fail. It must pass every other
// case (or have it not applicable). slow-ack runs only the ack cases: every delivery it
// accepts costs 5.5 s by design, and the other families would only be slow, not different.
var teeth = []struct {
	flaw   string
	ids    string // selection, "" for every case
	strict bool
	fails  []string
}{
	{knownbad.None, "", false, nil},
	{"no-signature-check", "", false, []string{"RCV-SIG-002", "RCV-SIG-003", "RCV-SIG-004", "RCV-SIG-005", "RCV-SIG-006",
		"RCV-SIG-007", "RCV-SIG-008", "RCV-SIG-011", "RCV-SIG-012", "RCV-SIG-013", "RCV-SIG-014",
		"RCV-TS-001", "RCV-TS-002", "RCV-TS-004"}},
	{"reserialize-body", "", false, []string{"RCV-SIG-010"}},
	{"ignore-timestamp", "", false, []string{"RCV-SIG-014", "RCV-TS-001", "RCV-TS-002", "RCV-TS-004"}},
	{"accept-future", "", false, []string{"RCV-TS-002"}},
	{"double-process", "", false, []string{"RCV-IDEM-001", "RCV-IDEM-002", "RCV-IDEM-003"}},
	{"slow-ack", "RCV-ACK-001,RCV-ACK-002,RCV-ACK-003,RCV-ACK-004", false, []string{"RCV-ACK-001", "RCV-ACK-002", "RCV-ACK-003"}},
	{"500-on-malformed", "", false, []string{"RCV-SIG-008", "RCV-SIG-012", "RCV-SIG-013"}},
	{"apply-stale", "", false, []string{"RCV-ORD-001", "RCV-ORD-002"}},
	// RCV-SIG-015 is a SHOULD: strict, so that the leak fails the run.
	{"leak-secret", "", true, []string{"RCV-SIG-015"}},
	// On standard the id header is signed, and id-optional is honest: it passes everything.
	// Its teeth are on github, in TestProofOfTeethUnsignedID.
	{"id-optional", "", false, nil},
}

// skipSelfTests skips the tests of the suite itself when it is run against an endpoint
// (-url), and in -short mode.
func skipSelfTests(t *testing.T) {
	t.Helper()
	switch {
	case *flagURL != "":
		t.Skip("-url: testing an endpoint, not the suite")
	case testing.Short():
		t.Skip("runs the suite in subprocesses")
	}
}

func TestEveryFlawHasTeeth(t *testing.T) {
	for _, f := range knownbad.Flaws() {
		found := false
		for _, row := range teeth {
			found = found || row.flaw == f
		}
		if !found {
			t.Errorf("flaw %s has no proof-of-teeth row", f)
		}
	}
}

// TestProofOfTeeth runs the suite against every known-bad receiver: each fails exactly the
// cases its flaw breaks (at least one MUST) and passes the rest; the control passes all.
func TestProofOfTeeth(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	for i, tc := range teeth {
		t.Run(tc.flaw, func(t *testing.T) {
			t.Parallel()
			args := []string{"-builtin", receiver.BuiltinKnownBad + tc.flaw, "-seed", fmt.Sprint(100 + i)}

			if tc.ids != "" {
				args = append(args, "-id", tc.ids)
			}
			if tc.strict {
				args = append(args, "-strict")
			}
			res := runSuite(t, args...)
			mustFailed := tc.strict
			for _, c := range res.Cases {
				wantFail := slices.Contains(tc.fails, c.ID)
				switch {
				case wantFail && c.Outcome != reports.Failed:
					t.Errorf("%s: %s, want failed (the flaw breaks it)", c.ID, c.Outcome)
				case !wantFail && c.Outcome != reports.Passed && c.Outcome != reports.NotApplicable:
					t.Errorf("%s: %s, want passed\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
				}
				if wantFail && c.Outcome == reports.Failed && c.Level == reports.MUST {
					mustFailed = true
				}
			}
			if len(tc.fails) > 0 && !mustFailed {
				t.Errorf("no MUST case failed")
			}
			wantVerdict := reports.NonConformant
			if len(tc.fails) == 0 {
				wantVerdict = reports.Conformant
			}
			if v := res.Verdict(); v != wantVerdict {
				t.Errorf("verdict %q, want %q", v, wantVerdict)
			}
			if got := len(res.Cases); tc.ids == "" && got != len(catalog.MustAll(catalog.Receiver)) {
				t.Errorf("%d cases in the results, want every one of the catalogue", got)
			}
		})
	}
}

// TestReferenceSchemes runs the suite against the reference receiver for the other schemes:
// every applicable MUST and SHOULD passes, and exactly the cases the catalogue limits to other
// schemes are reported not applicable (never passed).
func TestReferenceSchemes(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	for i, scheme := range slices.DeleteFunc(signature.Names(), func(n string) bool { return n == "standard" }) {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			res := runSuite(t, "-builtin", receiver.BuiltinReference, "-scheme", scheme, "-seed", fmt.Sprint(200+i))
			if res.Run.Scheme != scheme {
				t.Errorf("results scheme %q, want %q", res.Run.Scheme, scheme)
			}
			for _, c := range res.Cases {
				req, _ := catalog.Lookup(c.ID)
				want := reports.Passed
				if !req.AppliesTo(scheme) {
					want = reports.NotApplicable
				}
				if c.Outcome != want {
					t.Errorf("%s: %s, want %s\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, want, c.Expected, c.Actual, c.Reason)
				}
			}
		})
	}
}

// TestReferenceUnderChaos runs the suite through a chaos proxy that drops, duplicates, delays
// and fails deliveries: retrying like a sender, the reference receiver still passes every case,
// and the results carry what the proxy did.
func TestReferenceUnderChaos(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	const spec = "drop=0.1,duplicate=0.2,delay=0-100ms,error=0.1(status=503)"
	res := runSuite(t, "-builtin", receiver.BuiltinReference, "-chaos", spec, "-seed", "300")
	for _, c := range res.Cases {
		if r, ok := catalog.Lookup(c.ID); ok && !r.AppliesTo("standard") && c.Outcome == reports.NotApplicable {
			continue // a case for other schemes
		}
		if c.Outcome != reports.Passed {
			t.Errorf("%s: %s\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
		}
	}
	if res.Chaos == nil || res.Chaos.Spec != spec || res.Chaos.Seed != 300 || res.Chaos.Requests == 0 || len(res.Chaos.Counters) == 0 {
		t.Errorf("chaos section %+v", res.Chaos)
	}
	if res.Run.ChaosSpec != spec {
		t.Errorf("run chaos spec %q", res.Run.ChaosSpec)
	}
}

// TestCatalogMatchesSpecs walks the specs without running them: every catalogue requirement has
// exactly one spec and every spec names a catalogue requirement (the harness refuses to grade
// a run otherwise, so a mismatch leaves no results).
func TestCatalogMatchesSpecs(t *testing.T) {
	t.Parallel()
	res := runSuite(t, "-builtin", receiver.BuiltinKnownBad+knownbad.None, "-dry-run", "-seed", "1")
	var got, want []string
	for _, c := range res.Cases {
		got = append(got, c.ID)
		if c.Outcome != reports.Skipped || c.Reason != "dry run" {
			t.Errorf("%s: %s (%s) in a dry run, want skipped (dry run)", c.ID, c.Outcome, c.Reason)
		}
	}
	for _, r := range catalog.MustAll(catalog.Receiver) {
		want = append(want, r.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cases %v\nwant (catalogue order) %v", got, want)
	}
}

// premiseRow is a peer that breaks the premise of some cases rather than their requirement:
// the case that requires the missing thing fails, the cases that only build on it are not
// observable (with a reason naming the case that covers it), and the rest pass.
type premiseRow struct {
	name         string
	args         []string
	fails        []string
	unobservable []string
}

// checkPremises grades res as row says.
func checkPremises(t *testing.T, res *reports.Results, fails, unobservable []string) {
	t.Helper()
	for _, c := range res.Cases {
		wantFail, wantNO := slices.Contains(fails, c.ID), slices.Contains(unobservable, c.ID)
		switch {
		case wantFail && c.Outcome != reports.Failed:
			t.Errorf("%s: %s, want failed (the peer breaks its requirement)\n  reason: %s", c.ID, c.Outcome, c.Reason)
		case wantNO && c.Outcome != reports.NotObservable:
			t.Errorf("%s: %s, want not observable (the peer removes its premise)\n  expected: %s\n  actual: %s\n  reason: %s",
				c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
		case wantNO && !strings.Contains(c.Reason, "see RCV-"):
			t.Errorf("%s: not observable because %q, want a reason naming the case that covers the premise", c.ID, c.Reason)
		case !wantFail && !wantNO && c.Outcome != reports.Passed:
			t.Errorf("%s: %s, want passed\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
		}
	}
	for _, id := range slices.Concat(fails, unobservable) {
		if !slices.ContainsFunc(res.Cases, func(c reports.Case) bool { return c.ID == id }) {
			t.Errorf("%s is not in the results", id)
		}
	}
}

// TestMissingPremises runs cases against peers that take away what they build on: a receiver
// that rejects every delivery (it verifies with another secret), one that reports no effects
// to the sink, and CloudEvents handshakes refused in part or in whole.
func TestMissingPremises(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	const wrongSecret = "whsec_aG9va3Byb29mLXRoZS13cm9uZy1zZWNyZXQtMzJieSE="
	rows := []premiseRow{
		{"rejects-every-delivery", []string{"-builtin", receiver.BuiltinKnownBad + knownbad.None, "-builtin-secret", wrongSecret,
			"-id", "RCV-SIG-001,RCV-SIG-014,RCV-TS-004,RCV-ACK-005,RCV-IDEM-001,RCV-IDEM-003,RCV-ORD-001,RCV-ORD-002"},
			[]string{"RCV-SIG-001", "RCV-IDEM-001"},
			[]string{"RCV-SIG-014", "RCV-TS-004", "RCV-ACK-005", "RCV-IDEM-003", "RCV-ORD-001", "RCV-ORD-002"}},
		{"reports-no-effects", []string{"-builtin", receiver.BuiltinKnownBad + knownbad.None, "-builtin-no-sink",
			"-id", "RCV-SIG-014,RCV-IDEM-001,RCV-IDEM-002,RCV-IDEM-003,RCV-ORD-001,RCV-ORD-002"},
			[]string{"RCV-IDEM-001", "RCV-IDEM-002"},
			[]string{"RCV-SIG-014", "RCV-IDEM-003", "RCV-ORD-001", "RCV-ORD-002"}},
	}
	// Handshake peers, served here and tested with -url.
	handshakes := []struct {
		name         string
		answer       func(w http.ResponseWriter, r *http.Request)
		fails        []string
		unobservable []string
	}{
		{"refuses-every-handshake", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", "POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
		}, []string{"RCV-CE-001"}, []string{"RCV-CE-002", "RCV-CE-003"}},
		{"refuses-a-rate", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("WebHook-Request-Rate") != "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("WebHook-Allowed-Origin", "*")
			w.Header().Set("Allow", "POST")
		}, []string{"RCV-CE-002"}, nil},
		{"handshake-without-allow", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			w.Header().Set("WebHook-Allowed-Rate", "*")
		}, []string{"RCV-CE-003"}, nil},
	}
	for _, h := range handshakes {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodOptions {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.answer(w, r)
		}))
		t.Cleanup(srv.Close)
		rows = append(rows, premiseRow{h.name, []string{"-url", srv.URL + "/hook", "-secret", testSecret("standard"),
			"-opt-in", receiver.OptInCloudEvents, "-id", "RCV-CE-001,RCV-CE-002,RCV-CE-003"}, h.fails, h.unobservable})
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			res := runSuite(t, append(row.args, "-seed", fmt.Sprint(400+i))...)
			checkPremises(t, res, row.fails, row.unobservable)
		})
	}
}

// TestProofOfTeethUnsignedID: github's X-GitHub-Delivery and shopify's X-Shopify-Webhook-Id are
// not signed. A receiver that does without them is authentic but cannot deduplicate: it fails
// RCV-SIG-016 (SHOULD, so strict), and still passes the MUST that the signature depends on.
func TestProofOfTeethUnsignedID(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	for i, scheme := range []string{"github", "shopify"} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			res := runSuite(t, "-builtin", receiver.BuiltinKnownBad+"id-optional", "-scheme", scheme, "-strict",
				"-id", "RCV-SIG-001,RCV-SIG-004,RCV-SIG-016", "-seed", fmt.Sprint(300+i))
			want := map[string]reports.Outcome{"RCV-SIG-001": reports.Passed, "RCV-SIG-004": reports.Passed, "RCV-SIG-016": reports.Failed}
			for _, c := range res.Cases {
				if c.Outcome != want[c.ID] {
					t.Errorf("%s: %s, want %s\n  actual: %s", c.ID, c.Outcome, want[c.ID], c.Actual)
				}
			}
			if v := res.Verdict(); v != reports.NonConformant {
				t.Errorf("verdict %s, want non-conformant (strict)", v)
			}
		})
	}
}

// TestLevelsFollowTheProvider: Stripe's own libraries accept a future timestamp, so for stripe
// RCV-TS-002 is SHOULD: a receiver that accepts one has a SHOULD gap, not a MUST failure, and
// the case says which library behaviour decided it. On standard it stays MUST.
func TestLevelsFollowTheProvider(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	for i, tc := range []struct {
		scheme  string
		level   reports.Level
		verdict reports.Verdict
	}{
		{"stripe", reports.SHOULD, reports.ConformantShouldGaps},
		{"standard", reports.MUST, reports.NonConformant},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			t.Parallel()
			res := runSuite(t, "-builtin", receiver.BuiltinKnownBad+"accept-future", "-scheme", tc.scheme,
				"-id", "RCV-TS-001,RCV-TS-002,RCV-TS-003", "-seed", fmt.Sprint(400+i))
			for _, c := range res.Cases {
				if c.ID != "RCV-TS-002" {
					continue
				}
				if c.Outcome != reports.Failed || c.Level != tc.level {
					t.Errorf("RCV-TS-002: %s at %s, want failed at %s", c.Outcome, c.Level, tc.level)
				}
				if tc.scheme == "stripe" && !strings.Contains(c.Source, "constructEvent") {
					t.Errorf("RCV-TS-002's source does not say which library decided its level: %s", c.Source)
				}
			}
			if v := res.Verdict(); v != tc.verdict {
				t.Errorf("verdict %s, want %s", v, tc.verdict)
			}
		})
	}
}

// TestProofOfTeethURLVerification: a slack receiver that does not answer the url_verification
// challenge (the control receiver treats it as an event without an id) fails RCV-URLV-001.
func TestProofOfTeethURLVerification(t *testing.T) {
	skipSelfTests(t)
	t.Parallel()
	res := runSuite(t, "-builtin", receiver.BuiltinKnownBad+knownbad.None, "-scheme", "slack", "-opt-in", receiver.OptInURLVerification,
		"-id", "RCV-URLV-001,RCV-SIG-001", "-seed", "500")
	want := map[string]reports.Outcome{"RCV-URLV-001": reports.Failed, "RCV-SIG-001": reports.Passed}
	for _, c := range res.Cases {
		if c.Outcome != want[c.ID] {
			t.Errorf("%s: %s, want %s (%s)", c.ID, c.Outcome, want[c.ID], c.Actual)
		}
	}
}
