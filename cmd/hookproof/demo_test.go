package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/reports/browsercheck"
	"github.com/hookproof/hookproof/suites/catalog"
)

// demoProcess runs `hookproof demo args...` in a process of its own (the demo runs the
// receiver suite, and Ginkgo runs one suite per process), through the conform tests' helper
// process, which runs any command line it is given.
func demoProcess(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return hookproofProcess(t, 3*time.Minute, append([]string{"demo"}, args...)...)
}

// demoFiles are what the demo writes into --out-dir.
var demoFiles = []string{"report.html", "conform-receiver.json", "load.json", "junit.xml", "summary.md"}

// TestDemo runs the whole demo for real, short, then opens its report in headless Chromium:
// the "a Go test renders a report from real runs and opens it in a real browser".
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo in a subprocess")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	started := time.Now()
	code, stdout, stderr := demoProcess(t, "--duration", "3s", "--rate", "50/s", "--seed", "7", "--out-dir", dir)
	t.Logf("the demo ran in %s", time.Since(started).Round(100*time.Millisecond))
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^verdict: conformant \(`).MatchString(stdout) {
		t.Errorf("stdout has no line \"verdict: conformant (...\":\n%s", stdout)
	}
	report := filepath.Join(dir, "report.html")
	if abs, _ := filepath.Abs(report); !strings.Contains(stdout, "report:  file://"+abs+"\n") {
		t.Errorf("stdout does not point at file://%s:\n%s", abs, stdout)
	}
	if !strings.Contains(stdout, "hookproof demo (seed 7)") {
		t.Errorf("stdout does not print the seed:\n%s", stdout)
	}

	secret := builtinSecret("standard")
	if strings.Contains(stdout+stderr, secret) {
		t.Errorf("the demo's secret appears in its output")
	}
	for _, name := range demoFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
			continue
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the demo's secret", name)
		}
	}

	conform, err := reports.ReadFile(filepath.Join(dir, "conform-receiver.json"))
	if err != nil {
		t.Fatal(err)
	}
	if conform.Kind != reports.KindConformReceiver || conform.Run.Seed != 7 || len(conform.Cases) == 0 {
		t.Errorf("conform-receiver.json: kind %s, seed %d, %d cases", conform.Kind, conform.Run.Seed, len(conform.Cases))
	}
	for _, c := range conform.Cases {
		if r, ok := catalog.Lookup(c.ID); ok && c.Outcome == reports.NotApplicable && !r.AppliesTo(conform.Run.Scheme) {
			continue // a case for other schemes (RCV-SIG-016: github, shopify)
		}
		if c.Outcome != reports.Passed {
			t.Errorf("%s %s: %s (%s), want passed", c.ID, c.Level, c.Outcome, c.Reason)
		}
	}

	ld, err := reports.ReadFile(filepath.Join(dir, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ld.Kind != reports.KindLoad || ld.Load == nil || ld.Run.Seed != 7 {
		t.Fatalf("load.json: kind %s, seed %d, load %v", ld.Kind, ld.Run.Seed, ld.Load != nil)
	}
	l := ld.Load
	if !l.Ledger.Observed || l.Ledger.Published == 0 || l.Ledger.Lost != 0 || l.Ledger.Doubled != 0 || l.Ledger.Void {
		t.Errorf("ledger: %+v; want effects observed, something published, 0 lost, 0 doubled", l.Ledger)
	}
	if len(l.Thresholds) == 0 {
		t.Error("load.json has no thresholds")
	}
	for _, th := range l.Thresholds {
		if !th.Passed {
			t.Errorf("threshold %s failed: observed %s", th.Expr, th.Display)
		}
	}
	if ld.Chaos == nil || ld.Chaos.Requests == 0 {
		t.Errorf("load.json has no chaos record: %+v", ld.Chaos)
	}

	// JUnit: one suite per results file, nothing failed.
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "junit.xml")); err != nil {
		t.Error(err)
	} else if err := xml.Unmarshal(b, &junit); err != nil {
		t.Errorf("junit.xml: %v", err)
	} else if len(junit.Suites) != 2 || junit.Tests < len(conform.Cases)+len(l.Thresholds) || junit.Failures+junit.Errors != 0 {
		t.Errorf("junit.xml: %d suites, %d tests, %d failures, %d errors", len(junit.Suites), junit.Tests, junit.Failures, junit.Errors)
	}

	// The report, as a reader sees it.
	res, err := browsercheck.Check(context.Background(), t, report)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report screenshot: %s", res.Screenshot)
	for _, f := range res.Faults() {
		t.Errorf("report: %s", f)
	}
	var ids []string
	for _, c := range res.Charts {
		ids = append(ids, c.ID)
	}
	if want := []string{"latency", "throughput", "status", "histogram"}; !slices.Equal(ids, want) {
		t.Errorf("report charts %q, want %q", ids, want)
	}
	if !strings.Contains(res.Verdict, "Conformant") {
		t.Errorf("verdict banner says %q, want Conformant", res.Verdict)
	}
	if res.Cases != len(conform.Cases) {
		t.Errorf("report shows %d case rows, want %d", res.Cases, len(conform.Cases))
	}
}

// None of these start anything: the flags are refused first, so they run in-process.
func TestDemoUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero rate", []string{"--rate", "0/s"}, "--rate"},
		{"unparsable rate", []string{"--rate", "fast"}, "--rate"},
		{"zero duration", []string{"--duration", "0s"}, "--duration"},
		{"duration over 10m", []string{"--duration", "11m"}, "--duration"},
		{"bad chaos", []string{"--chaos", "explode=1"}, "--chaos"},
		{"bad scheme", []string{"--scheme", "rot13"}, "--scheme"},
		{"argument", []string{"extra"}, `"extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo")
			var out, errb bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			code := run(context.Background(), e, append([]string{"demo", "--out-dir", dir}, tt.args...))
			if code != exitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), exitUsage, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused demo created its --out-dir (%v)", err)
			}
		})
	}
}

// TestDemoVariants: demo --tls serves the reference receiver over HTTPS and sends everything
// over verified TLS (the results record it); demo --effects sql observes the receiver through a
// read-only query of its own effects table. Both are conformant.
func TestDemoVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo in subprocesses")
	}
	for _, v := range []struct {
		flag, want string
	}{{"--tls", "listening at https://"}, {"--effects=sql", "effects read from the receiver's database"}} {
		t.Run(v.flag, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "demo")
			code, stdout, stderr := demoProcess(t, v.flag, "--duration", "2s", "--rate", "40/s", "--seed", "3", "--out-dir", dir)
			if code != exitOK || !strings.Contains(stdout, v.want) || !strings.Contains(stdout, "verdict: conformant (") {
				t.Fatalf("exit %d, want 0 with %q:\n%s\n%s", code, v.want, stdout, stderr)
			}
			if v.flag == "--tls" {
				for _, f := range []string{"conform-receiver.json", "load.json"} {
					r, err := reports.ReadFile(filepath.Join(dir, f))
					if err != nil {
						t.Fatal(err)
					}
					if r.Run.TLS == nil || !strings.HasPrefix(r.Run.TLS.Version, "TLS 1.") || r.Run.TLS.Insecure {
						t.Errorf("%s: run.tls %+v, want a verified TLS version", f, r.Run.TLS)
					}
				}
			}
		})
	}
}
