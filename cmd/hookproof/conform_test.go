package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
)

const conformSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func runConformCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, append([]string{"conform"}, args...))
	return code, out.String(), errb.String()
}

// None of these reach the suite (Ginkgo runs once per process): they fail before it starts.
func TestConformUsageErrors(t *testing.T) {
	dead := "http://" + freeAddr(t) + "/hook"
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no suite", nil, exitUsage, "usage: hookproof conform <suite>"},
		{"unknown suite", []string{"printer"}, exitUsage, `unknown suite "printer"`},
		{"no target", []string{"receiver", "--secret", conformSecret}, exitUsage, "--url URL or --image IMG"},
		{"no secret", []string{"receiver", "--url", dead}, exitUsage, "signing secret"},
		{"bad secret", []string{"receiver", "--url", dead, "--secret", "short"}, exitUsage, "secret"},
		{"bad scheme", []string{"receiver", "--url", dead, "--secret", conformSecret, "--scheme", "rot13"}, exitUsage, "rot13"},
		{"bad id", []string{"receiver", "--url", dead, "--secret", conformSecret, "--id", "RCV-NOPE-001"}, exitUsage, "RCV-NOPE-001"},
		{"bad family", []string{"receiver", "--list", "--family", "vibes"}, exitUsage, "vibes"},
		{"bad level", []string{"receiver", "--list", "--level", "MAY"}, exitUsage, "MAY"},
		{"builtin and url", []string{"receiver", "--builtin", "reference", "--url", dead}, exitUsage, "--builtin excludes"},
		{"unknown builtin", []string{"receiver", "--builtin", "knownbad:nope"}, exitUsage, "nope"},
		{"bad opt-in", []string{"receiver", "--builtin", "reference", "--opt-in", "smoke-signals"}, exitUsage, "smoke-signals"},
		{"bad chaos", []string{"receiver", "--builtin", "reference", "--chaos", "explode=1"}, exitUsage, "--chaos"},
		{"argument", []string{"receiver", "--url", dead, "--secret", conformSecret, "extra"}, exitUsage, `"extra"`},
		{"unreachable", []string{"receiver", "--url", dead, "--secret", conformSecret}, exitHarness, "target unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runConformCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if strings.Contains(stderr, conformSecret) {
				t.Errorf("the secret leaked to stderr:\n%s", stderr)
			}
		})
	}
}

func TestConformList(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		n    int
	}{
		{[]string{"receiver", "--list"}, "34 requirements", 34},
		{[]string{"receiver", "--list", "--family", "acks"}, "5 requirements", 5},
		{[]string{"receiver", "--list", "--id", "RCV-TS-*", "--level", "MUST"}, "4 requirements", 4},
	} {
		code, stdout, stderr := runConformCLI(t, tc.args...)
		if code != exitOK || !strings.HasSuffix(stdout, tc.want+"\n") {
			t.Errorf("%v: exit %d, stdout:\n%s\nstderr:\n%s", tc.args, code, stdout, stderr)
		}
		if got := strings.Count(stdout, "\n  "); got != tc.n {
			t.Errorf("%v: %d source lines, want %d", tc.args, got, tc.n)
		}
	}
}

func conformProcess(t *testing.T, args ...string) (code int, output string) {
	t.Helper()
	code, stdout, stderr := hookproofProcess(t, 2*time.Minute, append([]string{"conform", "receiver"}, args...)...)
	return code, stdout + stderr
}

// TestConformRuns runs the suite through the CLI: a known-bad receiver fails with exit 1 and
// writes every output, the control passes with exit 0.
func TestConformRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	dir := t.TempDir()
	t.Run("known-bad fails", func(t *testing.T) {
		t.Parallel()
		out, junit, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.html")
		code, output := conformProcess(t, "--builtin", "knownbad:double-process", "--family", "idempotency",
			"--seed", "9", "--out", out, "--junit", junit, "--html", html)
		if code != exitFailed {
			t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, output)
		}
		for _, want := range []string{"✗ RCV-IDEM-001", "Failures:", "expected: exactly one distinct effect", "0 passed, 3 failed, 0 skipped"} {
			if !strings.Contains(output, want) {
				t.Errorf("output lacks %q:\n%s", want, output)
			}
		}
		res, err := reports.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if res.Kind != reports.KindConformReceiver || res.Run.Seed != 9 || len(res.Cases) != 3 || res.Cases[0].Outcome != reports.Failed {
			t.Errorf("results: kind %s, seed %d, %d cases", res.Kind, res.Run.Seed, len(res.Cases))
		}
		for _, f := range []string{junit, html} {
			if st, err := os.Stat(f); err != nil || st.Size() == 0 {
				t.Errorf("%s not written: %v", f, err)
			}
		}
	})
	t.Run("timeout is interrupted, exit 1", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "r.json")
		code, output := conformProcess(t, "--builtin", "knownbad:slow-ack", "--family", "acks", "--timeout", "2s", "--out", out)
		for _, want := range []string{"verdict: interrupted", "not run: the suite was interrupted or timed out", "Timeout", "0 passed"} {
			if !strings.Contains(output, want) {
				t.Errorf("output lacks %q:\n%s", want, output)
			}
		}
		if code != exitFailed {
			t.Errorf("exit %d, want %d", code, exitFailed)
		}
		res, err := reports.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if res.Interrupted == nil || res.Verdict() != reports.Interrupted {
			t.Errorf("results file: interrupted %+v, verdict %s; want interrupted", res.Interrupted, res.Verdict())
		}
	})
	t.Run("control passes", func(t *testing.T) {
		t.Parallel()
		code, output := conformProcess(t, "--builtin", "knownbad:none", "--family", "signatures,cloudevents", "--strict")
		if code != exitOK || !strings.Contains(output, "18 passed, 0 failed, 1 skipped") {
			t.Errorf("exit %d:\n%s", code, output)
		}
	})
}

// TestConformEvents runs the suite on a user's own sample events (--event): the reference
// receiver passes on copies of a Stripe invoice.paid event, a receiver that processes
// duplicates fails on them, a template without ordering paths makes the ordering cases not
// applicable (said so), and a broken file is a usage error before anything is sent.
func TestConformEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	stripeEvent := filepath.Join("..", "..", "testdata", "events", "stripe-invoice-paid.json")
	t.Run("reference passes on a Stripe event", func(t *testing.T) {
		t.Parallel()
		code, output := conformProcess(t, "--builtin", "reference", "--scheme", "stripe", "--event", stripeEvent, "--seed", "5")
		if code != exitOK {
			t.Fatalf("exit %d, want 0:\n%s", code, output)
		}
		for _, want := range []string{"✓ RCV-ORD-001", "✓ RCV-ORD-002", "✓ RCV-IDEM-002", "✓ RCV-SIG-010", "verdict: conformant"} {
			if !strings.Contains(output, want) {
				t.Errorf("output lacks %q:\n%s", want, output)
			}
		}
	})
	t.Run("double processing fails on it", func(t *testing.T) {
		t.Parallel()
		code, output := conformProcess(t, "--builtin", "knownbad:double-process", "--scheme", "stripe", "--event", stripeEvent,
			"--family", "idempotency", "--seed", "5")
		if code != exitFailed || !strings.Contains(output, "✗ RCV-IDEM-001") || !strings.Contains(output, "exactly one distinct effect") {
			t.Fatalf("exit %d, want 1 with RCV-IDEM-001 failed on duplicates:\n%s", code, output)
		}
	})
	t.Run("no ordering paths: not applicable", func(t *testing.T) {
		t.Parallel()
		code, output := conformProcess(t, "--builtin", "reference", "--scheme", "github", "--event", stripeEvent, "--family", "ordering")
		if code != exitFailed || !strings.Contains(output, "no --event template with object and order paths") ||
			!strings.Contains(output, "0 passed, 0 failed, 2 skipped") {
			t.Fatalf("exit %d, want the ordering cases not applicable (inconclusive, 1):\n%s", code, output)
		}
	})
	t.Run("a broken file is exit 2", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(`{"object":"event","data":{"object":{}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runConformCLI(t, "receiver", "--url", "http://127.0.0.1:1/", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			"--scheme", "stripe", "--event", bad)
		if code != exitUsage || !strings.Contains(stderr, "give paths.id") {
			t.Fatalf("exit %d, want 2 naming the missing id:\n%s", code, stderr)
		}
	})
}
