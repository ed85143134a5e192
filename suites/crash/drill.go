package crash

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/load"
	"github.com/hookproof/hookproof/suites/target"
)

// Option configures a drill.
type Option func(*config)

type config struct {
	secret   string
	scheme   string
	seed     int64
	rate     load.Rate
	duration time.Duration
	chaos    string
	killAt   time.Duration
	downtime time.Duration
	drain    time.Duration
	sinkWait time.Duration
	messages int
	logf     func(format string, a ...any)
}

func defaultConfig() config {
	return config{
		secret:   "whsec_Y3Jhc2gtZHJpbGwtc2VjcmV0LTI0LWJ5dGVzIQ==",
		scheme:   "standard",
		seed:     7,
		rate:     load.Rate{Freq: 50, Per: time.Second},
		duration: 6 * time.Second,
		chaos:    "duplicate=0.05,lost-ack=0.02,delay=0-20ms",
		killAt:   2500 * time.Millisecond,
		downtime: 1500 * time.Millisecond,
		drain:    40 * time.Second,
		sinkWait: 10 * time.Second,
		messages: 200,
		logf:     func(string, ...any) {},
	}
}

// WithSecret is the signing secret shared with the endpoint (a Standard Webhooks whsec_ secret
// by default, fixed so a drill can be replayed).
func WithSecret(s string) Option { return func(c *config) { c.secret = s } }

// WithScheme is the signature scheme (default "standard").
func WithScheme(s string) Option { return func(c *config) { c.scheme = s } }

// WithSeed seeds the load and the chaos proxy (default 7).
func WithSeed(n int64) Option { return func(c *config) { c.seed = n } }

// WithLoad sets the receiver drill's rate and attack duration (default 50/s for 6 s).
func WithLoad(r load.Rate, d time.Duration) Option {
	return func(c *config) { c.rate, c.duration = r, d }
}

// WithChaos is the inline chaos spec traffic goes through (default: a few duplicates, lost
// acks and small delays); "" for none.
func WithChaos(spec string) Option { return func(c *config) { c.chaos = spec } }

// WithKill says when to kill (this long after the stream started, and once at least one effect
// was seen, so the endpoint was really working) and how long it stays down.
func WithKill(at, downtime time.Duration) Option {
	return func(c *config) { c.killAt, c.downtime = at, downtime }
}

// WithDrain bounds the time left for retries after the attack (default 40 s).
func WithDrain(d time.Duration) Option { return func(c *config) { c.drain = d } }

// WithSinkWait bounds the wait for late effects (default 10 s).
func WithSinkWait(d time.Duration) Option { return func(c *config) { c.sinkWait = d } }

// WithMessages is how many messages a sender drill sends (default 200).
func WithMessages(n int) Option { return func(c *config) { c.messages = n } }

// WithLogf receives progress lines (testing.T.Logf, GinkgoWriter.Printf).
func WithLogf(f func(format string, a ...any)) Option { return func(c *config) { c.logf = f } }

// Crash is when the endpoint was killed and when it was ready again.
type Crash struct {
	KilledAt    time.Time `json:"killed_at"`
	RestartedAt time.Time `json:"restarted_at"`
	// EffectsAtKill is how many distinct effects the sink had seen when the kill was sent.
	EffectsAtKill int `json:"effects_at_kill"`
}

// ReceiverOutcome is what a receiver drill observed.
type ReceiverOutcome struct {
	Results *reports.Results // the load run's results, container logs in TargetLogs
	Crash   Crash
}

// Violations lists the crash-consistency properties the run broke, in words; none means the
// receiver passed: every event acknowledged (after retries), every acknowledgement backed by
// exactly one effect.
func (o *ReceiverOutcome) Violations() []string {
	if o.Results == nil || o.Results.Load == nil {
		return []string{"the load run produced no ledger"}
	}
	l := o.Results.Load.Ledger
	var v []string
	if !l.Observed {
		v = append(v, "no effect sink observed the run")
	}
	if l.Void {
		v = append(v, "the ledger is void: "+l.VoidReason)
	}
	if l.Lost > 0 {
		v = append(v, fmt.Sprintf("%d acknowledged events have no effect (lost)", l.Lost))
	}
	if l.Doubled > 0 {
		v = append(v, fmt.Sprintf("%d events have more than one effect", l.Doubled))
	}
	if n := l.FailedAfterRetries + l.CutOff; n > 0 {
		v = append(v, fmt.Sprintf("%d events were never acknowledged (%d failed after retries, %d cut off)", n, l.FailedAfterRetries, l.CutOff))
	}
	if l.Acked != l.Published {
		v = append(v, fmt.Sprintf("%d events published, %d acknowledged", l.Published, l.Acked))
	}
	return v
}

// ReceiverCrash runs a receiver drill: image runs with args (in which {port} is the port to
// listen on, {sink} the effect sink's URL, {secret} the signing secret and /data the data
// volume), serves GET /healthz, and takes a load run through chaos while it is killed and
// restarted once. The container is removed before ReceiverCrash returns; its logs are in the
// results. An error means the drill could not run; a receiver that failed it has Violations.
func ReceiverCrash(ctx context.Context, image string, args []string, opts ...Option) (*ReceiverOutcome, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := sink.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver drill: %w", err)
	}
	defer srv.Close()

	c, cleanup, err := startEndpoint(ctx, image, args, srv.URL(), cfg)
	if err != nil {
		return nil, fmt.Errorf("receiver drill: %w", err)
	}
	defer cleanup()
	cfg.logf("receiver %s ready at %s", image, c.URL())

	out := &ReceiverOutcome{}
	crashDone := make(chan error, 1)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go func() {
		crashDone <- crashOnce(runCtx, c, srv.Collector, cfg, &out.Crash)
	}()

	res, err := load.Run(ctx, load.Config{
		URL:      c.URL(),
		Secret:   cfg.secret,
		Scheme:   cfg.scheme,
		Rate:     cfg.rate,
		Duration: cfg.duration,
		Seed:     cfg.seed,
		Chaos:    cfg.chaos,
		Drain:    cfg.drain,
		SinkWait: cfg.sinkWait,
		Timeout:  5 * time.Second,
		// Enough attempts to outlast the downtime and the restart with the default backoff.
		MaxAttempts: 12,
		Thresholds:  []string{"ack_p99<60s"},
	}, load.WithCollector(srv.Collector))
	stopRun()
	if cerr := <-crashDone; cerr != nil {
		return nil, fmt.Errorf("receiver drill: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("receiver drill: load run: %w", err)
	}
	res.TargetLogs = logsOf(ctx, c)
	out.Results = res
	l := res.Load.Ledger
	cfg.logf("ledger: published %d, acked %d, failed %d, cut off %d, effects %d, lost %d, doubled %d (kill at %d effects)",
		l.Published, l.Acked, l.FailedAfterRetries, l.CutOff, l.Effects, l.Lost, l.Doubled, out.Crash.EffectsAtKill)
	return out, nil
}

// startEndpoint starts image with its data volume on a fresh host directory.
func startEndpoint(ctx context.Context, image string, args []string, sinkURL string, cfg config) (*target.Container, func(), error) {
	dir, err := os.MkdirTemp("", "hookproof-crash-")
	if err != nil {
		return nil, nil, err
	}
	// The image runs as an unprivileged user: it must be able to write its database here.
	if err := os.Chmod(dir, 0o777); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	expanded := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "{sink}", sinkURL)
		expanded[i] = strings.ReplaceAll(a, "{secret}", cfg.secret)
	}
	c, err := target.Start(ctx, image,
		target.WithArgs(expanded...),
		target.WithBind(dir, "/data"),
		target.WithReadyPath("/healthz"),
		target.WithRedact(cfg.secret),
		target.WithName("hookproof-crash"),
		target.WithStartupTimeout(30*time.Second),
	)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	cleanup := func() {
		_ = c.Close(context.WithoutCancel(ctx))
		os.RemoveAll(dir)
	}
	return c, cleanup, nil
}

// crashOnce waits until cfg.killAt has passed and the sink has seen an effect, then SIGKILLs
// the container, waits cfg.downtime and starts it again.
func crashOnce(ctx context.Context, c *target.Container, col *sink.Collector, cfg config, rec *Crash) error {
	start := time.Now()
	for time.Since(start) < cfg.killAt || col.Total() == 0 {
		if !sleep(ctx, 20*time.Millisecond) {
			return fmt.Errorf("no effect seen before the run ended: the endpoint never processed anything (kill not sent)")
		}
	}
	rec.EffectsAtKill = len(col.Counts())
	rec.KilledAt = time.Now()
	if err := c.Kill(ctx); err != nil {
		return err
	}
	cfg.logf("SIGKILL sent %.1fs into the stream (%d effects so far); down for %s", time.Since(start).Seconds(), rec.EffectsAtKill, cfg.downtime)
	sleep(ctx, cfg.downtime)
	// The restart must happen even if the run's context ended meanwhile: the drain needs it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	if err := c.Restart(rctx); err != nil {
		return err
	}
	rec.RestartedAt = time.Now()
	cfg.logf("restarted after %.1fs", rec.RestartedAt.Sub(rec.KilledAt).Seconds())
	return nil
}

func logsOf(ctx context.Context, c *target.Container) string {
	logs, err := c.Logs(context.WithoutCancel(ctx))
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	return logs
}

// sleep waits d or until ctx ends; it reports whether the full d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
