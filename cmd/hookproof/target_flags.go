package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/suites/target"
)

// targetFlags say where the endpoint under test is: --url, or --image and how to run it.
// conform receiver and load register them with addTargetFlags and get a target.Target from
// open; the container is theirs to Close (defer it: Close works after Ctrl-C too).
type targetFlags struct {
	url     string
	image   string
	port    int
	path    string
	env     multiFlag
	args    multiFlag
	ready   string
	startup time.Duration
}

// addTargetFlags registers --url, --image, --port, --path, --env, --arg, --ready and
// --startup-timeout on fs.
func addTargetFlags(fs *flag.FlagSet) *targetFlags {
	f := &targetFlags{}
	fs.StringVar(&f.url, "url", "", "URL of the endpoint under test (or --image)")
	fs.StringVar(&f.image, "image", "", "container image of the endpoint under test: hookproof starts it on the host network, waits until it is ready, and removes it on exit (needs a Docker engine)")
	fs.IntVar(&f.port, "port", 0, "with --image: port the container listens on, also given to it as $PORT (default: a free port)")
	fs.StringVar(&f.path, "path", "/", "with --image: path of the webhook endpoint in the container")
	fs.Var(&f.env, "env", "with --image: environment variable `K=V` for the container (repeatable)")
	fs.Var(&f.args, "arg", "with --image: argument for the image's entrypoint (repeatable; {port} is replaced by the port)")
	fs.StringVar(&f.ready, "ready", "", "with --image: path that answers GET with 2xx once the endpoint is ready (default: wait for the port to accept connections)")
	fs.DurationVar(&f.startup, "startup-timeout", 60*time.Second, "with --image: how long the container may take to become ready")
	return f
}

// validate checks the combination of flags; its errors are usage errors (exit 2).
func (f *targetFlags) validate(fs *flag.FlagSet) error {
	switch {
	case f.url == "" && f.image == "":
		return usagef("give the endpoint under test: --url URL or --image IMG")
	case f.url != "" && f.image != "":
		return usagef("--url and --image exclude each other")
	}
	if f.url != "" {
		var withImage []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "port", "path", "env", "arg", "ready", "startup-timeout":
				withImage = append(withImage, "--"+fl.Name)
			}
		})
		if len(withImage) > 0 {
			return usagef("%s only apply with --image", strings.Join(withImage, ", "))
		}
		if _, err := target.FromURL(f.url); err != nil {
			return usagef("%v", err)
		}
		return nil
	}
	for _, kv := range f.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("--env %q: want K=V", kv)
		}
	}
	if f.port < 0 || f.port > 65535 {
		return usagef("--port %d: want 1-65535", f.port)
	}
	if !strings.HasPrefix(f.path, "/") {
		return usagef("--path %q: must start with /", f.path)
	}
	if f.ready != "" && !strings.HasPrefix(f.ready, "/") {
		return usagef("--ready %q: must start with /", f.ready)
	}
	if f.startup <= 0 {
		return usagef("--startup-timeout %s: want a positive duration", f.startup)
	}
	return nil
}

// open validates the flags and returns the target: the URL as is, or the started container.
// secrets are redacted from the container's logs. A missing engine or a container that does not
// become ready is a harness error (exit 3).
func (f *targetFlags) open(ctx context.Context, e *env, fs *flag.FlagSet, secrets ...string) (target.Target, error) {
	if err := f.validate(fs); err != nil {
		return nil, err
	}
	if f.url != "" {
		return target.FromURL(f.url)
	}
	opts := []target.Option{
		target.WithPort(f.port),
		target.WithPath(f.path),
		target.WithArgs(f.args...),
		target.WithStartupTimeout(f.startup),
		target.WithRedact(secrets...),
	}
	for _, kv := range f.env {
		opts = append(opts, target.WithEnvPair(kv))
	}
	if f.ready != "" {
		opts = append(opts, target.WithReadyPath(f.ready))
	}
	if err := target.CheckEngine(ctx); err != nil {
		return nil, harnessError{fmt.Errorf("--image needs a Docker engine: %w", err)}
	}
	fmt.Fprintf(e.stderr, "hookproof: starting %s ...\n", f.image)
	c, err := target.Start(ctx, f.image, opts...)
	if err != nil {
		if errors.Is(err, target.ErrNoEngine) {
			return nil, harnessError{fmt.Errorf("--image needs a Docker engine: %w", err)}
		}
		return nil, harnessError{err}
	}
	fmt.Fprintf(e.stderr, "hookproof: %s is ready at %s (container %.12s)\n", f.image, c.URL(), c.ID())
	return c, nil
}

// describe names the target for RunMeta.Target.
func (f *targetFlags) describe() string {
	if f.image != "" {
		return "image " + f.image
	}
	return f.url
}

// targetLogs is what the target printed, for Results.TargetLogs: call it before writing the
// results. It never fails: an error becomes the text.
func targetLogs(ctx context.Context, t target.Target) string {
	if t == nil {
		return ""
	}
	logs, err := t.Logs(context.WithoutCancel(ctx))
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	return logs
}

// closeTimeout bounds closing a target or a sink, even after Ctrl-C. The targets have tighter
// bounds of their own: a built-in receiver drains for at most 10 s (after 5 s for its HTTP
// server), a container is removed within 30 s, a sink waits 5 s for reports in flight.
const closeTimeout = 30 * time.Second

// closeTarget removes what open or StartBuiltin started (t may be nil), within closeTimeout. It
// is meant for a defer right after the start, so it runs on success, failure and Ctrl-C alike:
// ctx is the run's context, cancelled or not.
func closeTarget(ctx context.Context, e *env, t target.Target) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if err := t.Close(ctx); err != nil {
		fmt.Fprintf(e.stderr, "hookproof: closing the target: %v\n", err)
	}
}

// listenSink starts the in-process effect sink. Its life is not tied to ctx: a receiver reports
// to it until it has drained, so close it (closeSink) after the target.
func listenSink(ctx context.Context, addr string) (*sink.Server, error) {
	return sink.Listen(context.WithoutCancel(ctx), addr)
}

// closeSink closes s (which may be nil) within its own bound, and says when reports were cut.
func closeSink(e *env, s *sink.Server) {
	if s == nil {
		return
	}
	if err := s.Close(); err != nil {
		fmt.Fprintf(e.stderr, "hookproof: %v\n", err)
	}
}
