package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// interruptedLoad starts `hookproof load` against the built-in reference receiver in a child
// process, waits until the attack runs plus settle, then sends n SIGTERMs gap apart. It returns
// the exit code, the time from the last signal sent to the exit, and stderr (stdout and
// stderr, with output). extra flags are added to the command.
func interruptedLoad(t *testing.T, settle time.Duration, n int, gap time.Duration, extra ...string) (code int, afterLast time.Duration, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second) // a hang is killed here
	defer cancel()
	cmd := hookproofCommand(ctx, append([]string{"load", "--builtin", "reference", "--rate", "100/s", "--duration", "20s", "--progress", "off"}, extra...)...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for !strings.Contains(errb.String(), "hookproof load: ") { // the attack starts
		select {
		case err := <-exited:
			t.Fatalf("hookproof load exited before the attack: %v\nstderr:\n%s", err, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(settle)
	var last time.Time
	var err error
	done := false
	for i := 0; i < n && !done; i++ {
		if i > 0 {
			select {
			case err = <-exited:
				done = true
				t.Logf("exited before signal %d", i+1)
				continue
			case <-time.After(gap):
			}
		}
		if serr := cmd.Process.Signal(syscall.SIGTERM); serr != nil {
			t.Fatalf("signal %d: %v", i+1, serr)
		}
		last = time.Now()
	}
	if !done {
		err = <-exited
	}
	afterLast = time.Since(last)
	if ctx.Err() != nil {
		t.Fatalf("hookproof load still running %s after SIGTERM: killed\nstderr:\n%s", afterLast.Round(time.Millisecond), errb.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("hookproof load: %v\nstderr:\n%s", err, errb.String())
	}
	t.Logf("exit %d, %s after the last signal\nstderr:\n%s", code, afterLast.Round(time.Millisecond), errb.String())
	if len(extra) > 0 {
		return code, afterLast, out.String() + errb.String()
	}
	return code, afterLast, errb.String()
}

func TestLoadExitsAfterSIGTERM(t *testing.T) {
	// SIGTERM mid-run: the run stops, the receiver drains into the sink (which stays up until
	// then) within its bound, and the process exits. It used to wait for ever in the drain.
	if testing.Short() {
		t.Skip("a 20 s load run cut short")
	}
	t.Parallel()
	code, after, _ := interruptedLoad(t, 3*time.Second, 1, 0)
	if after > 20*time.Second {
		t.Errorf("exited %s after SIGTERM, want within 20s", after.Round(time.Millisecond))
	}
	switch {
	case code < 0:
		t.Errorf("killed by SIGTERM: the signal was not handled")
	case code == 0:
		t.Errorf("exit code 0 after SIGTERM, want non-zero")
	}
}

func TestLoadExitsAtOnceOnSecondSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("a 20 s load run cut short")
	}
	t.Parallel()
	code, after, stderr := interruptedLoad(t, 3*time.Second, 2, 200*time.Millisecond)
	if after > 2*time.Second {
		t.Errorf("exited %s after the second SIGTERM, want within 2s", after.Round(time.Millisecond))
	}
	if code == 0 {
		t.Errorf("exit code 0 after two SIGTERMs, want non-zero")
	}
	if !strings.Contains(stderr, "second signal, exiting now") {
		t.Log("the first signal's wind-down finished before the second signal arrived")
	}
}

// A load run stopped by SIGTERM is interrupted: never "conformant", exit 1, and its results
// file renders as not passed in every format.
func TestLoadSIGTERMIsInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("a 20 s load run cut short")
	}
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "load.json")
	code, _, output := interruptedLoad(t, 2*time.Second, 1, 0, "--out", out)
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"verdict: interrupted", "interrupted by SIGTERM"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if strings.Contains(output, "verdict: conformant") {
		t.Errorf("an interrupted run printed a conformant verdict:\n%s", output)
	}
	res := readResults(t, out)
	if res.Interrupted == nil || res.Interrupted.Reason != "interrupted by SIGTERM" || res.Verdict() != reports.Interrupted {
		t.Fatalf("results: interrupted %+v, verdict %s", res.Interrupted, res.Verdict())
	}
	junit, md := filepath.Join(dir, "j.xml"), filepath.Join(dir, "s.md")
	rep := runReportCLI(t, nil, out, "-o", filepath.Join(dir, "r.html"), "--junit", junit, "--summary-md", md)
	if rep.code != exitFailed || !strings.Contains(rep.stdout, "verdict: interrupted") {
		t.Errorf("report: exit %d\n%s%s", rep.code, rep.stdout, rep.stderr)
	}
	if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `type="interrupted"`) {
		t.Errorf("JUnit:\n%s", b)
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "hookproof: interrupted") {
		t.Errorf("Markdown:\n%s", b)
	}
}
