package receiver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/hookproof/hookproof/reference/event"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/knownbad"
	refreceiver "github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/hookproof/hookproof/suites/target"
)

// Built-in receivers the suite can run against in process, by name.
const (
	BuiltinReference = "reference"         // the reference receiver, on a SQLite file
	BuiltinKnownBad  = "knownbad:"         // prefix: "knownbad:double-process", "knownbad:none"
	builtinPath      = "/webhooks/receive" // where built-in receivers are served
)

// Builtins lists the names StartBuiltin accepts.
func Builtins() []string {
	names := []string{BuiltinReference, BuiltinKnownBad + knownbad.None}
	for _, f := range knownbad.Flaws() {
		names = append(names, BuiltinKnownBad+f)
	}
	return names
}

// Bounds of a built-in target's Close, whatever its ctx: the HTTP server gets builtinShutdown
// to finish the requests in flight, then the receiver gets builtinDrain to drain (process what
// it acknowledged, report its outbox). Past that it stops where it is; its store keeps the rest.
const (
	builtinShutdown = 5 * time.Second
	builtinDrain    = 10 * time.Second
)

// builtinTarget serves an in-process receiver on loopback and closes both on Close.
type builtinTarget struct {
	*harness.HandlerTarget
	closeHandler func(ctx context.Context) error
	drain        time.Duration // builtinDrain; shorter in tests
}

// Close stops the server, then drains the receiver, each within its bound (see builtinDrain);
// it may be called after ctx is cancelled. A receiver that did not drain in time gives an
// error that says what it left: "receiver did not drain in 10s: N effects left in its outbox".
func (b *builtinTarget) Close(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	sctx, cancel := context.WithTimeout(ctx, builtinShutdown)
	serr := b.HandlerTarget.Close(sctx)
	cancel()
	dctx, cancel := context.WithTimeout(ctx, b.drain)
	defer cancel()
	return errors.Join(serr, drainError(b.closeHandler(dctx), b.drain))
}

// undrained is the error of a receiver that did not drain within its bound: d is the
// *DrainError within err, Close's whole error.
type undrained struct {
	bound time.Duration
	d     *refreceiver.DrainError
	err   error
}

func (u undrained) Error() string {
	msg := fmt.Sprintf("receiver did not drain in %s: ", u.bound)
	switch d := u.d; {
	case d.Pending < 0 || d.Outbox < 0:
		msg += fmt.Sprintf("stopped waiting for %s (what is left stays in its store)", d.Stage)
	case d.Pending > 0:
		msg += fmt.Sprintf("%d deliveries left unprocessed in its inbox, %d effects left in its outbox", d.Pending, d.Outbox)
	default:
		msg += fmt.Sprintf("%d effects left in its outbox", d.Outbox)
	}
	if u.err != error(u.d) { // the store did not close cleanly either
		msg += "; " + u.err.Error()
	}
	return msg
}

func (u undrained) Unwrap() error { return u.err }

// drainError rewrites the reference receiver's *DrainError as one plain line; other errors
// pass as they are.
func drainError(err error, bound time.Duration) error {
	var d *refreceiver.DrainError
	if errors.As(err, &d) {
		return undrained{bound: bound, d: d, err: err}
	}
	return err
}

// StartBuiltin starts the named built-in receiver (see Builtins) for scheme and secret,
// reporting effects to sinkURL ("" for none); the reference receiver keeps its SQLite store in
// dir. With events (--event templates) the reference receiver orders the events by their paths
// (event.ParserFor). Close the target to stop it.
func StartBuiltin(ctx context.Context, name, scheme, secret, sinkURL, dir string, events ...string) (target.Target, error) {
	return StartBuiltinTLS(ctx, name, scheme, secret, sinkURL, dir, nil, events...)
}

// StartBuiltinTLS is StartBuiltin serving HTTPS with serve (nil: plain HTTP), as hookproof
// demo --tls does.
func StartBuiltinTLS(ctx context.Context, name, scheme, secret, sinkURL, dir string, serve *tls.Config, events ...string) (target.Target, error) {
	var h http.Handler
	closeHandler := func(context.Context) error { return nil }
	switch {
	case name == BuiltinReference:
		s, err := signature.New(scheme, secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		var opts []refreceiver.Option
		if len(events) > 0 {
			tr := s.Traits()
			ts, err := event.LoadTemplates(events, event.Shape(tr.BodyShape), tr.IDHeader == "")
			if err != nil {
				return nil, fmt.Errorf("%w: --event: %w", ErrConfig, err)
			}
			opts = append(opts, refreceiver.WithParser(event.ParserFor(ts)))
		}
		if sinkURL != "" {
			sc, err := sink.NewClient(sinkURL)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrConfig, err)
			}
			opts = append(opts, refreceiver.WithSink(sc))
		}
		r, err := refreceiver.Open(ctx, s, filepath.Join(dir, "reference-receiver.db"), opts...)
		if err != nil {
			return nil, fmt.Errorf("starting the reference receiver: %w", err)
		}
		h, closeHandler = r, r.Close
	case strings.HasPrefix(name, BuiltinKnownBad):
		var opts []knownbad.Option
		if sinkURL != "" {
			opts = append(opts, knownbad.WithSink(sinkURL))
		}
		r, err := knownbad.New(strings.TrimPrefix(name, BuiltinKnownBad), scheme, secret, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		h = r
	default:
		return nil, fmt.Errorf("%w: unknown built-in receiver %q (known: %s)", ErrConfig, name, strings.Join(Builtins(), ", "))
	}
	var t *harness.HandlerTarget
	var err error
	if serve != nil {
		t, err = harness.ServeHandlerTLS(h, builtinPath, serve)
	} else if name == BuiltinReference {
		t, err = harness.ServeHot(h, builtinPath)
	} else {
		t, err = harness.ServeHandler(h, builtinPath)
	}
	if err != nil {
		_ = closeHandler(ctx)
		return nil, err
	}
	return &builtinTarget{HandlerTarget: t, closeHandler: closeHandler, drain: builtinDrain}, nil
}
