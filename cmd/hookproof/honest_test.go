package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reports"
)

// Known-bad peers for the false passes of earlier builds: each must give a non-green verdict
// and exit code, through the CLI and through hookproof report on its results file.

// reportOn runs hookproof report on a results file and returns its exit code, its stdout and
// the HTML it wrote.
func reportOn(t *testing.T, results string) (int, string, string) {
	t.Helper()
	html := filepath.Join(t.TempDir(), "report.html")
	res := runReportCLI(t, nil, results, "-o", html)
	page, _ := os.ReadFile(html)
	return res.code, res.stdout, string(page)
}

func readResults(t *testing.T, path string) *reports.Results {
	t.Helper()
	res, err := reports.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLoadFailsAReceiverThat500sHalfTheIDsForever(t *testing.T) {
	sinkAddr := freeAddr(t)
	rcv, err := knownbad.New(knownbad.None, "standard", loadSecret,
		knownbad.WithSink("http://"+sinkAddr+"/effects"), knownbad.WithFailingIDs(0.5))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(rcv)
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "results.json")
	code, stdout, stderr := runLoadCLI(t, shortRun(ts.URL+"/webhooks", sinkAddr, "--max-attempts", "3", "--out", out)...)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{"✗ unacked==0", "verdict: non-conformant", "unacked.................: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "failed: unacked==0") {
		t.Errorf("stderr does not name unacked==0:\n%s", stderr)
	}
	res := readResults(t, out)
	g := res.Load.Ledger
	if g.FailedAfterRetries == 0 || g.Published != g.Acked+g.FailedAfterRetries+g.CutOff || g.Lost != 0 {
		t.Errorf("ledger %+v: want failed > 0, published = acked + failed + cut off, lost 0 (nothing acked was lost)", g)
	}
	var th *reports.Threshold
	for i := range res.Load.Thresholds {
		if res.Load.Thresholds[i].Metric == "unacked" {
			th = &res.Load.Thresholds[i]
		}
	}
	if th == nil || th.Result() != reports.Failed || th.Requirement != "LOAD-DELIVERED" || th.Level != reports.MUST || th.Op != "==" {
		t.Errorf("unacked threshold in the results: %+v", th)
	}
	if res.Verdict() != reports.NonConformant {
		t.Errorf("verdict %s", res.Verdict())
	}
	rcode, rout, page := reportOn(t, out)
	if rcode != exitFailed || !strings.Contains(rout, "verdict: non-conformant") {
		t.Errorf("report: exit %d\n%s", rcode, rout)
	}
	if !strings.Contains(page, "Unacked") || !strings.Contains(page, "failed after retries") {
		t.Errorf("the HTML report does not show the unacked events as a failure")
	}
}

func TestLoadSaysWhenTheTargetStopsAnswering(t *testing.T) {
	sinkAddr := freeAddr(t)
	rcv, err := knownbad.New(knownbad.None, "standard", loadSecret, knownbad.WithSink("http://"+sinkAddr+"/effects"))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(rcv)
	defer ts.Close()
	// The endpoint stops listening 1.5 s into a 3 s run: connection refused from then on.
	stopped := time.AfterFunc(1500*time.Millisecond, ts.Close)
	defer stopped.Stop()
	out := filepath.Join(t.TempDir(), "results.json")
	args := []string{"--url", ts.URL + "/webhooks", "--secret", loadSecret, "--rate", "100/s", "--duration", "3s",
		"--seed", "5", "--sink", sinkAddr, "--drain", "3s", "--sink-wait", "2s", "--progress", "off", "--out", out}
	code, stdout, stderr := runLoadCLI(t, args...)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{"the target stopped answering", "connection refused", "✗ unacked==0", "verdict: non-conformant"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	res := readResults(t, out)
	o := res.Load.Outage
	if o == nil || o.AfterS < 1 || o.AfterS > 2.5 || o.Attempts < 5 {
		t.Fatalf("outage %+v: want one about 1.5 s in", o)
	}
	if g := res.Load.Ledger; g.FailedAfterRetries+g.CutOff == 0 {
		t.Errorf("ledger %+v: nothing unacked", g)
	}
	rcode, rout, page := reportOn(t, out)
	if rcode != exitFailed || !strings.Contains(page, "stopped answering") {
		t.Errorf("report: exit %d, outage in the page %v\n%s", rcode, strings.Contains(page, "stopped answering"), rout)
	}
}

// noSinkReceiver serves the flaw-free receiver without an effect sink: it processes and acks,
// and reports its effects nowhere.
func noSinkReceiver(t *testing.T) string {
	t.Helper()
	rcv, err := knownbad.New(knownbad.None, "standard", loadSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(rcv)
	t.Cleanup(ts.Close)
	return ts.URL + "/webhooks"
}

func TestLoadInterruptedIsNotGreen(t *testing.T) {
	url := noSinkReceiver(t)
	out := filepath.Join(t.TempDir(), "results.json")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	md := filepath.Join(t.TempDir(), "summary.md")
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := time.AfterFunc(1500*time.Millisecond, func() { cancel(errors.New("terminated signal received")) })
	defer stop.Stop()
	var so, se bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &so, stderr: &se, getenv: func(string) string { return "" }}
	started := time.Now()
	code := run(ctx, e, []string{"load", "--url", url, "--secret", loadSecret, "--rate", "100/s", "--duration", "20s",
		"--seed", "3", "--progress", "off", "--allow-unobserved", "--out", out, "--junit", junit, "--summary-md", md})
	if took := time.Since(started); took > 15*time.Second {
		t.Errorf("took %s to stop after the interruption", took)
	}
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, so.String(), se.String())
	}
	if !strings.Contains(so.String(), "verdict: interrupted") || strings.Contains(so.String(), "verdict: conformant") {
		t.Errorf("stdout:\n%s", so.String())
	}
	if !strings.Contains(se.String(), "interrupted after") {
		t.Errorf("stderr:\n%s", se.String())
	}
	res := readResults(t, out)
	if res.Interrupted == nil || res.Interrupted.Reason != "terminated signal received" || res.Interrupted.AfterS < 1 || res.Interrupted.AfterS > 5 {
		t.Fatalf("interrupted %+v", res.Interrupted)
	}
	if res.Verdict() != reports.Interrupted || res.Passing() {
		t.Errorf("verdict %s, passing %v", res.Verdict(), res.Passing())
	}
	rcode, rout, page := reportOn(t, out)
	if rcode != exitFailed || !strings.Contains(rout, "verdict: interrupted") || !strings.Contains(page, "Interrupted") {
		t.Errorf("report: exit %d\n%s", rcode, rout)
	}
	if b, err := os.ReadFile(junit); !strings.Contains(string(b), `type="interrupted"`) {
		t.Errorf("JUnit does not fail the interrupted run (%v):\n%s\nstdout:\n%s\nstderr:\n%s", err, b, so.String(), se.String())
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "hookproof: interrupted") {
		t.Errorf("Markdown summary:\n%s", b)
	}
}

func TestLoadWithoutSinkIsIncomplete(t *testing.T) {
	url := noSinkReceiver(t)
	args := []string{"--url", url, "--secret", loadSecret, "--rate", "50/s", "--duration", "1s", "--seed", "2",
		"--drain", "5s", "--progress", "off"}
	out := filepath.Join(t.TempDir(), "results.json")
	code, stdout, stderr := runLoadCLI(t, append(args, "--out", out)...)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	for _, want := range []string{"verdict: incomplete", "LOAD-EXACTLY-ONCE", "? lost==0", "not observable"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "--allow-unobserved") {
		t.Errorf("stderr does not say how to accept it:\n%s", stderr)
	}
	if rcode, rout, _ := reportOn(t, out); rcode != exitFailed || !strings.Contains(rout, "verdict: incomplete") {
		t.Errorf("report: exit %d\n%s", rcode, rout)
	}
	code, stdout, stderr = runLoadCLI(t, append(args, "--allow-unobserved", "--out", out)...)
	if code != exitOK || !strings.Contains(stdout, "verdict: incomplete") {
		t.Fatalf("--allow-unobserved: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if res := readResults(t, out); !res.Run.AllowUnobserved || res.Verdict() != reports.Incomplete || !res.Passing() {
		t.Errorf("results: allow %v, verdict %s", res.Run.AllowUnobserved, res.Verdict())
	}
}

// The reference receiver through heavy drops still acks every event: the retries make up for
// the drops, so unacked==0 does not make a correct endpoint fail.
func TestLoadReferenceThroughDropsPassesEveryDefault(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	// The demo's chaos, with drops raised to one attempt in five.
	spec := strings.Replace(demoChaos, "drop=0.05", "drop=0.2", 1)
	if !strings.Contains(spec, "drop=0.2") {
		t.Fatalf("the demo's chaos %q has no drop=0.05 to raise", demoChaos)
	}
	code, stdout, stderr := runLoadCLI(t, "--builtin", "reference", "--chaos", spec, "--rate", "100/s",
		"--duration", "3s", "--seed", "21", "--progress", "off", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	res := readResults(t, out)
	if res.Verdict() != reports.Conformant || res.Chaos == nil || res.Chaos.Counters["drop"] == 0 {
		t.Fatalf("verdict %s, chaos %+v", res.Verdict(), res.Chaos)
	}
	want := map[string]bool{"unacked==0": false, "ack_p99<5s": false, "lost==0": false, "doubled==0": false, "invalid_accepted==0": false}
	for _, th := range res.Load.Thresholds {
		if _, ok := want[th.Expr]; ok {
			want[th.Expr] = th.Result() == reports.Passed
		}
	}
	for expr, passed := range want {
		if !passed {
			t.Errorf("%s did not pass", expr)
		}
	}
	if res.Load.Ledger.Retries == 0 {
		t.Errorf("no retries through drop=0.2: %+v", res.Load.Ledger)
	}
}

// Every flag is checked before the target is contacted: a malformed --chaos is a usage
// error even when nothing listens at --url.
func TestUsageErrorsBeforeTheTargetIsContacted(t *testing.T) {
	down := "http://" + freeAddr(t) + "/hook"
	if code, _, stderr := runLoadCLI(t, "--url", down, "--secret", loadSecret, "--chaos", "drop=2"); code != exitUsage || !strings.Contains(stderr, "--chaos") {
		t.Errorf("load: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	if code, _, stderr := runLoadCLI(t, "--url", down, "--secret", loadSecret, "--timeout", "-1s"); code != exitUsage {
		t.Errorf("load --timeout -1s: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	if code, _, stderr := runConformCLI(t, "receiver", "--url", down, "--secret", loadSecret, "--chaos", "explode=1"); code != exitUsage || !strings.Contains(stderr, "--chaos") {
		t.Errorf("conform receiver: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	if code, _, stderr := runConformCLI(t, "receiver", "--url", down, "--secret", loadSecret, "--opt-in", "nope"); code != exitUsage || !strings.Contains(stderr, "--opt-in") {
		t.Errorf("conform receiver --opt-in: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}

// A conform run without a sink cannot see idempotency or ordering: its verdict is incomplete
// and it exits 1, unless --allow-unobserved says the user accepts that (recorded).
func TestConformWithoutSinkIsIncomplete(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	t.Parallel()
	url := noSinkReceiver(t)
	dir := t.TempDir()
	out, junit, md := filepath.Join(dir, "r.json"), filepath.Join(dir, "j.xml"), filepath.Join(dir, "s.md")
	args := []string{"--url", url, "--secret", loadSecret, "--seed", "4", "--family", "signatures,idempotency,ordering"}
	code, output := conformProcess(t, append(args, "--out", out, "--junit", junit, "--summary-md", md)...)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, output)
	}
	for _, want := range []string{"verdict: incomplete", "RCV-IDEM-001, RCV-IDEM-002, RCV-IDEM-003, RCV-ORD-002, RCV-SIG-014", "give --sink", "--allow-unobserved"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if strings.Contains(output, "every MUST requirement met") || strings.Contains(output, "verdict: conformant") {
		t.Errorf("output claims what was not checked:\n%s", output)
	}
	res := readResults(t, out)
	if res.Verdict() != reports.Incomplete || len(res.UnobservedMust()) != 5 {
		t.Errorf("results: verdict %s, unobserved %v", res.Verdict(), res.UnobservedMust())
	}
	if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `type="incomplete"`) {
		t.Errorf("JUnit does not fail the incomplete run:\n%s", b)
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "hookproof: incomplete") {
		t.Errorf("Markdown summary:\n%s", b)
	}
	rcode, rout, page := reportOn(t, out)
	if rcode != exitFailed || !strings.Contains(rout, "verdict: incomplete") || !strings.Contains(page, "Incomplete: MUST requirements not observed") {
		t.Errorf("report: exit %d\n%s", rcode, rout)
	}

	code, output = conformProcess(t, append(args, "--allow-unobserved", "--out", out)...)
	if code != exitOK || !strings.Contains(output, "verdict: incomplete") || !strings.Contains(output, "allowed by --allow-unobserved") {
		t.Fatalf("--allow-unobserved: exit %d:\n%s", code, output)
	}
	if res := readResults(t, out); !res.Run.AllowUnobserved || res.Verdict() != reports.Incomplete {
		t.Errorf("results: allow %v, verdict %s", res.Run.AllowUnobserved, res.Verdict())
	}
	if rcode, _, _ := reportOn(t, out); rcode != exitOK {
		t.Errorf("report on an allowed incomplete run: exit %d, want 0", rcode)
	}
}
