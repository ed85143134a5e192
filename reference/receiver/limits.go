package receiver

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Bounds on what a client can make the receiver hold before anything is verified. The
// signature covers the body, so the body has to be read before it can be judged: these bound
// how long that takes and how much memory every body being read at once may use.
const (
	// DefaultBodyTimeout is how long a client has to send a whole body, from the moment the
	// handler starts reading it; a body still incomplete then is answered 408 and the
	// connection closed. It comes on top of the server's header timeout.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultReadBudget is how many bytes of request bodies the receiver holds at once, from
	// the first byte read until the delivery is committed (or refused). A body that does not
	// fit is answered 503 with Retry-After before any of it is read.
	DefaultReadBudget = 64 << 20
	// SmallBody is the largest body counted as small: a body whose Content-Length is at most
	// SmallBody may use the whole read budget; a larger one, or one of unknown length
	// (chunked), only the part of it above the small reserve (a quarter), so that a flood of
	// large uploads leaves room for ordinary deliveries, which are a few KiB.
	SmallBody = 64 << 10
	// RetryAfterBusy is the Retry-After, in seconds, of a 503 for a full read budget.
	RetryAfterBusy = "1"
)

var (
	errBudget      = errors.New("receiver: read budget exhausted")
	errBodyTimeout = errors.New("receiver: body not received in time")
)

// budget counts the bytes of bodies being read or waiting for their commit.
type budget struct {
	mu      sync.Mutex
	used    int64
	limit   int64 // every body
	large   int64 // bodies over SmallBody, or of unknown length
	inLarge int64 // bytes held by those
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit, large: limit - limit/4}
}

// take reserves n bytes; large says whether they are for a body over SmallBody or of unknown
// length. It reports false, reserving nothing, when they do not fit.
func (b *budget) take(n int64, large bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit || (large && b.inLarge+n > b.large) {
		return false
	}
	b.used += n
	if large {
		b.inLarge += n
	}
	return true
}

func (b *budget) give(n int64, large bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if large {
		b.inLarge -= n
	}
}

// held is how many bytes are reserved now.
func (b *budget) held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// reading is one body being read under the budget; release gives back what it took.
type reading struct {
	b     *budget
	held  int64
	large bool
}

func (rd *reading) release() {
	if rd.held > 0 {
		rd.b.give(rd.held, rd.large)
		rd.held = 0
	}
}

// readBody reads req's body (at most MaxBody bytes) under the receiver's budget and body
// deadline. Its errors: *http.MaxBytesError (413), errBudget (503), errBodyTimeout (408),
// anything else (400). The caller must call release on the result once it no longer holds the
// body, error or not.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, *reading, error) {
	rd := &reading{b: r.budget}
	declared := req.ContentLength // -1 when unknown (chunked)
	if declared > MaxBody {
		// Refused before reading, so no 100 Continue goes out for it.
		return nil, rd, &http.MaxBytesError{Limit: MaxBody}
	}
	rd.large = declared < 0 || declared > SmallBody
	if declared >= 0 {
		// Reserve the declared size before reading a byte: a refusal needs no body, and sends
		// no 100 Continue.
		if !rd.b.take(declared, rd.large) {
			return nil, rd, errBudget
		}
		rd.held = declared
	}
	// The whole body must arrive within the body timeout; an http.ResponseWriter that cannot
	// set deadlines (a test recorder) has no connection to stall.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(r.cfg.bodyTimeout))
	body, err := r.readAll(http.MaxBytesReader(w, req.Body, MaxBody), declared, rd)
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
		return body, rd, nil
	}
	if isTimeout(err) {
		err = errBodyTimeout
	}
	return nil, rd, err
}

// readAll reads body: into one buffer of the declared size when the length is known, or in a
// buffer that grows, reserving each growth from the budget first, when it is not.
func (r *Receiver) readAll(body io.Reader, declared int64, rd *reading) ([]byte, error) {
	if declared >= 0 {
		buf := make([]byte, declared)
		if _, err := io.ReadFull(body, buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		// net/http ends a body at its Content-Length; a reader that does not is refused.
		var one [1]byte
		if n, err := body.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = errors.New("body longer than its Content-Length")
			}
			return nil, err
		}
		return buf, nil
	}
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			grow := int64(max(4<<10, cap(buf))) // double, from 4 KiB
			grow = min(grow, MaxBody+1-int64(cap(buf)))
			if grow <= 0 {
				grow = 1
			}
			if !rd.b.take(grow, rd.large) {
				return nil, errBudget
			}
			rd.held += grow
			nb := make([]byte, len(buf), cap(buf)+int(grow))
			copy(nb, buf)
			buf = nb
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
