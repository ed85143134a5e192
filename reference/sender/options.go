package sender

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of a Sender.
const (
	DefaultRequestTimeout   = 15 * time.Second
	DefaultJitter           = 0.1 // ±10 % of each delay
	DefaultWorkers          = 16
	DefaultPerEndpoint      = 8
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultBreakerMax       = 10 * time.Minute
	DefaultDisableAfter     = 5 * 24 * time.Hour
	DefaultMaxRetryAfter    = 10 * time.Hour
	DefaultMaxPayload       = 256 << 10
	DefaultNotifyAttempts   = 5
	DefaultPollInterval     = time.Second
)

// Option configures a Sender.
type Option func(*config)

type config struct {
	now              func() time.Time
	schedule         Schedule
	jitter           float64
	seed             uint64
	seeded           bool
	timeout          time.Duration
	workers          int
	perEndpoint      int
	breakerThreshold int
	breakerCooldown  time.Duration
	breakerMax       time.Duration
	disableAfter     time.Duration
	maxRetryAfter    time.Duration
	maxPayload       int
	notifyAttempts   int
	poll             time.Duration
	transport        http.RoundTripper
	log              *slog.Logger
	userAgent        string
	allowPrivate     bool
	allowed          []netip.Prefix
	// lookup, set by tests only, resolves names instead of DNS (the guard still checks
	// every address dialled).
	lookup  func(ctx context.Context, host string) ([]netip.Addr, error)
	metrics prometheus.Registerer
}

func defaults() config {
	return config{
		now:              time.Now,
		schedule:         DefaultSchedule,
		jitter:           DefaultJitter,
		timeout:          DefaultRequestTimeout,
		workers:          DefaultWorkers,
		perEndpoint:      DefaultPerEndpoint,
		breakerThreshold: DefaultBreakerThreshold,
		breakerCooldown:  DefaultBreakerCooldown,
		breakerMax:       DefaultBreakerMax,
		disableAfter:     DefaultDisableAfter,
		maxRetryAfter:    DefaultMaxRetryAfter,
		maxPayload:       DefaultMaxPayload,
		notifyAttempts:   DefaultNotifyAttempts,
		poll:             DefaultPollInterval,
		log:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		userAgent:        "hookproof-sender/1",
	}
}

// WithClock injects the clock: attempt times, signed timestamps and every schedule decision
// read it. With a fake clock, drive deliveries with DeliverDue rather than Start.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithSchedule sets the retry schedule (default DefaultSchedule).
func WithSchedule(s Schedule) Option { return func(c *config) { c.schedule = s } }

// WithJitter sets the jitter fraction j: each delay d becomes uniform in [d·(1−j), d·(1+j)].
func WithJitter(j float64) Option { return func(c *config) { c.jitter = j } }

// WithSeed seeds the jitter, so a run can be replayed (default: a seed from the clock, see Seed).
func WithSeed(seed int64) Option {
	return func(c *config) { c.seed, c.seeded = uint64(seed), true }
}

// WithRequestTimeout bounds each attempt, answer body included (default 15 s).
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithWorkers bounds the attempts in flight, in all and per endpoint.
func WithWorkers(total, perEndpoint int) Option {
	return func(c *config) { c.workers, c.perEndpoint = total, perEndpoint }
}

// WithBreaker sets the circuit breaker: after threshold consecutive failed attempts to one
// endpoint it holds that endpoint's messages for cooldown, then lets one attempt through; a
// failed probe doubles the cooldown up to max. A threshold of 0 turns the breaker off.
func WithBreaker(threshold int, cooldown, max time.Duration) Option {
	return func(c *config) { c.breakerThreshold, c.breakerCooldown, c.breakerMax = threshold, cooldown, max }
}

// WithDisableAfter sets how long an endpoint may fail without a single success before it is
// disabled and its failure notification URL is called (default 5 days; 0 never disables).
func WithDisableAfter(d time.Duration) Option { return func(c *config) { c.disableAfter = d } }

// WithMaxRetryAfter caps the Retry-After a 429 or 503 can impose (default 10 h).
func WithMaxRetryAfter(d time.Duration) Option { return func(c *config) { c.maxRetryAfter = d } }

// WithMaxPayload bounds an envelope's size in bytes (default 256 KiB); larger sends fail with
// ErrTooLarge.
func WithMaxPayload(n int) Option { return func(c *config) { c.maxPayload = n } }

// WithPollInterval sets how often the delivery loop looks for due work when nothing woke it.
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.poll = d } }

// WithAllowPrivate turns the SSRF guard off: endpoints may be on loopback, private,
// link-local and other special-purpose addresses (BlockedRanges). For tests, demos and
// senders that only ever deliver inside one trusted network.
func WithAllowPrivate() Option { return func(c *config) { c.allowPrivate = true } }

// WithAllowedCIDRs lets the SSRF guard dial the addresses in these prefixes even when they
// are in BlockedRanges (an internal receiver at 10.1.2.3, say); repeated calls add up.
func WithAllowedCIDRs(prefixes ...netip.Prefix) Option {
	return func(c *config) { c.allowed = append(c.allowed, prefixes...) }
}

// WithTransport replaces the HTTP transport of deliveries and notifications. The SSRF guard
// lives in the default transport's dialer: a replaced transport is not guarded (only the
// registration check of IP-literal URLs still applies).
func WithTransport(rt http.RoundTripper) Option { return func(c *config) { c.transport = rt } }

// WithLogger sets the logger. Secrets are never logged; URLs and ids are.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }
