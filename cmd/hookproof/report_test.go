package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
)

type reportRun struct {
	code           int
	stdout, stderr string
}

func runReportCLI(t *testing.T, envVars map[string]string, args ...string) reportRun {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return envVars[k] }}
	code := run(context.Background(), e, append([]string{"report"}, args...))
	return reportRun{code, out.String(), errOut.String()}
}

// writeResults writes r into dir/name and returns the path.
func writeResults(t *testing.T, dir, name string, r *reports.Results) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func conformRun(outcomes ...reports.Outcome) *reports.Results {
	r := &reports.Results{Schema: reports.Schema, Kind: reports.KindConformReceiver,
		Run: reports.RunMeta{Target: "http://127.0.0.1:9/hook", Scheme: "standard", Seed: 1,
			Started: time.Unix(1700000000, 0).UTC(), Finished: time.Unix(1700000030, 0).UTC()}}
	for i, o := range outcomes {
		r.Cases = append(r.Cases, reports.Case{ID: "RCV-SIG-00" + string(rune('1'+i)), Level: reports.MUST,
			Requirement: "Does the thing.", Outcome: o, Expected: "401", Actual: "200"})
	}
	return r
}

func loadShard(i int) *reports.Results {
	return &reports.Results{Schema: reports.Schema, Kind: reports.KindLoad,
		Run: reports.RunMeta{Target: "http://127.0.0.1:9/hook", Seed: int64(i), Started: time.Unix(1700000000, 0).UTC(),
			Shard: &reports.Shard{Index: i, Count: 2, RunID: "load-abc"}},
		Load: &reports.Load{Rate: 10, Ledger: reports.Ledger{Published: 10, Acked: 10, Effects: 10, Observed: true},
			Thresholds: []reports.Threshold{{Expr: "lost==0", Metric: "lost", Display: "0", Passed: true}}}}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	pass := writeResults(t, dir, "pass.json", conformRun(reports.Passed, reports.NotApplicable))
	fail := writeResults(t, dir, "fail.json", conformRun(reports.Passed, reports.Failed))
	// A MUST not observable: incomplete, exit 1, unless the run allowed it.
	incomplete := writeResults(t, dir, "incomplete.json", conformRun(reports.Passed, reports.NotObservable))
	allowedRun := conformRun(reports.Passed, reports.NotObservable)
	allowedRun.Run.AllowUnobserved = true
	allowed := writeResults(t, dir, "allowed.json", allowedRun)
	interruptedRun := conformRun(reports.Passed, reports.Passed)
	interruptedRun.Interrupted = &reports.Interruption{At: time.Unix(1700000010, 0).UTC(), AfterS: 10, Reason: "terminated signal received"}
	interrupted := writeResults(t, dir, "interrupted.json", interruptedRun)
	s1 := writeResults(t, dir, "s1.json", loadShard(1))
	s2 := writeResults(t, dir, "s2.json", loadShard(2))
	notJSON := filepath.Join(dir, "not.json")
	os.WriteFile(notJSON, []byte("<html>"), 0o644)
	otherSchema := filepath.Join(dir, "other.json")
	os.WriteFile(otherSchema, []byte(`{"schema":"hookproof.results/v9"}`), 0o644)
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, nil, 0o644)

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		wantReport bool
	}{
		{"conformant", []string{pass}, exitOK, []string{"verdict: conformant", "1 passed, 0 failed, 1 skipped", "(1 not applicable)"}, nil, true},
		{"incomplete", []string{incomplete}, exitFailed, []string{"verdict: incomplete", "1 MUST requirement not observable: RCV-SIG-002", "(1 not observable)"}, []string{"--allow-unobserved"}, true},
		{"incomplete, allowed", []string{allowed}, exitOK, []string{"verdict: incomplete", "allowed by --allow-unobserved"}, nil, true},
		{"interrupted", []string{interrupted}, exitFailed, []string{"verdict: interrupted", "terminated signal received"}, []string{"interrupted after 10.0s"}, true},
		{"interrupted wins over conformant", []string{pass, interrupted}, exitFailed, []string{"verdict: interrupted"}, nil, true},
		{"non-conformant", []string{pass, fail}, exitFailed, []string{"verdict: non-conformant", "2 passed, 1 failed, 1 skipped"}, nil, true},
		{"shards merged, flags after files", []string{s1, s2, "-o", "OUT"}, exitOK, []string{"2 files, 1 run (load shards merged)", "thresholds 1/1"}, nil, true},
		{"missing shard", []string{s1}, exitUsage, nil, []string{"missing shard 2/2"}, false},
		{"duplicate shard", []string{s1, s1, s2}, exitUsage, nil, []string{"given more than once"}, false},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, exitUsage, nil, []string{"nope.json", "no such file"}, false},
		{"not json", []string{notJSON}, exitUsage, nil, []string{"not.json", "decode results"}, false},
		{"other schema", []string{otherSchema}, exitUsage, nil, []string{"other.json", "hookproof.results/v9"}, false},
		{"empty file", []string{empty}, exitUsage, nil, []string{"empty.json"}, false},
		{"a directory", []string{dir}, exitUsage, nil, []string{dir}, false},
		{"no files", nil, exitUsage, nil, []string{"no results files given", "exit codes:"}, false},
		{"bad flag", []string{"--nope", pass}, exitUsage, nil, []string{"flag provided but not defined"}, false},
		{"help", []string{"-h"}, exitOK, nil, []string{"1 non-conformant"}, false},
		{"unwritable output", []string{pass, "-o", filepath.Join(dir, "no", "such", "dir", "r.html")}, exitHarness, nil, []string{"r.html"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.html")
			args := append([]string(nil), tt.args...)
			hasO := false
			for i, a := range args {
				if a == "OUT" {
					args[i] = out
				}
				hasO = hasO || a == "-o"
			}
			if !hasO {
				args = append([]string{"-o", out}, args...)
			}
			res := runReportCLI(t, nil, args...)
			if res.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.code, res.stdout, res.stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, res.stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
			_, err := os.Stat(out)
			if tt.wantReport && err != nil {
				t.Errorf("no report written: %v", err)
			}
			if !tt.wantReport && err == nil {
				t.Errorf("a report was written although the command failed")
			}
			if strings.Contains(res.stderr, "panic") || strings.Contains(res.stderr, "goroutine ") {
				t.Errorf("the command panicked:\n%s", res.stderr)
			}
		})
	}
}

func TestReportCommandOutputs(t *testing.T) {
	dir := t.TempDir()
	r := conformRun(reports.Passed, reports.Failed, reports.Skipped)
	r.TargetLogs = "booted with whsec_c2VjcmV0c2VjcmV0c2VjcmV0 and hunter2-secret"
	r.Cases[1].Actual = "answered 200 to a delivery signed with hunter2-secret"
	in := writeResults(t, dir, "r.json", r)
	html := filepath.Join(dir, "out.html")
	junit := filepath.Join(dir, "junit.xml")
	md := filepath.Join(dir, "summary.md")
	step := filepath.Join(dir, "step.md")
	os.WriteFile(step, []byte("# earlier step\n"), 0o644)

	res := runReportCLI(t, map[string]string{"GITHUB_STEP_SUMMARY": step, secretEnv: "hunter2-secret"},
		in, "-o", html, "--junit", junit, "--summary-md", md, "--title", "nightly")
	if res.code != exitFailed {
		t.Fatalf("exit %d: %s %s", res.code, res.stdout, res.stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"hunter2-secret", "whsec_c2VjcmV0"} {
		if bytes.Contains(page, []byte(leak)) {
			t.Errorf("report leaks %q", leak)
		}
	}
	if !bytes.Contains(page, []byte("<title>nightly</title>")) || !bytes.Contains(page, []byte("Non-conformant")) {
		t.Errorf("report lacks its title or verdict")
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	jb, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(jb, &suites); err != nil {
		t.Fatalf("junit does not parse: %v", err)
	}
	if suites.Tests != 3 || suites.Failures != 1 || suites.Skipped != 1 {
		t.Errorf("junit counts %+v, want 3 tests, 1 failure, 1 skipped", suites)
	}
	for _, f := range []string{junit, md, step} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("hunter2-secret")) {
			t.Errorf("%s leaks the secret", filepath.Base(f))
		}
	}
	mdb, err := os.ReadFile(md)
	if err != nil || !bytes.Contains(mdb, []byte("non-conformant")) {
		t.Errorf("summary-md: %v %q", err, mdb)
	}
	sb, _ := os.ReadFile(step)
	if !bytes.HasPrefix(sb, []byte("# earlier step\n")) || !bytes.Contains(sb, []byte("## ❌ hookproof: non-conformant")) {
		t.Errorf("GITHUB_STEP_SUMMARY was not appended to:\n%s", sb)
	}

	// -o - writes the page to stdout and the verdict to stderr.
	res = runReportCLI(t, nil, "-o", "-", in)
	if res.code != exitFailed || !strings.HasPrefix(res.stdout, "<!DOCTYPE html>") || !strings.Contains(res.stderr, "verdict: non-conformant") {
		t.Errorf("-o -: exit %d, stdout %.40q, stderr %q", res.code, res.stdout, res.stderr)
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args  []string
		files []string
		o     string
	}{
		{[]string{"a", "b", "-o", "x"}, []string{"a", "b"}, "x"},
		{[]string{"-o", "x", "a", "b"}, []string{"a", "b"}, "x"},
		{[]string{"a", "-o", "x", "b"}, []string{"a", "b"}, "x"},
		{[]string{"a", "--", "-o", "b"}, []string{"a", "-o", "b"}, "def"},
	}
	for _, tt := range tests {
		e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
		fs := newFlagSet(e, "t", "")
		o := fs.String("o", "def", "")
		files, err := parseInterspersed(fs, tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if strings.Join(files, ",") != strings.Join(tt.files, ",") || *o != tt.o {
			t.Errorf("%q: files %q, -o %q; want %q, %q", tt.args, files, *o, tt.files, tt.o)
		}
	}
}
