package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reference/store"
)

// MaxBody is the largest delivery body accepted; a larger one is answered 413.
const MaxBody = 1 << 20

// freshBatches is how many committed batches may wait for the dispatcher in memory; past it
// the dispatcher reads them back from the inbox.
const freshBatches = 64

// Defaults of the options. SQLite writes one transaction at a time, so one worker making
// full batches does best there; on PostgreSQL workers process in parallel.
const (
	DefaultWorkers         = 1
	DefaultPostgresWorkers = 4
	DefaultMaxBatch        = 256
	DefaultRescan          = 2 * time.Second
)

// Option configures a Receiver.
type Option func(*config)

type config struct {
	workers  int
	maxBatch int
	rescan   time.Duration
	sink     *sink.Client
	log      *slog.Logger
	parse    func([]byte) event.Received
	metrics  prometheus.Registerer

	bodyTimeout time.Duration
	readBudget  int64
}

// WithWorkers sets how many workers process the inbox (default 1, or 4 when Open is given a
// PostgreSQL DSN). Zero stores and acknowledges deliveries without processing them: the state
// a crash right after the ack leaves behind, for crash drills.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithParser reads each event's object and ordering key with parse instead of event.Parse
// (the events of a run made from templates: event.ParserFor).
func WithParser(parse func([]byte) event.Received) Option {
	return func(c *config) { c.parse = parse }
}

// WithSink reports every effect to an effect sink, at least once, through the outbox.
// Without it effects are only rows of the local effects table.
func WithSink(c *sink.Client) Option { return func(cf *config) { cf.sink = c } }

// WithLogger sets the logger (default: discard). Secrets and bodies are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMaxBatch caps how many deliveries one inbox commit may carry (default 256).
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = n } }

// WithBodyTimeout sets how long a client has to send a whole body once the handler starts
// reading it (default DefaultBodyTimeout, 10 s); past it the answer is 408. It needs an
// http.ResponseWriter that can set read deadlines (net/http's).
func WithBodyTimeout(d time.Duration) Option { return func(c *config) { c.bodyTimeout = d } }

// WithReadBudget sets how many bytes of request bodies may be held at once, being read or
// waiting for their commit (default DefaultReadBudget, 64 MiB); a body that does not fit is
// answered 503 with Retry-After. It must be at least 2 MiB (a quarter is kept for bodies
// declared at SmallBody or less, and the rest must fit a body of MaxBody).
func WithReadBudget(n int64) Option { return func(c *config) { c.readBudget = n } }

// WithRescan sets how often the whole inbox is rescanned for unprocessed rows (default 2 s):
// rows another replica acknowledged on a shared store and never processed, for instance.
func WithRescan(d time.Duration) Option { return func(c *config) { c.rescan = d } }

// Receiver is an http.Handler that receives webhook deliveries (see the package doc). Build it
// with Open or New; it serves any number of concurrent requests. Close drains it: call Close
// after the http.Server that uses it has shut down (or at least stopped taking requests).
type Receiver struct {
	scheme signature.Scheme
	store  store.Store
	cfg    config
	log    *slog.Logger
	m      *recvMetrics
	budget *budget // bytes of bodies held before their commit (see readBody)

	// Shutdown: handlers hold inflight while they talk to the committer; Close flips closing
	// under mu, then waits for them.
	mu       sync.RWMutex
	closing  bool
	inflight sync.WaitGroup

	submit chan *ack // handlers → committer

	// An inbox commit in progress: processing yields the writer to it, and waits on
	// commitDone (closed and replaced after each commit) before taking the writer again.
	inboxCommit atomic.Bool
	commitMu    sync.Mutex
	commitDone  chan struct{}

	fresh        chan []store.Row // rows the committer just stored, for the dispatcher
	handoffLost  atomic.Bool      // fresh was full: rows wait in the inbox, not in fresh
	wakeDispatch chan struct{}    // the dispatcher must read the inbox
	wakeReport   chan struct{}    // a worker committed new effects

	queuedMu sync.Mutex
	queued   map[string]struct{} // delivery ids handed to a worker and not committed yet

	ctx    context.Context // background work; cancelled only when Close gives up waiting
	cancel context.CancelFunc
	drain  chan struct{} // closed by Close: finish what is acknowledged, then stop

	committerDone, processDone, reportDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store named by dsn (a SQLite file path, or a postgres:// URL) and returns a
// Receiver that verifies deliveries with scheme. The Receiver owns the store; Close closes it.
func Open(ctx context.Context, scheme signature.Scheme, dsn string, opts ...Option) (*Receiver, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	if store.IsPostgres(dsn) {
		opts = append([]Option{WithWorkers(DefaultPostgresWorkers)}, opts...)
	}
	r, err := New(scheme, st, opts...)
	if err != nil {
		st.Close()
		return nil, err
	}
	return r, nil
}

// New returns a Receiver on an open store, which it owns from now on. Processing starts at
// once, beginning with every row acknowledged and left unprocessed by an earlier run.
func New(scheme signature.Scheme, st store.Store, opts ...Option) (*Receiver, error) {
	cfg := config{workers: DefaultWorkers, maxBatch: DefaultMaxBatch, rescan: DefaultRescan,
		bodyTimeout: DefaultBodyTimeout, readBudget: DefaultReadBudget}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case scheme == nil:
		return nil, errors.New("receiver: no signature scheme")
	case st == nil:
		return nil, errors.New("receiver: no store")
	case cfg.workers < 0:
		return nil, fmt.Errorf("receiver: %d workers", cfg.workers)
	case cfg.maxBatch < 1:
		return nil, fmt.Errorf("receiver: max batch %d, want at least 1", cfg.maxBatch)
	case cfg.bodyTimeout <= 0:
		return nil, fmt.Errorf("receiver: body timeout %s, want a positive duration", cfg.bodyTimeout)
	case cfg.readBudget < 2*MaxBody:
		return nil, fmt.Errorf("receiver: read budget %d bytes, want at least %d", cfg.readBudget, 2*MaxBody)
	case cfg.rescan <= 0:
		return nil, fmt.Errorf("receiver: rescan interval %s, want a positive duration", cfg.rescan)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.parse == nil {
		cfg.parse = event.Parse
	}
	m, err := newRecvMetrics(cfg.metrics, st)
	if err != nil {
		return nil, fmt.Errorf("receiver: metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Receiver{
		scheme: scheme, store: st, cfg: cfg, log: cfg.log, m: m, budget: newBudget(cfg.readBudget),
		submit:        make(chan *ack, 2*cfg.maxBatch),
		commitDone:    make(chan struct{}),
		fresh:         make(chan []store.Row, freshBatches),
		wakeDispatch:  make(chan struct{}, 1),
		wakeReport:    make(chan struct{}, 1),
		queued:        map[string]struct{}{},
		ctx:           ctx,
		cancel:        cancel,
		drain:         make(chan struct{}),
		committerDone: make(chan struct{}),
		processDone:   make(chan struct{}),
		reportDone:    make(chan struct{}),
	}
	go r.commitLoop()
	if cfg.workers > 0 {
		go r.processLoop()
	} else {
		close(r.processDone)
	}
	if cfg.sink != nil {
		go r.reportLoop()
	} else {
		close(r.reportDone)
	}
	return r, nil
}

// Stats counts the store's rows (inbox, pending, effects, outbox).
func (r *Receiver) Stats(ctx context.Context) (store.Stats, error) { return r.store.Stats(ctx) }

// Effects returns the local effects of webhookID ("" for all), in commit order.
func (r *Receiver) Effects(ctx context.Context, webhookID string) ([]store.Effect, error) {
	return r.store.Effects(ctx, webhookID)
}

// Close stops taking deliveries (they get 503), then drains: it waits for in-flight acks, for
// every acknowledged row to be processed, and for the outbox to reach the sink. When ctx ends
// first, it stops the background work where it is (the next run resumes it) and returns a
// *DrainError wrapping ctx's error; it then returns within moments, whatever the sink does.
// Give it a ctx with a deadline: a sink that is gone for good is retried until ctx ends. The
// store is closed either way. Close may be called more than once.
func (r *Receiver) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.close(ctx) })
	return r.closeErr
}

// DrainError is Close's error when its ctx ended before the receiver had drained. Nothing is
// lost: what is left stays in the store's inbox and outbox, and the next run on the store
// processes and reports it.
type DrainError struct {
	Stage   string // what Close was waiting for: "in-flight deliveries", "inbox commits", "processing" or "outbox reports"
	Pending int64  // deliveries acknowledged and not processed yet; -1 when the store could not tell
	Outbox  int64  // effects not reported to the sink yet; -1 when the store could not tell
	Err     error  // ctx's error
}

func (e *DrainError) Error() string {
	msg := fmt.Sprintf("receiver: close: waiting for %s: %v", e.Stage, e.Err)
	if e.Pending >= 0 && e.Outbox >= 0 {
		msg += fmt.Sprintf(" (%d deliveries unprocessed, %d effects in the outbox, kept for the next run)", e.Pending, e.Outbox)
	}
	return msg
}

func (e *DrainError) Unwrap() error { return e.Err }

// leftTimeout bounds the count of what is left, after Close's ctx has ended.
const leftTimeout = 2 * time.Second

func (r *Receiver) close(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()

	handlersDone := make(chan struct{})
	go func() { r.inflight.Wait(); close(handlersDone) }()

	// Each stage starts only after the one before it ended: no new acks, then the committer's
	// last batch, then processing of everything acknowledged, then the outbox.
	var drainErr *DrainError
	wait := func(what string, done <-chan struct{}) bool {
		select {
		case <-done:
			return true
		case <-ctx.Done():
			drainErr = &DrainError{Stage: what, Pending: -1, Outbox: -1, Err: ctx.Err()}
			return false
		}
	}
	if wait("in-flight deliveries", handlersDone) {
		close(r.submit)
		if wait("inbox commits", r.committerDone) {
			close(r.drain)
			if wait("processing", r.processDone) {
				wait("outbox reports", r.reportDone)
			}
		}
	}
	// Whatever is left (on timeout) stops here; the inbox and outbox keep it for the next run.
	// Every loop, and every store or sink call in them, runs on r.ctx, so these waits are short.
	r.cancel()
	<-r.committerDone
	<-r.processDone
	<-r.reportDone
	var err error
	if drainErr != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leftTimeout)
		if st, serr := r.store.Stats(lctx); serr == nil {
			drainErr.Pending, drainErr.Outbox = st.Pending, st.Outbox
		}
		cancel()
		err = drainErr
	}
	if cerr := r.store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("receiver: close: %w", cerr))
	}
	return err
}

// notify wakes a loop without blocking; one pending wake-up is enough.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
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

// backoff is the wait before retry n (0-based) of a failed store or sink call: 50 ms doubling
// to 5 s. No jitter: one receiver retries one thing at a time.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond
	for range min(n, 7) {
		d *= 2
	}
	return min(d, 5*time.Second)
}
