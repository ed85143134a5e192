package h1_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/h1"
)

// ioTimeout bounds every wait of these tests: nothing should take near it.
const ioTimeout = 5 * time.Second

// ---- servers ----

type opts struct {
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	maxHeaderBytes    int
	errorLog          *log.Logger
}

func (o opts) logger() *log.Logger {
	if o.errorLog != nil {
		return o.errorLog
	}
	return log.New(io.Discard, "", 0)
}

// kind is a server implementation under test: h1's, or net/http's as the reference.
type kind struct {
	name string
	h1   bool
}

var kinds = []kind{{"h1", true}, {"net-http", false}}

// withPing answers GET /ping with "pong" before h sees anything: ping needs it.
func withPing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			io.WriteString(w, "pong")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (k kind) start(t *testing.T, h http.Handler, o opts) string {
	t.Helper()
	h = withPing(h)
	if k.h1 {
		_, addr, _ := startH1(t, h, o)
		return addr
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ReadHeaderTimeout = o.readHeaderTimeout
	ts.Config.IdleTimeout = o.idleTimeout
	ts.Config.MaxHeaderBytes = o.maxHeaderBytes
	ts.Config.ErrorLog = o.logger()
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

// startH1 serves h with an h1.Server on a loopback port; serveErr waits for Serve's result.
func startH1(t *testing.T, h http.Handler, o opts) (s *h1.Server, addr string, serveErr func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s = &h1.Server{Handler: withPing(h), ReadHeaderTimeout: o.readHeaderTimeout, IdleTimeout: o.idleTimeout,
		MaxHeaderBytes: o.maxHeaderBytes, ErrorLog: o.logger()}
	done := make(chan struct{})
	var serr error
	go func() {
		serr = s.Serve(ln)
		close(done)
	}()
	serveErr = func() error {
		select {
		case <-done:
			return serr
		case <-time.After(ioTimeout):
			return errors.New("Serve did not return")
		}
	}
	t.Cleanup(func() {
		s.Close()
		if err := serveErr(); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v, want http.ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String(), serveErr
}

// ---- a raw HTTP/1.x client ----

type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) write(s string) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// resp reads one response to a request of the given method.
func (c *client) resp(method string) *rawResp {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	r, err := readResp(c.br, method)
	if err != nil {
		c.t.Fatalf("reading the response: %v", err)
	}
	return r
}

// closed reports whether the server closed the connection (no more bytes, then EOF or a
// reset) before ioTimeout.
func (c *client) closed() error {
	_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	b, err := c.br.Peek(1)
	switch {
	case err == nil:
		rest, _ := c.br.Peek(c.br.Buffered())
		return fmt.Errorf("connection still open, it sent %q", rest)
	case errors.Is(err, io.EOF) || isReset(err):
		return nil
	default:
		return fmt.Errorf("connection not closed: %v (%q)", err, b)
	}
}

func (c *client) expectClosed() {
	c.t.Helper()
	if err := c.closed(); err != nil {
		c.t.Error(err)
	}
}

// ping checks that the connection still carries requests.
func (c *client) ping() {
	c.t.Helper()
	c.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.resp("GET"); r.code != 200 || r.body != "pong" {
		c.t.Errorf("ping: got %v", r)
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type rawResp struct {
	proto   string
	code    int
	reason  string
	header  http.Header
	body    string
	framing string // length, chunked, close or none
}

// readResp reads a response as it is on the wire, framing included.
func readResp(br *bufio.Reader, method string) (*rawResp, error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return nil, fmt.Errorf("status line: %w", err)
	}
	proto, rest, ok1 := strings.Cut(line, " ")
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if !ok1 || err != nil || len(codeText) != 3 {
		return nil, fmt.Errorf("malformed status line %q", line)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	r := &rawResp{proto: proto, code: code, reason: reason, header: http.Header(mh)}
	var body []byte
	switch te, cl := r.header["Transfer-Encoding"], r.header["Content-Length"]; {
	case code < 200 || code == 204 || code == 304 || method == "HEAD":
		r.framing = "none"
	case len(te) > 0:
		if len(te) != 1 || te[0] != "chunked" || len(cl) > 0 {
			return r, fmt.Errorf("bad framing: Transfer-Encoding %q, Content-Length %q", te, cl)
		}
		r.framing = "chunked"
		body, err = io.ReadAll(httputil.NewChunkedReader(br))
		if err == nil {
			_, err = tp.ReadMIMEHeader() // the (empty) trailer section
		}
	case len(cl) > 0:
		r.framing = "length"
		n, perr := strconv.ParseInt(cl[0], 10, 64)
		if len(cl) != 1 || perr != nil || n < 0 {
			return r, fmt.Errorf("bad Content-Length %q", cl)
		}
		body = make([]byte, n)
		var got int
		got, err = io.ReadFull(br, body)
		body = body[:got]
	default:
		r.framing = "close"
		body, err = io.ReadAll(br)
		if isReset(err) {
			err = nil
		}
	}
	r.body = string(body)
	if err != nil {
		return r, fmt.Errorf("body (%s): %w", r.framing, err)
	}
	return r, nil
}

// String is r in a form to compare: the Date header's value and the protocol version are left
// out (see runDiff for the version).
func (r *rawResp) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s [%s]", r.code, r.reason, r.framing)
	keys := make([]string, 0, len(r.header))
	for k := range r.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vv := r.header[k]
		if k == "Date" {
			vv = []string{"<date>"}
		}
		fmt.Fprintf(&b, "\n  %s: %q", k, vv)
	}
	body := r.body
	if len(body) > 120 {
		body = fmt.Sprintf("%s... (%d bytes)", body[:120], len(body))
	}
	fmt.Fprintf(&b, "\n  body %q", body)
	return b.String()
}

// ---- the handler the differential tests share ----

func qint(r *http.Request, name string, def int) int {
	if v := r.URL.Query().Get(name); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	return def
}

// writeN writes n bytes of x in writes of at most chunk bytes.
func writeN(w io.Writer, n, chunk int) {
	if chunk <= 0 {
		chunk = n
	}
	p := bytes.Repeat([]byte("x"), chunk)
	for n > 0 {
		k := min(n, chunk)
		if _, err := w.Write(p[:k]); err != nil {
			return
		}
		n -= k
	}
}

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s len=%d te=%q body=%q trailer=%q", r.Method, r.ContentLength, r.TransferEncoding, b, r.Trailer)
	})
	mux.HandleFunc("/reqinfo", func(w http.ResponseWriter, r *http.Request) {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range r.Header {
				if !yield(k) {
					return
				}
			}
		})
		fmt.Fprintf(w, "%s %s %s host=%q uri=%q keys=%q close=%v remote=%v ctx=%v",
			r.Method, r.URL.Path, r.Proto, r.Host, r.RequestURI, keys, r.Close, r.RemoteAddr != "", r.Context().Err())
	})
	mux.HandleFunc("/noread", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not read") })
	mux.HandleFunc("/closebody", func(w http.ResponseWriter, r *http.Request) {
		r.Body.Close()
		io.WriteString(w, "closed")
	})
	mux.HandleFunc("/readclose", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := r.Body.Close()
		fmt.Fprintf(w, "read %d, close %v", len(b), err)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		writeN(w, qint(r, "n", 0), qint(r, "c", 0))
	})
	mux.HandleFunc("/cl", func(w http.ResponseWriter, r *http.Request) {
		n := qint(r, "n", 0)
		w.Header().Set("Content-Length", strconv.Itoa(n))
		writeN(w, n, qint(r, "c", 0))
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if v := q.Get("type"); v != "" {
			w.Header().Set("Content-Type", v)
		}
		if v := q.Get("cl"); v != "" {
			w.Header().Set("Content-Length", v)
		}
		w.WriteHeader(qint(r, "code", 200))
		if v := q.Get("body"); v != "" {
			io.WriteString(w, v)
		}
	})
	mux.HandleFunc("/sniff", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!DOCTYPE html><p>hello")
	})
	mux.HandleFunc("/typed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/x-custom")
		io.WriteString(w, "<!DOCTYPE html><p>hello")
	})
	mux.HandleFunc("/encoded", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	})
	mux.HandleFunc("/crlf", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Crlf"] = []string{"a\r\nb", "c\nd", "e\rf", " g\r\n", "\r\nX-Injected: yes"}
		h["X-Spaces"] = []string{"  padded\t "}
		h["Bad Key"] = []string{"dropped"}
		h["X(bad)"] = []string{"dropped"}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/late-cl", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
		w.Header().Set("Content-Length", "7") // after the header was written: no effect
		w.Header().Set("X-Late", "1")         // nor this
	})
	mux.HandleFunc("/conn-close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	})
	mux.HandleFunc("/rcflush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
		io.WriteString(w, "b")
	})
	return mux
}

// ---- differential tests ----

type diffCase struct {
	name    string
	req     string   // raw bytes, written at once
	methods []string // the method of each request answered, in order
	closes  bool     // the server closes the connection after the last answer
	check   func(t *testing.T, who string, rs []*rawResp)
}

// runDiff sends each case's bytes to an h1.Server and to net/http's server with the same
// handler and compares what comes back, framing included (Date only for its presence). h1
// answers every request with an HTTP/1.1 status line, as RFC 9110 section 6.2 recommends, where
// net/http answers an HTTP/1.0 request with HTTP/1.0: runDiff checks h1's version on its own.
func runDiff(t *testing.T, h http.Handler, o opts, cases []diffCase) {
	t.Helper()
	addrs := make([]string, len(kinds))
	for i, k := range kinds {
		addrs[i] = k.start(t, h, o)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2][]*rawResp
			for i, k := range kinds {
				c := dial(t, addrs[i])
				c.write(tc.req)
				for j, m := range tc.methods {
					_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
					r, err := readResp(c.br, m)
					if err != nil {
						t.Fatalf("%s: response %d: %v (so far %v)", k.name, j, err, r)
					}
					if k.h1 && r.proto != "HTTP/1.1" {
						t.Errorf("h1: response %d: version %q", j, r.proto)
					}
					if _, ok := r.header["Date"]; !ok && r.code < 400 {
						t.Errorf("%s: response %d: no Date", k.name, j)
					}
					got[i] = append(got[i], r)
				}
				if tc.closes {
					if err := c.closed(); err != nil {
						t.Errorf("%s: %v", k.name, err)
					}
				} else {
					c.ping()
				}
				if tc.check != nil {
					tc.check(t, k.name, got[i])
				}
			}
			for j := range got[0] {
				if a, b := got[0][j].String(), got[1][j].String(); a != b {
					t.Errorf("response %d differs:\nh1:       %s\nnet/http: %s", j, a, b)
				}
			}
		})
	}
}

func header(t *testing.T, who string, r *rawResp, key, want string) {
	t.Helper()
	if got := strings.Join(r.header[key], ", "); got != want {
		t.Errorf("%s: %s: %q, want %q", who, key, got, want)
	}
}

func framing(t *testing.T, who string, r *rawResp, want string) {
	t.Helper()
	if r.framing != want {
		t.Errorf("%s: framing %s, want %s", who, r.framing, want)
	}
}

const (
	get  = "GET"
	head = "HEAD"
	post = "POST"
)

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	runDiff(t, testMux(), opts{}, []diffCase{
		{name: "pipelined", req: "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
			"HEAD /sniff HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /reqinfo?a=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n",
			methods: []string{get, post, head, get}, check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].body != "pong" || !strings.Contains(rs[1].body, `body="hello"`) || rs[2].body != "" {
					t.Errorf("%s: %v", who, rs)
				}
				header(t, who, rs[2], "Content-Length", "23")
				header(t, who, rs[2], "Content-Type", "text/html; charset=utf-8")
			}},
		{name: "http10", req: "GET /reqinfo HTTP/1.0\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Connection", "")
				framing(t, who, rs[0], "length")
			}},
		{name: "http10-keep-alive", req: "GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Connection", "keep-alive")
				header(t, who, rs[0], "Content-Length", "4")
			}},
		{name: "http10-keep-alive-twice", req: "GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
			"GET /reqinfo HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", methods: []string{get, get}},
		{name: "http10-keep-alive-big", req: "GET /big?n=5000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			methods: []string{get}, closes: true, check: func(t *testing.T, who string, rs []*rawResp) {
				framing(t, who, rs[0], "close")
				if len(rs[0].body) != 5000 {
					t.Errorf("%s: body of %d bytes", who, len(rs[0].body))
				}
			}},
		{name: "http10-keep-alive-head-big", req: "HEAD /big?n=5000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			methods: []string{head}},
		{name: "http10-keep-alive-declared", req: "GET /cl?n=5000&c=1000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			methods: []string{get}},
		{name: "http10-keep-alive-handler-close", req: "GET /conn-close HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			methods: []string{get}, closes: true},
		{name: "connection-close", req: "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
			"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Connection", "close") }},
		{name: "handler-connection-close", req: "GET /conn-close HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			closes: true, check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Connection", "close") }},
		{name: "crlf-after-post", req: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n" +
			"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{post, get}},
	})
}

func TestKeepAliveSequential(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			var mu sync.Mutex
			remotes := map[string]bool{}
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				remotes[r.RemoteAddr] = true
				mu.Unlock()
				b, _ := io.ReadAll(r.Body)
				fmt.Fprintf(w, "%s:%s", r.URL.Path, b)
			}), opts{})
			c := dial(t, addr)
			for i := range 5 {
				c.write(fmt.Sprintf("POST /r%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n%d", i, i))
				r := c.resp(post)
				if want := fmt.Sprintf("/r%d:%d", i, i); r.code != 200 || r.body != want || r.header.Get("Connection") != "" {
					t.Fatalf("request %d: %v, want body %q", i, r, want)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(remotes) != 1 {
				t.Errorf("requests came from %d remote addresses, want 1: %v", len(remotes), remotes)
			}
		})
	}
}

func chunked(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(p), p)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func TestRequestBodies(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("b", 300<<10)
	mid := strings.Repeat("m", 200<<10)
	runDiff(t, testMux(), opts{}, []diffCase{
		{name: "content-length", req: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
			methods: []string{post}, check: func(t *testing.T, who string, rs []*rawResp) {
				if !strings.Contains(rs[0].body, `len=11 te=[] body="hello world"`) {
					t.Errorf("%s: %q", who, rs[0].body)
				}
			}},
		{name: "chunked", req: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("hello", " ", "world"),
			methods: []string{post}, check: func(t *testing.T, who string, rs []*rawResp) {
				if !strings.Contains(rs[0].body, `len=-1 te=["chunked"] body="hello world"`) {
					t.Errorf("%s: %q", who, rs[0].body)
				}
			}},
		{name: "chunked-trailer", req: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n" +
			"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", methods: []string{post}},
		{name: "empty", req: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", methods: []string{post}},
		{name: "empty-chunked", req: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			methods: []string{post}},
		{name: "no-body", req: "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{post}},
		{name: "unread", req: "POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" +
			"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext", methods: []string{post, post},
			check: func(t *testing.T, who string, rs []*rawResp) {
				if !strings.Contains(rs[1].body, `body="next"`) {
					t.Errorf("%s: %q", who, rs[1].body)
				}
			}},
		{name: "unread-chunked", req: "POST /noread HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("abc", "def") +
			"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext", methods: []string{post, post}},
		{name: "unread-200KiB", req: "POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(mid)) + "\r\n\r\n" + mid,
			methods: []string{post}},
		{name: "unread-200KiB-chunked", req: "POST /noread HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(mid),
			methods: []string{post}},
		// Beyond 256 KiB left unread the connection closes, and the answer says so.
		{name: "unread-300KiB", req: "POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big,
			methods: []string{post}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Connection", "close") }},
		{name: "unread-300KiB-chunked", req: "POST /noread HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(big),
			methods: []string{post}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Connection", "close") }},
		{name: "closed-unread", req: "POST /closebody HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
			methods: []string{post}},
		{name: "read-then-closed", req: "POST /readclose HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
			methods: []string{post}, check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Connection", "")
			}},
		{name: "read-then-closed-chunked", req: "POST /readclose HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("abc"),
			methods: []string{post}},
		{name: "closed-unread-300KiB", req: "POST /closebody HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big,
			methods: []string{post}, closes: true},
		// Closing a body of which most has not even been sent must not wait for it.
		{name: "closed-mostly-unsent", req: "POST /closebody HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" + mid,
			methods: []string{post}, closes: true},
		{name: "bad-chunk", req: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n" +
			"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{post}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Connection", "close") }},
	})
}

func TestResponses(t *testing.T) {
	t.Parallel()
	runDiff(t, testMux(), opts{}, []diffCase{
		{name: "small", req: "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				framing(t, who, rs[0], "length")
				header(t, who, rs[0], "Content-Length", "4")
				header(t, who, rs[0], "Content-Type", "text/plain; charset=utf-8")
			}},
		{name: "empty", req: "GET /status?code=200 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Content-Length", "0")
				header(t, who, rs[0], "Content-Type", "")
			}},
		{name: "not-found", req: "GET /status?code=404&body=nope HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}},
		{name: "unknown-status", req: "GET /status?code=299 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}},
		{name: "big", req: "GET /big?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				framing(t, who, rs[0], "chunked")
				if len(rs[0].body) != 5000 {
					t.Errorf("%s: %d bytes", who, len(rs[0].body))
				}
			}},
		{name: "big-in-pieces", req: "GET /big?n=20000&c=700 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}},
		{name: "declared", req: "GET /cl?n=5000&c=1000 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Content-Length", "5000") }},
		{name: "declared-short", req: "GET /cl?n=3 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}},
		{name: "head", req: "HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{head}},
		{name: "head-empty", req: "HEAD /status?code=200 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{head},
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Content-Length", "") }},
		{name: "head-declared", req: "HEAD /cl?n=10 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{head}},
		{name: "head-big", req: "HEAD /big?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{head},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Content-Length", "")
				header(t, who, rs[0], "Transfer-Encoding", "")
				header(t, who, rs[0], "Content-Type", "text/plain; charset=utf-8")
			}},
		{name: "head-big-in-pieces", req: "HEAD /big?n=6000&c=3000 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{head},
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Content-Length", "") }},
		{name: "head-flush", req: "HEAD /flush HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{head}},
		{name: "head-flush-pipelined", req: "HEAD /flush HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n",
			methods: []string{head, get}},
		{name: "204", req: "GET /status?code=204&body=x&cl=5 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Content-Length", "") }},
		{name: "304", req: "GET /status?code=304&body=x&cl=5&type=text/html HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Content-Length", "")
				header(t, who, rs[0], "Content-Type", "")
			}},
		{name: "sniffed", req: "GET /sniff HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Content-Type", "text/html; charset=utf-8")
			}},
		{name: "sniffed-big", req: "GET /big?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}},
		{name: "typed", req: "GET /typed HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Content-Type", "text/x-custom") }},
		{name: "encoded-not-sniffed", req: "GET /encoded HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) { header(t, who, rs[0], "Content-Type", "") }},
		{name: "crlf-in-values", req: "GET /crlf HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "X-Injected", "")
				header(t, who, rs[0], "Bad Key", "")
			}},
		{name: "content-length-set-late", req: "GET /late-cl HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) {
				header(t, who, rs[0], "Content-Length", "5")
				header(t, who, rs[0], "X-Late", "")
			}},
		{name: "flush", req: "GET /flush HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get},
			check: func(t *testing.T, who string, rs []*rawResp) { framing(t, who, rs[0], "chunked") }},
		{name: "controller-flush", req: "GET /rcflush HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}},
		{name: "flush-http10", req: "GET /flush HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", methods: []string{get}, closes: true},
	})
}

// TestResponseBuffering: h1 holds up to 4 KiB of body before framing, net/http 2 KiB; between
// the two h1 sends a Content-Length where net/http chunks (a deliberate difference).
func TestResponseBuffering(t *testing.T) {
	t.Parallel()
	_, addr, _ := startH1(t, testMux(), opts{})
	c := dial(t, addr)
	for _, tc := range []struct {
		path, framing string
	}{
		{"/big?n=3000", "length"}, {"/big?n=4096&c=1000", "length"}, {"/big?n=4097", "chunked"}, {"/big?n=4097&c=1000", "chunked"},
	} {
		c.write("GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		r := c.resp(get)
		if r.framing != tc.framing || len(r.body) != qint(httptest.NewRequest("GET", tc.path, nil), "n", 0) {
			t.Errorf("%s: %v", tc.path, r)
		}
	}
}

func TestFlushStreams(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		for _, how := range []string{"flusher", "controller"} {
			t.Run(k.name+"/"+how, func(t *testing.T) {
				next := make(chan struct{})
				addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "first")
					if how == "flusher" {
						w.(http.Flusher).Flush()
					} else if err := http.NewResponseController(w).Flush(); err != nil {
						t.Errorf("Flush: %v", err)
					}
					select {
					case <-next:
					case <-time.After(ioTimeout):
					}
					io.WriteString(w, "second")
				}), opts{})
				c := dial(t, addr)
				c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
				tp := textproto.NewReader(c.br)
				if line, err := tp.ReadLine(); err != nil || line != "HTTP/1.1 200 OK" {
					t.Fatalf("status line %q, %v", line, err)
				}
				h, err := tp.ReadMIMEHeader()
				if err != nil || h.Get("Transfer-Encoding") != "chunked" {
					t.Fatalf("header %v, %v", h, err)
				}
				cr := httputil.NewChunkedReader(c.br)
				buf := make([]byte, 5)
				if _, err := io.ReadFull(cr, buf); err != nil || string(buf) != "first" {
					t.Fatalf("before the handler went on: %q, %v", buf, err)
				}
				close(next)
				rest, err := io.ReadAll(cr)
				if err != nil || string(rest) != "second" {
					t.Fatalf("rest %q, %v", rest, err)
				}
				if _, err := tp.ReadMIMEHeader(); err != nil {
					t.Fatal(err)
				}
				c.ping()
			})
		}
	}
}

// TestWriteBeyondContentLength: a write past the declared length fails, and so does every
// write after it (net/http counts the refused bytes as written); the client, short of its
// body, sees the connection close.
func TestWriteBeyondContentLength(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			errs := make(chan []error, 1)
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5")
				var got []error
				for _, p := range []string{"ab", "cdef", "g"} {
					_, err := io.WriteString(w, p)
					got = append(got, err)
				}
				errs <- got
			}), opts{})
			c := dial(t, addr)
			c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
			r, err := readResp(c.br, get)
			got := <-errs
			if got[0] != nil || !errors.Is(got[1], http.ErrContentLength) || !errors.Is(got[2], http.ErrContentLength) {
				t.Errorf("Write errors %v, want [<nil> ErrContentLength ErrContentLength]", got)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) || r == nil || r.body != "ab" || r.header.Get("Content-Length") != "5" {
				t.Errorf("response %v, %v; want 2 of 5 bytes, then the connection closed", r, err)
			}
		})
	}
}

func TestErrorsBeforeHandler(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("v", 6000)
	runDiff(t, testMux(), opts{maxHeaderBytes: 1 << 10}, []diffCase{
		{name: "missing-host", req: "GET /ping HTTP/1.1\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 400 || rs[0].reason != "Bad Request: missing required Host header" {
					t.Errorf("%s: %v", who, rs[0])
				}
			}},
		{name: "missing-host-absolute-uri", req: "GET http://example.com/ping HTTP/1.1\r\n\r\n", methods: []string{get}, closes: true},
		{name: "absolute-uri", req: "GET http://example.com/reqinfo HTTP/1.1\r\nHost: other\r\n\r\n", methods: []string{get}},
		{name: "missing-host-http10", req: "GET /reqinfo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", methods: []string{get}},
		{name: "two-hosts", req: "GET /ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", methods: []string{get}, closes: true},
		{name: "malformed-host", req: "GET /ping HTTP/1.1\r\nHost: a b\r\n\r\n", methods: []string{get}, closes: true},
		{name: "invalid-header-name", req: "GET /ping HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 400 {
					t.Errorf("%s: %v", who, rs[0])
				}
			}},
		{name: "invalid-header-name-2", req: "GET /ping HTTP/1.1\r\nHost: x\r\nX(y): 1\r\n\r\n", methods: []string{get}, closes: true},
		{name: "invalid-header-value", req: "GET /ping HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", methods: []string{get}, closes: true},
		{name: "headers-too-large", req: "GET /ping HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 431 {
					t.Errorf("%s: %v", who, rs[0])
				}
			}},
		{name: "headers-within-slack", req: "GET /ping HTTP/1.1\r\nHost: x\r\nX-Long: " + long[:2000] + "\r\n\r\n", methods: []string{get}},
		{name: "garbage", req: "hello there\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 400 {
					t.Errorf("%s: %v", who, rs[0])
				}
			}},
		{name: "bad-method", req: "G(T /ping HTTP/1.1\r\nHost: x\r\n\r\n", methods: []string{get}, closes: true},
		{name: "http2", req: "GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", methods: []string{get}, closes: true,
			check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 505 {
					t.Errorf("%s: %v", who, rs[0])
				}
			}},
		{name: "http09", req: "GET /ping HTTP/0.9\r\nHost: x\r\n\r\n", methods: []string{get}, closes: true},
		{name: "bad-content-length", req: "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", methods: []string{post}, closes: true},
		{name: "unsupported-transfer-encoding", req: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
			methods: []string{post}, closes: true, check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 501 {
					t.Errorf("%s: %v", who, rs[0])
				}
			}},
		{name: "two-transfer-encodings", req: "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			methods: []string{post}, closes: true},
		{name: "expect-other", req: "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 0\r\n\r\n",
			methods: []string{post}, closes: true, check: func(t *testing.T, who string, rs []*rawResp) {
				if rs[0].code != 417 {
					t.Errorf("%s: %v", who, rs[0])
				}
				header(t, who, rs[0], "Connection", "close")
			}},
		{name: "expect-empty", req: "POST /echo HTTP/1.1\r\nHost: x\r\nExpect:\r\nContent-Length: 2\r\n\r\nhi", methods: []string{post}},
		{name: "expect-continue-http10", req: "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
			methods: []string{post}},
		{name: "expect-continue-no-body", req: "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
			methods: []string{post}},
	})
}

func TestExpectContinue(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name+"/read", func(t *testing.T) {
			entered, release := make(chan struct{}, 1), make(chan struct{})
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/wait" {
					entered <- struct{}{}
					<-release
				}
				b, err := io.ReadAll(r.Body)
				fmt.Fprintf(w, "got %q %v", b, err)
			}), opts{})
			c := dial(t, addr)
			c.write("POST /wait HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
			waitFor(t, entered, "the handler")
			// Nothing goes out before the handler reads the body.
			_ = c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if b, err := c.br.Peek(1); !isTimeout(err) {
				t.Fatalf("before the handler read: %q, %v", b, err)
			}
			close(release)
			if r := c.resp(post); r.code != 100 || r.reason != "Continue" || len(r.header) != 0 {
				t.Fatalf("got %v, want 100 Continue", r)
			}
			c.write("hello")
			if r := c.resp(post); r.code != 200 || r.body != `got "hello" <nil>` || r.header.Get("Connection") != "" {
				t.Fatalf("got %v", r)
			}
			// The same with a chunked body, and with the handler reading at once.
			c.write("POST /now HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
			if r := c.resp(post); r.code != 100 {
				t.Fatalf("got %v, want 100 Continue", r)
			}
			c.write(chunked("abc"))
			if r := c.resp(post); r.code != 200 || r.body != `got "abc" <nil>` {
				t.Fatalf("got %v", r)
			}
			c.ping()
		})
		t.Run(k.name+"/unread", func(t *testing.T) {
			addr := k.start(t, testMux(), opts{})
			for _, te := range []string{"Content-Length: 5", "Transfer-Encoding: chunked"} {
				c := dial(t, addr)
				c.write("POST /noread HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + te + "\r\n\r\n")
				r := c.resp(post)
				if r.code != 200 || r.body != "not read" || r.header.Get("Connection") != "close" {
					t.Errorf("%s: got %v", te, r)
				}
				if k.h1 {
					// net/http goes on reading the body the client was never asked for
					// (until the client sends it or gives up); h1 closes at once.
					c.expectClosed()
				}
			}
		})
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(ioTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestReadHeaderTimeout: a header that does not arrive in time ends the connection. The
// partial line read when the deadline strikes reaches net/http's parser as a line (bufio drops
// the error with it), so both servers may answer 400 before closing.
func TestReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	const d = 100 * time.Millisecond
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			addr := k.start(t, testMux(), opts{readHeaderTimeout: d})
			for _, first := range []bool{true, false} {
				c := dial(t, addr)
				if !first {
					c.ping()
				}
				t0 := time.Now()
				c.write("GET /ping HTTP/1.1\r\nHo")
				_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
				if _, err := c.br.Peek(1); err == nil {
					if r := c.resp(get); r.code != http.StatusBadRequest {
						t.Errorf("got %v", r)
					}
				}
				c.expectClosed()
				if el := time.Since(t0); el < d*8/10 {
					t.Errorf("closed after %v, before the %v timeout", el, d)
				}
			}
			// A header that arrives in pieces within the timeout is served.
			c := dial(t, addr)
			c.write("GET /ping HTTP/1.1\r\n")
			time.Sleep(d / 4)
			c.write("Host: x\r\n\r\n")
			if r := c.resp(get); r.body != "pong" {
				t.Errorf("got %v", r)
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const d = 100 * time.Millisecond
	_, addr, _ := startH1(t, testMux(), opts{idleTimeout: d, readHeaderTimeout: ioTimeout})
	c := dial(t, addr)
	c.ping()
	c.ping()
	t0 := time.Now()
	c.expectClosed()
	if el := time.Since(t0); el < d*8/10 {
		t.Errorf("closed after %v, before the %v timeout", el, d)
	}
}

func TestHandlerReadDeadline(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			errc := make(chan error, 1)
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
					errc <- err
					return
				}
				_, err := io.ReadAll(r.Body)
				errc <- err
				w.WriteHeader(http.StatusRequestTimeout)
			}), opts{})
			c := dial(t, addr)
			c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
			select {
			case err := <-errc:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("reading the body: %v, want a deadline error", err)
				}
			case <-time.After(ioTimeout):
				t.Fatal("the body read did not time out")
			}
			if r := c.resp(post); r.code != http.StatusRequestTimeout {
				t.Errorf("got %v", r)
			}
			c.expectClosed()
		})
	}
}

// TestHandlerDeadlinesDoNotLast: a deadline a handler sets is for its request only.
func TestHandlerDeadlinesDoNotLast(t *testing.T) {
	t.Parallel()
	mux := testMux()
	mux.HandleFunc("/setrd", func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		io.WriteString(w, "rd")
	})
	mux.HandleFunc("/setwd", func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		io.WriteString(w, "wd")
	})
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			addr := k.start(t, mux, opts{})
			c := dial(t, addr)
			c.write("GET /setwd HTTP/1.1\r\nHost: x\r\n\r\n")
			if r := c.resp(get); r.body != "wd" {
				t.Fatalf("got %v", r)
			}
			time.Sleep(50 * time.Millisecond)
			c.ping()
			// The next request already buffered when the handler returns.
			c.write("GET /setrd HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
			if r := c.resp(get); r.body != "rd" {
				t.Fatalf("got %v", r)
			}
			time.Sleep(50 * time.Millisecond)
			c.write("hello")
			if r := c.resp(post); r.code != 200 || !strings.Contains(r.body, `body="hello"`) {
				t.Fatalf("got %v", r)
			}
			c.ping()
		})
	}
}

func TestHijack(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			errc := make(chan error, 1)
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				errc <- func() error {
					nc, brw, err := http.NewResponseController(w).Hijack()
					if err != nil {
						return err
					}
					defer nc.Close()
					if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
						return fmt.Errorf("Write after Hijack: %v", err)
					}
					extra := make([]byte, 5)
					if _, err := io.ReadFull(brw, extra); err != nil {
						return fmt.Errorf("reading what the client pipelined: %v", err)
					}
					fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\nraw:%s", 4+len(extra), extra)
					return brw.Flush()
				}()
			}), opts{})
			c := dial(t, addr)
			c.write("GET /hijack HTTP/1.1\r\nHost: x\r\n\r\nEXTRA")
			r := c.resp(get)
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if r.code != 200 || r.body != "raw:EXTRA" || r.header.Get("Date") != "" {
				t.Errorf("got %v", r)
			}
			c.expectClosed()
		})
	}
}

// TestShutdownLeavesHijacked: Shutdown neither waits for nor closes hijacked connections.
func TestShutdownLeavesHijacked(t *testing.T) {
	t.Parallel()
	hijacked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	s, addr, serveErr := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			done <- err
			return
		}
		defer nc.Close()
		close(hijacked)
		<-release
		io.WriteString(brw, "still here")
		done <- brw.Flush()
	}), opts{})
	c := dial(t, addr)
	c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, hijacked, "the hijack")
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := serveErr(); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	if b, err := io.ReadAll(c.br); string(b) != "still here" || err != nil {
		t.Errorf("got %q, %v", b, err)
	}
}

// watchHandler reads the body, calls WatchClient (net/http watches every request anyway), says
// so on watching, then answers when release is closed, or reports its context ending on ended.
func watchHandler(watching chan<- struct{}, release <-chan struct{}, ended chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if wc, ok := w.(interface{ WatchClient() }); ok {
			wc.WatchClient()
		}
		watching <- struct{}{}
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-release:
			fmt.Fprintf(w, "done:%s ctx=%v", b, r.Context().Err())
		case <-time.After(ioTimeout):
			ended <- errors.New("neither released nor canceled")
		}
	})
}

func TestWatchClient(t *testing.T) {
	t.Parallel()
	bodies := map[string]func(string) string{
		"length":  func(s string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(s), s) },
		"chunked": func(s string) string { return "Transfer-Encoding: chunked\r\n\r\n" + chunked(s) },
		"none":    func(string) string { return "\r\n" },
	}
	for _, k := range kinds {
		for bname, body := range bodies {
			want := func(s string) string {
				if bname == "none" {
					return "done: ctx=<nil>"
				}
				return "done:" + s + " ctx=<nil>"
			}
			t.Run(k.name+"/"+bname+"/client-leaves", func(t *testing.T) {
				watching, ended := make(chan struct{}, 2), make(chan error, 2)
				addr := k.start(t, watchHandler(watching, nil, ended), opts{})
				c := dial(t, addr)
				c.write("POST / HTTP/1.1\r\nHost: x\r\n" + body("first"))
				waitFor(t, watching, "the handler")
				c.nc.Close()
				select {
				case err := <-ended:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("context: %v", err)
					}
				case <-time.After(ioTimeout):
					t.Fatal("the handler was not released")
				}
			})
			t.Run(k.name+"/"+bname+"/client-stays", func(t *testing.T) {
				watching, release, ended := make(chan struct{}, 2), make(chan struct{}), make(chan error, 2)
				addr := k.start(t, watchHandler(watching, release, ended), opts{})
				c := dial(t, addr)
				go func() {
					for range 2 {
						select {
						case <-watching:
							time.Sleep(20 * time.Millisecond)
							release <- struct{}{}
						case <-time.After(ioTimeout):
						}
					}
				}()
				c.write("POST / HTTP/1.1\r\nHost: x\r\n" + body("first"))
				if r := c.resp(post); r.body != want("first") {
					t.Fatalf("got %v", r)
				}
				c.write("POST / HTTP/1.1\r\nHost: x\r\n" + body("second"))
				if r := c.resp(post); r.body != want("second") {
					t.Fatalf("got %v", r)
				}
				select {
				case err := <-ended:
					t.Fatal(err)
				default:
				}
			})
			t.Run(k.name+"/"+bname+"/pipelined-while-watching", func(t *testing.T) {
				watching, release, ended := make(chan struct{}, 2), make(chan struct{}, 2), make(chan error, 2)
				addr := k.start(t, watchHandler(watching, release, ended), opts{})
				c := dial(t, addr)
				c.write("POST / HTTP/1.1\r\nHost: x\r\n" + body("first"))
				waitFor(t, watching, "the handler")
				c.write("POST / HTTP/1.1\r\nHost: x\r\n" + body("second"))
				time.Sleep(20 * time.Millisecond) // for the watch to take the first byte
				release <- struct{}{}
				if r := c.resp(post); r.body != want("first") {
					t.Fatalf("got %v", r)
				}
				waitFor(t, watching, "the second request")
				release <- struct{}{}
				if r := c.resp(post); r.body != want("second") {
					t.Fatalf("got %v", r)
				}
				c.ping()
			})
		}
		t.Run(k.name+"/before-body-read", func(t *testing.T) {
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if wc, ok := w.(interface{ WatchClient() }); ok {
					wc.WatchClient() // a no-op while the body is unread
				}
				b, err := io.ReadAll(r.Body)
				fmt.Fprintf(w, "%s %v %v", b, err, r.Context().Err())
			}), opts{})
			c := dial(t, addr)
			c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
			time.Sleep(20 * time.Millisecond)
			c.write("cde")
			if r := c.resp(post); r.body != "abcde <nil> <nil>" {
				t.Fatalf("got %v", r)
			}
			// A chunked body the client sends only after 100 Continue: watching must not wait
			// for it.
			c.write("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
			if r := c.resp(post); r.code != 100 {
				t.Fatalf("got %v", r)
			}
			c.write(chunked("xyz"))
			if r := c.resp(post); r.body != "xyz <nil> <nil>" {
				t.Fatalf("got %v", r)
			}
			c.ping()
		})
		t.Run(k.name+"/unread-expect-continue", func(t *testing.T) {
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if wc, ok := w.(interface{ WatchClient() }); ok {
					wc.WatchClient()
				}
				io.WriteString(w, "no thanks")
			}), opts{})
			c := dial(t, addr)
			c.write("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
			if r := c.resp(post); r.body != "no thanks" || r.header.Get("Connection") != "close" {
				t.Fatalf("got %v", r)
			}
			if k.h1 { // net/http waits for the body it never asked for (see TestExpectContinue)
				c.expectClosed()
			}
		})
		t.Run(k.name+"/hijack-after-watch", func(t *testing.T) {
			watching, release := make(chan struct{}), make(chan struct{})
			errc := make(chan error, 1)
			addr := k.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				errc <- func() error {
					io.ReadAll(r.Body)
					if wc, ok := w.(interface{ WatchClient() }); ok {
						wc.WatchClient()
					}
					close(watching)
					<-release
					nc, brw, err := http.NewResponseController(w).Hijack()
					if err != nil {
						return err
					}
					defer nc.Close()
					extra := make([]byte, 5)
					if _, err := io.ReadFull(brw, extra); err != nil {
						return err
					}
					fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n%s", extra)
					return brw.Flush()
				}()
			}), opts{})
			c := dial(t, addr)
			c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
			waitFor(t, watching, "the handler")
			c.write("EXTRA")
			time.Sleep(20 * time.Millisecond) // for the watch to take the first byte
			close(release)
			r := c.resp(post)
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if r.body != "EXTRA" {
				t.Errorf("got %v", r)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	mux := testMux()
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "finished")
	})
	s, addr, serveErr := startH1(t, mux, opts{})
	idle := dial(t, addr)
	idle.ping()
	busy := dial(t, addr)
	busy.write("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, entered, "the busy handler")

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if err := serveErr(); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v, want http.ErrServerClosed", err)
	}
	idle.expectClosed()
	if nc, err := net.DialTimeout("tcp", addr, ioTimeout); err == nil {
		nc.Close()
		t.Error("the listener still accepts")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(release)
	r := busy.resp(get)
	if r.body != "finished" || r.header.Get("Connection") != "close" {
		t.Errorf("busy request: %v", r)
	}
	busy.expectClosed()
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Shutdown did not return")
	}
	// Serving again is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	entered, ended := make(chan struct{}, 1), make(chan error, 1)
	s, addr, _ := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(ioTimeout):
			ended <- errors.New("not canceled")
		}
	}), opts{})
	busy := dial(t, addr)
	busy.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, entered, "the handler")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want context.DeadlineExceeded", err)
	}
	busy.expectClosed()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("the request's context: %v", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	entered, ended := make(chan struct{}, 1), make(chan error, 1)
	mux := testMux()
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(ioTimeout):
			ended <- errors.New("not canceled")
		}
	})
	s, addr, serveErr := startH1(t, mux, opts{})
	idle := dial(t, addr)
	idle.ping()
	busy := dial(t, addr)
	busy.write("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, entered, "the handler")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := serveErr(); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	idle.expectClosed()
	busy.expectClosed()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("the request's context: %v", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPanics(t *testing.T) {
	t.Parallel()
	var logged lockedBuffer
	mux := testMux()
	mux.HandleFunc("/abort", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		panic("boom-value")
	})
	_, addr, _ := startH1(t, mux, opts{errorLog: log.New(&logged, "", 0)})
	other := dial(t, addr)
	other.ping()

	c := dial(t, addr)
	c.write("GET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
	c.expectClosed()
	other.ping()
	if s := logged.String(); s != "" {
		t.Errorf("ErrAbortHandler was logged: %q", s)
	}

	c = dial(t, addr)
	c.write("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
	c.expectClosed()
	other.ping()
	dial(t, addr).ping()
	deadline := time.Now().Add(ioTimeout)
	for !strings.Contains(logged.String(), "boom-value") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := logged.String(); !strings.Contains(s, "panic serving") || !strings.Contains(s, "boom-value") {
		t.Errorf("log: %q", s)
	}
}
