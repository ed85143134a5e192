// Package session is the one run lifecycle every hookproof command that grades something
// goes through (conform receiver, conform sender, load, demo): the effect sink, the target
// (a URL, a built-in receiver or a container), the run's metadata, redaction, the outputs, and
// the verdict that decides the exit code. A command parses its flags, opens a Session, runs
// its suite or load engine with what the session gives it, and ends with Finish.
//
//	s := session.New(session.Config{Command: "load", Stdout: os.Stdout, ...})
//	defer s.Close(ctx)                  // target first, then the sink: both bounded
//	if err := s.OpenSink(ctx, addr); err != nil { ... }
//	tgt, err := s.OpenTarget(ctx, flags, scheme)
//	res, err := load.Run(ctx, cfg, ...)  // with s.Meta()
//	return s.Finish(ctx, res)           // logs, redaction, --out/--junit/--html/--summary-md, verdict
//
// Errors that are the user's (a bad flag, a bad combination) wrap ErrUsage (exit 2); errors
// that keep the harness from running (a port in use, no Docker engine) wrap ErrHarness (exit 3);
// Finish's error is the verdict's (exit 1).
package session

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/receiver"
	"github.com/hookproof/hookproof/suites/target"
)

// ErrUsage marks bad usage or configuration (exit 2); ErrHarness a harness that could not run
// (exit 3). Check them with errors.Is.
var (
	ErrUsage   = errors.New("usage")
	ErrHarness = errors.New("harness")
)

// kinded is an error of a kind (ErrUsage or ErrHarness) whose message is its cause's alone.
type kinded struct {
	kind error
	err  error
}

func (k kinded) Error() string        { return k.err.Error() }
func (k kinded) Unwrap() []error      { return []error{k.kind, k.err} }
func (k kinded) Is(target error) bool { return target == k.kind }

// Usagef is a usage error (exit 2) with a formatted message.
func Usagef(format string, a ...any) error {
	return kinded{ErrUsage, fmt.Errorf(format, a...)}
}

// Usage marks err as a usage error (exit 2); nil stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return kinded{ErrUsage, err}
}

// Harness marks err as "the harness could not run" (exit 3); nil stays nil.
func Harness(err error) error {
	if err == nil {
		return nil
	}
	return kinded{ErrHarness, err}
}

// Outputs are the output flags every command shares: --out (the results file) and one flag
// per report format of reports.Formats (--html, --junit, --summary-md). Adding a format is an
// entry in reports.Formats: every command then has its flag.
type Outputs struct {
	Results string            // --out: the results file (JSON)
	Files   map[string]string // by reports.Format flag: "html", "junit", "summary-md"
}

// Register adds the output flags to fs.
func (o *Outputs) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.Results, "out", "", "write the results file (JSON) to `FILE`")
	if o.Files == nil {
		o.Files = map[string]string{}
	}
	for _, f := range reports.Formats {
		fs.Func(f.Flag, f.Usage, func(v string) error { o.Files[f.Flag] = v; return nil })
	}
}

// Reports says whether any report besides the results file is asked for.
func (o Outputs) Reports() bool {
	for _, v := range o.Files {
		if v != "" {
			return true
		}
	}
	return false
}

// Config describes a session: the command, where it prints, and what it must never show.
type Config struct {
	Command string // "load", "conform receiver": names the run in messages
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string // $GITHUB_STEP_SUMMARY; nil: none
	Version string              // hookproof's version, for the results and the report
	// Args is the command line (without "hookproof"); it is stored redacted.
	Args    []string
	Secrets []string // redacted from everything printed and written
	Outputs Outputs
	Color   bool // ANSI colour on stdout
	// AllowUnobserved is --allow-unobserved: an incomplete verdict exits 0 (recorded).
	AllowUnobserved bool
	Strict          bool
	// Title is the HTML report's title ("" for the default).
	Title string
	// Quiet: Finish prints no recap (the command printed its own as it went).
	Quiet bool
}

// Session is one graded run of one command. Create it with New; Close it (defer) after opening
// anything, and end with Finish.
type Session struct {
	cfg  Config
	sink *sink.Server
	// sinkURL is an effect sink outside the process (a sink service) that a built-in receiver
	// reports to, when the session has no sink of its own (UseSinkURL).
	sinkURL string
	target  target.Target
	desc    string // what the target is, for the results ("image x", "builtin reference at ...")
	image   bool   // the target is a container: its logs go into the results
	work    string // a temporary folder for a built-in receiver's store
	fx      *effects
}

// New returns a session for cfg.
func New(cfg Config) *Session {
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	return &Session{cfg: cfg}
}

// TextOptions are the console options of the session: secrets redacted, colour when asked.
func (s *Session) TextOptions() []reports.TextOption {
	return []reports.TextOption{reports.WithTextSecrets(s.cfg.Secrets...), reports.WithColor(s.cfg.Color)}
}

// Printf prints a line of the command's own on stderr, prefixed "hookproof COMMAND: ".
func (s *Session) Printf(format string, a ...any) {
	msg := reports.RedactURLs(reports.RedactString(fmt.Sprintf(format, a...), s.cfg.Secrets...))
	fmt.Fprintf(s.cfg.Stderr, "hookproof %s: %s\n", s.cfg.Command, msg)
}

// OpenSink starts the in-process effect sink on addr (e.g. 127.0.0.1:9300, or :0 for a
// built-in receiver's). Its life is not tied to ctx: a receiver reports to it until it has
// drained, and Close closes it after the target. announce says where the user's receiver must
// report (on stderr).
func (s *Session) OpenSink(ctx context.Context, addr string, announce bool) (*sink.Server, error) {
	srv, err := sink.Listen(context.WithoutCancel(ctx), addr)
	if err != nil {
		return nil, Harness(fmt.Errorf("--sink: %w", err))
	}
	s.sink = srv
	if announce {
		fmt.Fprintf(s.cfg.Stderr, "hookproof: effect sink listening: your receiver must POST each effect to %s\n", srv.URL())
	}
	return srv, nil
}

// WorkDir is the folder of a built-in receiver's store ("" before OpenTarget starts one).
func (s *Session) WorkDir() string { return s.work }

// UseSinkURL makes url, an effect sink outside the process (hookproof sink), the one a
// built-in receiver reports to and the results name, when the session opens no sink itself.
func (s *Session) UseSinkURL(url string) { s.sinkURL = url }

// Sink is the session's effect sink, nil when there is none.
func (s *Session) Sink() *sink.Server { return s.sink }

// OpenTarget starts or opens the endpoint under test that f names: a built-in receiver (it
// reports to the session's sink, which must be open), a container, or a URL. Errors wrap
// ErrUsage or ErrHarness.
func (s *Session) OpenTarget(ctx context.Context, f *TargetFlags, scheme, secret string) (target.Target, error) {
	if f.Builtin != "" {
		sinkURL := s.sinkURL
		if s.sink != nil {
			sinkURL = s.sink.URL()
		}
		if sinkURL == "" {
			return nil, Harness(errors.New("a built-in receiver needs the session's effect sink"))
		}
		dir, err := os.MkdirTemp("", "hookproof-builtin-*")
		if err != nil {
			return nil, Harness(err)
		}
		s.work = dir
		tgt, err := receiver.StartBuiltinTLS(ctx, f.Builtin, scheme, secret, sinkURL, dir, f.BuiltinTLS, f.Events...)
		switch {
		case errors.Is(err, receiver.ErrConfig):
			return nil, Usagef("--builtin: %v", err)
		case err != nil:
			return nil, Harness(err)
		}
		s.target, s.desc = tgt, "builtin "+f.Builtin+" at "+tgt.URL()
		return tgt, nil
	}
	// Credentials in --url are secrets from now on: in the results, every report and stderr.
	s.cfg.Secrets = append(s.cfg.Secrets, reports.URLSecrets(f.URL)...)
	tgt, err := f.open(ctx, s.cfg.Stderr, s.cfg.Secrets...)
	if err != nil {
		return nil, err
	}
	f.TLS.Warn(s.cfg.Stderr, s.cfg.Command)
	s.target, s.desc, s.image = tgt, reports.RedactURL(f.describe()), f.Image != ""
	return tgt, nil
}

// Target is the session's target, nil before OpenTarget.
func (s *Session) Target() target.Target { return s.target }

// closeTimeout bounds closing a target, even after Ctrl-C. The targets have tighter bounds of
// their own: a built-in receiver drains for at most 10 s (after 5 s for its HTTP server), a
// container is removed within 30 s, a sink waits 5 s for reports in flight.
const closeTimeout = 30 * time.Second

// Close closes the target, then the sink (so that a receiver with an outbox can drain into
// it), each within its bound, and removes the session's temporary files. It is meant for a
// defer right after New: it runs on success, failure and Ctrl-C alike.
func (s *Session) Close(ctx context.Context) {
	if s.target != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		if err := s.target.Close(cctx); err != nil {
			fmt.Fprintf(s.cfg.Stderr, "hookproof: closing the target: %v\n", err)
		}
		cancel()
		s.target = nil
	}
	s.closeEffects()
	if s.sink != nil {
		if err := s.sink.Close(); err != nil {
			fmt.Fprintf(s.cfg.Stderr, "hookproof: %v\n", err)
		}
		s.sink = nil
	}
	if s.work != "" {
		os.RemoveAll(s.work)
		s.work = ""
	}
}

// Meta is the run metadata the session knows: the target, the sink, the command line
// (redacted), the versions and the grading choices. The suites and the load engine copy it
// into their results, so nothing is patched afterwards.
func (s *Session) Meta() reports.RunMeta {
	m := reports.RunMeta{
		Target:          s.desc,
		Strict:          s.cfg.Strict,
		AllowUnobserved: s.cfg.AllowUnobserved,
		Versions:        Versions(s.cfg.Version),
	}
	if s.target != nil && m.Target == "" {
		m.Target = reports.RedactURL(s.target.URL())
	}
	if s.sink != nil {
		if u, err := url.Parse(s.sink.URL()); err == nil {
			m.Sink = u.Host
		}
	} else if s.sinkURL != "" {
		m.Sink = s.sinkURL
	}
	if from := s.EffectsFrom(); from != "" {
		if m.Sink != "" {
			m.Sink += " and "
		}
		m.Sink += reports.RedactString(from, s.cfg.Secrets...)
	}
	if s.cfg.Args != nil {
		args := reports.RedactArgs(s.cfg.Args)
		for i, a := range args {
			args[i] = reports.RedactString(a, s.cfg.Secrets...)
		}
		m.Args = args
	}
	return m
}

// Versions are the versions a results file records: hookproof's, Go's and the libraries'
// that shape a run (Ginkgo, Vegeta).
func Versions(hookproof string) map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if hookproof != "" {
		v["hookproof"] = hookproof
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/tsenart/vegeta/v12":
				v["vegeta"] = m.Version
			case "github.com/onsi/ginkgo/v2":
				v["ginkgo"] = m.Version
			}
		}
	}
	return v
}

// Finish ends the run: the container's logs go into the results (redacted), the results are
// redacted again, the recap and verdict are printed, and every output that was asked for is
// written. It returns nil when the runs pass, else the verdict's error (exit 1), or a harness
// error when an output could not be written. A shard (Shard.Count > 1) writes only its
// results file: its reports are made from every shard by hookproof report.
func (s *Session) Finish(ctx context.Context, rs ...*reports.Results) error {
	if s.image && s.target != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		logs, err := s.target.Logs(lctx)
		cancel()
		if err != nil {
			logs = "(logs unavailable: " + err.Error() + ")"
		}
		for _, r := range rs {
			r.TargetLogs = logs
		}
	}
	clean := make([]*reports.Results, len(rs))
	for i, r := range rs {
		c, err := reports.RedactResults(r, s.cfg.Secrets...)
		if err != nil {
			return Harness(err)
		}
		clean[i] = c
	}
	if !s.cfg.Quiet {
		for _, r := range clean {
			reports.PrintRecap(s.cfg.Stdout, r, s.TextOptions()...)
		}
	}
	o := s.cfg.Outputs
	if o.Results != "" {
		if len(clean) != 1 {
			return Harness(fmt.Errorf("--out: %d runs, one results file", len(clean)))
		}
		if err := clean[0].WriteFile(o.Results); err != nil {
			return Harness(err)
		}
	}
	shard := len(clean) == 1 && clean[0].Run.Shard != nil && clean[0].Run.Shard.Count > 1
	if !shard {
		opts := []reports.HTMLOption{reports.WithSecrets(s.cfg.Secrets...), reports.WithVersion(s.cfg.Version)}
		if s.cfg.Title != "" {
			opts = append(opts, reports.WithTitle(s.cfg.Title))
		}
		outs := reports.Outputs{Files: o.Files, Getenv: s.cfg.Getenv, HTMLOptions: opts}
		if err := outs.Write(clean...); err != nil {
			return Harness(err)
		}
	}
	return VerdictError(clean...)
}
