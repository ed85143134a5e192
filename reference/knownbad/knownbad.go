package knownbad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
)

// None is the flaw-free control: it passes every receiver conformance case. "" means None too.
const None = "none"

// MaxBodyBytes bounds a delivery body; a larger one is answered 413.
const MaxBodyBytes = 1 << 20

// flaw is one way to break the honest receiver: a name, the requirement it breaks (for
// people), and the change it makes to the honest behaviour.
type flaw struct {
	name   string
	breaks string
	apply  func(b *behaviour, env flawEnv) error
}

var flaws = map[string]flaw{}

// register adds a flaw; each flaw file calls it from init().
func register(f flaw) {
	if _, dup := flaws[f.name]; dup || f.name == None || f.name == "" {
		panic("knownbad: flaw registered twice or with a reserved name: " + f.name)
	}
	flaws[f.name] = f
}

// Flaws lists the flaw names New accepts (besides None), sorted.
func Flaws() []string {
	names := slices.Sorted(maps.Keys(flaws))
	return names
}

// Describe says which requirement the named flaw breaks; ok is false for an unknown name.
func Describe(name string) (breaks string, ok bool) {
	if name == "" || name == None {
		return "nothing: the flaw-free control", true
	}
	f, ok := flaws[name]
	return f.breaks, ok
}

// behaviour is what the receiver does at each step; the honest values are set by New and a
// flaw overrides one of them.
type behaviour struct {
	// verify authenticates a delivery and returns its id and signed timestamp.
	verify func(h http.Header, body []byte) (signature.Verified, error)
	// dedupe: a delivery id already processed is acknowledged without a second effect.
	dedupe bool
	// skipStale: an event whose seq is not above the last applied seq of its object is
	// processed but not applied (reported with applied:false).
	skipStale bool
	// ackDelay is slow work done after processing and before the acknowledgement.
	ackDelay time.Duration
	// rejectStatus maps a verification error to the status answered.
	rejectStatus func(err error) int
	// rejectMessage is the text of that answer.
	rejectMessage func(err error) string
}

// Option configures a Receiver.
type Option func(*config)

type config struct {
	sinkURL  string
	now      func() time.Time
	ackDelay time.Duration
	failing  float64
}

// WithSink makes the receiver report every processed event to the effect sink at url, as its
// business side effect (synchronously, before it acknowledges). Without it, effects are only
// counted in memory (see Effects).
func WithSink(url string) Option { return func(c *config) { c.sinkURL = url } }

// WithClock injects the clock used for timestamp checks.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithAckDelay sets how long the slow-ack flaw works before acknowledging (default 5.5 s,
// just over the 5 s senders wait). Other flaws ignore it.
func WithAckDelay(d time.Duration) Option { return func(c *config) { c.ackDelay = d } }

// WithFailingIDs breaks the receiver for load runs: it answers 500 forever to every valid
// delivery of a fraction of the ids (chosen by a hash of the id, so every retry of one id
// fails alike), and processes the rest honestly. A sender can never deliver those events:
// they are lost to the business although nothing acked was lost, which a load run must
// report as unacked. 0 (the default) fails nothing.
func WithFailingIDs(fraction float64) Option { return func(c *config) { c.failing = fraction } }

// failsID reports whether id is one of the fraction of ids a WithFailingIDs receiver fails.
func failsID(id string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()%10000) < fraction*10000
}

// DefaultAckDelay is the slow-ack flaw's delay: over the 5 s a sender waits for an ack.
const DefaultAckDelay = 5500 * time.Millisecond

// Receiver is an in-memory webhook receiver, honest except for its one flaw. It verifies with
// a signature scheme, deduplicates by delivery id, applies events of one object in increasing
// seq, reports each processed event to the effect sink, and answers the CloudEvents webhook
// validation handshake. Create it with New; it is an http.Handler safe for concurrent use.
// Its state lives as long as it does.
type Receiver struct {
	flaw    string
	scheme  string
	b       behaviour
	sink    *sink.Client
	failing float64 // fraction of ids answered 500 forever (WithFailingIDs)

	mu        sync.Mutex // serialises processing: dedupe, ordering and the effect report
	processed map[string]int
	lastSeq   map[string]int64
	effects   int
}

// New returns a receiver for the named signature scheme and secret, broken by flaw (None or ""
// for the control). An unknown flaw, scheme or an unusable secret is an error.
func New(flawName, scheme, secret string, opts ...Option) (*Receiver, error) {
	c := config{now: time.Now, ackDelay: DefaultAckDelay}
	for _, o := range opts {
		o(&c)
	}
	strict, err := signature.New(scheme, secret, signature.WithClock(c.now))
	if err != nil {
		return nil, fmt.Errorf("knownbad: %w", err)
	}
	r := &Receiver{flaw: flawName, scheme: scheme, failing: c.failing, processed: map[string]int{}, lastSeq: map[string]int64{}}
	if c.sinkURL != "" {
		if r.sink, err = sink.NewClient(c.sinkURL); err != nil {
			return nil, fmt.Errorf("knownbad: %w", err)
		}
	}
	r.b = behaviour{
		verify:        strict.Verify,
		dedupe:        true,
		skipStale:     true,
		rejectStatus:  honestStatus,
		rejectMessage: func(err error) string { return "rejected: " + err.Error() },
	}
	if flawName == "" || flawName == None {
		r.flaw = None
		return r, nil
	}
	f, ok := flaws[flawName]
	if !ok {
		return nil, fmt.Errorf("knownbad: unknown flaw %q (known: %s, %s)", flawName, None, strings.Join(Flaws(), ", "))
	}
	// Flaws that loosen timestamp checks rebuild the verifier with a wider tolerance, so they
	// get the scheme name and secret, not just the strict scheme.
	env := flawEnv{scheme: scheme, secret: secret, now: c.now, strict: strict, ackDelay: c.ackDelay}
	if err := f.apply(&r.b, env); err != nil {
		return nil, fmt.Errorf("knownbad: %s: %w", flawName, err)
	}
	return r, nil
}

// Flaw returns the receiver's flaw name (None for the control).
func (r *Receiver) Flaw() string { return r.flaw }

// Effects returns how many effects the receiver produced (applied or skipped as stale).
func (r *Receiver) Effects() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.effects
}

// honestStatus answers 400 to a delivery that is not well formed and 401 to one that is well
// formed but not authentic (bad signature, timestamp outside the tolerance).
func honestStatus(err error) int {
	if errors.Is(err, signature.ErrMissingHeader) || errors.Is(err, signature.ErrMalformedHeader) {
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}

// ServeHTTP handles POST deliveries and the CloudEvents OPTIONS handshake.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
	case http.MethodOptions:
		handshake(w, req)
		return
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		reply(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		reply(w, http.StatusBadRequest, "reading body failed")
		return
	}
	v, err := r.b.verify(req.Header, body)
	if err != nil {
		reply(w, r.b.rejectStatus(err), r.b.rejectMessage(err))
		return
	}
	id := v.ID
	if id == "" {
		id = signature.DeliveryID(r.scheme, req.Header, body)
	}
	ev := event.Parse(body)
	if id == "" || !ev.JSON {
		reply(w, http.StatusBadRequest, "not a webhook event: no id or not JSON")
		return
	}
	if failsID(id, r.failing) {
		reply(w, http.StatusInternalServerError, "internal error (this id always fails)")
		return
	}
	status, msg, worked := r.process(req.Context(), id, ev)
	if worked && r.b.ackDelay > 0 {
		select {
		case <-time.After(r.b.ackDelay):
		case <-req.Context().Done():
			return
		}
	}
	reply(w, status, msg)
}

// process runs one verified event: dedupe, ordering, effect. It holds r.mu throughout, so
// concurrent copies of one delivery are processed one after the other. worked says whether it
// did the event's work (not a duplicate, not a failure).
func (r *Receiver) process(ctx context.Context, id string, ev event.Received) (status int, msg string, worked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.processed[id]
	if r.b.dedupe && n > 0 {
		return http.StatusOK, "duplicate: already processed", false
	}
	obj, seq, ordered := ev.ObjectID, ev.Seq, ev.Ordered
	applied := true
	if ordered && r.b.skipStale {
		if last, ok := r.lastSeq[obj]; ok && seq <= last {
			applied = false
		}
	}
	if r.sink != nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		e := sink.Effect{WebhookID: id, EffectID: id + "#" + strconv.Itoa(n+1), Type: ev.Type, Data: ev.Data, Applied: applied}
		if err := r.sink.Report(rctx, e); err != nil {
			// Not marked processed: the sender's retry will process it again.
			return http.StatusServiceUnavailable, "effect not recorded, retry later", false
		}
	}
	if last, ok := r.lastSeq[obj]; ordered && applied && (!ok || seq > last) {
		r.lastSeq[obj] = seq
	}
	r.processed[id] = n + 1
	r.effects++
	if !applied {
		return http.StatusOK, "processed: stale, not applied", true
	}
	return http.StatusOK, "processed", true
}

// CloudEvents webhook abuse protection (CloudEvents "HTTP 1.1 Web Hooks" §4).
const (
	HeaderRequestOrigin = "WebHook-Request-Origin"
	HeaderAllowedOrigin = "WebHook-Allowed-Origin"
	HeaderRequestRate   = "WebHook-Request-Rate"
	HeaderAllowedRate   = "WebHook-Allowed-Rate"
)

// handshake grants every origin that asks, at the rate it asks for (or without a limit).
func handshake(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Allow", "POST, OPTIONS")
	origin := strings.TrimSpace(req.Header.Get(HeaderRequestOrigin))
	if origin == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set(HeaderAllowedOrigin, origin)
	rate := strings.TrimSpace(req.Header.Get(HeaderRequestRate))
	if rate == "" {
		rate = "*"
	}
	w.Header().Set(HeaderAllowedRate, rate)
	w.WriteHeader(http.StatusOK)
}

func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"status": msg})
	_, _ = w.Write(append(b, '\n'))
}

// flawEnv is what a flaw's setup may use to rebuild parts of the receiver.
type flawEnv struct {
	scheme, secret string
	now            func() time.Time
	strict         signature.Scheme
	ackDelay       time.Duration
}
