package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

// OptInRotation is the opt-in of the secret rotation case: the sender signs with a previous
// secret too (Options.PreviousSecret).
const OptInRotation = "rotation"

// Defaults of the suite's waits.
const (
	DefaultRetryWait  = 10 * time.Second // how long a case waits for each expected attempt
	DefaultQuiet      = 2 * time.Second  // how long a case watches for attempts that must not come
	DefaultMaxTimeout = 35 * time.Second // how long a held attempt waits for the sender to give up
	RetryAfterSeconds = 2                // the Retry-After the status case sends
)

// Options is one run of the sender suite.
type Options struct {
	// Listen is the scripted receiver's address ("127.0.0.1:0": any free port). Listener,
	// when set, is used instead.
	Listen   string
	Listener net.Listener
	// PublicURL is the scripted receiver's base URL as the sender reaches it (default:
	// http:// and the listener's address, 127.0.0.1 for an unspecified host).
	PublicURL string

	Trigger string // sh -c command; {url} is the case's endpoint
	// TriggerCA is the CA file (PEM) of the scripted receiver's certificate when Listener
	// serves TLS: {ca} in Trigger and $HOOKPROOF_CA.
	TriggerCA      string
	TriggerTimeout time.Duration // per run; 0: 30 s
	Secret         string        // the endpoint secret the sender signs with
	PreviousSecret string        // when set, the sender is rotating from it: opts in to SND-SIG-002
	Scheme         string        // signature scheme; "" means standard

	RetryWait  time.Duration // per expected attempt (the first trigger's event: 3 times it); 0: DefaultRetryWait
	Quiet      time.Duration // watch for unwanted attempts; 0: DefaultQuiet
	MaxTimeout time.Duration // hold of a hung attempt; 0: DefaultMaxTimeout
	SkipLong   bool          // leave out the long case (SND-TIMEOUT-001)

	Seed     int64
	Strict   bool
	Selector catalog.Selector
	Timeout  time.Duration // the whole suite; 0: 15 minutes
	DryRun   bool

	Out          io.Writer // one line per case as it ends; nil prints nothing
	TextOptions  []reports.TextOption
	T            ginkgo.GinkgoTestingT // Ginkgo's pass/fail; nil: a private one
	GinkgoOutput bool
	Meta         reports.RunMeta
}

// Errors of Run. A bad option wraps ErrConfig (a usage error); a run that could not start
// wraps ErrHarness (the listener, or the first trigger: it failed, or nothing was delivered).
var (
	ErrConfig  = errors.New("bad sender suite configuration")
	ErrHarness = errors.New("the sender suite could not run")
)

// Run checks the options, opens the scripted receiver, makes sure the trigger works (one
// event, which must arrive), and runs the suite once. Ginkgo allows one run per process.
func Run(ctx context.Context, o Options) (*reports.Results, error) {
	e, err := newEnv(o)
	if err != nil {
		return nil, err
	}
	ln := e.o.Listener
	if ln == nil {
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, "tcp", e.o.Listen); err != nil {
			return nil, fmt.Errorf("%w: listen on %s: %w", ErrHarness, e.o.Listen, err)
		}
	}
	base := e.o.PublicURL
	if base == "" {
		base = baseURL(ln.Addr())
	}
	e.rv = NewReceiver(base, !e.trig.PerCase(), e.idOf)
	srv := &http.Server{Handler: e.rv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(cctx) != nil {
			srv.Close()
		}
	}()
	if !o.DryRun {
		if err := e.preflight(ctx); err != nil {
			return nil, err
		}
	}
	// The rotation case skips itself, naming the flag that opts in (--previous-secret).
	optIns := []string{OptInRotation}
	meta := o.Meta
	if meta.Target == "" {
		meta.Target = reports.RedactString(o.Trigger, o.Secret, o.PreviousSecret)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	return harness.Run(o.T, harness.Config{
		Suite:        catalog.Sender,
		Kind:         reports.KindConformSender,
		Description:  "hookproof sender conformance",
		Scheme:       e.o.Scheme,
		OptIns:       optIns,
		Selector:     o.Selector,
		Seed:         o.Seed,
		Strict:       o.Strict,
		Timeout:      timeout,
		DryRun:       o.DryRun,
		Out:          o.Out,
		TextOptions:  o.TextOptions,
		GinkgoOutput: o.GinkgoOutput,
		Meta:         meta,
	}, e.define)
}

// baseURL is http:// and addr, with a reachable host for an unspecified one.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// env is what the specs share. Specs run one at a time; their goroutines only read it.
type env struct {
	o      Options
	trig   Trigger
	scheme signature.Scheme // verifies with Secret, at the default tolerance, now
	traits signature.Traits
	rv     *Receiver
}

func newEnv(o Options) (*env, error) {
	if o.Scheme == "" {
		o.Scheme = "standard"
	}
	if strings.TrimSpace(o.Trigger) == "" {
		return nil, fmt.Errorf("%w: no trigger command", ErrConfig)
	}
	if o.Secret == "" {
		return nil, fmt.Errorf("%w: no secret", ErrConfig)
	}
	if o.Listen == "" && o.Listener == nil {
		o.Listen = "127.0.0.1:0"
	}
	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("%w: public URL %q: want scheme://host:port", ErrConfig, o.PublicURL)
		}
	}
	for _, d := range []*time.Duration{&o.RetryWait, &o.Quiet, &o.MaxTimeout} {
		if *d < 0 {
			return nil, fmt.Errorf("%w: negative wait %s", ErrConfig, *d)
		}
	}
	if o.RetryWait == 0 {
		o.RetryWait = DefaultRetryWait
	}
	if o.Quiet == 0 {
		o.Quiet = DefaultQuiet
	}
	if o.MaxTimeout == 0 {
		o.MaxTimeout = DefaultMaxTimeout
	}
	if o.MaxTimeout <= 30*time.Second {
		return nil, fmt.Errorf("%w: max timeout %s must be over 30s, the longest request timeout SND-TIMEOUT-001 accepts", ErrConfig, o.MaxTimeout)
	}
	sc, err := signature.New(o.Scheme, o.Secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if o.PreviousSecret != "" {
		if _, err := signature.New(o.Scheme, o.PreviousSecret); err != nil {
			return nil, fmt.Errorf("%w: previous secret: %w", ErrConfig, err)
		}
	}
	e := &env{o: o, scheme: sc, traits: sc.Traits(),
		trig: Trigger{Command: o.Trigger, Timeout: o.TriggerTimeout, Secrets: []string{o.Secret, o.PreviousSecret}, CA: o.TriggerCA}}
	return e, nil
}

// preflight runs the trigger once and waits for its event: a trigger that fails, or a sender
// that delivers nothing, means the suite cannot run (rather than every case failing).
func (e *env) preflight(ctx context.Context) error {
	s := e.rv.NewScript("preflight")
	if _, err := e.trig.Run(ctx, "preflight", s.URL); err != nil {
		return fmt.Errorf("%w: the first trigger: %w", ErrHarness, err)
	}
	wait := 3 * e.o.RetryWait
	if _, err := s.Wait(ctx, 1, wait, false); err != nil {
		return fmt.Errorf("%w: the first trigger ran, but nothing arrived at %s within %s (is the sender running, and does the trigger give it {url}?)",
			ErrHarness, s.URL, wait)
	}
	return nil
}

// define registers every family's specs in one Ordered container, so they run in this order
// whatever the files are called (with a fixed URL the 410 case, which disables the sender's
// endpoint, must come last), and ContinueOnFailure, so one failed case does not skip the rest.
func (e *env) define() {
	ginkgo.Describe("sender", ginkgo.Ordered, ginkgo.ContinueOnFailure, func() {
		e.headers()
		e.payload()
		e.ids()
		e.timestamps()
		e.retries()
		e.statuses()
		e.timeouts()
		e.gone()
	})
}
