package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/hookproof/hookproof/suites/sender"
	"github.com/hookproof/hookproof/suites/session"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// conform sender: hookproof plays a scripted receiver, the trigger makes the sender under test
// emit one event per case, and every attempt is graded.
func init() {
	registerConformMode(conformMode{
		name:    "sender",
		summary: "play a scripted receiver to your webhook sender: retries, ids, timestamps, status codes",
		usage:   conformSenderUsage,
		run:     conformSender,
	})
}

const conformSenderUsage = `--listen ADDR --secret S --trigger CMD [--scheme standard] [--previous-secret S]
       [--public-url URL] [--tls] [--retry-wait 10s] [--quiet 2s] [--max-timeout 35s] [--skip-long]
       [--strict] [--id IDS] [--family F] [--level L] [--seed N]
       [--out results.json] [--junit FILE] [--html FILE] [--summary-md FILE]
   or: --list [--id IDS] [--family F] [--level L]`

type conformSenderFlags struct {
	suiteFlags
	listen, publicURL, trigger, secret, previous, scheme string
	triggerTimeout, retryWait, quiet, maxTimeout         time.Duration
	skipLong, tls                                        bool
}

func conformSender(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "conform sender", conformSenderUsage)
	f := &conformSenderFlags{}
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "address of hookproof's scripted receiver; a trigger without {url} needs a fixed port")
	fs.StringVar(&f.publicURL, "public-url", "", "base `URL` the sender reaches the scripted receiver at (default http://LISTEN)")
	fs.StringVar(&f.trigger, "trigger", "", "command (run with sh -c) that makes your sender emit one event; {url} is replaced by the case's URL, also in $HOOKPROOF_URL")
	fs.BoolVar(&f.tls, "tls", false, "serve the scripted receiver over HTTPS with a certificate of a CA generated for the run; {ca} in the trigger (and $HOOKPROOF_CA) is that CA's PEM file, for your sender to trust")
	fs.DurationVar(&f.triggerTimeout, "trigger-timeout", 30*time.Second, "bound on one run of the trigger")
	fs.StringVar(&f.secret, "secret", "", "the secret your sender signs with (default $HOOKPROOF_SECRET)")
	fs.StringVar(&f.previous, "previous-secret", "", "the previous secret, when your sender is rotating: opts in to the rotation case")
	fs.StringVar(&f.scheme, "scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	fs.DurationVar(&f.retryWait, "retry-wait", sender.DefaultRetryWait, "how long to wait for each expected attempt: configure your sender's retry schedule well under it")
	fs.DurationVar(&f.quiet, "quiet", sender.DefaultQuiet, "how long to watch for attempts that must not come (after a 2xx, a 410)")
	fs.DurationVar(&f.maxTimeout, "max-timeout", sender.DefaultMaxTimeout, "how long an attempt is left unanswered before hookproof gives up waiting for the sender to")
	fs.BoolVar(&f.skipLong, "skip-long", false, "leave out SND-TIMEOUT-001, which waits out your sender's request timeout (15-30 s)")
	f.register(fs, "SND-RETRY-*", strings.Join(catalog.Families(catalog.Sender), ", "), 15*time.Minute)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (quote the --trigger command)", fs.Arg(0))
	}
	sel, err := f.selection(catalog.Sender)
	if err != nil {
		return err
	}
	if f.list {
		return listRequirements(e.stdout, catalog.Sender, f.scheme, sel, func(r catalog.Requirement) string {
			var notes string
			if r.OptIn == sender.OptInRotation {
				notes += "; optional: give --previous-secret"
			}
			if r.Has("long") {
				notes += "; long: --skip-long leaves it out"
			}
			return notes
		})
	}
	return f.run(ctx, e, fs, args, sel)
}

func (f *conformSenderFlags) run(ctx context.Context, e *env, fs *flag.FlagSet, args []string, sel catalog.Selector) error {
	if f.secret == "" && e.getenv != nil {
		f.secret = e.getenv(secretEnv)
	}
	switch {
	case strings.TrimSpace(f.trigger) == "":
		return usagef("give the --trigger command that makes your sender emit one event (see README)")
	case f.secret == "":
		return usagef("give the secret your sender signs with: --secret S or $%s", secretEnv)
	case f.triggerTimeout <= 0:
		return usagef("--trigger-timeout %s: want a positive duration", f.triggerTimeout)
	}
	seedSet := false
	fs.Visit(func(fl *flag.Flag) { seedSet = seedSet || fl.Name == "seed" })
	if !seedSet {
		f.seed = randomSeed()
	}
	perCase := sender.Trigger{Command: f.trigger}.PerCase()
	if !perCase {
		if _, port, err := net.SplitHostPort(f.listen); err == nil && port == "0" && f.publicURL == "" {
			return usagef("the trigger has no {url}, so your sender delivers to one fixed URL: give --listen a fixed port (e.g. 127.0.0.1:9400) and configure that URL in your sender")
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return harnessError{fmt.Errorf("--listen %s: %w", f.listen, err)}
	}
	defer ln.Close()
	base := f.publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	caFile := ""
	if f.tls {
		var tlsLn net.Listener
		if tlsLn, caFile, err = scriptedReceiverTLS(ln, f.publicURL); err != nil {
			return harnessError{fmt.Errorf("--tls: %w", err)}
		}
		defer os.RemoveAll(filepath.Dir(caFile))
		ln = tlsLn
		if f.publicURL == "" {
			base = "https://" + ln.Addr().String()
			f.publicURL = base
		}
		fmt.Fprintf(e.stderr, "hookproof conform sender: serving HTTPS; the CA your sender must trust is %s ({ca}, $HOOKPROOF_CA)\n", caFile)
	} else if strings.Contains(f.trigger, sender.CAPlaceholder) {
		return usagef("the trigger has {ca}: give --tls (the scripted receiver then serves HTTPS and {ca} is its CA)")
	}
	mode := "a URL per case ({url})"
	if !perCase {
		mode = "one fixed URL (any path at " + base + "), cases one at a time"
	}
	fmt.Fprintf(e.stderr, "hookproof conform sender: scripted receiver at %s, %s, scheme %s, seed %d\n", base, mode, f.scheme, f.seed)

	s := session.New(session.Config{
		Command: "conform sender", Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Version: Version,
		Args:    append([]string{"conform", "sender"}, redactTrigger(args, f.secret, f.previous)...),
		Secrets: []string{f.secret, f.previous}, Outputs: f.outputs,
		Color: isTerminal(e.stdout), AllowUnobserved: f.allowUnobserved, Strict: f.strict,
	})
	defer s.Close(ctx)
	meta := s.Meta()
	meta.Target = "" // the suite names the trigger command
	res, err := sender.Run(ctx, sender.Options{
		Listener: ln, PublicURL: f.publicURL, Trigger: f.trigger, TriggerTimeout: f.triggerTimeout, TriggerCA: caFile,
		Secret: f.secret, PreviousSecret: f.previous, Scheme: f.scheme,
		RetryWait: f.retryWait, Quiet: f.quiet, MaxTimeout: f.maxTimeout, SkipLong: f.skipLong,
		Seed: f.seed, Strict: f.strict, Selector: sel, Timeout: f.timeout,
		Out: e.stdout, TextOptions: s.TextOptions(), Meta: meta,
	})
	switch {
	case errors.Is(err, sender.ErrConfig), errors.Is(err, harness.ErrEmptySelection):
		return session.Usage(err)
	case errors.Is(err, harness.ErrIncomplete) && res != nil:
		// Interrupted or timed out: the results so far are printed and written as interrupted.
	case err != nil:
		return session.Harness(err)
	}
	return s.Finish(ctx, res)
}

// scriptedReceiverTLS wraps ln in TLS with a certificate for its address, 127.0.0.1,
// localhost and the host of publicURL, signed by a CA made for the run; it returns the TLS
// listener and the CA's PEM file, in a temporary folder of its own.
func scriptedReceiverTLS(ln net.Listener, publicURL string) (net.Listener, string, error) {
	ca, err := tlsconf.NewCA("hookproof conform sender CA")
	if err != nil {
		return nil, "", err
	}
	hosts := []string{"127.0.0.1", "localhost", "::1"}
	if h, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && !slices.Contains(hosts, h) && h != "0.0.0.0" && h != "::" {
		hosts = append(hosts, h)
	}
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" && !slices.Contains(hosts, u.Hostname()) {
		hosts = append(hosts, u.Hostname())
	}
	leaf, err := ca.Server(hosts...)
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "hookproof-conform-sender-*")
	if err != nil {
		return nil, "", err
	}
	caFile, err := ca.WriteFile(dir, "ca")
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{leaf.TLS}}
	return tlsconf.Listener(ln, cfg), caFile, nil
}

// redactTrigger hides the secrets inside a --trigger command (RedactArgs only knows flags
// whose names look secret).
func redactTrigger(args []string, secrets ...string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = reports.RedactString(a, secrets...)
	}
	return out
}
