// Package h1 serves an http.Handler over plain HTTP/1.x with less work per request than
// net/http's server: hookproof's receiver and chaos proxy answer tens of thousands of small
// requests a second on a 2-core machine, and net/http's server adds a context, a response and a
// background-read goroutine to every one of them.
//
// It parses with net/http's own request parser and makes net/http's server checks (Host,
// header names and values, protocol version, header size, transfer codings), answers 100
// Continue, 417, 431, 501 and 400 the way it does, and frames responses by net/http's rules:
// Content-Length or chunked encoding, HTTP/1.0 keep-alive, HEAD, 204 and 304, a sniffed
// Content-Type unless a type or an encoding is set, Date, CR and LF in values made spaces,
// invalid names dropped, the header taken when WriteHeader runs. A body the handler leaves
// unread is read to its end up to 256 KiB, past that the connection closes (and the answer
// says so). It supports http.Flusher, http.Hijacker and the deadlines of
// http.ResponseController. server_test.go sends the same bytes to h1 and to net/http and
// compares what comes back. What it leaves out:
//
//   - TLS and HTTP/2: serve those with net/http (callers do, for --tls).
//   - Trailers, and 1xx answers other than 100 Continue.
//   - Up to 4 KiB of body is held before the header goes out (net/http holds 2 KiB), so a
//     response of 2 to 4 KiB gets a Content-Length where net/http would chunk it.
//   - Every status line says HTTP/1.1, as RFC 9110 section 6.2 asks (net/http answers an
//     HTTP/1.0 request with HTTP/1.0).
//   - A request's context is its connection's: it ends when the connection ends or the server
//     closes, not when ServeHTTP returns, and a client that goes away is noticed only after
//     the handler calls WatchClient (see Response.WatchClient). net/http watches every
//     request, which costs a goroutine and a system call each.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // go:linkname

	"golang.org/x/net/http/httpguts"
)

// Server serves Handler on HTTP/1.x connections. The zero timeouts mean none, as in
// http.Server; MaxHeaderBytes 0 means http.DefaultMaxHeaderBytes.
type Server struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration // from the first byte of a request to the end of its headers
	ReadTimeout       time.Duration // from the first byte of a request to the end of its body
	WriteTimeout      time.Duration // from the end of a request's headers to the end of its response
	IdleTimeout       time.Duration // between requests on a kept-alive connection (ReadTimeout if 0)
	MaxHeaderBytes    int
	ErrorLog          *log.Logger // handler panics; nil: the log package's standard logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   atomic.Bool
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{} // closed when the last connection ends after closing
	once      sync.Once
}

func (s *Server) init() {
	s.once.Do(func() {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.ctx, s.cancel = context.WithCancel(context.Background())
	})
}

// Serve accepts connections on ln and serves each in its own goroutine until Shutdown or
// Close, when it returns http.ErrServerClosed; any other error ends it too, and closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ECONNABORTED) {
				// Out of file descriptors, or a transient error: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			return http.ErrServerClosed
		}
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, lets each busy one finish its request,
// and returns once all have ended, or with ctx's error once ctx is done (they are then
// closed).
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	if s.done == nil {
		s.done = make(chan struct{})
		if len(s.conns) == 0 {
			close(s.done)
		}
	}
	for c := range s.conns {
		c.closeIfIdle()
	}
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.init()
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	return nil
}

func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	c := &conn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	c.cr.c, c.cr.limit = c, -1
	c.br = bufio.NewReaderSize(&c.cr, 4<<10)
	c.bw = bufio.NewWriterSize(nc, 4<<10)
	c.res.c = c
	c.res.header = http.Header{}
	s.conns[c] = struct{}{}
	return c
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; !ok {
		s.mu.Unlock()
		return
	}
	delete(s.conns, c)
	if s.done != nil && len(s.conns) == 0 {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	s.mu.Unlock()
}

func (s *Server) maxHeaderBytes() int64 {
	if s.MaxHeaderBytes > 0 {
		return int64(s.MaxHeaderBytes)
	}
	return http.DefaultMaxHeaderBytes
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// conn is one client connection, served by one goroutine.
type conn struct {
	s      *Server
	nc     net.Conn
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	cr     connReader
	br     *bufio.Reader
	bw     *bufio.Writer
	res    Response

	mu       sync.Mutex
	idle     bool // waiting for a request's first byte: Shutdown may close it
	hijacked atomic.Bool

	// The deadlines last set on nc, so that a request that needs no change costs none.
	readDeadline, writeDeadline time.Time
}

func (c *conn) setReadDeadline(t time.Time) error {
	if t.Equal(c.readDeadline) {
		return nil
	}
	c.readDeadline = t
	return c.nc.SetReadDeadline(t)
}

func (c *conn) setWriteDeadline(t time.Time) error {
	if t.Equal(c.writeDeadline) {
		return nil
	}
	c.writeDeadline = t
	return c.nc.SetWriteDeadline(t)
}

func (c *conn) setIdle(idle bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.closing.Load() {
		return false
	}
	c.idle = idle
	return true
}

func (c *conn) closeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.nc.Close()
	}
}

// Errors before a handler runs, answered as net/http answers them.
var (
	errTooLarge = errors.New("h1: request headers too large")
)

type statusError struct {
	code int
	text string
}

func (e statusError) Error() string { return e.text }

const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *conn) serve() {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.logf("h1: panic serving %s: %v\n%s", c.remote, v, buf)
		}
		c.cancel()
		if !c.hijacked.Load() {
			c.nc.Close()
		}
		c.s.forget(c)
	}()
	s := c.s
	for first := true; ; first = false {
		// Headers may take MaxHeaderBytes (and net/http's 4 KiB of slack), from the first byte
		// read for them.
		c.cr.limit = s.maxHeaderBytes() + 4096
		c.cr.hitLimit = false
		// Wait for the next request's first byte (idle: Shutdown may close the connection),
		// then read it under the header deadline, as net/http does.
		if c.br.Buffered() == 0 {
			if !c.setIdle(true) {
				return
			}
			wait := s.IdleTimeout
			if first {
				wait = s.ReadHeaderTimeout
			}
			if wait == 0 {
				wait = s.ReadTimeout
			}
			var dl time.Time
			if wait > 0 {
				dl = time.Now().Add(wait)
			}
			_ = c.setReadDeadline(dl)
			if _, err := c.br.Peek(1); err != nil {
				return
			}
			if !c.setIdle(false) {
				return
			}
		} else if s.closing.Load() {
			return
		}
		req, err := c.readRequest()
		if err != nil {
			c.answerError(err)
			return
		}
		if !c.handle(req) {
			return
		}
	}
}

// readRequest reads a request and makes net/http's server checks on it.
func (c *conn) readRequest() (*http.Request, error) {
	s := c.s
	t0 := time.Now()
	var whole, hdr time.Time
	if s.ReadTimeout > 0 {
		whole = t0.Add(s.ReadTimeout)
	}
	hdr = whole
	if s.ReadHeaderTimeout > 0 {
		hdr = t0.Add(s.ReadHeaderTimeout)
	}
	_ = c.setReadDeadline(hdr)
	if c.res.lastPOST {
		// RFC 7230 section 3.5: tolerate a CRLF after a POST body from old clients.
		peek, _ := c.br.Peek(2)
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = c.br.Discard(n)
	}
	req, err := readRequest(c.br)
	c.cr.limit = -1
	if err != nil {
		if c.cr.hitLimit {
			return nil, errTooLarge
		}
		return nil, err
	}
	if req.ProtoMajor != 1 {
		return nil, statusError{http.StatusHTTPVersionNotSupported, "unsupported protocol version"}
	}
	hosts, haveHost := req.Header["Host"]
	if req.ProtoAtLeast(1, 1) && (!haveHost || len(hosts) == 0) && req.Method != http.MethodConnect {
		return nil, statusError{http.StatusBadRequest, "missing required Host header"}
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return nil, statusError{http.StatusBadRequest, "malformed Host header"}
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, statusError{http.StatusBadRequest, "invalid header name"}
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, statusError{http.StatusBadRequest, "invalid header value"}
			}
		}
	}
	delete(req.Header, "Host")
	_ = c.setReadDeadline(whole)
	var wd time.Time
	if s.WriteTimeout > 0 {
		wd = time.Now().Add(s.WriteTimeout)
	}
	_ = c.setWriteDeadline(wd)
	req.RemoteAddr = c.remote
	return req.WithContext(c.ctx), nil
}

// readRequest is net/http's request parser under http.ReadRequest, which leaves the Host
// header in the request's header for the server's checks (http.ReadRequest deletes it, so
// a missing, repeated-then-rejected or malformed Host header could not be told apart). The
// standard library keeps this symbol for callers outside it: go.dev/issue/67401.
//
//go:linkname readRequest net/http.readRequest
func readRequest(b *bufio.Reader) (*http.Request, error)

// answerError answers a request that never reached the handler, then the connection closes.
func (c *conn) answerError(err error) {
	if c.s.closing.Load() {
		return
	}
	var se statusError
	switch {
	case errors.Is(err, errTooLarge):
		const publicErr = "431 Request Header Fields Too Large"
		_, _ = io.WriteString(c.nc, "HTTP/1.1 "+publicErr+errorHeaders+publicErr)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isTimeout(err):
		// The client left, or was too slow: nothing to answer.
	case errors.As(err, &se):
		text := fmt.Sprintf("%d %s: %s", se.code, http.StatusText(se.code), se.text)
		_, _ = io.WriteString(c.nc, "HTTP/1.1 "+text+errorHeaders+text)
	case isUnsupportedTE(err):
		_, _ = io.WriteString(c.nc, "HTTP/1.1 501 Not Implemented"+errorHeaders+"Unsupported transfer encoding")
	default:
		var oe *net.OpError
		if errors.As(err, &oe) {
			return // a read error on the connection
		}
		const publicErr = "400 Bad Request"
		_, _ = io.WriteString(c.nc, "HTTP/1.1 "+publicErr+errorHeaders+publicErr)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isUnsupportedTE: err is net/http's unsupportedTEError (unexported; its type's name is the
// only stable way to tell it, and the same error covers an unknown coding and a repeated
// Transfer-Encoding header).
func isUnsupportedTE(err error) bool {
	return fmt.Sprintf("%T", err) == "*http.unsupportedTEError"
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// handle runs the handler for req and finishes its response; false: the connection ends.
func (c *conn) handle(req *http.Request) bool {
	w := &c.res
	w.reset(req)
	if ex := req.Header.Get("Expect"); hasToken(ex, "100-continue") {
		if req.ProtoAtLeast(1, 1) && req.ContentLength != 0 {
			w.rb.expect = true
		}
		delete(req.Header, "Expect")
	} else if ex != "" {
		w.closeAfter = true
		w.WriteHeader(http.StatusExpectationFailed)
		w.finish()
		return false
	}
	if req.Body != http.NoBody {
		req.Body = &w.rb
	}
	c.s.Handler.ServeHTTP(w, req)
	w.stopWatch()
	if c.hijacked.Load() {
		return false
	}
	w.finish()
	if w.err != nil || w.closeAfter {
		return false
	}
	// What the handler left of the body after the header went out, read as net/http reads it.
	if b := &w.rb; !b.sawEOF && b.rc != http.NoBody {
		if b.closed || !b.mayDrain() {
			return false
		}
		if n, err := io.CopyN(io.Discard, b, maxPostHandlerRead+1); n > maxPostHandlerRead || err != io.EOF {
			return false
		}
	}
	// A handler's deadlines are for its request only.
	_ = c.setWriteDeadline(time.Time{})
	return true
}

const maxPostHandlerRead = 256 << 10

// connReader is what the connection's bufio.Reader reads: it bounds how much a request's
// headers may take, and keeps the byte a watching read took from the next request.
type connReader struct {
	c        *conn
	limit    int64 // bytes left for the headers; -1: no bound
	hitLimit bool
	pending  [1]byte
	hasByte  bool
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.limit == 0 {
		r.hitLimit = true
		return 0, io.EOF
	}
	if r.limit > 0 && int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	if r.hasByte {
		p[0] = r.pending[0]
		r.hasByte = false
		if r.limit > 0 {
			r.limit--
		}
		return 1, nil
	}
	n, err := r.c.nc.Read(p)
	if r.limit > 0 {
		r.limit -= int64(n)
	}
	return n, err
}
