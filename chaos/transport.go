package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"golang.org/x/net/http/httpguts"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// syncTransport is a synchronous HTTP/1.1 client for plain-http upstreams. The goroutine
// that calls RoundTrip writes the request and reads the answer itself, on a pooled
// keep-alive connection; http.Transport instead hands every request to two goroutines per
// connection (a writer and a reader), which costs three goroutine switches per request.
// On the proxy's hot path that difference is most of what it adds to a direct request.
//
// It never retries: a request written to a connection that then fails may have reached the
// upstream, and a chaos proxy must not invent duplicates. To avoid writing to a connection
// the upstream has already closed, an idle connection is checked (a non-blocking peek)
// before reuse.
type syncTransport struct {
	dialer      net.Dialer
	dial        func(ctx context.Context, network, addr string) (net.Conn, error) // instead of dialer, in tests
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*syncConn // by host:port, most recently used last
}

type syncConn struct {
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	used   time.Time
	expire func() // wakes whatever blocks on nc (the request's context ended)
	// body is the answer body of the outRequest in progress: one exchange at a time uses
	// a connection, and its caller is done with the body once it has closed it.
	body syncBody
	// resp is the answer quickAnswerInto read for the outRequest in progress. Like body it
	// is the connection's: the caller must be done with it before closing the body, which
	// may hand the connection to another request.
	resp http.Response
}

func newSyncTransport() *syncTransport {
	return &syncTransport{
		dialer:      net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		maxIdle:     1024,
		idleTimeout: 90 * time.Second,
		idle:        map[string][]*syncConn{},
	}
}

// peekAfter is how long a connection may sit idle before get checks it is still open.
const peekAfter = 100 * time.Millisecond

var errUnsupportedScheme = errors.New("sync transport: only http URLs")

// RoundTrip sends req and returns the answer with its body still on the connection; the
// connection goes back to the pool when the body has been read to the end and closed.
func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return nil, errUnsupportedScheme
	}
	host := req.URL.Host
	if req.URL.Port() == "" {
		host = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	return t.roundTrip(req.Context(), host, req, nil)
}

// outRequest is a request the proxy forwards through its own synchronous transport without
// building an http.Request: what writeRequest's fast path would write for one.
type outRequest struct {
	method string
	target string // the request target (URL.RequestURI)
	host   string // the Host header
	header http.Header
	body   []byte
}

// send is RoundTrip for an outRequest to addr (host:port). The answer may be the
// connection's own (syncConn.resp): read what is needed of it before closing its body.
func (t *syncTransport) send(ctx context.Context, addr string, o *outRequest) (*http.Response, error) {
	return t.roundTrip(ctx, addr, nil, o)
}

// answerFor is the request http.ReadResponse reads an answer to an outRequest for: it only
// looks at the method (a HEAD answer has no body), and keeps it as Response.Request.
func answerFor(method string) *http.Request {
	switch method {
	case http.MethodPost:
		return postRequest
	case http.MethodGet:
		return getRequest
	}
	return &http.Request{Method: method}
}

var postRequest, getRequest = &http.Request{Method: http.MethodPost}, &http.Request{Method: http.MethodGet}

// roundTrip sends req, or o when req is nil, on a connection to host.
func (t *syncTransport) roundTrip(ctx context.Context, host string, req *http.Request, o *outRequest) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := t.get(ctx, host)
	if err != nil {
		return nil, err
	}
	// Cancellation: an expired deadline wakes the blocked read or write.
	stop := alwaysTrue
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.expire)
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = c.nc.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	var rr *http.Request
	if req != nil {
		rr = req
		err = writeRequest(c.bw, req)
	} else {
		rr = answerFor(o.method)
		err = writeOut(c.bw, o)
	}
	if err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	if req == nil {
		if resp := &c.resp; quickAnswerInto(c.br, o.method, resp) {
			resp.Request = rr
			c.body = syncBody{t: t, c: c, host: host, stop: stop, reusable: true, left: resp.ContentLength}
			resp.Body = &c.body
			return resp, nil
		}
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(c.br, rr)
		if err != nil {
			return fail(err)
		}
		// Skip interim answers (100 Continue, 103 Early Hints); 101 would switch
		// protocols, which a webhook never asks for.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		resp.Body.Close()
	}
	reusable := !resp.Close && (req == nil || !req.Close) && (resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0)
	b := &syncBody{}
	if req == nil {
		b = &c.body
	}
	*b = syncBody{ReadCloser: resp.Body, t: t, c: c, host: host, stop: stop, reusable: reusable}
	resp.Body = b
	return resp, nil
}

func alwaysTrue() bool { return true }

// get returns a live idle connection to host, or dials one.
func (t *syncTransport) get(ctx context.Context, host string) (*syncConn, error) {
	now := time.Now()
	for {
		t.mu.Lock()
		list := t.idle[host]
		if len(list) == 0 {
			t.mu.Unlock()
			break
		}
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[host] = list[:len(list)-1]
		t.mu.Unlock()
		// A connection back in the pool for less than peekAfter is not checked: under
		// load that saves a system call per request, and an upstream does not close a
		// keep-alive connection, nor crash and come back, within that time.
		if idle := now.Sub(c.used); idle < peekAfter || (idle < t.idleTimeout && peerOpen(c.nc)) {
			return c, nil
		}
		_ = c.nc.Close()
	}
	dial := t.dialer.DialContext
	if t.dial != nil {
		dial = t.dial
	}
	nc, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	c := &syncConn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 16<<10)}
	c.expire = func() { _ = nc.SetDeadline(time.Unix(1, 0)) }
	return c, nil
}

func (t *syncTransport) put(host string, c *syncConn) {
	if c.br.Buffered() > 0 { // bytes after the answer: the stream is out of step
		_ = c.nc.Close()
		return
	}
	c.used = time.Now()
	t.mu.Lock()
	if len(t.idle[host]) < t.maxIdle {
		t.idle[host] = append(t.idle[host], c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		_ = c.nc.Close()
	}
}

// CloseIdleConnections closes the pooled connections.
func (t *syncTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*syncConn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			_ = c.nc.Close()
		}
	}
}

// syncBody hands the connection back once the answer has been read to the end. Its body
// is ReadCloser's, or, when that is nil (an answer quickAnswer read), the next left bytes
// on the connection.
type syncBody struct {
	io.ReadCloser
	left     int64
	t        *syncTransport
	c        *syncConn
	host     string
	stop     func() bool
	reusable bool
	eof      bool
	closed   bool
}

func (b *syncBody) Read(p []byte) (int, error) {
	if b.ReadCloser == nil {
		return b.readDirect(p)
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// readDirect reads the rest of a Content-Length body from the connection, failing as
// net/http's body reader does when the connection ends early.
func (b *syncBody) readDirect(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.left == 0 {
		b.eof = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.c.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		if b.left > 0 {
			err = io.ErrUnexpectedEOF
		} else {
			err = nil
		}
	}
	return n, err
}

func (b *syncBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	if b.ReadCloser != nil {
		err = b.ReadCloser.Close()
	}
	// stop reports false when the context already fired: the deadline may be set.
	if b.stop() && b.eof && b.reusable && err == nil {
		b.t.put(b.host, b.c)
		return nil
	}
	_ = b.c.nc.Close()
	return err
}

// writeRequest serialises req like req.Write, but directly, for the requests the proxy
// makes (known length, a body that writes itself, no trailers); anything else goes to
// req.Write. It skips fmt and the sorting of header keys, which the upstream ignores.
// Header names and values come from a request net/http already parsed, or from faults that
// keep them well-formed.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	body, inMemory := req.Body.(io.WriterTo)
	if req.Body != nil && req.Body != http.NoBody && !inMemory || req.ContentLength < 0 ||
		len(req.TransferEncoding) > 0 || len(req.Trailer) > 0 || req.Close || req.URL.Opaque != "" {
		return req.Write(w)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	writeHeader(w, req.Header)
	if req.ContentLength > 0 || !bodylessMethod(req.Method) {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(req.ContentLength, 10))
		w.WriteString("\r\n")
	}
	if _, err := w.WriteString("\r\n"); err != nil {
		return err
	}
	if req.ContentLength > 0 {
		n, err := body.WriteTo(w)
		if err != nil {
			return err
		}
		if n != req.ContentLength { // the connection is closed on error: nothing half-sent is reused
			return fmt.Errorf("sync transport: body of %d bytes, Content-Length %d", n, req.ContentLength)
		}
	}
	return nil
}

// writeOut writes o as writeRequest's fast path writes the equivalent http.Request.
func writeOut(w *bufio.Writer, o *outRequest) error {
	w.WriteString(o.method)
	w.WriteByte(' ')
	w.WriteString(o.target)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(o.host)
	w.WriteString("\r\n")
	writeHeader(w, o.header)
	if len(o.body) > 0 || !bodylessMethod(o.method) {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(o.body)))
		w.WriteString("\r\n")
	}
	if _, err := w.WriteString("\r\n"); err != nil {
		return err
	}
	if len(o.body) > 0 {
		_, err := w.Write(o.body)
		return err
	}
	return nil
}

// writeHeader writes the header fields of a request writeRequest or writeOut sends: all but
// those they write themselves or never send, and no empty User-Agent.
func writeHeader(w *bufio.Writer, h http.Header) {
	for k, vs := range h {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			continue
		}
		for _, v := range vs {
			if k == "User-Agent" && v == "" {
				continue
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				continue // never a line break into the request (net/http's Request.Write refuses it too)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
}

// bodylessMethod reports whether a request with this method and no body is sent without
// Content-Length (as net/http does).
func bodylessMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT":
		return true
	}
	return false
}
