package sender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Answer is what the scripted receiver does with one attempt.
type Answer struct {
	Status int               // 0 means 200
	Header map[string]string // set on the answer ({moved} in a value becomes the script's redirect URL)
	Hold   time.Duration     // wait this long before answering (or until the sender gives up)
	// Hang holds the attempt until the sender gives up (closes the connection) or MaxHang
	// passes, then answers Status: how a case sees the sender's request timeout.
	Hang    bool
	MaxHang time.Duration
	Reset   bool // close the connection without an answer (a TCP reset)
}

func (a Answer) describe() string {
	switch {
	case a.Reset:
		return "connection reset"
	case a.Hang:
		return "no answer (held until the sender gives up)"
	}
	s := fmt.Sprintf("%d", a.status())
	if ra := a.Header["Retry-After"]; ra != "" {
		s += " with Retry-After: " + ra
	}
	if a.Hold > 0 {
		s += fmt.Sprintf(" after %s", a.Hold)
	}
	return s
}

func (a Answer) status() int {
	if a.Status == 0 {
		return http.StatusOK
	}
	return a.Status
}

// Attempt is one request the scripted receiver got.
type Attempt struct {
	N          int // 1-based, within its script
	At         time.Time
	AnsweredAt time.Time // when the answer was written, the connection reset, or the sender gave up
	Method     string
	URL        string
	Header     http.Header
	Body       []byte // at most maxRecordedBody bytes
	BodySize   int    // the whole body's size
	Answer     Answer
	// GaveUp is set when the sender closed the connection before the answer: it stopped
	// waiting after AnsweredAt−At.
	GaveUp   bool
	Moved    bool // the request came to the script's redirect target
	Answered bool // the answer is done (AnsweredAt and GaveUp are final)
}

// maxRecordedBody bounds what is kept of a body; the rest is read and counted.
const maxRecordedBody = 1 << 20

// Script is one case's endpoint: the answers it gives, in order (the last one repeats), and
// the attempts it recorded. It is safe for concurrent use.
type Script struct {
	ID   string // case ID
	Path string // "/case/<ID>/<nonce>"
	URL  string // what the sender delivers to

	mu       sync.Mutex
	answers  []Answer
	attempts []*Attempt    // in arrival order, recorded on arrival and completed on answer
	moved    []Attempt     // requests that followed a redirect to Path + "/moved"
	changed  chan struct{} // closed and replaced on every arrival and every answer
}

// Receiver is hookproof's side of a sender run: an http.Handler that routes each request to the
// script of its case (by path, or to the current script when the sender has one fixed URL) and
// answers by that script. Safe for concurrent use.
type Receiver struct {
	base  string // http://host:port
	fixed bool   // the sender delivers every event to one URL: route by time, not path

	mu      sync.Mutex
	scripts map[string]*Script // by path
	current *Script            // fixed-URL mode: the case under way
	byID    map[string]*Script // fixed-URL mode: delivery ids seen, to route late retries
	strays  []Attempt
	idOf    func(h http.Header, body []byte) string
}

// NewReceiver returns a scripted receiver reachable at base. fixed says the sender under test
// delivers everything to one URL; idOf reads a delivery id (for late retries in that mode).
func NewReceiver(base string, fixed bool, idOf func(http.Header, []byte) string) *Receiver {
	return &Receiver{base: strings.TrimRight(base, "/"), fixed: fixed, scripts: map[string]*Script{},
		byID: map[string]*Script{}, idOf: idOf}
}

// NewScript registers a fresh endpoint for case id with these answers and, in fixed-URL mode,
// makes it the current one.
func (rv *Receiver) NewScript(id string, answers ...Answer) *Script {
	var b [6]byte
	rand.Read(b[:])
	path := "/case/" + id + "/" + hex.EncodeToString(b[:])
	s := &Script{ID: id, Path: path, URL: rv.base + path, answers: answers, changed: make(chan struct{})}
	rv.mu.Lock()
	rv.scripts[path] = s
	if rv.fixed {
		rv.current = s
	}
	rv.mu.Unlock()
	return s
}

// Strays returns requests that matched no script.
func (rv *Receiver) Strays() []Attempt {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]Attempt(nil), rv.strays...)
}

func (rv *Receiver) route(r *http.Request, id string) (s *Script, moved bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	path := r.URL.Path
	if p, ok := strings.CutSuffix(path, "/moved"); ok {
		if s := rv.scripts[p]; s != nil {
			return s, true
		}
	}
	if s := rv.scripts[path]; s != nil {
		return s, false
	}
	if !rv.fixed {
		return nil, false
	}
	if s := rv.byID[id]; id != "" && s != nil {
		return s, false // a late retry of an earlier case
	}
	if rv.current != nil && id != "" {
		rv.byID[id] = rv.current
	}
	return rv.current, false
}

// ServeHTTP records the request and answers by its script.
func (rv *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	rest, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	a := Attempt{At: at, Method: r.Method, URL: rv.base + r.URL.RequestURI(), Header: r.Header.Clone(), Body: body,
		BodySize: len(body) + int(rest)}
	var id string
	if rv.idOf != nil {
		id = rv.idOf(r.Header, body)
	}
	s, moved := rv.route(r, id)
	if s == nil {
		a.AnsweredAt = time.Now()
		rv.mu.Lock()
		rv.strays = append(rv.strays, a)
		rv.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if moved {
		// A followed redirect: acknowledge it, so a sender that follows redirects believes it
		// delivered, and the case sees where the event went.
		a.Moved, a.Answered, a.Answer, a.AnsweredAt = true, true, Answer{Status: 200}, time.Now()
		s.mu.Lock()
		s.moved = append(s.moved, a)
		s.notifyLocked()
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	p := s.arrive(a)
	done := *p
	s.answer(w, r, &done)
	s.mu.Lock()
	p.AnsweredAt, p.GaveUp, p.Answered = done.AnsweredAt, done.GaveUp, true
	s.notifyLocked()
	s.mu.Unlock()
}

// arrive numbers an attempt, picks its answer and records it.
func (s *Script) arrive(a Attempt) *Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.N = len(s.attempts) + 1
	a.Answer = Answer{Status: 200}
	if len(s.answers) > 0 {
		a.Answer = s.answers[min(a.N-1, len(s.answers)-1)]
	}
	p := &a
	s.attempts = append(s.attempts, p)
	s.notifyLocked()
	return p
}

func (s *Script) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// answer carries out a's answer, filling in when it ended and whether the sender gave up.
func (s *Script) answer(w http.ResponseWriter, r *http.Request, a *Attempt) {
	ans := a.Answer
	wait := ans.Hold
	if ans.Hang {
		wait = ans.MaxHang
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the sender closed the connection: it gave up
			t.Stop()
			a.GaveUp, a.AnsweredAt = true, time.Now()
			return
		}
	}
	if ans.Reset {
		resetConn(w)
		a.AnsweredAt = time.Now()
		return
	}
	for k, v := range ans.Header {
		w.Header().Set(k, strings.ReplaceAll(v, "{moved}", s.URL+"/moved"))
	}
	w.WriteHeader(ans.status())
	a.AnsweredAt = time.Now()
}

// resetConn closes the connection under w with SO_LINGER 0, so the peer sees a reset. Where
// the connection cannot be taken over, aborting the handler (net/http's documented way,
// recovered by the server) closes it without an answer all the same.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// Attempts returns the attempts that arrived so far, in arrival order (those still being
// answered have Answered false).
func (s *Script) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attempt, len(s.attempts))
	for i, p := range s.attempts {
		out[i] = *p
	}
	return out
}

// Moved returns the requests that followed the redirect.
func (s *Script) Moved() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt(nil), s.moved...)
}

// errWait is returned by Wait when the attempts did not come in time.
var errWait = errors.New("not within the wait")

// Wait waits until n attempts have arrived (or a redirect was followed, when orMoved), at most
// within. It returns what it has either way; the error says it timed out.
func (s *Script) Wait(ctx context.Context, n int, within time.Duration, orMoved bool) ([]Attempt, error) {
	return s.waitFor(ctx, within, func() bool { return len(s.attempts) >= n || (orMoved && len(s.moved) > 0) })
}

// WaitAnswered waits until the first n attempts have arrived and been answered (or given up
// on by the sender), at most within.
func (s *Script) WaitAnswered(ctx context.Context, n int, within time.Duration) ([]Attempt, error) {
	return s.waitFor(ctx, within, func() bool {
		if len(s.attempts) < n {
			return false
		}
		for _, p := range s.attempts[:n] {
			if !p.Answered {
				return false
			}
		}
		return true
	})
}

// waitFor waits until done (called with s.mu held) holds, at most within.
func (s *Script) waitFor(ctx context.Context, within time.Duration, done func() bool) ([]Attempt, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := done()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return s.Attempts(), nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return s.Attempts(), errWait
		case <-ctx.Done():
			return s.Attempts(), ctx.Err()
		}
	}
}
