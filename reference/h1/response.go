package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// bufferBeforeFraming is how much of a body is held before the headers go out: a handler that
// writes no more than this gets a Content-Length, a longer one chunked encoding.
const bufferBeforeFraming = 4 << 10

// Response is the http.ResponseWriter of one request; one per connection, reused.
type Response struct {
	c      *conn
	req    *http.Request
	body   io.ReadCloser // the request body as read, under any wrapper
	header http.Header
	ecr    expectContinueReader

	status      int
	wroteHeader bool // WriteHeader called (or implied)
	sentHeader  bool // the header is in c.bw
	declared    int64
	written     int64
	chunked     bool
	closeAfter  bool
	buf         []byte
	err         error
	lastPOST    bool
	keys        []string

	watching bool
	watchEnd chan struct{}
	gone     atomic.Bool
}

func (w *Response) reset(req *http.Request) {
	clear(w.header)
	w.req, w.body = req, req.Body
	w.ecr = expectContinueReader{}
	w.status, w.wroteHeader, w.sentHeader = 0, false, false
	w.declared, w.written, w.chunked, w.err = -1, 0, false, nil
	w.closeAfter = req.Close // ReadRequest's: Connection: close, or HTTP/1.0 without keep-alive
	w.buf = w.buf[:0]
	w.lastPOST = req.Method == http.MethodPost
	w.watching = false
}

// Header is the response header, to set before WriteHeader.
func (w *Response) Header() http.Header { return w.header }

// WriteHeader sends the status with the header (once: later calls are ignored, as in
// net/http). A 1xx status other than 101 is not supported and is ignored.
func (w *Response) WriteHeader(code int) {
	if w.wroteHeader || w.isHijacked() {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return
	}
	w.wroteHeader, w.status = true, code
	if cl := w.header["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseInt(textproto.TrimString(cl[0]), 10, 64); err == nil && n >= 0 {
			w.declared = n
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == http.StatusNoContent || status == http.StatusNotModified)
}

// Write adds p to the body.
func (w *Response) Write(p []byte) (int, error) {
	if w.isHijacked() {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		if !w.sentHeader && len(w.buf)+len(p) <= bufferBeforeFraming {
			w.buf = append(w.buf, p...)
		}
		return len(p), nil
	}
	if !w.sentHeader {
		if len(w.buf)+len(p) <= bufferBeforeFraming {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		sniff := w.buf
		if len(sniff) == 0 {
			sniff = p
		}
		w.sendHeader(false, sniff)
		if err := w.writeBody(w.buf); err != nil {
			return 0, err
		}
		w.buf = w.buf[:0]
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *Response) writeBody(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(p) == 0 {
		return nil
	}
	bw := w.c.bw
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	bw.Write(p)
	if w.chunked {
		bw.WriteString("\r\n")
	}
	if _, err := bw.Write(nil); err != nil {
		w.err = err
	}
	return w.err
}

// sendHeader puts the status line and the header into the write buffer. final says whether
// the whole body is in w.buf; sniff is the body's start when the type must be sniffed.
func (w *Response) sendHeader(final bool, sniff []byte) {
	w.sentHeader = true
	h := w.header
	bw := w.c.bw
	status := w.status
	allowed := bodyAllowed(status)
	delete(h, "Transfer-Encoding") // the framing is this server's
	var setLength string
	switch {
	case !allowed:
		delete(h, "Content-Length")
	case w.declared >= 0:
	case final:
		if w.req.Method != http.MethodHead || len(w.buf) > 0 {
			setLength = strconv.Itoa(len(w.buf))
		}
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the body ends with the connection
	}
	if v, ok := h["Connection"]; ok && len(v) > 0 && hasToken(v[0], "close") {
		w.closeAfter = true
	}
	if w.c.s.closing.Load() {
		w.closeAfter = true
	}
	bw.WriteString(statusLine(status))
	w.keys = w.keys[:0]
	for k := range h {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	for _, k := range w.keys {
		if !validFieldName(k) {
			continue
		}
		if w.closeAfter && k == "Connection" {
			continue
		}
		for _, v := range h[k] {
			bw.WriteString(k)
			bw.WriteString(": ")
			writeValue(bw, v)
			bw.WriteString("\r\n")
		}
	}
	if setLength != "" {
		bw.WriteString("Content-Length: ")
		bw.WriteString(setLength)
		bw.WriteString("\r\n")
	}
	if _, ok := h["Content-Type"]; !ok && allowed && len(sniff) > 0 {
		bw.WriteString("Content-Type: ")
		bw.WriteString(http.DetectContentType(sniff))
		bw.WriteString("\r\n")
	}
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(date())
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.closeAfter && w.req.ProtoAtLeast(1, 1):
		bw.WriteString("Connection: close\r\n")
	case !w.closeAfter && !w.req.ProtoAtLeast(1, 1):
		if _, ok := h["Connection"]; !ok {
			bw.WriteString("Connection: keep-alive\r\n")
		}
	}
	bw.WriteString("\r\n")
}

func writeValue(bw *bufio.Writer, v string) {
	v = textproto.TrimString(v)
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(v)
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if asciiEqualFold(textproto.TrimString(t), token) {
			return true
		}
	}
	return false
}

var statusLines [600]string

func init() {
	for code := 100; code < 600; code++ {
		if t := http.StatusText(code); t != "" {
			statusLines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
}

func statusLine(code int) string {
	if code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n"
}

// date is the Date header's value, formatted once a second.
type dateValue struct {
	sec int64
	b   []byte
}

var cachedDate atomic.Pointer[dateValue]

func date() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &dateValue{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	cachedDate.Store(d)
	return d.b
}

// sendBuffered sends the header and the body held so far; final: that is the whole body.
func (w *Response) sendBuffered(final bool) {
	w.sendHeader(final, w.buf)
	if w.req.Method != http.MethodHead {
		_ = w.writeBody(w.buf)
	}
	w.buf = w.buf[:0]
}

// finish ends the response after the handler returned.
func (w *Response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sentHeader {
		w.sendBuffered(true)
	}
	if w.chunked && w.err == nil {
		w.c.bw.WriteString("0\r\n\r\n")
	}
	if w.declared >= 0 && w.written < w.declared && w.req.Method != http.MethodHead && bodyAllowed(w.status) {
		w.closeAfter = true // the client waits for bytes that will not come
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
}

// Flush sends what is buffered, the header first if it has not gone out.
func (w *Response) Flush() {
	_ = w.FlushError()
}

// FlushError is Flush, with the write's error (http.ResponseController uses it).
func (w *Response) FlushError() error {
	if w.isHijacked() {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sentHeader {
		w.sendBuffered(false)
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err
}

// SetReadDeadline sets the connection's read deadline (http.ResponseController uses it).
func (w *Response) SetReadDeadline(t time.Time) error { return w.c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline (http.ResponseController uses it).
func (w *Response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// Hijack hands the connection to the handler, with what is buffered of it.
func (w *Response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.stopWatch()
	c := w.c
	if !c.hijacked.CompareAndSwap(false, true) {
		return nil, nil, http.ErrHijacked
	}
	_ = c.nc.SetDeadline(time.Time{})
	// A byte the watching read took is still in c.cr, which c.br reads first.
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

func (w *Response) isHijacked() bool { return w.c.hijacked.Load() }

// WatchClient makes the request's context end when the client closes the connection (or
// sends anything that is not more of this request): net/http does this for every request; h1
// only when a handler asks, once it has read the whole body. It is a no-op while the body is
// still being read.
func (w *Response) WatchClient() {
	if w.watching || w.c.br.Buffered() > 0 || w.c.cr.hasByte {
		return
	}
	if w.body != http.NoBody && w.body != nil {
		// Only a body read to its end leaves the connection to watch.
		if !bodyDone(w.body) {
			return
		}
	}
	w.watching = true
	w.watchEnd = make(chan struct{})
	c := w.c
	go func() {
		defer close(w.watchEnd)
		n, err := c.nc.Read(c.cr.pending[:])
		if n == 1 {
			c.cr.hasByte = true
			return
		}
		if err != nil && !isTimeout(err) {
			w.gone.Store(true)
			c.cancel()
		}
	}()
}

// bodyDone reports whether body has nothing more to read, trying a zero-cost read.
func bodyDone(body io.Reader) bool {
	n, err := body.Read(nil)
	return n == 0 && err == io.EOF
}

func (w *Response) stopWatch() {
	if !w.watching {
		return
	}
	_ = w.c.nc.SetReadDeadline(aLongTimeAgo)
	<-w.watchEnd
	w.watching = false
	if w.gone.Load() {
		w.closeAfter = true
	} else {
		_ = w.c.nc.SetReadDeadline(time.Time{})
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// expectContinueReader sends 100 Continue when the handler first reads the body.
type expectContinueReader struct {
	body   io.ReadCloser
	w      *Response
	sent   bool
	sawEOF bool
}

func (e *expectContinueReader) Read(p []byte) (int, error) {
	if !e.sent && !e.w.sentHeader {
		e.sent = true
		e.w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := e.w.c.bw.Flush(); err != nil {
			return 0, err
		}
	}
	n, err := e.body.Read(p)
	if errors.Is(err, io.EOF) {
		e.sawEOF = true
	}
	return n, err
}

func (e *expectContinueReader) Close() error { return e.body.Close() }
