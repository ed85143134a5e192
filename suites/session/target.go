package session

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hookproof/hookproof/suites/receiver"
	"github.com/hookproof/hookproof/suites/target"
)

// TargetFlags say where the endpoint under test is: --url, --image and how to run it, or
// --builtin (a receiver hookproof runs in process). conform receiver and load register them
// with AddTargetFlags, check them with Validate before anything is contacted, and get the
// target from Session.OpenTarget.
type TargetFlags struct {
	URL     string
	Image   string
	Builtin string
	// Events are the run's --event templates, set by the command (not a flag of this group):
	// a built-in reference receiver orders the events by their paths.
	Events []string
	// BuiltinTLS serves a built-in receiver over HTTPS (hookproof demo --tls), set by the
	// command (not a flag of this group).
	BuiltinTLS *tls.Config
	// TLS are the client TLS flags (--ca, --cert, --key, --insecure, --tls-server-name) for an
	// https:// --url.
	TLS     *TLSFlags
	port    int
	path    string
	env     multiFlag
	args    multiFlag
	ready   string
	startup time.Duration
	logs    io.Writer // the container's output goes here too (PrepareEffects)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// AddTargetFlags registers --url, --builtin, --image, --port, --path, --env, --arg, --ready and
// --startup-timeout on fs.
func AddTargetFlags(fs *flag.FlagSet) *TargetFlags {
	f := &TargetFlags{TLS: AddTLSFlags(fs, "the endpoint")}
	fs.StringVar(&f.URL, "url", "", "URL of the endpoint under test (or --image, or --builtin); its credentials (user:password, query values) are redacted from every output")
	fs.StringVar(&f.Builtin, "builtin", "", "a receiver hookproof runs in process instead, with its own effect sink: "+strings.Join(receiver.Builtins(), ", "))
	fs.StringVar(&f.Image, "image", "", "container image of the endpoint under test: hookproof starts it on the host network, waits until it is ready, and removes it on exit (needs a Docker engine)")
	fs.IntVar(&f.port, "port", 0, "with --image: port the container listens on, also given to it as $PORT (default: a free port)")
	fs.StringVar(&f.path, "path", "/", "with --image: path of the webhook endpoint in the container")
	fs.Var(&f.env, "env", "with --image: environment variable `K=V` for the container (repeatable)")
	fs.Var(&f.args, "arg", "with --image: argument for the image's entrypoint (repeatable; {port} is replaced by the port)")
	fs.StringVar(&f.ready, "ready", "", "with --image: path that answers GET with 2xx once the endpoint is ready (default: wait for the port to accept connections)")
	fs.DurationVar(&f.startup, "startup-timeout", 60*time.Second, "with --image: how long the container may take to become ready")
	return f
}

// Validate checks the combination of flags; its errors are usage errors (exit 2).
func (f *TargetFlags) Validate(fs *flag.FlagSet) error {
	if f.URL == "" && f.TLS.Given() {
		return Usagef("%s apply to an https:// --url", strings.Join(f.TLS.names(), ", "))
	}
	if f.Builtin != "" {
		if f.URL != "" || f.Image != "" {
			return Usagef("--builtin excludes --url and --image")
		}
		return nil
	}
	switch {
	case f.URL == "" && f.Image == "":
		return Usagef("give the endpoint under test: --url URL or --image IMG")
	case f.URL != "" && f.Image != "":
		return Usagef("--url and --image exclude each other")
	}
	if f.URL != "" {
		var withImage []string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "port", "path", "env", "arg", "ready", "startup-timeout":
				withImage = append(withImage, "--"+fl.Name)
			}
		})
		if len(withImage) > 0 {
			return Usagef("%s only apply with --image", strings.Join(withImage, ", "))
		}
		if _, err := target.FromURL(f.URL); err != nil {
			return Usage(err)
		}
		return f.TLS.Validate(f.URL)
	}
	for _, kv := range f.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return Usagef("--env %q: want K=V", kv)
		}
	}
	if f.port < 0 || f.port > 65535 {
		return Usagef("--port %d: want 1-65535", f.port)
	}
	if !strings.HasPrefix(f.path, "/") {
		return Usagef("--path %q: must start with /", f.path)
	}
	if f.ready != "" && !strings.HasPrefix(f.ready, "/") {
		return Usagef("--ready %q: must start with /", f.ready)
	}
	if f.startup <= 0 {
		return Usagef("--startup-timeout %s: want a positive duration", f.startup)
	}
	return nil
}

// open returns the target of --url as is, or starts the container of --image. secrets are
// redacted from the container's logs. A missing engine or a container that does not become
// ready is a harness error (exit 3).
func (f *TargetFlags) open(ctx context.Context, stderr io.Writer, secrets ...string) (target.Target, error) {
	if f.URL != "" {
		t, err := target.FromURL(f.URL)
		return t, Usage(err)
	}
	opts := []target.Option{
		target.WithPort(f.port),
		target.WithPath(f.path),
		target.WithArgs(f.args...),
		target.WithStartupTimeout(f.startup),
		target.WithRedact(secrets...),
	}
	if f.logs != nil {
		opts = append(opts, target.WithLogWriter(f.logs))
	}
	for _, kv := range f.env {
		opts = append(opts, target.WithEnvPair(kv))
	}
	if f.ready != "" {
		opts = append(opts, target.WithReadyPath(f.ready))
	}
	if err := target.CheckEngine(ctx); err != nil {
		return nil, Harness(fmt.Errorf("--image needs a Docker engine: %w", err))
	}
	fmt.Fprintf(stderr, "hookproof: starting %s ...\n", f.Image)
	c, err := target.Start(ctx, f.Image, opts...)
	if err != nil {
		if errors.Is(err, target.ErrNoEngine) {
			return nil, Harness(fmt.Errorf("--image needs a Docker engine: %w", err))
		}
		return nil, Harness(err)
	}
	fmt.Fprintf(stderr, "hookproof: %s is ready at %s (container %.12s)\n", f.Image, c.URL(), c.ID())
	return c, nil
}

// TLSConfig is the client TLS configuration of the target (nil: none given).
func (f *TargetFlags) TLSConfig() *tls.Config { return f.TLS.Config() }

// describe names the target for RunMeta.Target.
func (f *TargetFlags) describe() string {
	if f.Image != "" {
		return "image " + f.Image
	}
	return f.URL
}
