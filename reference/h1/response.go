package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// bufferBeforeFraming is how much of a body is held before the headers go out: a handler that
// writes no more than this gets a Content-Length, a longer one chunked encoding.
const bufferBeforeFraming = 4 << 10

// Response is the http.ResponseWriter of one request; one per connection, reused.
type Response struct {
	c      *conn
	req    *http.Request
	header http.Header
	rb     requestBody

	status      int
	wroteHeader bool // WriteHeader called (or implied)
	sentHeader  bool // the header is in c.bw
	declared    int64
	written     int64 // what the handler wrote, counting a write refused for going past declared
	sent        int64 // what went out (or is held to go out) of the body
	chunked     bool
	closeAfter  bool
	buf         []byte
	err         error
	lastPOST    bool
	keys        []string

	// The header as it was when WriteHeader ran (net/http's snapshot): the fields the framing
	// does not decide, written out, and what the framing needs to know of the others.
	fields      []byte
	clValue     string   // the handler's valid Content-Length, trimmed
	te          string   // the handler's Transfer-Encoding, if any
	connection  []string // the handler's Connection values
	hasType     bool
	hasEncoding bool
	hasDate     bool

	watching bool
	watchEnd chan struct{}
	gone     atomic.Bool
}

func (w *Response) reset(req *http.Request) {
	clear(w.header)
	w.req = req
	w.rb = requestBody{w: w, rc: req.Body, length: req.ContentLength}
	w.status, w.wroteHeader, w.sentHeader = 0, false, false
	w.declared, w.written, w.sent, w.chunked, w.err = -1, 0, 0, false, nil
	w.closeAfter = req.Close // ReadRequest's: Connection: close, or HTTP/1.0 without keep-alive
	w.buf = w.buf[:0]
	w.lastPOST = req.Method == http.MethodPost
	w.watching = false
}

// Header is the response header. As with net/http, changes after WriteHeader (or the first
// Write) have no effect.
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
	w.snapshot()
}

// snapshot takes the header as it is now: the fields the framing does not decide are written
// out at once (sorted, invalid names dropped, CR and LF in values made spaces, as net/http
// writes them), the others are noted for sendHeader.
func (w *Response) snapshot() {
	h := w.header
	allowed := bodyAllowed(w.status)
	w.clValue, w.te, w.connection = "", "", w.connection[:0]
	w.hasType, w.hasEncoding, w.hasDate = false, false, false
	if cl := h["Content-Length"]; len(cl) > 0 && allowed {
		v := textproto.TrimString(cl[0])
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.declared, w.clValue = n, v
		} else {
			w.c.s.logf("h1: invalid Content-Length of %q", cl[0])
		}
	}
	if te := h["Transfer-Encoding"]; len(te) > 0 && te[0] != "" {
		w.te = te[0]
	}
	if v, ok := h["Connection"]; ok {
		w.connection = append(w.connection, v...)
		if len(v) == 0 {
			w.connection = append(w.connection, "")
		}
	}
	if ce := h["Content-Encoding"]; len(ce) > 0 && ce[0] != "" {
		w.hasEncoding = true
	}
	_, w.hasType = h["Content-Type"]
	if !allowed && w.status == http.StatusNotModified {
		w.hasType = true // suppressed below: no type to sniff
	}
	w.keys = w.keys[:0]
	for k := range h {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	w.fields = w.fields[:0]
	for _, k := range w.keys {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue // the framing's
		case "Content-Type":
			if w.status == http.StatusNotModified {
				continue // net/http suppresses it on 304
			}
		case "Date":
			w.hasDate = true
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			w.fields = appendField(w.fields, k, v)
		}
	}
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, cleanValue(v)...)
	return append(b, "\r\n"...)
}

// cleanValue is v as net/http writes a header value: CR and LF made spaces, then trimmed.
func cleanValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	return textproto.TrimString(v)
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

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
	w.written += int64(len(p)) // as net/http counts: once past the length, every write fails
	if w.declared >= 0 && w.written > w.declared {
		return 0, http.ErrContentLength
	}
	w.sent += int64(len(p))
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
	if len(p) == 0 || w.req.Method == http.MethodHead {
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

// sendHeader puts the status line and the header into the write buffer, deciding the framing
// as net/http's server does. final says whether the whole body is in w.buf; sniff is the
// body's start, to sniff its type from.
func (w *Response) sendHeader(final bool, sniff []byte) {
	w.sentHeader = true
	bw := w.c.bw
	status := w.status
	allowed := bodyAllowed(status)
	isHEAD := w.req.Method == http.MethodHead
	http11 := w.req.ProtoAtLeast(1, 1)
	hasTE := w.te != ""
	autoLength := -1
	if final && !hasTE && allowed && w.declared < 0 && (!isHEAD || len(w.buf) > 0) {
		autoLength = len(w.buf)
	}
	if w.declared >= 0 && hasTE && !asciiEqualFold(w.te, "identity") {
		w.declared, w.clValue = -1, "" // the length is ignored with a transfer coding
	}
	hasCL := w.declared >= 0 || autoLength >= 0
	var setConnection string
	if !http11 && hasToken(w.req.Header.Get("Connection"), "keep-alive") && (isHEAD || hasCL || !allowed) {
		if len(w.connection) == 0 {
			setConnection = "keep-alive"
		}
	} else if !http11 || w.req.Close {
		w.closeAfter = true
	}
	if len(w.connection) > 0 && w.connection[0] == "close" || w.c.s.closing.Load() {
		w.closeAfter = true
	}
	if w.rb.settle() {
		setConnection = "close" // too much body left unread: net/http says so
	}
	switch {
	case isHEAD || !allowed || hasCL:
	case http11 && asciiEqualFold(w.te, "identity"):
		w.closeAfter = true // the body ends with the connection
	case http11:
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the body ends with the connection
	}
	dropConnection := w.closeAfter && !(len(w.connection) > 0 && hasToken(w.connection[0], "close")) &&
		status != http.StatusSwitchingProtocols
	if dropConnection && http11 {
		setConnection = "close"
	}

	bw.WriteString(statusLine(status))
	bw.Write(w.fields)
	if !dropConnection {
		for _, v := range w.connection {
			bw.WriteString("Connection: ")
			bw.WriteString(cleanValue(v))
			bw.WriteString("\r\n")
		}
	}
	if w.clValue != "" && !w.chunked {
		bw.WriteString("Content-Length: ")
		bw.WriteString(w.clValue)
		bw.WriteString("\r\n")
	}
	if autoLength >= 0 {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(autoLength))
		bw.WriteString("\r\n")
	}
	if allowed && !w.hasType && !w.hasEncoding && !hasTE && len(sniff) > 0 {
		bw.WriteString("Content-Type: ")
		bw.WriteString(http.DetectContentType(sniff))
		bw.WriteString("\r\n")
	}
	if !w.hasDate {
		bw.WriteString("Date: ")
		bw.Write(date())
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if setConnection != "" {
		bw.WriteString("Connection: ")
		bw.WriteString(setConnection)
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
}

func hasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
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
	_ = w.writeBody(w.buf)
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
	if w.declared >= 0 && w.sent < w.declared && w.req.Method != http.MethodHead && bodyAllowed(w.status) {
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

// SetReadDeadline sets the connection's read deadline (http.ResponseController uses it), for
// this request only.
func (w *Response) SetReadDeadline(t time.Time) error { return w.c.setReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline (http.ResponseController uses it), for
// this request only.
func (w *Response) SetWriteDeadline(t time.Time) error { return w.c.setWriteDeadline(t) }

// Hijack hands the connection to the handler, with what is buffered of it.
func (w *Response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.stopWatch()
	c := w.c
	if !c.hijacked.CompareAndSwap(false, true) {
		return nil, nil, http.ErrHijacked
	}
	c.s.forget(c) // the handler's now: Shutdown neither waits for it nor closes it
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
	if w.watching || w.c.br.Buffered() > 0 || w.c.cr.hasByte || !w.rb.done() {
		return
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

func (w *Response) stopWatch() {
	if !w.watching {
		return
	}
	_ = w.c.nc.SetReadDeadline(aLongTimeAgo)
	<-w.watchEnd
	w.watching = false
	w.c.readDeadline = aLongTimeAgo // restored before the next read
	if w.gone.Load() {
		w.closeAfter = true
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// requestBody is what a handler reads as the request body (net/http's body, under the
// server's own wrapper): it sends 100 Continue on the first read when the client asked for
// it, and on Close reads what is left of a small body and leaves a large one unread, as
// net/http does, instead of reading it all.
type requestBody struct {
	w            *Response
	rc           io.ReadCloser // http.ReadRequest's body
	length       int64         // its Content-Length; -1: chunked
	read         int64
	expect       bool // send 100 Continue on the first read
	sentContinue bool
	sawEOF       bool
	closed       bool
	failed       bool // a read error other than EOF (the connection cannot go on)
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.expect && !b.sentContinue && !b.w.sentHeader && !b.sawEOF {
		b.sentContinue = true
		b.w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := b.w.c.bw.Flush(); err != nil {
			b.failed = true
			return 0, err
		}
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		b.sawEOF = true
	case err != nil:
		b.failed = true
	}
	return n, err
}

func (b *requestBody) Close() error {
	if b.closed {
		return nil
	}
	if !b.sawEOF && b.mayDrain() {
		_, _ = io.CopyN(io.Discard, b, maxPostHandlerRead) // Read notes the EOF, if it comes
	}
	b.closed = true
	return nil
}

// mayDrain: what is left of the body may be read to its end (not too much of it, and the
// client is sending it).
func (b *requestBody) mayDrain() bool {
	if b.failed || b.expect && !b.sentContinue {
		return false
	}
	return b.length < 0 || b.length-b.read <= maxPostHandlerRead
}

// done reports whether the body has been read to its end.
func (b *requestBody) done() bool {
	return b.sawEOF || b.rc == http.NoBody || b.rc == nil || b.length >= 0 && b.read >= b.length
}

// settle readies the connection for its next request once the response goes out: it reads
// what the handler left of the body, up to maxPostHandlerRead, or marks the connection to
// close after the response. tooBig: the body left was too large (the answer says so).
func (b *requestBody) settle() (tooBig bool) {
	w := b.w
	if b.rc == nil || b.rc == http.NoBody {
		return false
	}
	if b.expect && !b.sentContinue {
		// The client waits for a 100 Continue that never came: it may or may not send the
		// body now, so the connection cannot carry another request.
		if !b.sawEOF {
			w.closeAfter = true
		}
		return false
	}
	if w.closeAfter || b.sawEOF {
		return false
	}
	switch {
	case b.failed:
		w.closeAfter = true
	case b.closed:
		w.closeAfter = true // closed with its rest unread
	case b.length >= 0 && b.length-b.read >= maxPostHandlerRead:
		tooBig = true
	default:
		n, err := io.CopyN(io.Discard, b, maxPostHandlerRead+1)
		switch {
		case err == nil || n > maxPostHandlerRead:
			tooBig = true
		case err != io.EOF:
			w.closeAfter = true
		}
	}
	if tooBig {
		w.closeAfter = true
	}
	return tooBig
}
