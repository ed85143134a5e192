// Command hookproof proves that webhook endpoints and senders survive the real
// internet: bad signatures, replays, retries, duplicates, reordering and slow acks.
//
// Each subcommand lives in its own file and registers itself in init(); all the
// logic is in the packages under reference/, chaos/, suites/ and reports/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/session"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// Exit codes are a contract (README, "Verdicts and exit codes").
const (
	exitOK      = 0 // passed
	exitFailed  = 1 // a MUST case or a threshold failed, or a signature did not verify
	exitUsage   = 2 // bad usage or configuration
	exitHarness = 3 // the harness could not run (target unreachable, Docker absent, ...)
)

// env is what a subcommand may touch of the outside world, so tests can run
// subcommands in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// onFlagSet, when set, sees every flag set a command builds (reference.go renders the
	// flag tables of README.md and `hookproof help` from it, running commands with -h).
	onFlagSet func(*flag.FlagSet)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("hookproof: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error as bad usage (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// harnessError marks an error as "the harness could not run" (exit 3).
type harnessError struct{ err error }

func (h harnessError) Error() string { return h.err.Error() }
func (h harnessError) Unwrap() error { return h.err }

// exitCode maps an error returned by a subcommand to an exit code and prints it.
func exitCode(e *env, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	// Errors may quote a URL from the command line: never with its credentials.
	fmt.Fprintf(e.stderr, "hookproof %s: %s\n", name, reports.RedactURLs(err.Error()))
	var u usageError
	var h harnessError
	switch {
	case errors.As(err, &u), errors.Is(err, session.ErrUsage):
		return exitUsage
	case errors.As(err, &h), errors.Is(err, session.ErrHarness), errors.Is(err, tlsconf.ErrTLS):
		return exitHarness
	default:
		return exitFailed
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("hookproof "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: hookproof %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
		printExamples(e.stderr, name)
	}
	if e.onFlagSet != nil {
		e.onFlagSet(fs)
	}
	return fs
}

// printExamples prints the Examples section of command name's -h.
func printExamples(w io.Writer, name string) {
	if ex := examples[name]; ex != "" {
		fmt.Fprintf(w, "\nexamples:\n%s\n", ex)
	}
}

// parseFlags parses args and turns a flag error into a usage error; -h returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hookproof <command> [flags]\n\ncommands:")
	names := slices.Sorted(maps.Keys(commands))
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 passed, 1 failed, 2 bad usage or config, 3 harness could not run")
	fmt.Fprintln(w, "run 'hookproof <command> -h' for a command's flags")
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		mainUsage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		mainUsage(e.stdout)
		return exitOK
	case "help":
		return runHelp(e, args[1:])
	case "version", "--version":
		fmt.Fprintln(e.stdout, "hookproof", Version)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "hookproof: unknown command %q\n\n", args[0])
		mainUsage(e.stderr)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

// main runs the command. The first SIGINT or SIGTERM cancels its context (it winds down and
// reports), a second one exits at once (see notifySignals).
func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(runMain(e, os.Args[1:]))
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
