package sender

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
)

// Sender is the reference webhook sender. Open it on a database, serve Handler for the API,
// Start the delivery loop, and Close it when done. Its methods are safe for concurrent use.
type Sender struct {
	st     *store
	cfg    config
	client *http.Client
	log    loggerish
	m      *sendMetrics

	mu          sync.Mutex
	rng         *mrand.Rand
	inflight    map[string]bool // message ids with an attempt under way
	perEndpoint map[string]int  // attempts under way, per endpoint
	breakers    map[string]*breaker
	notifying   map[string]bool // endpoint ids with a notification under way

	slots chan struct{} // one token per attempt under way
	wake  chan struct{}
	work  sync.WaitGroup // attempts and notifications under way

	// attempts run under runCtx; Close cancels it once its own deadline passes, and such
	// attempts are recorded as interrupted, not failed.
	runCtx    context.Context
	runCancel context.CancelFunc

	started  atomic.Bool
	closed   atomic.Bool
	loopStop context.CancelFunc
	loopDone chan struct{}
}

// loggerish is the part of *slog.Logger the sender uses.
type loggerish interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// Open opens (or creates) the outbox at path, a file (or ":memory:", which does not survive
// the process) and returns a Sender ready to take API calls. Attempts a previous process left
// in flight are marked interrupted; their messages are attempted again once Start is called.
func Open(ctx context.Context, path string, opts ...Option) (*Sender, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if !cfg.seeded {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	st, err := openStore(ctx, path)
	if err != nil {
		return nil, err
	}
	st.lease = cfg.timeout + time.Minute
	n, err := st.recoverInFlight(ctx, cfg.now())
	if err != nil {
		st.close()
		return nil, err
	}
	saved, err := st.breakers(ctx)
	if err != nil {
		st.close()
		return nil, err
	}
	if n > 0 {
		cfg.log.Warn("attempts interrupted by the previous process; their messages will be attempted again", "attempts", n)
	}
	rt := cfg.transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // webhooks go straight to the endpoint (and the guard sees the real address)
		g := cfg.guard()
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
		tr.DialContext = dialContext(d, cfg.lookup)
		tr.MaxIdleConnsPerHost = cfg.perEndpoint
		rt = tr
	}
	s := &Sender{
		st:  st,
		cfg: cfg,
		client: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is a failed attempt, never followed
		}},
		log:         cfg.log,
		rng:         mrand.New(mrand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		inflight:    map[string]bool{},
		perEndpoint: map[string]int{},
		breakers:    restoreBreakers(saved),
		notifying:   map[string]bool{},
		slots:       make(chan struct{}, cfg.workers),
		wake:        make(chan struct{}, 1),
	}
	if err := s.initMetrics(); err != nil {
		st.close()
		return nil, fmt.Errorf("sender: metrics: %w", err)
	}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	return s, nil
}

func (c *config) validate() error {
	switch {
	case len(c.schedule) == 0 || len(c.schedule) > MaxAttempts:
		return fmt.Errorf("sender: schedule of %d attempts, want 1 to %d: %w", len(c.schedule), MaxAttempts, ErrInvalid)
	case c.jitter < 0 || c.jitter > 1:
		return fmt.Errorf("sender: jitter %v outside [0, 1]: %w", c.jitter, ErrInvalid)
	case c.timeout <= 0:
		return fmt.Errorf("sender: request timeout %s must be positive: %w", c.timeout, ErrInvalid)
	case c.workers < 1 || c.perEndpoint < 1:
		return fmt.Errorf("sender: workers %d and per endpoint %d must be at least 1: %w", c.workers, c.perEndpoint, ErrInvalid)
	case c.breakerThreshold < 0 || c.breakerCooldown < 0 || c.breakerMax < c.breakerCooldown:
		return fmt.Errorf("sender: breaker threshold %d, cooldown %s, max %s: %w", c.breakerThreshold, c.breakerCooldown, c.breakerMax, ErrInvalid)
	case c.disableAfter < 0 || c.maxRetryAfter < 0 || c.maxPayload < 64 || c.poll <= 0:
		return fmt.Errorf("sender: disable-after, max Retry-After, max payload and poll interval must be positive: %w", ErrInvalid)
	case c.now == nil || c.log == nil:
		return fmt.Errorf("sender: nil clock or logger: %w", ErrInvalid)
	}
	for i, d := range c.schedule {
		if d < 0 {
			return fmt.Errorf("sender: schedule entry %d is negative: %w", i+1, ErrInvalid)
		}
	}
	return nil
}

// Seed is the seed of the jitter, to print and store so a run can be replayed.
func (s *Sender) Seed() int64 { return int64(s.cfg.seed) }

// Schedule is the retry schedule in use.
func (s *Sender) Schedule() Schedule { return append(Schedule(nil), s.cfg.schedule...) }

func (s *Sender) now() time.Time { return s.cfg.now().UTC() }

// Start runs the delivery loop in the background until Close. It is a no-op after the first call.
func (s *Sender) Start() {
	if !s.started.CompareAndSwap(false, true) || s.closed.Load() {
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	s.loopStop = cancel
	s.loopDone = make(chan struct{})
	go s.loop(ctx)
}

// Close stops the delivery loop and waits for the attempts under way to finish. When ctx
// ends first, they are cancelled and recorded as interrupted (attempted again by the next
// process). Then the database is closed.
func (s *Sender) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.loopStop != nil {
		s.loopStop()
		<-s.loopDone
	}
	done := make(chan struct{})
	go func() { s.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.runCancel()
		<-done
	}
	s.runCancel()
	return s.st.close()
}

// poke wakes the delivery loop (new work, or a slot freed).
func (s *Sender) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop delivers whatever is due, then sleeps until the next due time, a poke or the poll
// interval, whichever comes first.
func (s *Sender) loop(ctx context.Context) {
	defer close(s.loopDone)
	for {
		if _, err := s.dispatch(ctx, nil); err != nil && ctx.Err() == nil {
			s.log.Warn("dispatch failed", "err", err)
		}
		wait := s.cfg.poll
		if next, ok, err := s.st.nextDue(ctx); err == nil && ok {
			// A due message that could not be taken (slots full, breaker probing) is
			// retried when an attempt ends (poke); the floor keeps this from spinning.
			wait = min(max(next.Sub(s.now()), 20*time.Millisecond), wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// DeliverDue attempts every message (and failure notification) due at the clock's now and
// waits for the answers, repeating while anything new became due without the clock moving.
// It returns the number of attempts made. It is for tests and tools that drive time by hand
// (WithClock); a running Sender uses Start.
func (s *Sender) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		var wg sync.WaitGroup
		n, err := s.dispatch(ctx, &wg)
		wg.Wait()
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// dispatch starts attempts for due messages while slots are free, and sends due
// notifications. With wg set, each started job is added to it.
func (s *Sender) dispatch(ctx context.Context, wg *sync.WaitGroup) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	now := s.now()
	started := 0
	notices, err := s.st.dueNotices(ctx, now)
	if err != nil {
		return 0, err
	}
	for _, n := range notices {
		s.mu.Lock()
		busy := s.notifying[n.endpoint.ID]
		s.notifying[n.endpoint.ID] = true
		s.mu.Unlock()
		if busy {
			continue
		}
		started++
		s.work.Add(1)
		if wg != nil {
			wg.Add(1)
		}
		go func() {
			defer s.work.Done()
			if wg != nil {
				defer wg.Done()
			}
			s.sendNotice(n)
		}()
	}
	free := cap(s.slots) - len(s.slots)
	if free <= 0 {
		return started, nil
	}
	var probes map[string]bool
	jobs, err := s.st.due(ctx, now, free, func(msgID, endpointID string) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inflight[msgID] || s.perEndpoint[endpointID] >= s.cfg.perEndpoint {
			return true
		}
		b := s.breakerLocked(endpointID)
		allow, probe := b.allow(now)
		if !allow {
			return true
		}
		if probe {
			if probes == nil {
				probes = map[string]bool{}
			}
			probes[msgID] = true
		}
		s.inflight[msgID] = true
		s.perEndpoint[endpointID]++
		return false
	})
	if err != nil {
		for _, j := range jobs {
			j.probe = probes[j.msgID]
			s.release(j, Interrupted)
		}
		return started, err
	}
	for _, j := range jobs {
		j.probe = probes[j.msgID]
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			s.release(j, Interrupted)
			s.st.unclaim(context.WithoutCancel(ctx), j.msgID)
			continue
		}
		started++
		s.work.Add(1)
		if wg != nil {
			wg.Add(1)
		}
		go func() {
			defer s.work.Done()
			if wg != nil {
				defer wg.Done()
			}
			defer func() { <-s.slots; s.poke() }()
			s.attempt(j)
		}()
	}
	return started, nil
}

// release forgets a job's claim; an attempt that never happened frees its breaker probe.
func (s *Sender) release(j job, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, j.msgID)
	if s.perEndpoint[j.endpointID]--; s.perEndpoint[j.endpointID] <= 0 {
		delete(s.perEndpoint, j.endpointID)
	}
	if j.probe && o == Interrupted {
		s.breakerLocked(j.endpointID).probing = false
	}
}

func (s *Sender) breakerLocked(endpointID string) *breaker {
	b := s.breakers[endpointID]
	if b == nil {
		b = &breaker{}
		s.breakers[endpointID] = b
	}
	return b
}

// newID returns prefix + 26 random base32 characters (no '.', as Standard Webhooks asks of
// ids). Ids come from crypto/rand, not the seeded source: a replayed seed must not make a
// restarted sender reuse ids.
func newID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func requestHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// logHost is what logs show of an endpoint URL: scheme and host only, since paths and queries
// often carry tokens (Slack-style hook URLs).
func logHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// checkURL accepts absolute http and https URLs.
func checkURL(field, raw string) error {
	if len(raw) > 2048 {
		return errBadRequest("%s: longer than 2048 bytes", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errBadRequest("%s: not a URL", field)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errBadRequest("%s: %q is not an absolute http or https URL", field, raw)
	}
	// Credentials in a URL would come back in every answer, log line and attempt record;
	// an endpoint authenticates the sender by its signature instead.
	if u.User != nil {
		return errBadRequest("%s: a URL with credentials (user:password@) is refused: the signature authenticates the sender", field)
	}
	return nil
}

// checkKey accepts an idempotency key of 1 to 255 printable ASCII characters ("" = none).
func checkKey(k string) error {
	if len(k) > 255 {
		return errBadRequest("Idempotency-Key: longer than 255 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return errBadRequest("Idempotency-Key: byte %d is not printable ASCII", i)
		}
	}
	return nil
}

// newScheme builds the signer of an endpoint with its current and previous secrets, and
// checks that it can sign (a public key alone cannot).
func newScheme(name, secret string, previous []string, now func() time.Time) (signature.Scheme, error) {
	sc, err := signature.New(name, secret, signature.WithRotatedSecrets(previous...), signature.WithClock(now))
	if err != nil {
		return nil, err
	}
	if _, err := sc.Sign(signature.Message{ID: "msg_check", Timestamp: now(), Body: []byte("{}")}); err != nil {
		return nil, err
	}
	return sc, nil
}

// CreateEndpoint registers an endpoint. With spec.IdempotencyKey set, a repeated call returns
// the endpoint the first one made (created=false).
func (s *Sender) CreateEndpoint(ctx context.Context, spec EndpointSpec) (Endpoint, bool, error) {
	if s.closed.Load() {
		return Endpoint{}, false, ErrClosed
	}
	if spec.Scheme == "" {
		spec.Scheme = "standard"
	}
	if err := checkURL("url", spec.URL); err != nil {
		return Endpoint{}, false, err
	}
	if err := s.cfg.checkDestination("url", spec.URL); err != nil {
		return Endpoint{}, false, err
	}
	if spec.FailureNotificationURL != "" {
		if err := checkURL("failure_notification_url", spec.FailureNotificationURL); err != nil {
			return Endpoint{}, false, err
		}
		if err := s.cfg.checkDestination("failure_notification_url", spec.FailureNotificationURL); err != nil {
			return Endpoint{}, false, err
		}
	}
	if err := checkKey(spec.IdempotencyKey); err != nil {
		return Endpoint{}, false, err
	}
	if spec.Secret == "" {
		return Endpoint{}, false, errBadRequest("secret: required")
	}
	if _, err := newScheme(spec.Scheme, spec.Secret, spec.PreviousSecrets, s.now); err != nil {
		return Endpoint{}, false, errBadRequest("secret or scheme: %v", err)
	}
	now := s.now()
	ttl := time.Duration(spec.PreviousTTL)
	if ttl == 0 {
		ttl = DefaultPreviousTTL
	}
	e := Endpoint{ID: newID("ep_"), URL: spec.URL, Scheme: spec.Scheme, FailureNotificationURL: spec.FailureNotificationURL,
		CreatedAt: now, secret: spec.Secret}
	for _, p := range spec.PreviousSecrets {
		e.previous = append(e.previous, previousSecret{Secret: p, ExpiresAt: ms(now.Add(ttl))})
	}
	hash := requestHash(append([]string{spec.URL, spec.Scheme, spec.Secret, spec.FailureNotificationURL,
		ttl.String()}, spec.PreviousSecrets...)...)
	out, created, err := s.st.insertEndpoint(ctx, e, spec.IdempotencyKey, hash)
	if err != nil {
		return Endpoint{}, false, err
	}
	out.Rotating = len(out.activePrevious(now)) > 0
	if created {
		s.log.Info("endpoint registered", "endpoint", out.ID, "host", logHost(out.URL), "scheme", out.Scheme)
	}
	return out, created, nil
}

// Endpoint returns a registered endpoint (without its secrets).
func (s *Sender) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	e, err := s.st.endpoint(ctx, s.st.db, id)
	if err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	e.Rotating = len(e.activePrevious(now)) > 0
	s.mu.Lock()
	if b := s.breakers[id]; b != nil {
		e.Breaker = b.state(now)
	} else {
		e.Breaker = "closed"
	}
	s.mu.Unlock()
	return e, nil
}

// EnableEndpoint re-enables a disabled endpoint and resets its circuit breaker. Its dead
// letters stay dead: replay them (ReplayFailedSince).
func (s *Sender) EnableEndpoint(ctx context.Context, id string) (Endpoint, error) {
	e, err := s.st.enable(ctx, id)
	if err != nil {
		return e, err
	}
	s.mu.Lock()
	delete(s.breakers, id)
	s.mu.Unlock()
	s.log.Info("endpoint enabled", "endpoint", id)
	e.Rotating = len(e.activePrevious(s.now())) > 0
	return e, nil
}

// RotateSecret gives an endpoint a new secret; every attempt is signed with both the new and
// the old secret for r.PreviousTTL (default 24 h), so receivers can switch without a gap.
func (s *Sender) RotateSecret(ctx context.Context, id string, r Rotation) (Endpoint, error) {
	if r.Secret == "" {
		return Endpoint{}, errBadRequest("secret: required")
	}
	e, err := s.st.endpoint(ctx, s.st.db, id)
	if err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	if _, err := newScheme(e.Scheme, r.Secret, nil, s.now); err != nil {
		return Endpoint{}, errBadRequest("secret: %v", err)
	}
	ttl := time.Duration(r.PreviousTTL)
	if ttl == 0 {
		ttl = DefaultPreviousTTL
	}
	e, err = s.st.rotate(ctx, id, r.Secret, now.Add(ttl), now)
	if err != nil {
		return Endpoint{}, err
	}
	s.log.Info("endpoint secret rotated", "endpoint", id, "previous_kept_for", ttl.String())
	e.Rotating = len(e.activePrevious(now)) > 0
	return e, nil
}

var eventType = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Send stores an event for an endpoint and returns its message; it is delivered from the
// outbox by the delivery loop. With req.IdempotencyKey set, a repeated call returns the
// message the first one made (created=false) and sends nothing more.
func (s *Sender) Send(ctx context.Context, req SendRequest) (Message, bool, error) {
	if s.closed.Load() {
		return Message{}, false, ErrClosed
	}
	if req.EndpointID == "" {
		return Message{}, false, errBadRequest("endpoint_id: required")
	}
	if len(req.Type) > 128 || !eventType.MatchString(req.Type) {
		return Message{}, false, errBadRequest("type: %q is not a full-stop delimited event type of [A-Za-z0-9_-] (at most 128 bytes)", truncate(req.Type, 40))
	}
	if err := checkKey(req.IdempotencyKey); err != nil {
		return Message{}, false, err
	}
	if err := checkJSONText(req.Data); err != nil {
		return Message{}, false, errBadRequest("data: %v", err)
	}
	data := []byte(strings.TrimSpace(string(req.Data)))
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return Message{}, false, errBadRequest("data: not a JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return Message{}, false, errBadRequest("data: %v", err)
	}
	now := s.now()
	hash := requestHash(req.EndpointID, req.Type, compact.String())
	m, created, err := s.st.insertMessage(ctx, req.EndpointID, req.Type, req.IdempotencyKey, hash, now,
		func() (string, []byte, error) {
			id := newID("msg_")
			body, err := json.Marshal(event.Envelope{ID: id, Type: req.Type, Timestamp: now, Data: json.RawMessage(compact.String())})
			if err != nil {
				return "", nil, fmt.Errorf("sender: encode envelope: %w", err)
			}
			if len(body) > s.cfg.maxPayload {
				return "", nil, fmt.Errorf("sender: envelope of %d bytes, over %d: %w", len(body), s.cfg.maxPayload, ErrTooLarge)
			}
			return id, body, nil
		})
	if err != nil {
		return Message{}, false, err
	}
	if created {
		s.poke()
	}
	return m, created, nil
}

// Message returns a message with its payload.
func (s *Sender) Message(ctx context.Context, id string) (Message, error) {
	return s.st.message(ctx, s.st.db, id)
}

// Attempts lists a message's attempts, oldest first.
func (s *Sender) Attempts(ctx context.Context, id string) ([]Attempt, error) {
	return s.st.attempts(ctx, id)
}

// Replay sends a message again (delivered or dead): the same webhook-id and body, a fresh
// schedule. Receivers that deduplicate on the id process it once.
func (s *Sender) Replay(ctx context.Context, id string) (Message, error) {
	m, err := s.st.replay(ctx, id, s.now())
	if err == nil {
		s.log.Info("message replayed", "message", id)
		s.poke()
	}
	return m, err
}

// ReplayResult counts what ReplayFailedSince did.
type ReplayResult struct {
	Replayed int64 `json:"replayed"`
	// Skipped counts dead letters left alone because their endpoint is disabled.
	Skipped int64 `json:"skipped_endpoint_disabled"`
}

// ReplayFailedSince replays every dead letter created at or after since (of one endpoint
// when endpointID is set) whose endpoint is enabled.
func (s *Sender) ReplayFailedSince(ctx context.Context, since time.Time, endpointID string) (ReplayResult, error) {
	r, sk, err := s.st.replaySince(ctx, since, endpointID, s.now())
	if err == nil && r > 0 {
		s.log.Info("dead letters replayed", "count", r, "since", since.Format(time.RFC3339))
		s.poke()
	}
	return ReplayResult{Replayed: r, Skipped: sk}, err
}

// DeadLetters lists up to limit dead messages, latest first (of one endpoint when endpointID is set).
func (s *Sender) DeadLetters(ctx context.Context, endpointID string, limit int) ([]Message, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.st.deadLetters(ctx, endpointID, limit)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
