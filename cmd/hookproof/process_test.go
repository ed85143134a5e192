package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Real suite runs need a process each (Ginkgo runs once per process), so tests re-run this
// test binary as `hookproof ARGS...`: TestHookproofProcess is the child's entry point.

const processArgsEnv = "HOOKPROOF_TEST_PROCESS_ARGS"

// TestHookproofProcess runs `hookproof` with the JSON-encoded arguments of $HOOKPROOF_TEST_PROCESS_ARGS
// and exits with its code; without them it is skipped.
func TestHookproofProcess(t *testing.T) {
	raw := os.Getenv(processArgsEnv)
	if raw == "" {
		t.Skip("the child process of hookproofProcess")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	e := &env{stdin: strings.NewReader(""), stdout: os.Stdout, stderr: os.Stderr, getenv: func(string) string { return "" }}
	os.Exit(runMain(e, args)) // as main does, signal handling included
}

// hookproofCommand is the child process running `hookproof args...`, killed when ctx ends.
func hookproofCommand(ctx context.Context, args ...string) *exec.Cmd {
	raw, _ := json.Marshal(args)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHookproofProcess$")
	cmd.Env = append(os.Environ(), processArgsEnv+"="+string(raw))
	return cmd
}

// hookproofProcess runs `hookproof args...` in a child process, bounded by timeout, and
// returns its exit code, stdout and stderr.
func hookproofProcess(t *testing.T, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := hookproofCommand(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("hookproof %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	return 0, "", ""
}

// helperCommand is a shell command running this test binary as `hookproof args...`.
func helperCommand(args ...string) string {
	raw, _ := json.Marshal(args)
	return processArgsEnv + "='" + string(raw) + "' exec '" + os.Args[0] + "' -test.run='^TestHookproofProcess$'"
}

// syncBuffer is a bytes.Buffer a test may read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestEnv is an env for in-process command runs: no input, stdout discarded, stderr kept.
func newTestEnv() (*env, *bytes.Buffer) {
	var errBuf bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errBuf, getenv: os.Getenv}, &errBuf
}

// TestEveryCommandHasExamples: every command's -h ends with an Examples section.
func TestEveryCommandHasExamples(t *testing.T) {
	var names []string
	e, stderr := newTestEnv()
	e.onFlagSet = func(fs *flag.FlagSet) { names = append(names, strings.TrimPrefix(fs.Name(), "hookproof ")) }
	for _, args := range [][]string{{"conform", "receiver"}, {"conform", "sender"}, {"load"}, {"report"}, {"chaos"},
		{"receiver"}, {"sender"}, {"sender", "send"}, {"sign"}, {"verify"}, {"demo"}, {"badreceiver"}, {"listen"}} {
		stderr.Reset()
		if code := run(context.Background(), e, append(args, "-h")); code != exitOK {
			t.Errorf("%v -h: exit %d", args, code)
		}
		if !strings.Contains(stderr.String(), "\nexamples:\n  ") {
			t.Errorf("%v -h has no examples:\n%s", args, stderr.String())
		}
	}
	for _, n := range names {
		if examples[n] == "" {
			t.Errorf("command %q has no examples", n)
		}
	}
}
