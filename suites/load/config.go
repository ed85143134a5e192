package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
)

// ErrConfig is wrapped by every error about a Config that cannot run (the CLI's exit 2).
var ErrConfig = errors.New("bad load configuration")

// ErrUnreachable means the target did not answer the probe sent before the attack (exit 3).
var ErrUnreachable = errors.New("target unreachable")

// Bounds that keep every run finite, whatever it is given.
const (
	MaxDuration   = time.Hour
	MaxDrain      = time.Hour
	MaxTimeout    = 5 * time.Minute
	MaxAttempts   = 100
	MaxDeliveries = 10_000_000 // rate × duration
)

// Config describes one load run. It is plain data; zero fields take the defaults below.
type Config struct {
	URL    string `json:"url"`
	Secret string `json:"-"`
	Scheme string `json:"scheme"` // signature scheme, default "standard"

	Rate      Rate          `json:"rate"`      // new deliveries per period; zero is "as fast as the workers go"
	Duration  time.Duration `json:"duration"`  // of the attack; retries go on in the drain phase
	Invalid   float64       `json:"invalid"`   // fraction of deliveries with an invalid signature
	Duplicate float64       `json:"duplicate"` // fraction re-sending an earlier valid id
	Seed      int64         `json:"seed"`      // every random choice derives from it

	Timeout     time.Duration `json:"timeout"`      // per attempt, answer and body (default 10 s)
	MaxAttempts int           `json:"max_attempts"` // per valid event, the first included (default 8)
	Backoff     Backoff       `json:"backoff"`      // between attempts (default DefaultBackoff)
	Drain       time.Duration `json:"drain"`        // after the attack, for retries (default 30 s; negative: none)

	// Sink is the address the effect sink listens on ("" for none, unless WithCollector).
	Sink string `json:"sink,omitempty"`
	// SinkWait bounds the wait for effects after the drain (default 10 s): until every acked
	// event has an effect and the sink has been quiet for SinkQuiet (default 500 ms).
	SinkWait  time.Duration `json:"sink_wait"`
	SinkQuiet time.Duration `json:"sink_quiet"`

	// Chaos is an inline chaos spec or a scenario file; traffic then goes through an
	// in-process chaos proxy seeded with Seed.
	Chaos string `json:"chaos,omitempty"`

	// Events are sample event files (or directories of *.json) in the provider's shape: the
	// run's events are copies of them with its ids and ordering keys filled in (event.Template).
	Events []string `json:"events,omitempty"`

	// Thresholds add to or override DefaultThresholds (same metric: replaced).
	Thresholds []string `json:"thresholds,omitempty"`

	Shard Shard  `json:"shard"`  // zero: the whole run
	RunID string `json:"run_id"` // shared by the shards of one logical run; default derived

	Workers      int `json:"workers"`       // initial attack workers (default 10)
	MaxWorkers   int `json:"max_workers"`   // bound on concurrent first attempts (default 4096)
	RetryWorkers int `json:"retry_workers"` // bound on concurrent retries (default 1024)

	// TLS is the client TLS configuration for an https target (--ca, --cert, --insecure,
	// --tls-server-name), of the attack and of the chaos proxy's upstream; nil: the system
	// roots. TLSCA is the --ca file, for the results.
	TLS   *tls.Config `json:"-"`
	TLSCA string      `json:"-"`

	// Args is the command line, for the results file; secrets are redacted again on the way.
	Args     []string          `json:"-"`
	Versions map[string]string `json:"-"`
	// Meta is what the caller knows of the run (a session's target description, sink, args,
	// versions, --allow-unobserved): its non-empty fields go into the results as they are.
	Meta reports.RunMeta `json:"-"`
}

func (c *Config) withDefaults() {
	if c.Scheme == "" {
		c.Scheme = "standard"
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff
	}
	if c.Drain == 0 {
		c.Drain = 30 * time.Second
	}
	if c.Drain < 0 {
		c.Drain = 0
	}
	if c.SinkWait == 0 {
		c.SinkWait = 10 * time.Second
	}
	if c.SinkQuiet == 0 {
		c.SinkQuiet = 500 * time.Millisecond
	}
	if c.Workers == 0 {
		c.Workers = 10
	}
	if c.MaxWorkers == 0 {
		c.MaxWorkers = 4096
	}
	if c.RetryWorkers == 0 {
		c.RetryWorkers = 1024
	}
	c.Workers = min(c.Workers, c.MaxWorkers)
}

// validate checks c after withDefaults. Every error wraps ErrConfig and names the field.
// Check validates every setting of c but the target URL, which may not be known yet (a
// container or built-in receiver gets its address when it starts): a command calls it before
// it contacts or starts anything, so that a bad flag is a usage error even when the target is
// down. Errors wrap ErrConfig.
func (c Config) Check() error {
	if c.URL == "" {
		c.URL = "http://127.0.0.1/"
	}
	c.withDefaults()
	return c.validate()
}

func (c *Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return bad("no target URL")
	case err != nil:
		return bad("target URL: %v", err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return bad("target URL %q: want an absolute http:// or https:// URL", redactURL(c.URL))
	case u.Fragment != "":
		return bad("target URL %q: a fragment is never sent; remove it", redactURL(c.URL))
	case c.Secret == "":
		return bad("no secret")
	case c.Rate.Freq < 0 || c.Rate.Per < 0:
		return bad("negative rate %s", c.Rate)
	case c.Duration <= 0:
		return bad("duration %s: want a positive duration", c.Duration)
	case c.Duration > MaxDuration:
		return bad("duration %s is over the limit of %s", c.Duration, MaxDuration)
	case !(c.Invalid >= 0 && c.Invalid <= 1):
		return bad("invalid fraction %v: want 0 to 1", c.Invalid)
	case !(c.Duplicate >= 0 && c.Duplicate <= 1):
		return bad("duplicate fraction %v: want 0 to 1", c.Duplicate)
	case c.Invalid+c.Duplicate > 1:
		return bad("invalid (%v) and duplicate (%v) fractions add up to more than 1", c.Invalid, c.Duplicate)
	case c.Timeout < 0 || c.Timeout > MaxTimeout:
		return bad("timeout %s: want 0 to %s", c.Timeout, MaxTimeout)
	case c.MaxAttempts < 1 || c.MaxAttempts > MaxAttempts:
		return bad("max attempts %d: want 1 to %d", c.MaxAttempts, MaxAttempts)
	case c.Backoff.Base < 0 || c.Backoff.Cap < c.Backoff.Base:
		return bad("backoff %s..%s: want 0 <= base <= cap", c.Backoff.Base, c.Backoff.Cap)
	case c.Drain > MaxDrain:
		return bad("drain %s is over the limit of %s", c.Drain, MaxDrain)
	case c.SinkWait < 0 || c.SinkWait > MaxDrain || c.SinkQuiet < 0 || c.SinkQuiet > c.SinkWait:
		return bad("sink wait %s / quiet %s: want 0 <= quiet <= wait <= %s", c.SinkWait, c.SinkQuiet, MaxDrain)
	case c.Workers < 1 || c.MaxWorkers < 1 || c.RetryWorkers < 1:
		return bad("workers must be at least 1")
	case c.Shard.Count < 0 || (c.Shard.Count > 1 && (c.Shard.Index < 1 || c.Shard.Index > c.Shard.Count)):
		return bad("shard %s: want i/n with 1 <= i <= n", c.Shard)
	}
	sch, err := signature.New(c.Scheme, c.Secret)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(c.Events) > 0 {
		tr := sch.Traits()
		if _, err := event.LoadTemplates(c.Events, event.Shape(tr.BodyShape), tr.IDHeader == ""); err != nil {
			return fmt.Errorf("%w: --event: %w", ErrConfig, err)
		}
	}
	if r := c.Rate.PerSecond(); r > 0 && r*c.Duration.Seconds() > MaxDeliveries {
		return bad("rate %s for %s is %.0f deliveries, over the limit of %d", c.Rate, c.Duration, r*c.Duration.Seconds(), MaxDeliveries)
	}
	return nil
}

// redactURL hides a URL's password and query values, which may carry credentials.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Option configures the plumbing of a run (what Config, being data, cannot hold).
type Option func(*options)

type options struct {
	progress      io.Writer
	tty           bool
	every         time.Duration
	collector     *sink.Collector
	baseTransport http.RoundTripper
	effectsFrom   string                          // where the collector's effects come from, when not a sink
	effectsSync   func(ctx context.Context) error // reads the effects source once more
	metrics       prometheus.Registerer
	shared        SharedSink // a sink service shared by the shards
	sharedAt      string     // where it is, for the results
}

// WithProgress writes live progress to w: with tty, one line rewritten in place several times
// a second; otherwise a plain line every few seconds (every, default 5 s).
func WithProgress(w io.Writer, tty bool, every time.Duration) Option {
	return func(o *options) { o.progress, o.tty, o.every = w, tty, every }
}

// WithCollector reconciles against an effect collector the caller already serves (tests, or
// a sink shared with other runs), instead of listening on Config.Sink.
func WithCollector(c *sink.Collector) Option { return func(o *options) { o.collector = c } }

// WithEffectsSource says that the collector's effects are observed, not reported: read from
// the receiver's database or logs (suites/observe), described by from. sync reads the source
// once more; it is called after the drain, before the wait for effects ends. A run in which
// the source gave no effect at all, while valid events were acknowledged, grades the
// exactly-once thresholds as not observable (nothing was seen to judge), never as lost.
func WithEffectsSource(from string, sync func(ctx context.Context) error) Option {
	return func(o *options) { o.effectsFrom, o.effectsSync = from, sync }
}

// SharedSink is an effect sink shared by the shards of one run (hookproof sink): a run asks
// it for the effects of its own ids instead of holding a collector. reference/sinkservice's
// Shared implements it.
type SharedSink interface {
	// Progress returns how many ids under prefix have an effect, and how many distinct
	// effects they have: cheap, polled while the run waits for effects.
	Progress(ctx context.Context, prefix string) (ids, effects int, err error)
	// Effects returns id → distinct effects for every id under prefix, and how many of the
	// sink's ids for the run do not start with runPrefix (no shard of the run sent them).
	Effects(ctx context.Context, prefix, runPrefix string) (counts map[string]int, foreign int, err error)
}

// WithSharedSink reconciles against a sink shared by the shards of the run, at where (its
// URL, for the results), instead of an in-process collector. Each shard counts lost and
// doubled for its own ids only (they carry the shard: see Run).
func WithSharedSink(s SharedSink, where string) Option {
	return func(o *options) { o.shared, o.sharedAt = s, where }
}

// WithBaseTransport replaces the transport under the recording one (default: a keep-alive
// http.Transport sized for thousands of concurrent deliveries).
func WithBaseTransport(rt http.RoundTripper) Option { return func(o *options) { o.baseTransport = rt } }

// Observable says what a run of c with opts can observe (see Thresholds).
func (c Config) Observable(opts ...Option) Observable {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return c.observable(o)
}

func (c Config) observable(o options) Observable {
	return Observable{Sink: o.collector != nil || o.shared != nil || c.Sink != "", Invalid: c.Invalid > 0}
}
