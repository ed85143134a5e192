package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"github.com/hookproof/hookproof/suites/tlsconf"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/hookproof/hookproof/suites/load"
	"github.com/hookproof/hookproof/suites/observe"
	"github.com/hookproof/hookproof/suites/receiver"
	"github.com/hookproof/hookproof/suites/session"
	"github.com/hookproof/hookproof/suites/target"
)

// demo tells the whole story on embedded defaults: the reference receiver on SQLite, a
// signed and a forged delivery, the receiver suite, a load run through the chaos proxy, and
// one HTML report. Everything runs in this process, on loopback.
func init() {
	register(command{name: "demo", summary: "the whole story on embedded defaults: receiver, conform, load through chaos, report.html", run: runDemo})
}

const demoUsage = `[--out-dir DIR] [--duration 20s] [--rate 100/s] [--chaos SPEC] [--seed N] [--scheme standard]`

// demoChaos is the default chaos of the demo's load run: what the internet does to webhooks.
const demoChaos = "drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-500ms,reorder=0.1"

type demoFlags struct {
	outDir   string
	duration time.Duration
	rate     string
	chaos    string
	seed     int64
	scheme   string
	events   multiFlag
	effects  string
	tls      bool
	// serveTLS and clientTLS are --tls's: the reference receiver's certificate, from a CA made
	// for the run, and a client that trusts only that CA.
	serveTLS, clientTLS *tls.Config
}

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "demo", demoUsage)
	f := &demoFlags{}
	fs.StringVar(&f.outDir, "out-dir", "hookproof-demo", "where the results, JUnit and report.html go")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "length of the load run")
	fs.StringVar(&f.rate, "rate", "100/s", "rate of the load run")
	fs.StringVar(&f.chaos, "chaos", demoChaos, "chaos of the load run (inline spec or scenario file)")
	fs.Int64Var(&f.seed, "seed", 0, "seed of every random choice (default: random, printed)")
	fs.StringVar(&f.scheme, "scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	fs.Var(&f.events, "event", eventUsage)
	fs.BoolVar(&f.tls, "tls", false, "serve the reference receiver over HTTPS with a certificate from a CA made for the run, and send everything over TLS verified against it (as --ca would)")
	fs.StringVar(&f.effects, "effects", "sink", "how the demo observes the reference receiver's effects: sink (it reports them), sql (read from its SQLite effects table, as --effects-sql does for your endpoint)")
	if err := parseFlags(fs, args); err != nil {
		return exitCode(e, "demo", err)
	}
	return exitCode(e, "demo", f.run(ctx, e, fs))
}

func (f *demoFlags) run(ctx context.Context, e *env, fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	rate, err := load.ParseRate(f.rate)
	if err != nil || rate.IsZero() {
		return usagef("--rate %q: give a bounded rate such as 100/s", f.rate)
	}
	if f.duration <= 0 || f.duration > 10*time.Minute {
		return usagef("--duration %s: give a duration between 1s and 10m", f.duration)
	}
	if _, err := chaos.ParseSpecOrFile(f.chaos); err != nil {
		return usagef("--chaos: %v", err)
	}
	seedSet := false
	fs.Visit(func(fl *flag.Flag) { seedSet = seedSet || fl.Name == "seed" })
	if !seedSet {
		f.seed = randomSeed()
	}
	secret := builtinSecret(f.scheme)
	if _, err := signature.New(f.scheme, secret); err != nil {
		return usagef("--scheme: %v", err)
	}
	if err := checkEvents(f.events, f.scheme); err != nil {
		return err
	}
	if f.effects != "sink" && f.effects != "sql" {
		return usagef("--effects %q: want sink or sql", f.effects)
	}
	if f.tls {
		ca, err := tlsconf.NewCA("hookproof demo CA")
		if err != nil {
			return harnessError{err}
		}
		leaf, err := ca.Server("127.0.0.1", "localhost")
		if err != nil {
			return harnessError{err}
		}
		f.serveTLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}
		f.clientTLS = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	}
	if err := os.MkdirAll(f.outDir, 0o755); err != nil {
		return harnessError{fmt.Errorf("--out-dir: %w", err)}
	}
	work, err := os.MkdirTemp("", "hookproof-demo-*")
	if err != nil {
		return harnessError{err}
	}
	defer os.RemoveAll(work)
	started := time.Now()
	out := e.stdout
	fmt.Fprintf(out, "hookproof demo (seed %d): the reference receiver, the receiver suite, a load run through chaos, one report.\n", f.seed)

	// 1. The reference receiver on SQLite, reporting its effects to a sink, and one signed and
	// one forged delivery to show what it does with each.
	fmt.Fprintln(out, "\n[1/4] reference receiver")
	conformRes, err := f.conform(ctx, e, work, secret)
	if err != nil {
		return err
	}

	// 3. A load run through the chaos proxy, against a fresh reference receiver.
	fmt.Fprintf(out, "\n[3/4] load: %s at %s through chaos %s\n", f.duration, rate, f.chaos)
	loadRes, err := f.load(ctx, e, secret, rate)
	if err != nil {
		return err
	}

	// 4. Results, JUnit, Markdown and the report.
	fmt.Fprintln(out, "\n[4/4] report")
	files := map[string]*reports.Results{"conform-receiver.json": conformRes, "load.json": loadRes}
	for name, r := range files {
		if err := r.WriteFile(filepath.Join(f.outDir, name)); err != nil {
			return harnessError{err}
		}
	}
	report := filepath.Join(f.outDir, "report.html")
	s := session.New(session.Config{Command: "demo", Stdout: out, Stderr: e.stderr, Getenv: e.getenv, Version: Version,
		Secrets: []string{secret}, Title: "hookproof demo: the reference receiver", Quiet: true,
		Outputs: session.Outputs{Files: map[string]string{"html": report, "junit": filepath.Join(f.outDir, "junit.xml"),
			"summary-md": filepath.Join(f.outDir, "summary.md")}}})
	ferr := s.Finish(ctx, conformRes, loadRes)
	if errors.Is(ferr, session.ErrHarness) {
		return ferr
	}
	abs, _ := filepath.Abs(report)
	verdict := reports.Overall(conformRes, loadRes)
	fmt.Fprintf(out, "  wrote %s (+ conform-receiver.json, load.json, junit.xml, summary.md)\n", abs)
	fmt.Fprintf(out, "\nverdict: %s (receiver suite: %s; load thresholds: %s) in %s\n",
		verdict, conformRes.Verdict(), passFail(loadRes.ThresholdsPassed()), time.Since(started).Round(time.Second))
	fmt.Fprintf(out, "report:  file://%s\n", abs)
	if ferr != nil {
		return fmt.Errorf("the reference receiver did not pass (%v): this is a bug in hookproof, please report it with the files above", ferr)
	}
	return nil
}

// conform starts the reference receiver, shows a signed and a forged delivery, and runs the
// receiver suite against it.
func (f *demoFlags) conform(ctx context.Context, e *env, work, secret string) (*reports.Results, error) {
	out := e.stdout
	s := f.session(e, secret)
	defer s.Close(ctx)
	snk, err := s.OpenSink(ctx, "127.0.0.1:0", false)
	if err != nil {
		return nil, err
	}
	tgt, err := s.OpenTarget(ctx, &session.TargetFlags{Builtin: receiver.BuiltinReference, Events: f.events, BuiltinTLS: f.serveTLS}, f.scheme, secret)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  listening at %s (SQLite inbox), effects reported to %s\n", tgt.URL(), snk.URL())
	if err := showDeliveries(ctx, out, tgt, snk.Collector, f.scheme, secret, f.clientTLS); err != nil {
		return nil, session.Harness(err)
	}
	effects, from, stop, err := f.observed(ctx, out, s, snk.Collector)
	if err != nil {
		return nil, err
	}
	defer stop()

	fmt.Fprintln(out, "\n[2/4] receiver conformance suite")
	meta := s.Meta()
	meta.Target = "reference receiver (SQLite) at " + tgt.URL()
	res, err := receiver.Run(ctx, receiver.Options{
		Target: tgt, Secret: secret, Scheme: f.scheme, Seed: f.seed,
		Sink: effects, SinkURL: snk.URL(), EffectsFrom: from, OptIns: []string{receiver.OptInCloudEvents}, Events: f.events, TLS: f.clientTLS,
		Out: out, TextOptions: s.TextOptions(), Meta: meta,
	})
	if err != nil && !(errors.Is(err, harness.ErrIncomplete) && res != nil) {
		return nil, session.Harness(fmt.Errorf("receiver suite: %w", err))
	}
	reports.PrintRecap(out, res, s.TextOptions()...)
	if res.Interrupted != nil {
		// Stopped: say so and write nothing that looks like a finished demo.
		return nil, verdictError(res)
	}
	return res, nil
}

// demoEffectsQuery reads the reference receiver's own effects table (reference/store): one row
// per processing, in commit order, as a user's --effects-query reads theirs.
const demoEffectsQuery = "SELECT webhook_id, effect_id, applied FROM effects WHERE created_ms >= {since_unix} * 1000 ORDER BY seq"

// observed is where a demo phase reads the reference receiver's effects: its sink's collector
// (--effects sink), or, with --effects sql, a collector fed only by a read-only query of the
// receiver's SQLite store, exactly as --effects-sql observes a user's endpoint.
func (f *demoFlags) observed(ctx context.Context, out io.Writer, s *session.Session, c *sink.Collector) (*sink.Collector, string, func(), error) {
	if f.effects != "sql" {
		return c, "", func() {}, nil
	}
	src, err := observe.OpenSQL(ctx, "sqlite:"+filepath.Join(s.WorkDir(), "reference-receiver.db"), demoEffectsQuery, time.Now().Add(-time.Minute))
	if err != nil {
		return nil, "", nil, session.Harness(err)
	}
	own := sink.NewCollector()
	src.Start(context.WithoutCancel(ctx), own, 100*time.Millisecond)
	fmt.Fprintf(out, "  effects read from the receiver's database: %s\n", src)
	return own, src.String(), func() { _ = src.Close() }, nil
}

// session is the lifecycle of one phase of the demo: its own sink and reference receiver.
func (f *demoFlags) session(e *env, secret string) *session.Session {
	return session.New(session.Config{Command: "demo", Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv,
		Version: Version, Args: []string{"demo"}, Secrets: []string{secret}, Color: isTerminal(e.stdout)})
}

// showDeliveries sends one signed delivery and one forged copy, and waits for the effect of
// the signed one: the story in two requests.
func showDeliveries(ctx context.Context, out io.Writer, tgt target.Target, c *sink.Collector, scheme, secret string, clientTLS *tls.Config) error {
	s, err := signature.New(scheme, secret)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("msg_demo_%d", time.Now().UnixNano())
	body := fmt.Appendf(nil, `{"id":%q,"type":"order.updated","timestamp":%q,"data":{"object_id":"ord_demo","seq":1,"note":"crème brûlée"}}`,
		id, time.Now().UTC().Format(time.RFC3339))
	send := func(h http.Header, body []byte) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tgt.URL(), bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header = h.Clone()
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}}).Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	h, err := s.Sign(signature.Message{ID: id, Body: body})
	if err != nil {
		return err
	}
	t0 := time.Now()
	code, err := send(h, body)
	if err != nil {
		return fmt.Errorf("signed delivery: %w", err)
	}
	fmt.Fprintf(out, "  signed delivery %s: %d in %s", id, code, time.Since(t0).Round(100*time.Microsecond))
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if c.WaitDistinct(wctx, id, 1) == nil {
		fmt.Fprintln(out, ", processed: 1 effect at the sink")
	} else {
		fmt.Fprintln(out, ", NOT processed within 10 s")
	}
	forged := bytes.Replace(body, []byte(`"seq":1`), []byte(`"seq":9`), 1) // changed after signing
	code, err = send(h, forged)
	if err != nil {
		return fmt.Errorf("forged delivery: %w", err)
	}
	fmt.Fprintf(out, "  the same headers on a body changed after signing: %d (rejected, no effect)\n", code)
	return nil
}

// load runs the load phase against a fresh reference receiver through chaos.
func (f *demoFlags) load(ctx context.Context, e *env, secret string, rate load.Rate) (*reports.Results, error) {
	s := f.session(e, secret)
	defer s.Close(ctx)
	snk, err := s.OpenSink(ctx, "127.0.0.1:0", false)
	if err != nil {
		return nil, err
	}
	tgt, err := s.OpenTarget(ctx, &session.TargetFlags{Builtin: receiver.BuiltinReference, Events: f.events, BuiltinTLS: f.serveTLS}, f.scheme, secret)
	if err != nil {
		return nil, err
	}
	effects, from, stop, err := f.observed(ctx, e.stdout, s, snk.Collector)
	if err != nil {
		return nil, err
	}
	defer stop()
	meta := s.Meta()
	meta.Target = "reference receiver (SQLite) at " + tgt.URL()
	cfg := load.Config{
		URL: tgt.URL(), Secret: secret, Scheme: f.scheme, Rate: rate, Duration: f.duration,
		Invalid: 0.05, Duplicate: 0.05, Seed: f.seed, Chaos: f.chaos, Drain: 30 * time.Second, Events: f.events, TLS: f.clientTLS,
		Meta: meta,
	}
	opts := []load.Option{load.WithCollector(effects), load.WithProgress(e.stderr, isTerminal(e.stderr), 0)}
	if from != "" {
		opts = append(opts, load.WithEffectsSource(from, func(context.Context) error { return nil }))
	}
	res, err := load.Run(ctx, cfg, opts...)
	if res == nil {
		return nil, session.Harness(fmt.Errorf("load run: %w", err))
	}
	reports.PrintLoadSummary(e.stdout, res, s.TextOptions()...)
	if res.Interrupted != nil {
		reports.PrintRecap(e.stdout, res, s.TextOptions()...)
		return nil, verdictError(res)
	}
	return res, nil
}

func passFail(ok bool) string {
	if ok {
		return "passed"
	}
	return "failed"
}
