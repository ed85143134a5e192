package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/badsender"
	refsender "github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reports"
)

func TestConformSenderUsage(t *testing.T) {
	trig := "--trigger"
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--secret", senderTestSecret}, exitUsage, "--trigger"},
		{[]string{trig, "true"}, exitUsage, "secret"},
		{[]string{trig, "x {url}", "--secret", senderTestSecret, "--scheme", "rot13"}, exitUsage, "unknown scheme"},
		{[]string{trig, "x {url}", "--secret", "short"}, exitUsage, "secret"},
		{[]string{trig, "x", "--secret", senderTestSecret}, exitUsage, "fixed port"},
		{[]string{trig, "x {url}", "--secret", senderTestSecret, "--id", "SND-NOPE-001"}, exitUsage, "no sender requirement"},
		{[]string{trig, "x {url}", "--secret", senderTestSecret, "--family", "signatures,acks"}, exitUsage, "family"},
		{[]string{trig, "x {url}", "--secret", senderTestSecret, "--max-timeout", "20s"}, exitUsage, "max timeout"},
		{[]string{trig, "x {url}", "--secret", senderTestSecret, "stray"}, exitUsage, "unexpected argument"},
		{[]string{trig, "x {url}", "--secret", senderTestSecret, "--listen", "127.0.0.1:99999"}, exitHarness, "--listen"},
		// The first trigger fails: the harness cannot run (exit 3), with the trigger's stderr.
		{[]string{trig, "echo no such sender >&2; exit 7 # {url}", "--secret", senderTestSecret}, exitHarness, "exit status 7; stderr: no such sender"},
		// The trigger runs but nothing arrives.
		{[]string{trig, "true {url}", "--secret", senderTestSecret, "--retry-wait", "200ms"}, exitHarness, "nothing arrived"},
	}
	for _, tt := range tests {
		e, _, stderr := senderEnv(nil)
		if code := runConform(context.Background(), e, append([]string{"sender"}, tt.args...)); code != tt.code {
			t.Errorf("%v: exit %d, want %d; stderr: %s", tt.args, code, tt.code, stderr)
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: stderr lacks %q: %s", tt.args, tt.want, stderr)
		}
		if strings.Contains(stderr.String(), senderTestSecret) {
			t.Errorf("%v: the secret is printed: %s", tt.args, stderr)
		}
	}
}

func TestConformSenderList(t *testing.T) {
	for _, tc := range []struct {
		args []string
		n    string
	}{
		{nil, "17 requirements"},
		{[]string{"--family", "retries"}, "5 requirements"},
		{[]string{"--id", "SND-STATUS-*", "--level", "SHOULD"}, "2 requirements"},
	} {
		e, stdout, stderr := senderEnv(nil)
		code := runConform(context.Background(), e, append([]string{"sender", "--list"}, tc.args...))
		if code != exitOK || !strings.Contains(stdout.String(), tc.n) {
			t.Errorf("--list %v: exit %d, want %q in:\n%s%s", tc.args, code, tc.n, stdout, stderr)
		}
	}
}

func conformSenderProcess(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, stdout, stderr := hookproofProcess(t, 2*time.Minute, append([]string{"conform", "sender"}, args...)...)
	return code, stdout + stderr
}

// TestConformSenderRuns runs the suite through the CLI, the trigger being `hookproof sender
// send`: the reference sender passes (exit 0, results written), a known-bad one fails (exit 1).
func TestConformSenderRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	ref, err := refsender.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"),
		refsender.WithSchedule(badsender.DefaultSchedule), refsender.WithRequestTimeout(2*time.Second), refsender.WithAllowPrivate())
	if err != nil {
		t.Fatal(err)
	}
	ref.Start()
	refAPI := httptest.NewServer(ref.Handler())
	t.Cleanup(func() { refAPI.Close(); ref.Close(context.Background()) }) // after the parallel subtests
	bad, err := badsender.New("new-id-per-retry", badsender.WithRequestTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	badAPI := httptest.NewServer(bad)
	t.Cleanup(func() { badAPI.Close(); bad.Close() })
	trigger := func(api string) string {
		return helperCommand("sender", "send", "--api", api, "--url", "{url}", "--secret", senderTestSecret, "--type", "order.updated")
	}

	t.Run("reference passes", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "results.json")
		code, output := conformSenderProcess(t, "--trigger", trigger(refAPI.URL), "--secret", senderTestSecret,
			"--id", "SND-HDR-001,SND-ID-*,SND-RETRY-001,SND-RETRY-003", "--seed", "11", "--out", out)
		if code != exitOK || !strings.Contains(output, "5 passed, 0 failed, 0 skipped") {
			t.Fatalf("exit %d:\n%s", code, output)
		}
		res, err := reports.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if res.Kind != reports.KindConformSender || res.Run.Seed != 11 || len(res.Cases) != 5 || len(res.Cases[0].Evidence) == 0 {
			t.Errorf("results: kind %s, seed %d, %d cases", res.Kind, res.Run.Seed, len(res.Cases))
		}
		raw, _ := os.ReadFile(out)
		if strings.Contains(string(raw)+output, senderTestSecret) {
			t.Error("the secret is in the results or the output")
		}
	})
	t.Run("known-bad fails", func(t *testing.T) {
		t.Parallel()
		code, output := conformSenderProcess(t, "--trigger", trigger(badAPI.URL), "--secret", senderTestSecret,
			"--id", "SND-ID-001,SND-ID-002", "--seed", "12")
		if code != exitFailed {
			t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, output)
		}
		for _, want := range []string{"✗ SND-ID-001", "expected: one delivery id on every attempt", "1 passed, 1 failed, 0 skipped"} {
			if !strings.Contains(output, want) {
				t.Errorf("output lacks %q:\n%s", want, output)
			}
		}
	})
}
