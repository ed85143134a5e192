package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sinkservice"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/load"
	"github.com/hookproof/hookproof/suites/session"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

func init() {
	register(command{
		name:    "load",
		summary: "signed deliveries at a rate, through chaos: exactly-once, signature rejection, ack latency",
		run:     runLoad,
	})
}

const loadUsage = `--url URL --secret S --rate 200/s --duration 30s [--chaos SPEC] [--invalid P]
       [--duplicate P] [--sink ADDR | --sink-url URL] [--threshold EXPR]... [--out FILE] [--html FILE]
       [--shard i/n|auto/n] [--run-id RUN_ID]
   or: --builtin reference|knownbad:FLAW [...] (a receiver hookproof runs in process)
   with an https:// URL: [--ca FILE] [--cert FILE --key FILE] [--insecure] [--tls-server-name NAME]`

// loadFlags are the flags of hookproof load.
type loadFlags struct {
	target     *session.TargetFlags
	outputs    session.Outputs
	secret     string
	scheme     string
	rate       string
	duration   time.Duration
	chaos      string
	seed       int64
	invalid    float64
	duplicate  float64
	sink       string
	metrics    string
	sinkURL    string
	thresholds multiFlag
	shard      string
	runID      string
	timeout    time.Duration
	attempts   int
	drain      time.Duration
	sinkWait   time.Duration
	maxWorkers int
	progress   string
	allowUnobs bool
	events     multiFlag
	observe    *session.ObserveFlags
}

func runLoad(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "load", loadUsage)
	f := &loadFlags{target: session.AddTargetFlags(fs)}
	fs.StringVar(&f.secret, "secret", "", "signing secret of the endpoint (default $HOOKPROOF_SECRET)")
	fs.StringVar(&f.scheme, "scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	fs.StringVar(&f.rate, "rate", "50/s", "new deliveries per period, as Vegeta writes it: 200/s, 50/1s, 1000/1m")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long the attack sends new deliveries (at most 1h)")
	fs.StringVar(&f.chaos, "chaos", "", "put an in-process chaos proxy in front of the endpoint: inline spec (drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-2s,reorder=0.1) or scenario file; fault types: "+chaos.TypeNames())
	fs.Int64Var(&f.seed, "seed", 0, "seed of every random choice, chaos included (default: random, printed)")
	fs.Float64Var(&f.invalid, "invalid", 0.05, "fraction of deliveries with an invalid signature (wrong secret, flipped byte, tampered body, stale timestamp, missing header)")
	fs.Float64Var(&f.duplicate, "duplicate", 0.05, "fraction of deliveries re-sending an earlier valid id with a fresh signature")
	fs.StringVar(&f.metrics, "metrics", "", "serve the run's Prometheus metrics at http://`ADDR`/metrics while it goes (a bare :PORT listens on 127.0.0.1)")
	fs.StringVar(&f.sink, "sink", "", "listen for effect reports on `ADDR` (e.g. 127.0.0.1:9300): checks exactly-once (lost, doubled)")
	fs.StringVar(&f.sinkURL, "sink-url", "", "reconcile against the shared effect sink at `URL` (hookproof sink) instead of one in process: the endpoint reports to URL/runs/RUN_ID/effects, each shard counts its own ids and deposits its results there (merge with hookproof report --from URL --run RUN_ID)")
	fs.Var(&f.thresholds, "threshold", "pass/fail rule, k6 style, e.g. ack_p99<2s or error_rate<1% (repeatable, or several comma-separated, as one ConfigMap value gives them; replaces the default on the same metric)")
	f.outputs.Register(fs)
	fs.StringVar(&f.shard, "shard", "", "run part `i/n` of a run split across machines: rate/n, disjoint ids (merge with hookproof report); auto/n takes i from $JOB_COMPLETION_INDEX (0-based, a Kubernetes Indexed Job), auto takes n from $HOOKPROOF_SHARDS too")
	fs.StringVar(&f.runID, "run-id", "", "name shared by the shards of one run (default: derived from the seed and arguments)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long one attempt may take, answer and body")
	fs.IntVar(&f.attempts, "max-attempts", 8, "attempts per valid event, the first included")
	fs.DurationVar(&f.drain, "drain", 30*time.Second, "after the attack, how long retries may go on")
	fs.DurationVar(&f.sinkWait, "sink-wait", 10*time.Second, "after the drain, how long to wait for effects to arrive at the sink")
	fs.IntVar(&f.maxWorkers, "max-workers", 4096, "bound on concurrent first attempts")
	fs.StringVar(&f.progress, "progress", "auto", "live progress on stderr: auto (rewritten line on a terminal, plain lines otherwise), plain or off")
	fs.BoolVar(&f.allowUnobs, "allow-unobserved", false, allowUnobservedUsage)
	fs.Var(&f.events, "event", eventUsage)
	f.observe = session.AddObserveFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: hookproof load %s\n\nflags:\n", loadUsage)
		fs.PrintDefaults()
		fmt.Fprintln(e.stderr, "\nthreshold metrics (durations: 5s, 250ms, or a bare number of ms; ratios: 0.01 or 1%):")
		for _, l := range load.MetricHelp() {
			fmt.Fprintln(e.stderr, "  "+l)
		}
		fmt.Fprintf(e.stderr, "default thresholds: %s\n", strings.Join(load.DefaultThresholds, ", "))
		fmt.Fprintln(e.stderr, "  unacked==0 fails the run when any valid event was not acked by the end of the drain;")
		fmt.Fprintln(e.stderr, "  loosen it only on purpose, e.g. --threshold unacked<=10")
		printExamples(e.stderr, "load")
	}
	if err := parseFlags(fs, args); err != nil {
		return exitCode(e, "load", err)
	}
	return exitCode(e, "load", f.run(ctx, e, fs, args))
}

// config turns the flags into a load.Config; every error is a usage error (exit 2).
func (f *loadFlags) config(e *env, fs *flag.FlagSet, args []string) (load.Config, error) {
	if fs.NArg() > 0 {
		return load.Config{}, usagef("unexpected argument %q", fs.Arg(0))
	}
	if f.secret == "" {
		f.secret = e.getenv("HOOKPROOF_SECRET")
	}
	if err := f.target.Validate(fs); err != nil {
		return load.Config{}, err
	}
	if err := f.observe.Validate(f.target); err != nil {
		return load.Config{}, err
	}
	if f.target.Builtin != "" && f.secret == "" {
		f.secret = builtinSecret(f.scheme)
	}
	if f.secret == "" {
		return load.Config{}, usagef("give the endpoint's signing secret: --secret S or $HOOKPROOF_SECRET")
	}
	if _, err := signature.New(f.scheme, f.secret); err != nil {
		return load.Config{}, usagef("%v", err)
	}
	rate, err := load.ParseRate(f.rate)
	if err != nil {
		return load.Config{}, usagef("--rate: %v", err)
	}
	if rate.IsZero() {
		return load.Config{}, usagef("--rate %s is unbounded: give a rate such as 200/s", f.rate)
	}
	var shard load.Shard
	if f.shard != "" {
		if shard, err = load.ParseShardFlag(f.shard, e.getenv); err != nil {
			return load.Config{}, usagef("--shard: %v", err)
		}
		if shard.Count > 1 && f.outputs.Reports() {
			return load.Config{}, usagef("--shard %s: a shard is part of a run; write --out on every shard and make the report from all of them with hookproof report", f.shard)
		}
	}
	seedSet := false
	fs.Visit(func(fl *flag.Flag) { seedSet = seedSet || fl.Name == "seed" })
	if shard.Count > 1 && !seedSet && f.runID == "" {
		return load.Config{}, usagef("--shard %s: give every shard the same --seed (or --run-id) so that they form one run", f.shard)
	}
	if !seedSet {
		f.seed = randomSeed()
		// A scenario's own seed replays its chaos; --seed wins over it.
		if f.chaos != "" {
			if sc, err := chaos.ParseSpecOrFile(f.chaos); err == nil && sc.Seed != nil {
				f.seed = *sc.Seed
			}
		}
	}
	cfg := load.Config{
		Secret: f.secret, Scheme: f.scheme, Rate: rate, Duration: f.duration,
		Invalid: f.invalid, Duplicate: f.duplicate, Seed: f.seed,
		Timeout: f.timeout, MaxAttempts: f.attempts, Drain: f.drain, SinkWait: f.sinkWait,
		Chaos: f.chaos, Thresholds: splitThresholds(f.thresholds), Events: f.events,
		Shard: shard, RunID: f.runID, MaxWorkers: f.maxWorkers,
	}
	if f.drain == 0 {
		cfg.Drain = -1 // no drain at all, rather than the default
	}
	if cfg.RunID == "" {
		cfg.RunID = load.DeriveRunID(f.seed, reports.RedactArgs(withoutShardFlags(args)))
	}
	if f.sinkURL != "" {
		switch {
		case f.sink != "":
			return load.Config{}, usagef("--sink-url excludes --sink: effects go to the shared sink")
		case f.observe.Active():
			return load.Config{}, usagef("--sink-url excludes reading effects from the receiver's database or logs")
		}
		if _, err := sinkservice.NewClient(f.sinkURL); err != nil {
			return load.Config{}, usagef("--sink-url: %v", err)
		}
		if !sinkservice.ValidRun(cfg.RunID) {
			return load.Config{}, usagef("--run-id %q: the sink service wants 1-128 of A-Z a-z 0-9 . _ : - (starting with a letter or digit)", cfg.RunID)
		}
	}
	switch f.progress {
	case "auto", "plain", "off":
	default:
		return load.Config{}, usagef("--progress %q: want auto, plain or off", f.progress)
	}
	// Every flag is checked here, before the target is contacted or a container starts: a
	// typo is a usage error (exit 2) even when the target is down.
	if _, _, err := load.Thresholds(cfg.Thresholds, f.observable(cfg)); err != nil {
		return load.Config{}, usagef("%v", err)
	}
	if f.chaos != "" {
		if _, err := chaos.ParseSpecOrFile(f.chaos); err != nil {
			return load.Config{}, usagef("--chaos: %v", err)
		}
	}
	if err := cfg.Check(); err != nil {
		return load.Config{}, usagef("%v", err)
	}
	return cfg, nil
}

// observable says what the run will observe: the sink is the CLI's (--sink, or the built-in
// receiver's own), handed to the engine as a collector.
func (f *loadFlags) observable(cfg load.Config) load.Observable {
	return load.Observable{Sink: f.sink != "" || f.sinkURL != "" || f.target.Builtin != "" || f.observe.Active(), Invalid: cfg.Invalid > 0}
}

func (f *loadFlags) run(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	cfg, err := f.config(e, fs, args)
	if err != nil {
		return err
	}
	s := session.New(session.Config{
		Command: "load", Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Version: Version,
		Args: append([]string{"load"}, args...), Secrets: append([]string{f.secret}, f.observe.Secrets()...), Outputs: f.outputs,
		Color: isTerminal(e.stdout), AllowUnobserved: f.allowUnobs,
	})
	defer s.Close(ctx)
	// The sink listens before the target starts, so that a built-in receiver knows where to
	// report, and an external one can be pointed at it.
	var opts []load.Option
	addr := f.sink
	if addr == "" && f.target.Builtin != "" && f.sinkURL == "" {
		addr = "127.0.0.1:0"
	}
	var shared *sinkservice.Client
	if f.sinkURL != "" {
		if shared, err = f.openShared(ctx, s, cfg); err != nil {
			return err
		}
		opts = append(opts, load.WithSharedSink(shared.ForRun(cfg.RunID), shared.URL()))
	}
	if addr != "" {
		snk, err := s.OpenSink(ctx, addr, f.sink != "")
		if err != nil {
			return err
		}
		opts = append(opts, load.WithCollector(snk.Collector))
	}
	f.target.Events = f.events
	s.PrepareEffects(f.observe, f.target)
	started := time.Now()
	tgt, err := s.OpenTarget(ctx, f.target, f.scheme, f.secret)
	if err != nil {
		return err
	}
	if err := s.StartEffects(ctx, f.observe, started); err != nil {
		return err
	}
	if c := s.Effects(); c != nil {
		if s.Sink() == nil {
			opts = append(opts, load.WithCollector(c))
		}
		opts = append(opts, load.WithEffectsSource(s.EffectsFrom(), s.SyncEffects))
	}
	cfg.URL = tgt.URL()
	cfg.Meta = s.Meta()
	cfg.TLS, cfg.TLSCA = f.target.TLSConfig(), f.target.TLS.CA

	msg := fmt.Sprintf("%s, %s for %s at %s, seed %d, run %s", cfg.URL, cfg.Scheme, cfg.Duration, cfg.Rate, cfg.Seed, cfg.RunID)
	if cfg.Shard.Count > 1 {
		msg += fmt.Sprintf(", shard %s", cfg.Shard)
	}
	if cfg.Chaos != "" {
		msg += fmt.Sprintf(", chaos %s", cfg.Chaos)
	}
	s.Printf("%s", msg)

	tty := isTerminal(e.stderr)
	switch {
	case f.progress == "off":
	case f.progress == "auto" && tty:
		opts = append(opts, load.WithProgress(e.stderr, true, 0))
	default:
		opts = append(opts, load.WithProgress(e.stderr, false, 0))
	}
	if f.metrics != "" {
		reg := prometheus.NewRegistry()
		ms, err := startMetrics(ctx, e, "load", f.metrics, reg)
		if err != nil {
			return err
		}
		defer ms.close()
		opts = append(opts, load.WithMetrics(reg))
	}
	res, runErr := load.Run(ctx, cfg, opts...)
	switch {
	case errors.Is(runErr, load.ErrConfig), errors.Is(runErr, load.ErrThreshold):
		return session.Usage(runErr)
	case errors.Is(runErr, load.ErrUnreachable), errors.Is(runErr, load.ErrHarness), errors.Is(runErr, tlsconf.ErrTLS):
		return session.Harness(runErr)
	case res == nil:
		return runErr
	}
	reports.PrintLoadSummary(e.stdout, res, s.TextOptions()...)
	printTraffic(e, res, f.secret)
	var depositErr error
	if shared != nil {
		depositErr = f.deposit(ctx, s, shared, cfg, res)
	}
	// From here runErr is nil or the interruption: the results say so, and Finish grades them.
	if err := s.Finish(ctx, res); err != nil || depositErr == nil {
		return err
	}
	return depositErr
}

// openShared declares the run (its shard count) at the shared sink and points a built-in
// receiver at it. The service must answer: a shard that cannot reach it would count nothing.
func (f *loadFlags) openShared(ctx context.Context, s *session.Session, cfg load.Config) (*sinkservice.Client, error) {
	c, err := sinkservice.NewClient(f.sinkURL)
	if err != nil {
		return nil, session.Usagef("--sink-url: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Declare(dctx, cfg.RunID, max(cfg.Shard.Count, 1)); err != nil {
		if errors.Is(err, sinkservice.ErrRejected) {
			return nil, session.Usagef("--sink-url: %v", err)
		}
		return nil, session.Harness(fmt.Errorf("--sink-url: %w", err))
	}
	s.UseSinkURL(c.EffectsURL(cfg.RunID))
	if f.target.Builtin == "" {
		s.Printf("shared effect sink: the endpoint must POST each effect to %s (or to %s/effects if that sink runs with --run %s)",
			c.EffectsURL(cfg.RunID), c.URL(), cfg.RunID)
	}
	return c, nil
}

// deposit stores the shard's results (secrets redacted) at the shared sink, also after an
// interruption: the merged report must say the shard was cut short, not that it is missing.
func (f *loadFlags) deposit(ctx context.Context, s *session.Session, c *sinkservice.Client, cfg load.Config, res *reports.Results) error {
	clean, err := reports.RedactResults(res, append([]string{f.secret}, f.observe.Secrets()...)...)
	if err != nil {
		return session.Harness(err)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.Deposit(dctx, cfg.RunID, clean); err != nil {
		return session.Harness(fmt.Errorf("depositing the results at the shared sink: %w", err))
	}
	s.Printf("results of shard %s deposited at %s (run %s)", shardName(cfg.Shard), c.URL(), cfg.RunID)
	return nil
}

func shardName(sh load.Shard) string {
	if sh.Count <= 1 {
		return "1/1"
	}
	return sh.String()
}

// printTraffic adds what the summary leaves out: the status codes and transport errors seen.
func printTraffic(e *env, res *reports.Results, secret string) {
	l := res.Load
	line := func(name string, m map[string]int) {
		if len(m) == 0 {
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s: %d", reports.RedactString(k, secret), m[k])
		}
		fmt.Fprintf(e.stdout, "%s\n  %s\n", name, strings.Join(parts, ", "))
	}
	line("status codes (0: no answer)", l.StatusCodes)
	line("errors", l.Errors)
}

// withoutShardFlags drops what differs between the shards of one run (--shard, where the
// results go), so that every shard derives the same run id.
func withoutShardFlags(args []string) []string {
	var out []string
	skip := false
	for _, a := range args {
		if skip {
			skip = false
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") {
			switch name {
			case "shard", "out", "html", "junit", "summary-md", "progress":
				skip = !hasValue
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// randomSeed picks a seed when none is given; it is printed and stored so the run replays.
func randomSeed() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return time.Now().UnixNano() & (1<<53 - 1)
	}
	return int64(binary.LittleEndian.Uint64(b[:]) & (1<<53 - 1)) // exact in JSON
}

// isTerminal reports whether w is a terminal (colour and the rewritten progress line).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// splitThresholds reads each --threshold as one rule or several comma-separated (no rule has a
// comma of its own), blanks dropped.
func splitThresholds(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				out = append(out, r)
			}
		}
	}
	return out
}
