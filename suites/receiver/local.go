package receiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

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

// builtinTarget serves an in-process receiver on loopback and closes both on Close.
type builtinTarget struct {
	*harness.HandlerTarget
	closeHandler func(ctx context.Context) error
}

func (b *builtinTarget) Close(ctx context.Context) error {
	return errors.Join(b.HandlerTarget.Close(ctx), b.closeHandler(ctx))
}

// StartBuiltin starts the named built-in receiver (see Builtins) for scheme and secret,
// reporting effects to sinkURL ("" for none); the reference receiver keeps its SQLite store in
// dir. Close the target to stop it.
func StartBuiltin(ctx context.Context, name, scheme, secret, sinkURL, dir string) (target.Target, error) {
	var h http.Handler
	closeHandler := func(context.Context) error { return nil }
	switch {
	case name == BuiltinReference:
		s, err := signature.New(scheme, secret)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		var opts []refreceiver.Option
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
	t, err := harness.ServeHandler(h, builtinPath)
	if err != nil {
		_ = closeHandler(ctx)
		return nil, err
	}
	return &builtinTarget{HandlerTarget: t, closeHandler: closeHandler}, nil
}
