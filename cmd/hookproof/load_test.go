package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reports"
)

const loadSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func runLoadCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, append([]string{"load"}, args...))
	return code, out.String(), errb.String()
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestLoadUsageErrors(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"--secret", loadSecret}, "--url URL or --image IMG"},
		{"no secret", []string{"--url", ok.URL}, "signing secret"},
		{"unbounded rate", []string{"--url", ok.URL, "--secret", loadSecret, "--rate", "0/s"}, "unbounded"},
		{"bad rate", []string{"--url", ok.URL, "--secret", loadSecret, "--rate", "fast"}, "rate"},
		{"bad threshold", []string{"--url", ok.URL, "--secret", loadSecret, "--threshold", "ack_p99<5x"}, `"ack_p99<5x"`},
		{"unknown metric", []string{"--url", ok.URL, "--secret", loadSecret, "--threshold", "speed>1"}, "unknown metric"},
		{"sink metric without sink", []string{"--url", ok.URL, "--secret", loadSecret, "--threshold", "lost==0"}, "--sink"},
		{"bad shard", []string{"--url", ok.URL, "--secret", loadSecret, "--shard", "3/2", "--seed", "1"}, "shard"},
		{"shard without seed", []string{"--url", ok.URL, "--secret", loadSecret, "--shard", "1/2"}, "same --seed"},
		{"bad chaos", []string{"--url", ok.URL, "--secret", loadSecret, "--chaos", "explode=1"}, "--chaos"},
		{"bad secret", []string{"--url", ok.URL, "--secret", "short"}, "secret"},
		{"too long", []string{"--url", ok.URL, "--secret", loadSecret, "--duration", "2h"}, "limit"},
		{"bad fraction", []string{"--url", ok.URL, "--secret", loadSecret, "--invalid", "1.5"}, "invalid fraction"},
		{"bad progress", []string{"--url", ok.URL, "--secret", loadSecret, "--progress", "loud"}, "--progress"},
		{"shard with html", []string{"--url", ok.URL, "--secret", loadSecret, "--shard", "1/2", "--seed", "1", "--html", "r.html"}, "hookproof report"},
		{"builtin and url", []string{"--builtin", "reference", "--url", ok.URL}, "excludes"},
		{"unknown builtin", []string{"--builtin", "knownbad:lazy", "--duration", "1s"}, "--builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runLoadCLI(t, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not mention %q:\n%s", tt.want, stderr)
			}
			if strings.Contains(stderr, "MfKQ9r8G") {
				t.Errorf("stderr shows the secret:\n%s", stderr)
			}
		})
	}
}

func TestLoadUnreachableIsExit3(t *testing.T) {
	code, _, stderr := runLoadCLI(t, "--url", "http://"+freeAddr(t)+"/hook", "--secret", loadSecret, "--duration", "1s")
	if code != exitHarness {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitHarness, stderr)
	}
	if !strings.Contains(stderr, "unreachable") {
		t.Errorf("stderr does not say unreachable:\n%s", stderr)
	}
}

// startReceiver serves a knownbad receiver (flaw "" is the flaw-free control) that reports
// effects to a sink at sinkAddr.
func startReceiver(t *testing.T, flaw, sinkAddr string) string {
	t.Helper()
	rcv, err := knownbad.New(flaw, "standard", loadSecret, knownbad.WithSink("http://"+sinkAddr+"/effects"))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(rcv)
	t.Cleanup(ts.Close)
	return ts.URL + "/webhooks"
}

func shortRun(url, sinkAddr string, extra ...string) []string {
	return append([]string{"--url", url, "--secret", loadSecret, "--rate", "100/s", "--duration", "1s",
		"--seed", "7", "--sink", sinkAddr, "--drain", "5s", "--sink-wait", "3s", "--progress", "plain"}, extra...)
}

func TestLoadPassesAgainstAnHonestReceiver(t *testing.T) {
	sinkAddr := freeAddr(t)
	url := startReceiver(t, "", sinkAddr)
	dir := t.TempDir()
	out := filepath.Join(dir, "results.json")
	code, stdout, stderr := runLoadCLI(t, shortRun(url, sinkAddr, "--chaos", "lost-ack=0.1,duplicate=0.1", "--out", out,
		"--html", filepath.Join(dir, "report.html"), "--junit", filepath.Join(dir, "junit.xml"))...)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"ack_p99<5s", "lost==0", "doubled==0", "invalid_accepted==0", "0 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	for _, name := range []string{"report.html", "junit.xml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
		if bytes.Contains(b, []byte("MfKQ9r8G")) {
			t.Errorf("%s holds the secret", name)
		}
	}
	res, err := reports.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	l := res.Load
	if l == nil || l.Ledger.Published == 0 || l.Ledger.Acked != l.Ledger.Published || !l.Ledger.Observed {
		t.Fatalf("ledger %+v", l)
	}
	if res.Chaos == nil || res.Chaos.Counters["lost-ack"] == 0 {
		t.Errorf("chaos counters not recorded: %+v", res.Chaos)
	}
	if res.Run.Seed != 7 || res.Run.Shard == nil || res.Run.Shard.RunID == "" {
		t.Errorf("run meta %+v", res.Run)
	}
	for _, a := range res.Run.Args {
		if strings.Contains(a, "MfKQ9r8G") {
			t.Errorf("results file holds the secret in args: %q", res.Run.Args)
		}
	}
}

func TestLoadFailsTheRightThreshold(t *testing.T) {
	sinkAddr := freeAddr(t)
	url := startReceiver(t, "no-signature-check", sinkAddr)
	code, stdout, stderr := runLoadCLI(t, shortRun(url, sinkAddr, "--invalid", "0.2")...)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "failed: invalid_accepted==0") {
		t.Errorf("stderr does not name the failed threshold:\n%s", stderr)
	}
	if !strings.Contains(stdout, "✗ invalid_accepted==0") {
		t.Errorf("summary does not mark the threshold:\n%s", stdout)
	}
}

func TestLoadBuiltinDoubleProcessorFailsDoubled(t *testing.T) {
	code, stdout, stderr := runLoadCLI(t, "--builtin", "knownbad:double-process", "--rate", "100/s", "--duration", "1s",
		"--duplicate", "0.2", "--seed", "3", "--drain", "5s", "--sink-wait", "3s", "--progress", "off")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "failed: doubled==0") || strings.Contains(stderr, "lost==0") {
		t.Errorf("stderr must name doubled==0 and only it:\n%s", stderr)
	}
}

func TestLoadShardsMergeIntoOneRun(t *testing.T) {
	dir := t.TempDir()
	var files []*reports.Results
	for i := 1; i <= 2; i++ {
		out := filepath.Join(dir, fmt.Sprintf("shard%d.json", i))
		code, stdout, stderr := runLoadCLI(t, "--builtin", "knownbad:none", "--rate", "100/s", "--duration", "1s",
			"--seed", "11", "--shard", fmt.Sprintf("%d/2", i), "--out", out, "--drain", "5s", "--sink-wait", "3s", "--progress", "off")
		if code != exitOK {
			t.Fatalf("shard %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, code, stdout, stderr)
		}
		res, err := reports.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, res)
	}
	if files[0].Run.Shard.RunID != files[1].Run.Shard.RunID {
		t.Fatalf("the shards derived different run ids: %q, %q", files[0].Run.Shard.RunID, files[1].Run.Shard.RunID)
	}
	merged, err := reports.Merge(files...)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != 1 || merged[0].Load.Rate != 100 || !merged[0].ThresholdsPassed() {
		t.Errorf("merged: %d runs, rate %v, passed %v", len(merged), merged[0].Load.Rate, merged[0].ThresholdsPassed())
	}
}

func TestWithoutShardFlags(t *testing.T) {
	got := withoutShardFlags([]string{"--url", "u", "--shard", "1/2", "--out=a.json", "--html", "r.html", "--seed", "3"})
	want := []string{"--url", "u", "--seed", "3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLoadOnTemplates: a load run on the user's own events (--event) counts effects the same:
// the flaw-free receiver passes, one that processes duplicates fails doubled==0.
func TestLoadOnTemplates(t *testing.T) {
	tmpl := filepath.Join("..", "..", "testdata", "events", "standard-invoice-paid.json")
	for _, tc := range []struct {
		flaw string
		code int
		want string
	}{{"", exitOK, "✓ doubled==0"}, {"double-process", exitFailed, "✗ doubled==0"}} {
		sinkAddr := freeAddr(t)
		url := startReceiver(t, tc.flaw, sinkAddr)
		code, stdout, stderr := runLoadCLI(t, shortRun(url, sinkAddr, "--event", tmpl, "--duplicate", "0.2")...)
		if code != tc.code || !strings.Contains(stdout, tc.want) {
			t.Errorf("flaw %q: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", tc.flaw, code, tc.code, tc.want, stdout, stderr)
		}
	}
}

func TestSplitThresholds(t *testing.T) {
	got := splitThresholds([]string{"ack_p99<2s, error_rate<1%", "", "lost==0"})
	if strings.Join(got, "|") != "ack_p99<2s|error_rate<1%|lost==0" {
		t.Fatalf("%q", got)
	}
}
