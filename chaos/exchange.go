package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// Exchange is one request on its way through the fault chain. The proxy makes one for each
// client request and one for each copy a fault sends (Clone, Resend). An Exchange belongs to
// the goroutine running it: a fault that hands it to another goroutine clones it first.
type Exchange struct {
	Key     string // delivery key: webhook id, body id, or "req-N"
	Attempt int    // 1 for the first request the proxy saw with Key, 2 for the next, ...
	Copy    int    // 0 for the client's own request; n for the n-th copy made from it
	Origin  string // "" for the client's request; the fault instance that made a copy

	Method   string
	Path     string      // request path, unescaped
	RawQuery string      // query string, without '?'
	Header   http.Header // headers to forward: a private copy that faults may change
	// Body is the request body to forward. It may be shared with copies: replace it with
	// SetBody rather than writing into it.
	Body []byte

	rawPath string // the client's escaped path when it differs from the default encoding
	inPath  string // Path as received: rawPath applies only while Path is unchanged
	// sharedHeader: Header is the client request's own, to copy before a fault may change it.
	sharedHeader bool

	ctx     context.Context
	watcher clientWatcher // the client's connection, watched from the first fault on
	p       *Proxy
	inst    *instance // the instance whose Apply is running
	rec     *record   // points at own
	family  *family   // the original's fam, shared by its copies
	own     record
	fam     family
}

// family is what an exchange shares with the copies made from it.
type family struct {
	copies  atomic.Int32
	resends atomic.Int32 // copies asked for, bounded by MaxCopies
	escaped atomic.Bool  // a copy holds the body: it must not go back to the pool
}

// record is the ledger's view of one exchange, filled in as it goes.
type record struct {
	faults         []string
	notes          []string
	forwarded      int
	upstreamStatus int
	upstreamErr    string
	upstream       time.Duration
}

// ownHeader gives x a copy of the client's header it shares, as forwardHeader makes it.
func (x *Exchange) ownHeader() {
	h := x.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = noUserAgent
	}
	x.Header, x.sharedHeader = h, false
}

// Context is the client's request context (for copies: the proxy's lifetime).
func (x *Exchange) Context() context.Context { return x.ctx }

// Rand returns the random source of the running fault instance for this exchange. It is
// derived from the seed, the instance name, Key, Attempt and Copy, so the same inputs give
// the same numbers in every run. Call it once per Apply and draw from the result.
func (x *Exchange) Rand() *rand.Rand {
	return newRand(^decision(x.p.hseed, x.salt(), x.Key, x.Attempt, x.Copy))
}

// RandFor returns a random source derived from the seed, the running instance and s only,
// for choices that concern several exchanges at once (a reorder batch).
func (x *Exchange) RandFor(s string) *rand.Rand { return x.randForLater()(s) }

// randForLater binds RandFor to the running instance, for use from another goroutine.
func (x *Exchange) randForLater() func(string) *rand.Rand {
	base := x.p.hseed ^ x.salt() ^ 0x5bd1e995
	return func(s string) *rand.Rand { return newRand(hashString(base, s)) }
}

func (x *Exchange) salt() uint64 {
	if x.inst == nil {
		return 0
	}
	return x.inst.salt
}

// Note adds a detail to the exchange's ledger entry, prefixed with the running instance's
// name ("delay: 740ms before request").
func (x *Exchange) Note(format string, args ...any) {
	name := "proxy"
	if x.inst != nil {
		name = x.inst.spec.Name
	}
	x.rec.notes = append(x.rec.notes, name+": "+fmt.Sprintf(format, args...))
}

// SetBody replaces the body to forward.
func (x *Exchange) SetBody(b []byte) { x.Body = b }

// Clone returns a copy of x to send again: same key and attempt, the next copy number, its
// own headers and ledger entry, and the proxy's lifetime as its context, since the client
// may be gone by the time it runs.
func (x *Exchange) Clone() *Exchange {
	x.family.escaped.Store(true)
	c := &Exchange{
		Key: x.Key, Attempt: x.Attempt, Copy: int(x.family.copies.Add(1)),
		Method: x.Method, Path: x.Path, RawQuery: x.RawQuery,
		Header: x.Header.Clone(), Body: x.Body, rawPath: x.rawPath, inPath: x.inPath,
		ctx: x.p.ctx, p: x.p, inst: x.inst, family: x.family,
	}
	c.rec = &c.own
	if c.inst != nil {
		c.Origin = c.inst.spec.Name
	}
	return c
}

// Resend sends a clone of x through next after a delay drawn by the caller, in the
// background: the client does not wait for it and never sees its answer. The copy gets its
// own ledger entry. It returns at once; the proxy's Close waits for pending copies.
func (x *Exchange) Resend(after time.Duration, next Next) {
	if x.family.resends.Add(1) > MaxCopies {
		x.Note("copy not sent: this request has had %d copies, the most faults may make", MaxCopies)
		return
	}
	c := x.Clone()
	x.p.goBackground(func() {
		start := time.Now()
		if after > 0 && c.Wait(after) != nil {
			x.p.logCopy(c, start, Result{Err: errProxyClosed}, "cancelled")
			return
		}
		res := next(c)
		x.p.logCopy(c, start, res, "")
		res.Discard()
	})
}

var (
	errProxyClosed = errors.New("proxy closed")
	errClientGone  = errors.New("client gave up")
)

// Wait sleeps for d, or less if the client gives up or the proxy closes (then it returns
// the reason).
func (x *Exchange) Wait(d time.Duration) error {
	if d <= 0 {
		return x.alive()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-x.ctx.Done():
		return errClientGone
	case <-x.p.closing:
		return errProxyClosed
	}
}

// WaitFor waits until ch is closed, the client gives up or the proxy closes.
func (x *Exchange) WaitFor(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-x.ctx.Done():
		return errClientGone
	case <-x.p.closing:
		return errProxyClosed
	}
}

func (x *Exchange) alive() error {
	select {
	case <-x.ctx.Done():
		return errClientGone
	case <-x.p.closing:
		return errProxyClosed
	default:
		return nil
	}
}

// Gone is the Result for an exchange whose wait was cut short: the client is not listening
// any more, so the proxy resets the connection.
func Gone(err error) Result { return Result{End: EndReset, Err: err} }
