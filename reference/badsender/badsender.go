package badsender

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
)

// None is the flaw-free control. "" means None too.
const None = "none"

// policy is how a sender behaves; the honest values are set by New and a flaw overrides one.
type policy struct {
	freshID          bool // a new delivery id on every retry
	eventTimestamp   bool // sign the event's time rather than the attempt's
	retries          bool // retry failed attempts at all
	backoff          bool // grow the delay between retries (else a fixed interval)
	followRedirects  bool
	honourRetryAfter bool
	redirectIsAck    bool // take a 3xx answer for a delivered attempt
	oneID            bool // give every event the same delivery id
}

// flaw is one way to break the honest sender: its name, the requirement it breaks (for
// people) and the change it makes.
type flaw struct {
	name   string
	breaks string
	apply  func(*policy)
}

var flaws = map[string]flaw{}

// register adds a flaw; each flaw file calls it from init().
func register(f flaw) {
	if _, dup := flaws[f.name]; dup || f.name == None || f.name == "" {
		panic("badsender: flaw registered twice or with a reserved name: " + f.name)
	}
	flaws[f.name] = f
}

// Flaws lists the flaw names New accepts (besides None), sorted.
func Flaws() []string {
	out := slices.Sorted(maps.Keys(flaws))
	return out
}

// Describe says which requirement a flaw breaks; ok is false for an unknown name.
func Describe(name string) (breaks string, ok bool) {
	if name == "" || name == None {
		return "nothing: the flaw-free control", true
	}
	f, ok := flaws[name]
	return f.breaks, ok
}

// DefaultSchedule is the bad senders' compressed retry schedule (5 attempts in 1.5 s).
var DefaultSchedule = sender.Schedule{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// Option configures a Sender.
type Option func(*config)

type config struct {
	schedule sender.Schedule
	timeout  time.Duration
	seed     uint64
}

// WithSchedule sets the retry schedule (default DefaultSchedule).
func WithSchedule(s sender.Schedule) Option { return func(c *config) { c.schedule = s } }

// WithRequestTimeout sets the request timeout of each attempt (default 15 s).
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithSeed seeds the jitter.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = uint64(seed) } }

// Sender is an in-memory webhook sender, honest except for its flaw. It is an http.Handler
// (the API) safe for concurrent use; Close stops its deliveries.
type Sender struct {
	flaw   string
	p      policy
	cfg    config
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	rng       *mrand.Rand
	endpoints map[string]*endpoint
	byKey     map[string]string // Idempotency-Key → endpoint id
	firstID   string            // the one-id flaw: the id every event gets
	mux       *http.ServeMux
}

type endpoint struct {
	id, url string
	scheme  signature.Scheme
	gone    bool // answered 410: no more deliveries
}

// New returns a sender broken by flaw (None or "" for the control).
func New(flawName string, opts ...Option) (*Sender, error) {
	c := config{schedule: DefaultSchedule, timeout: sender.DefaultRequestTimeout, seed: 1}
	for _, o := range opts {
		o(&c)
	}
	if len(c.schedule) < 2 || c.timeout <= 0 {
		return nil, errors.New("badsender: a schedule of at least 2 attempts and a positive timeout are required")
	}
	p := policy{retries: true, backoff: true, honourRetryAfter: true}
	if flawName != "" && flawName != None {
		f, ok := flaws[flawName]
		if !ok {
			return nil, fmt.Errorf("badsender: unknown flaw %q (known: %s)", flawName, strings.Join(Flaws(), ", "))
		}
		f.apply(&p)
	}
	s := &Sender{flaw: flawName, p: p, cfg: c, endpoints: map[string]*endpoint{}, byKey: map[string]string{},
		rng: mrand.New(mrand.NewPCG(c.seed, c.seed+1))}
	s.client = &http.Client{}
	if !p.followRedirects {
		s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /endpoints", s.createEndpoint)
	s.mux.HandleFunc("POST /messages", s.send)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, map[string]bool{"ok": true}) })
	return s, nil
}

// Flaw names the sender's flaw.
func (s *Sender) Flaw() string { return s.flaw }

// ServeHTTP serves the API.
func (s *Sender) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops every delivery and waits for them to end.
func (s *Sender) Close() {
	s.cancel()
	s.wg.Wait()
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func newID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func (s *Sender) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var spec sender.EndpointSpec
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&spec); err != nil || spec.URL == "" {
		reply(w, 400, map[string]string{"error": "want a JSON endpoint with a url and a secret"})
		return
	}
	if spec.Scheme == "" {
		spec.Scheme = "standard"
	}
	sc, err := signature.New(spec.Scheme, spec.Secret, signature.WithRotatedSecrets(spec.PreviousSecrets...))
	if err != nil {
		reply(w, 400, map[string]string{"error": "secret or scheme: " + err.Error()})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[key]; ok && key != "" {
		reply(w, 200, sender.Endpoint{ID: id, URL: s.endpoints[id].url, Scheme: spec.Scheme})
		return
	}
	ep := &endpoint{id: newID("ep_"), url: spec.URL, scheme: sc}
	s.endpoints[ep.id] = ep
	if key != "" {
		s.byKey[key] = ep.id
	}
	reply(w, 201, sender.Endpoint{ID: ep.id, URL: ep.url, Scheme: spec.Scheme})
}

func (s *Sender) send(w http.ResponseWriter, r *http.Request) {
	var req sender.SendRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		reply(w, 400, map[string]string{"error": "want a JSON message"})
		return
	}
	s.mu.Lock()
	ep := s.endpoints[req.EndpointID]
	s.mu.Unlock()
	if ep == nil {
		reply(w, 404, map[string]string{"error": "no such endpoint"})
		return
	}
	data := req.Data
	if len(bytes.TrimSpace(data)) == 0 {
		data = json.RawMessage("{}")
	}
	m := sender.Message{ID: newID("msg_"), EndpointID: ep.id, Type: req.Type, Status: sender.Pending, CreatedAt: time.Now().UTC()}
	if s.p.oneID {
		s.mu.Lock()
		if s.firstID == "" {
			s.firstID = m.ID
		}
		m.ID = s.firstID
		s.mu.Unlock()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.deliver(ep, m, data)
	}()
	reply(w, 202, m)
}

// deliver makes the attempts of one message, as the policy says.
func (s *Sender) deliver(ep *endpoint, m sender.Message, data json.RawMessage) {
	var retryAfter time.Duration
	for i := range len(s.cfg.schedule) {
		delay := s.cfg.schedule[i]
		if i > 0 && !s.p.backoff {
			// A fixed interval, half the longest delay: long enough that timing noise
			// cannot pass for growth.
			delay = s.cfg.schedule[len(s.cfg.schedule)-1] / 2
		}
		s.mu.Lock()
		delay = jitter(delay, s.rng)
		gone := ep.gone
		s.mu.Unlock()
		if s.p.honourRetryAfter {
			delay = max(delay, retryAfter)
		}
		if gone || sleep(s.ctx, delay) != nil {
			return
		}
		id, ts := m.ID, time.Now()
		if s.p.freshID && i > 0 {
			id = newID("msg_")
		}
		if s.p.eventTimestamp {
			ts = m.CreatedAt
		}
		body, _ := json.Marshal(event.Envelope{ID: id, Type: m.Type, Timestamp: m.CreatedAt, Data: data})
		h, err := ep.scheme.Sign(signature.Message{ID: id, Timestamp: ts, Body: body})
		if err != nil {
			return
		}
		status, ra := s.attempt(ep.url, h, body)
		switch {
		case status >= 200 && status <= 299, s.p.redirectIsAck && status >= 300 && status <= 399:
			return
		case status == http.StatusGone:
			s.mu.Lock()
			ep.gone = true
			s.mu.Unlock()
			return
		}
		retryAfter = ra
		if !s.p.retries {
			return
		}
	}
}

// attempt posts one delivery and returns the status (0 without an answer) and Retry-After.
func (s *Sender) attempt(url string, h http.Header, body []byte) (int, time.Duration) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var ra time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && n > 0 && n < 3600 {
			ra = time.Duration(n) * time.Second
		}
	}
	return resp.StatusCode, ra
}

// jitter spreads d by ±10 %.
func jitter(d time.Duration, r *mrand.Rand) time.Duration {
	if d <= 0 {
		return d
	}
	return time.Duration(float64(d) * (0.9 + 0.2*r.Float64()))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
