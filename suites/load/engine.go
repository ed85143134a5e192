package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/hookproof/hookproof/reference/signature"
)

// run is the state of one load run. The targeters, the recording transport and the result
// consumers run concurrently; mu guards the ledger and the statistics, the counters read by
// the progress line are atomics.
type run struct {
	cfg      Config
	sg       *signer
	start    time.Time
	interval time.Duration // of the main attack's schedule; 0 when unpaced
	seed     uint64
	idPrefix string
	// attackURL is where attempts go: the target, or the chaos proxy in front of it.
	attackURL string
	queue     *retryQueue

	// sendCtx is the ancestor of every attempt's context; cancelling it cuts off what is in
	// flight. Attempts hang off sendShards (children of sendCtx) so that thousands of them
	// registering and leaving at once do not all queue on one context's lock.
	sendCtx    context.Context
	sendShards [16]sendShard
	// slotWidth is how much later than Timeout an attempt may be cut off: attempts that
	// start within it share one deadline context (see attemptCtx).
	slotWidth time.Duration
	stopping  atomic.Bool
	mainDone  atomic.Bool
	ticks     atomic.Uint64
	phase     atomic.Value // string: "attack", "drain", "sink"
	liveSent  atomic.Int64
	liveAcked atomic.Int64
	liveErrs  atomic.Int64

	mu        sync.Mutex
	dels      slab
	slots     attemptSlots // of the attempts in flight
	recent    [128]uint64  // the latest valid events, for --duplicate
	nValid    int
	objSeq    [objectsPerRun]int64
	pending   int
	overall   hist
	seconds   []*second
	codes     statusCounts
	errs      map[string]int
	attempts  int
	retries   int
	published int // valid events created
	chk       checks
	vErrors   int // failed attempts of valid deliveries
	vTimeout  int
	vTotal    int // attempts of valid deliveries (cut-offs excluded)
	// silent tracks the target going quiet: the attempts that got no HTTP answer at all
	// (refused, reset, timed out) since the last one that got any answer.
	silent silence
}

// silence is the run of attempts without any HTTP answer since the last answer.
type silence struct {
	since    time.Time // when the first of them ended
	err      string    // its error, classified
	attempts int
}

// second is one row of the per-second series, by scheduled send time.
type second struct {
	sent, acked, errors int
	codes               statusCounts
	h                   hist
}

// statusCounts counts attempts by status code without a map operation per attempt: 0 is
// "no answer", 100-599 the HTTP codes; anything else (a broken server) counts as its own key.
type statusCounts struct {
	byCode [600]int32
	other  map[int]int
}

func (c *statusCounts) add(code int) {
	if code >= 0 && code < len(c.byCode) {
		c.byCode[code]++
		return
	}
	if c.other == nil {
		c.other = map[int]int{}
	}
	c.other[code]++
}

// m returns the counts as the results file keys them: "200": n, "0" for no answer.
func (c *statusCounts) m() map[string]int {
	out := map[string]int{}
	for code, n := range c.byCode {
		if n > 0 {
			out[strconv.Itoa(code)] = int(n)
		}
	}
	for code, n := range c.other {
		out[strconv.Itoa(code)] = n
	}
	return out
}

// Seed salts: each kind of random choice draws from its own stream.
const (
	saltKind uint64 = iota + 1
	saltInvalid
	saltDup
	saltAmount
	saltJitter
	saltObject
)

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// draw is a uniform number in [0,1) that depends only on the seed, the kind of choice and
// its subject, never on goroutine scheduling.
func (r *run) draw(salt, a, b uint64) float64 {
	h := mix64(r.seed ^ mix64(salt^mix64(a^mix64(b))))
	return float64(h>>11) / (1 << 53)
}

// id is delivery n's id, in one allocation (the prefix and the number rendered on the stack).
func (r *run) id(n uint64) string {
	var room [96]byte
	b := append(room[:0], r.idPrefix...)
	return string(strconv.AppendUint(b, n, 10))
}

// tokenEvent copies into t what of delivery d the transport needs to rebuild its event
// (read off the ledger under mu, by the targeters).
func tokenEvent(t *token, d *delivery) {
	t.at, t.object, t.seq = d.at, d.object, d.seq
}

// eventOf is the event of the attempt t: its ledger part travels in the token, its id and
// amount are derived from the delivery number. No lock: the transport calls it.
func (r *run) eventOf(t *token) loadEvent {
	return loadEvent{
		id: r.id(t.n), at: r.start.Add(time.Duration(t.at)), object: int(t.object), seq: t.seq,
		amount: 100 + int64(r.draw(saltAmount, t.n, 0)*100000),
	}
}

// newDeliveryLocked adds a delivery made now: a valid event (invalid 0) or an invalid one.
func (r *run) newDeliveryLocked(now time.Time, invalid uint8) (uint64, *delivery) {
	n, d := r.dels.add()
	d.at = int64(now.Sub(r.start))
	d.invalid = invalid
	obj := int(r.draw(saltObject, n, 0) * objectsPerRun)
	r.objSeq[obj]++
	d.object, d.seq = uint16(obj), r.objSeq[obj]
	if invalid == 0 {
		r.recent[r.nValid%len(r.recent)] = n
		r.nValid++
		r.pending++
	}
	return n, d
}

// sendShard is one of the contexts attempts hang off, with the deadline context that the
// attempts starting now share.
type sendShard struct {
	ctx  context.Context
	slot atomic.Pointer[deadlineSlot]
}

// deadlineSlot is a deadline context shared by the attempts that start within one slotWidth:
// one context (and one timer) per slot instead of one per attempt. It releases itself at its
// deadline, or when the run's cut-off cancels its shard.
type deadlineSlot struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

// maxSlotWidth bounds how late past Timeout a shared deadline may cut an attempt off.
const maxSlotWidth = 10 * time.Millisecond

// initSends makes the contexts attempts hang off and returns what cancels them all: the
// cut-off at the end of the drain.
func (r *run) initSends() context.CancelFunc {
	var cancel context.CancelFunc
	r.sendCtx, cancel = context.WithCancel(context.Background())
	r.slotWidth = min(r.cfg.Timeout/100, maxSlotWidth)
	shards := make([]context.CancelFunc, len(r.sendShards))
	for i := range r.sendShards {
		r.sendShards[i].ctx, shards[i] = context.WithCancel(r.sendCtx)
	}
	return func() {
		cancel() // cancels the shards and every attempt under them
		for i, c := range shards {
			c() // releases the shards' own resources
			if s := r.sendShards[i].slot.Load(); s != nil {
				s.cancel()
			}
		}
	}
}

// attemptCtx is the context of an attempt starting at now on shard i: cancelled by the run's
// cut-off, and past its deadline no sooner than Timeout after now and at most slotWidth later.
// Attempts starting within one slotWidth share it; none is cancelled early, so sharing is safe.
func (r *run) attemptCtx(i uint64, now time.Time) context.Context {
	sh := &r.sendShards[i%uint64(len(r.sendShards))]
	want := now.Add(r.cfg.Timeout)
	if s := sh.slot.Load(); s != nil && !s.deadline.Before(want) {
		return s.ctx
	}
	// Two attempts may make a slot at once: both are correct, the later one stays current.
	s := &deadlineSlot{deadline: want.Add(r.slotWidth)}
	s.ctx, s.cancel = context.WithDeadline(sh.ctx, s.deadline)
	sh.slot.Store(s)
	return s.ctx
}

// mainTargeter makes each tick of the paced attack one delivery: new valid event, invalid
// delivery, or duplicate of a recent valid event, by a seeded draw on the tick number.
func (r *run) mainTargeter(tgt *vegeta.Target) error {
	if r.stopping.Load() {
		return vegeta.ErrNoTargets
	}
	i := r.ticks.Add(1) - 1
	u := r.draw(saltKind, i, 0)
	now := time.Now()
	tok := token{attempt: 1, sched: int64(now.Sub(r.start))}

	r.mu.Lock()
	var d *delivery
	switch {
	case u < r.cfg.Invalid:
		k := int(r.draw(saltInvalid, i, 0) * float64(len(r.sg.kinds)))
		tok.kind = tokInvalid
		tok.inv = invalidIndex(r.sg.kinds[k])
		tok.n, d = r.newDeliveryLocked(now, tok.inv)
	case u < r.cfg.Invalid+r.cfg.Duplicate && r.nValid > 0:
		back := 1 + int(r.draw(saltDup, i, 0)*float64(min(r.nValid, len(r.recent))))
		tok.kind = tokDup
		tok.n = r.recent[(r.nValid-back)%len(r.recent)]
		d = r.dels.get(tok.n)
	default:
		tok.kind = tokFirst
		tok.n, d = r.newDeliveryLocked(now, 0)
		d.attempts = 1
		r.published++
	}
	tokenEvent(&tok, d)
	r.attempts++
	r.chk.created++
	url, ok := r.slots.parkLocked(r.attackURL, tok)
	r.mu.Unlock()

	return r.target(tgt, url, ok)
}

func invalidIndex(k Invalid) uint8 {
	for i, x := range invalidKinds {
		if x == k {
			return uint8(i + 1)
		}
	}
	return 0
}

// retryTargeter feeds the retry attack: it blocks until a retry is due and returns
// vegeta.ErrNoTargets once the queue is closed (nothing pending after the attack, or the
// drain is over).
func (r *run) retryTargeter(tgt *vegeta.Target) error {
	for {
		rt, err := r.queue.pop(r.sendCtx)
		if err != nil {
			return vegeta.ErrNoTargets
		}
		r.mu.Lock()
		d := r.dels.get(rt.n)
		if d.state != statePending {
			// Acked by a duplicate while the retry waited: a sender that knows stops.
			r.mu.Unlock()
			continue
		}
		d.attempts = uint16(rt.attempt)
		tok := token{kind: tokRetry, n: rt.n, attempt: rt.attempt, sched: int64(rt.due.Sub(r.start))}
		tokenEvent(&tok, d)
		r.attempts++
		r.retries++
		r.chk.created++
		url, ok := r.slots.parkLocked(r.attackURL, tok)
		r.mu.Unlock()
		return r.target(tgt, url, ok)
	}
}

// errTooManyInFlight is an attempt that found no free slot (see attemptSlots).
var errTooManyInFlight = errors.New("load: too many attempts in flight")

// target makes tgt the attempt parked at url (see attemptSlots): a POST with neither headers
// nor body. The recording transport signs it (sign), so that neither Vegeta (Target.Request)
// nor http.Client (its copy of the headers for redirects) copies the signed headers once more
// per attempt. Without a slot (parked false) the attempt goes to a URL Vegeta cannot request,
// so that it fails, and is counted, as an attempt without an outcome: the ledger is void.
func (r *run) target(tgt *vegeta.Target, url string, parked bool) error {
	r.liveSent.Add(1)
	if !parked {
		url = "\x00" + errTooManyInFlight.Error()
	}
	tgt.Method = http.MethodPost
	tgt.URL = url
	tgt.Body = nil
	tgt.Header = nil
	return nil
}

// sign makes req (the transport's own copy of Vegeta's request) the attempt tok, signed at
// now (fresh timestamp and signature): its headers, replacing Vegeta's bookkeeping ones, and
// its body, as Vegeta's Target.Request would have set them.
func (r *run) sign(req *http.Request, tok *token, now time.Time) {
	ev := r.eventOf(tok)
	var kind Invalid
	if tok.kind == tokInvalid && tok.inv > 0 && int(tok.inv) <= len(invalidKinds) {
		kind = invalidKinds[tok.inv-1]
	}
	h, body, err := r.sg.sign(&ev, kind, now)
	if err != nil {
		// Signing a well-formed event with a checked secret cannot fail; if it did, the
		// attempt is still sent (unsigned) so that the ledger stays whole, and it fails.
		h, body = http.Header{"Content-Type": {"application/json"}}, nil
	}
	if tok.attempt > 1 && r.sg.provider {
		signature.SetRetryHeaders(r.sg.scheme.Name(), h, tok.attempt) // as the provider marks a retry
	}
	req.Header = h
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	if len(body) > 0 {
		// As http.NewRequest does with a *bytes.Reader: the transport knows the length and that
		// the body is in memory, and can rewind it after a lost connection.
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
}

// scheduled is the time an attempt should have been sent: for the paced main attack, the
// pacer's slot of its sequence number (hit k is due at start + (k+1)·interval, as Vegeta's
// constant pacer spaces them); for retries, the due time; otherwise when it was made.
func (r *run) scheduled(t token, seqHeader []string) time.Time {
	if t.kind != tokRetry && r.interval > 0 && len(seqHeader) == 1 {
		if seq, err := strconv.ParseUint(seqHeader[0], 10, 63); err == nil {
			return r.start.Add(time.Duration(seq+1) * r.interval)
		}
	}
	return r.start.Add(time.Duration(t.sched))
}

// recorder is the attackers' RoundTripper: it applies the per-attempt timeout (to within
// slotWidth) and the run's cut-off, and records every attempt's outcome exactly once, when its answer has been read to
// the end (or failed). Requests without a token (the probe) pass through unrecorded.
type recorder struct {
	base http.RoundTripper
	r    *run
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, ok := rec.r.slots.taken(req.URL.Fragment)
	if !ok {
		return rec.base.RoundTrip(req)
	}
	r := rec.r
	sched := r.scheduled(tok, req.Header["X-Vegeta-Seq"])
	now := time.Now()
	ctx := r.attemptCtx(tok.n, now)
	req = req.WithContext(ctx)
	// The copy gets the delivery's headers in place of Vegeta's, whose sequence header is
	// bookkeeping: the target sees only what a real sender sends.
	r.sign(req, &tok, now)
	resp, err := rec.base.RoundTrip(req)
	if err != nil {
		r.record(tok, sched, 0, err, ctx.Err(), time.Now())
		return nil, err
	}
	if resp.Body == http.NoBody {
		// An answer without a body (a bare 200) has been read to its end already.
		r.record(tok, sched, resp.StatusCode, nil, nil, time.Now())
		return resp, nil
	}
	resp.Body = &recordedBody{rc: resp.Body, r: r, tok: tok, sched: sched, status: resp.StatusCode, ctx: ctx}
	return resp, nil
}

// errClosedEarly is an answer whose body was closed before it was read to the end.
var errClosedEarly = errors.New("answer closed before its end")

// recordedBody records the attempt when the answer has been read to its end, failed, or
// been closed, whichever comes first.
type recordedBody struct {
	rc     io.ReadCloser
	r      *run
	tok    token
	sched  time.Time
	status int
	ctx    context.Context
	done   bool
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !b.done {
		b.finish(err)
	}
	return n, err
}

func (b *recordedBody) Close() error {
	err := b.rc.Close()
	if !b.done {
		b.finish(errClosedEarly)
	}
	return err
}

func (b *recordedBody) finish(err error) {
	b.done = true
	end := time.Now()
	if err == io.EOF {
		b.r.record(b.tok, b.sched, b.status, nil, nil, end)
	} else {
		b.r.record(b.tok, b.sched, 0, err, b.ctx.Err(), end)
	}
}

// record books one attempt's outcome: statistics, then the delivery's state, then (for a
// failed attempt of a valid event) its retry or its failure.
func (r *run) record(t token, sched time.Time, status int, err, ctxErr error, end time.Time) {
	ack := err == nil && status >= 200 && status < 300
	cut := err != nil && errors.Is(ctxErr, context.Canceled)
	timeout := err != nil && !cut && (errors.Is(ctxErr, context.DeadlineExceeded) || isTimeout(err))
	lat := end.Sub(sched)
	code := 0
	if err == nil {
		code = status
	}
	secIdx := max(int(sched.Sub(r.start)/time.Second), 0)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.slots.releaseLocked(t.slot)
	r.chk.resolved++
	if ack {
		r.chk.ok++
	}
	r.codes.add(code)
	switch {
	case err == nil:
		r.silent = silence{} // any HTTP answer, even a 500, means the target is there
	case !cut:
		msg := classify(err, cut, timeout, r.cfg.Timeout)
		r.countErrorLocked(msg)
		if r.silent.attempts == 0 {
			r.silent.since, r.silent.err = end, msg
		}
		r.silent.attempts++
	default:
		r.countErrorLocked(classify(err, cut, timeout, r.cfg.Timeout))
	}
	for len(r.seconds) <= secIdx {
		r.seconds = append(r.seconds, &second{})
	}
	sec := r.seconds[secIdx]
	sec.sent++
	sec.codes.add(code)
	if t.valid() && !cut {
		r.vTotal++
		// Ack latency: acks, and timeouts at the time the sender gave up (a lower bound), so
		// that a target too slow to answer at all cannot look fast.
		if ack || timeout {
			r.overall.add(lat)
			sec.h.add(lat)
		}
		if ack {
			sec.acked++
		} else {
			sec.errors++
			r.vErrors++
			r.liveErrs.Add(1)
			if timeout {
				r.vTimeout++
			}
		}
	}

	d := r.dels.get(t.n)
	switch t.kind {
	case tokInvalid:
		if ack {
			d.got2xx = true
		}
	case tokDup:
		if ack {
			r.ackLocked(d)
		}
	default:
		switch {
		case ack:
			r.ackLocked(d)
		case d.state != statePending, cut:
			// Acked meanwhile by a duplicate, or cut off at the end of the drain.
		case t.attempt >= r.cfg.MaxAttempts:
			d.state = stateFailed
			r.pending--
		case r.stopping.Load():
			// Too late for another attempt: it stays pending and counts as cut off.
		default:
			u := r.draw(saltJitter, t.n, uint64(t.attempt))
			r.queue.push(retry{n: t.n, attempt: t.attempt + 1, due: end.Add(r.cfg.Backoff.Delay(t.attempt+1, u))})
		}
	}
	r.finishIfDoneLocked()
}

func (r *run) ackLocked(d *delivery) {
	switch d.state {
	case statePending:
		r.pending--
		r.liveAcked.Add(1)
	case stateFailed:
		r.liveAcked.Add(1)
	}
	d.state = stateAcked
}

// finishIfDoneLocked closes the retry queue once the attack is over and nothing is pending,
// which ends the retry attack and so the drain phase.
func (r *run) finishIfDoneLocked() {
	if r.mainDone.Load() && r.pending == 0 {
		r.queue.close()
	}
}

// maxErrorKinds bounds the error messages kept apart; the rest count as "other".
const maxErrorKinds = 32

func (r *run) countErrorLocked(msg string) {
	if _, ok := r.errs[msg]; !ok && len(r.errs) >= maxErrorKinds {
		msg = "other"
	}
	r.errs[msg]++
}

var addrPattern = regexp.MustCompile(`(\[[0-9a-fA-F:.]+\]|\d{1,3}(\.\d{1,3}){3}):\d+`)

// classify turns an attempt's error into a short message that groups alike errors (no
// ephemeral ports, no per-request detail).
func classify(err error, cut, timeout bool, limit time.Duration) string {
	switch {
	case cut:
		return "cut off: in flight when the drain ended"
	case timeout:
		return "timeout: no complete answer within " + limit.String()
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete answer"
	case errors.Is(err, errClosedEarly):
		return errClosedEarly.Error()
	}
	return addrPattern.ReplaceAllString(err.Error(), "ADDR")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// wrongSecretFor makes a secret of the scheme's shape that is not the receiver's, from the seed.
func wrongSecretFor(scheme string, seed int64, real string) string {
	sum := sha256.Sum256([]byte("hookproof-wrong-secret:" + strconv.FormatInt(seed, 10) + ":" + real))
	return signature.SecretFrom(scheme, sum[:])
}

// runTag names a run's ids: a hash of the run id plus the start time, so that the same
// command run twice (or replayed with its seed) never sends an id a durable receiver has
// already processed, and shards of one run never collide (their index is in the prefix).
func runTag(runID string, start time.Time) string {
	h := sha256.Sum256([]byte(runID))
	return hex.EncodeToString(h[:4]) + strconv.FormatInt(start.UnixMilli(), 36)
}
