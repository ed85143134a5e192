package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interrupted is the cause of the run's context when a signal stopped it:
// context.Cause(ctx) says "interrupted by SIGTERM". It is a context.Canceled.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string        { return "interrupted by " + signalName(i.sig) }
func (i interrupted) Is(target error) bool { return target == context.Canceled }

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// notifySignals returns a context that the first SIGINT or SIGTERM cancels, with an interrupted
// cause, so that the command winds down (drains, closes, reports). A second signal does not wait
// for that: it prints one line to stderr and exits 1 at once. (signal.NotifyContext sets a cause
// too, but swallows every later signal.) stop restores the default behaviour.
func notifySignals(parent context.Context, stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			cancel(interrupted{s})
		case <-done:
			return
		}
		select {
		case <-ch:
			fmt.Fprintln(stderr, "hookproof: second signal, exiting now")
			os.Exit(exitFailed)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// runMain runs hookproof with args as a process does: signals handled by notifySignals, and a
// run that a signal cut short says so last.
func runMain(e *env, args []string) int {
	ctx, stop := notifySignals(context.Background(), e.stderr)
	defer stop()
	code := run(ctx, e, args)
	if cause := context.Cause(ctx); code != exitOK && errors.As(cause, new(interrupted)) {
		fmt.Fprintf(e.stderr, "hookproof: %v\n", cause)
	}
	return code
}
