package chaos

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Proxy forwards each request to one upstream through its chain of fault instances and
// records what it did. Create it with NewProxy; it is an http.Handler, safe for concurrent
// use, and its faults may be changed while traffic flows. Close releases held and hung
// requests and waits for pending copies.
type Proxy struct {
	upstream     *url.URL
	addr         string // the upstream's host:port, for the synchronous transport
	syncUpstream bool   // the transport is the synchronous one to an http upstream
	seed         int64
	hseed        uint64
	transport    http.RoundTripper
	tlsConfig    *tls.Config
	ownIdle      func() // closes the idle connections of a transport the proxy made
	keyFunc      KeyFunc
	log          *slog.Logger
	maxBody      int64
	ledgerLimit  int
	attemptLimit int
	initial      []FaultSpec
	metrics      prometheus.Registerer

	editMu sync.Mutex // serialises fault edits; readers load chain without locking
	chain  atomic.Pointer[[]*instance]

	countMu  sync.Mutex
	counters map[string]*atomic.Int64
	specs    map[string]FaultSpec // the last active spec of each instance name

	attempts *attempts
	ledger   *ledger

	seq       atomic.Uint64
	anon      atomic.Uint64
	requests  atomic.Int64
	copies    atomic.Int64
	forwarded atomic.Int64
	outcomes  [numOutcomes]atomic.Int64

	ctx     context.Context // the proxy's lifetime; copies run under it
	cancel  context.CancelFunc
	closing <-chan struct{}
	bgMu    sync.Mutex
	bgDone  bool
	bg      sync.WaitGroup
}

// Option configures a Proxy.
type Option func(*Proxy) error

// WithSeed sets the seed every decision derives from. Without it the seed is random;
// Seed reports it either way.
func WithSeed(seed int64) Option {
	return func(p *Proxy) error { p.seed = seed; return nil }
}

// WithFaults sets the initial fault instances, outermost first.
func WithFaults(specs ...FaultSpec) Option {
	return func(p *Proxy) error { p.initial = append(p.initial, specs...); return nil }
}

// WithLedgerLimit bounds the ledger to the n most recent entries (default 10000; 0 keeps none).
func WithLedgerLimit(n int) Option {
	return func(p *Proxy) error {
		if n < 0 {
			return fmt.Errorf("ledger limit %d is negative", n)
		}
		p.ledgerLimit = n
		return nil
	}
}

// WithKeyFunc sets how requests are grouped into deliveries (default DefaultKey).
func WithKeyFunc(f KeyFunc) Option {
	return func(p *Proxy) error {
		if f == nil {
			return errors.New("nil key function")
		}
		p.keyFunc = f
		return nil
	}
}

// WithTransport sets the round tripper used to reach the upstream. The default is a
// synchronous keep-alive HTTP/1.1 client for http upstreams (faster on the proxy's hot
// path, see transport.go) and NewTransport() for https.
func WithTransport(rt http.RoundTripper) Option {
	return func(p *Proxy) error {
		if rt == nil {
			return errors.New("nil transport")
		}
		p.transport = rt
		return nil
	}
}

// WithTLSConfig sets the TLS configuration of the default transport to an https upstream:
// its roots (--ca), client certificate (mutual TLS), server name and verification. Without
// it an https upstream is verified against the system roots. It does not apply with
// WithTransport.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(p *Proxy) error { p.tlsConfig = cfg; return nil }
}

// WithLogger sets where the proxy logs (default: discard). Logs never carry header values
// or bodies, which may hold signatures and secrets.
func WithLogger(l *slog.Logger) Option {
	return func(p *Proxy) error {
		if l == nil {
			return errors.New("nil logger")
		}
		p.log = l
		return nil
	}
}

// WithMaxBodyBytes bounds request and response bodies (default 32 MiB). A larger request
// gets a 413; a larger response a 502.
func WithMaxBodyBytes(n int64) Option {
	return func(p *Proxy) error {
		if n <= 0 {
			return fmt.Errorf("max body %d must be positive", n)
		}
		p.maxBody = n
		return nil
	}
}

// WithAttemptMemory bounds how many delivery keys the attempt counter remembers (default
// 1<<20); the oldest are forgotten first, and their next request counts as attempt 1.
func WithAttemptMemory(n int) Option {
	return func(p *Proxy) error {
		if n < 2 {
			return fmt.Errorf("attempt memory %d must be at least 2", n)
		}
		p.attemptLimit = n
		return nil
	}
}

// NewTransport returns the transport the proxy uses by default: keep-alive pools sized for
// hundreds of concurrent deliveries to one host, no transparent compression (bodies pass
// byte for byte), no environment proxy.
func NewTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

// NewProxy returns a proxy to upstream (an http or https URL).
func NewProxy(upstream string, opts ...Option) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("chaos: upstream %q: %w", upstream, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("chaos: upstream %q: want an http:// or https:// URL with a host", upstream)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	p := &Proxy{
		upstream:     u,
		seed:         rand.Int64N(1 << 53), // JSON-safe, so results files keep it exact
		keyFunc:      DefaultKey,
		log:          slog.New(slog.DiscardHandler),
		maxBody:      32 << 20,
		ledgerLimit:  10000,
		attemptLimit: 1 << 20,
		counters:     map[string]*atomic.Int64{},
		specs:        map[string]FaultSpec{},
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	if p.transport == nil {
		// Plain http (the test and loopback case) gets the synchronous client, https the
		// standard one; both keep connections alive and never compress.
		if u.Scheme == "http" {
			st := newSyncTransport()
			p.transport, p.ownIdle = st, st.CloseIdleConnections
		} else {
			t := NewTransport()
			if p.tlsConfig != nil {
				t.TLSClientConfig = p.tlsConfig.Clone()
			}
			p.transport, p.ownIdle = t, t.CloseIdleConnections
		}
	}
	_, isSync := p.transport.(*syncTransport)
	p.syncUpstream = isSync && u.Scheme == "http"
	p.addr = u.Host
	if u.Port() == "" {
		p.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	p.hseed = mix(uint64(p.seed))
	p.ledger = newLedger(p.ledgerLimit)
	p.attempts = newAttempts(p.attemptLimit)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.closing = p.ctx.Done()
	empty := []*instance{}
	p.chain.Store(&empty)
	if err := p.SetFaults(p.initial...); err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	if p.metrics != nil {
		if err := p.metrics.Register(collector{p}); err != nil {
			return nil, fmt.Errorf("chaos: metrics: %w", err)
		}
	}
	p.log.Info("chaos proxy ready", "upstream", u.Redacted(), "seed", p.seed, "faults", len(p.initial))
	return p, nil
}

// Seed returns the seed decisions derive from.
func (p *Proxy) Seed() int64 { return p.seed }

// Upstream returns the upstream URL, with any password redacted.
func (p *Proxy) Upstream() string { return p.upstream.Redacted() }

// Close releases the requests faults hold or hang (x.Wait, EndHang) and delayed copies,
// then waits for running copies to finish. The proxy still forwards afterwards,
// but without waiting: holds and hangs end at once.
func (p *Proxy) Close() error {
	p.bgMu.Lock()
	p.bgDone = true
	p.bgMu.Unlock()
	p.cancel()
	p.bg.Wait()
	if p.ownIdle != nil {
		p.ownIdle()
	}
	return nil
}

func (p *Proxy) goBackground(f func()) {
	p.bgMu.Lock()
	if p.bgDone {
		p.bgMu.Unlock()
		return
	}
	p.bg.Add(1)
	p.bgMu.Unlock()
	go func() {
		defer p.bg.Done()
		f()
	}()
}

// Outcome names, indexed for counters.
const (
	outAnswered = iota
	outReset
	outResetPartway
	outHang
	outClientGone
	outCopy
	outCancelled
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"answered", "reset", "reset-partway", "hang", "client-gone", "copy", "cancelled"}

// isHop reports whether a canonical header name is meaningful for one connection only
// and so never forwarded (RFC 9110 7.6.1).
func isHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// removeHopHeaders deletes the hop-by-hop headers of h, and those its Connection names.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				delete(h, http.CanonicalHeaderKey(name))
			}
		}
	}
	for name := range h {
		if isHop(name) {
			delete(h, name)
		}
	}
}

// forwardHeader copies the end-to-end headers of src in one pass, the values sharing one
// backing array as in http.Header.Clone.
func forwardHeader(src http.Header) http.Header {
	n := 0
	for _, vv := range src {
		n += len(vv)
	}
	dst := make(http.Header, len(src)+1)
	values := make([]string, n)
	for k, vv := range src {
		if isHop(k) {
			continue
		}
		c := copy(values, vv)
		dst[k] = values[:c:c]
		values = values[c:]
	}
	for _, f := range src["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				delete(dst, http.CanonicalHeaderKey(name))
			}
		}
	}
	// The body is whole already: the upstream has no reason to ask to continue.
	delete(dst, "Expect")
	return dst
}

// forwardsAsIs reports whether h goes upstream as forwardHeader(h) would: no hop-by-hop
// header, no Expect, and a User-Agent of the client's own, unless the transport is the
// synchronous one, which sends none for a missing User-Agent as for an empty one.
func (p *Proxy) forwardsAsIs(h http.Header) bool {
	if _, ok := h["User-Agent"]; !ok && !p.syncUpstream {
		return false
	}
	for k := range h {
		if k == "Expect" || isHop(k) {
			return false
		}
	}
	return true
}

// exchangePool holds the Exchanges of requests no fault touched, for the next request.
var exchangePool = sync.Pool{New: func() any { return new(Exchange) }}

// noUserAgent stops the transport adding its own User-Agent when the client sent none.
var noUserAgent = []string{""}

// ServeHTTP runs one client request through the fault chain.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p.requests.Add(1)
	seq := p.seq.Add(1)

	buf := getBuf()
	if err := buf.readFrom(r.Body, r.ContentLength, p.maxBody); err != nil {
		buf.release()
		status := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "chaos: reading request body: "+err.Error(), status)
		p.outcomes[outAnswered].Add(1)
		p.ledger.add(Entry{Seq: seq, Seed: p.seed, Time: start, Method: r.Method, Path: r.URL.Path,
			Notes: []string{"proxy: reading request body: " + err.Error()}, Outcome: outcomeNames[outAnswered],
			Status: status, DurationMS: ms(time.Since(start))})
		return
	}
	body := buf.b
	key := p.keyFunc(r, body)
	if key == "" {
		key = "req-" + strconv.FormatUint(p.anon.Add(1), 10)
	}
	// The client's header is what goes upstream as it is when it has nothing forwardHeader
	// would remove or add: it is shared until a fault fires (run copies it then), so an
	// exchange no fault touches copies no header.
	hdr, shared := r.Header, p.forwardsAsIs(r.Header)
	if !shared {
		hdr = forwardHeader(r.Header)
		if _, ok := hdr["User-Agent"]; !ok {
			hdr["User-Agent"] = noUserAgent
		}
	}
	x := exchangePool.Get().(*Exchange)
	*x = Exchange{
		Key: key, Attempt: p.attempts.next(key),
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: hdr, Body: body,
		rawPath: r.URL.RawPath, inPath: r.URL.Path, sharedHeader: shared,
		ctx: r.Context(), p: p,
	}
	if cw, ok := w.(clientWatcher); ok {
		x.watcher = cw
	}
	x.rec, x.family = &x.own, &x.fam

	res := p.run(*p.chain.Load(), 0, x)
	out, status, abort := p.deliver(w, r, &res)
	res.Discard()
	if !x.family.escaped.Load() {
		buf.release()
	}

	p.outcomes[out].Add(1)
	rec := x.rec
	p.ledger.add(Entry{
		Seq: seq, Seed: p.seed, Time: start, Key: key, Attempt: x.Attempt,
		Method: r.Method, Path: r.URL.Path, Faults: rec.faults, Notes: rec.notes,
		Forwarded: rec.forwarded, UpstreamStatus: rec.upstreamStatus, UpstreamError: rec.upstreamErr,
		Outcome: outcomeNames[out], Status: status,
		DurationMS: ms(time.Since(start)), UpstreamMS: ms(rec.upstream),
	})
	if len(rec.faults) > 0 {
		p.log.Debug("chaos", "key", key, "attempt", x.Attempt, "faults", rec.faults, "outcome", outcomeNames[out])
	} else if !x.family.escaped.Load() {
		// No fault saw x (only match rules, which keep nothing) and no copy shares its
		// family: nothing refers to it any more.
		*x = Exchange{}
		exchangePool.Put(x)
	}
	if abort {
		// No hijackable connection (HTTP/2): aborting the handler is the only way to make
		// the client see a broken exchange; net/http recovers this panic by design.
		panic(http.ErrAbortHandler)
	}
}

// clientWatcher is a ResponseWriter (h1's) whose request context ends when the client leaves
// only once asked: net/http's does for every request, at a cost the fault-free path avoids.
type clientWatcher interface{ WatchClient() }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// run applies chain[i:] to x: the first instance that fires wraps the rest.
func (p *Proxy) run(chain []*instance, i int, x *Exchange) Result {
	for ; i < len(chain); i++ {
		in := chain[i]
		if !p.fires(in, x) {
			continue
		}
		in.count.Add(1)
		if x.watcher != nil {
			// A fault may hold the request (delay, hang, reorder): from now on the client
			// leaving must end x's context, as net/http's server ends it for every request.
			x.watcher.WatchClient()
			x.watcher = nil
		}
		if x.sharedHeader { // faults may change the header: give x its own
			x.ownHeader()
		}
		x.rec.faults = append(x.rec.faults, in.spec.Name)
		x.inst = in
		rest := i + 1
		return in.fault.Apply(x, func(y *Exchange) Result {
			r := p.run(chain, rest, y)
			y.inst = in // the caller's Rand and Note refer to its own instance again
			return r
		})
	}
	x.inst = nil
	return p.forward(x)
}

// fires decides whether in applies to x: its match rules, then a hash of (seed, instance,
// key, attempt, copy) against its probability.
func (p *Proxy) fires(in *instance, x *Exchange) bool {
	pr := in.spec.Probability
	if pr <= 0 || !in.match.matches(x) {
		return false
	}
	return pr >= 1 || unit(decision(p.hseed, in.salt, x.Key, x.Attempt, x.Copy)) < pr
}

// forward sends x to the upstream and reads the whole answer.
func (p *Proxy) forward(x *Exchange) Result {
	if err := x.alive(); err != nil {
		return Gone(err)
	}
	t0 := time.Now()
	p.forwarded.Add(1)
	x.rec.forwarded++
	var resp *http.Response
	var err error
	if st, ok := p.transport.(*syncTransport); ok && p.syncUpstream {
		// The proxy's own transport takes the request as it goes on the wire, without an
		// http.Request, its URL, context copy and body reader.
		u := p.upstreamURL(x)
		o := outRequest{method: x.Method, target: u.RequestURI(), host: u.Host, header: x.Header, body: x.Body}
		resp, err = st.send(x.ctx, p.addr, &o)
	} else {
		resp, err = p.roundTrip(x)
	}
	if err != nil {
		x.rec.upstream += time.Since(t0)
		x.rec.upstreamErr = err.Error()
		return Result{Err: fmt.Errorf("chaos: forward to upstream: %w", err)}
	}
	// The synchronous transport's answer belongs to its connection, which closing the body
	// may hand to another request: take what is needed from resp first.
	status, header := resp.StatusCode, resp.Header
	buf := getBuf()
	err = buf.readFrom(resp.Body, resp.ContentLength, p.maxBody)
	resp.Body.Close()
	resp = nil
	x.rec.upstream += time.Since(t0)
	x.rec.upstreamStatus = status
	if err != nil {
		buf.release()
		x.rec.upstreamErr = "reading response: " + err.Error()
		return Result{Err: fmt.Errorf("chaos: read upstream response: %w", err)}
	}
	removeHopHeaders(header)
	return Result{Status: status, Header: header, Body: buf.b, pooled: buf}
}

// upstreamURL is the URL x goes to.
func (p *Proxy) upstreamURL(x *Exchange) url.URL {
	u := *p.upstream
	u.Path = p.upstream.Path + x.Path
	if x.rawPath != "" && x.Path == x.inPath { // keep the client's escaping (%2F stays %2F)
		u.RawPath = p.upstream.EscapedPath() + x.rawPath
	}
	u.RawQuery = x.RawQuery
	return u
}

// roundTrip sends x through a transport other than the proxy's own synchronous one.
func (p *Proxy) roundTrip(x *Exchange) (*http.Response, error) {
	u := p.upstreamURL(x)
	req := &http.Request{
		Method: x.Method, URL: &u, Host: u.Host, Header: x.Header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: int64(len(x.Body)),
	}
	if len(x.Body) > 0 {
		// No GetBody: without it no transport replays the request on its own, and a
		// chaos proxy must not add deliveries nobody asked for.
		// An in-memory body (a NopCloser around a *bytes.Reader, as net/http
		// recognises) leaves with the headers in one system call instead of after a
		// flush of its own.
		req.Body = io.NopCloser(bytes.NewReader(x.Body))
	}
	return p.transport.RoundTrip(req.WithContext(x.ctx))
}

// deliver gives the client what res says, and reports the outcome, the status written (0
// when none) and whether the handler must abort because the connection cannot be reset.
func (p *Proxy) deliver(w http.ResponseWriter, r *http.Request, res *Result) (out, status int, abort bool) {
	switch res.End {
	case EndReset:
		out = outReset
		if errors.Is(res.Err, errClientGone) {
			out = outClientGone
		}
		return out, 0, !resetConn(w)
	case EndHang:
		var timeout <-chan time.Time
		if res.HangMax > 0 {
			t := time.NewTimer(res.HangMax)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-r.Context().Done():
		case <-p.closing:
		case <-timeout:
		}
		return outHang, 0, !resetConn(w)
	case EndResetPartway:
		status, body := answer(res)
		conn, err := hijack(w)
		if err != nil {
			return outResetPartway, 0, true
		}
		wire := serialize(status, res.Header, body)
		n := int(res.Cut * float64(len(wire)))
		n = min(max(n, 1), len(wire)-1)
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = conn.Write(wire[:n]) // the client may be gone already; the reset follows anyway
		rst(conn)
		return outResetPartway, status, false
	default:
		status, body := answer(res)
		h := w.Header()
		if res.Err == nil {
			for k, v := range res.Header {
				h[k] = v
			}
		} else {
			h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		}
		delete(h, "Transfer-Encoding")
		// Usually the upstream's own Content-Length is right already; keep it.
		if cl := h["Content-Length"]; r.Method != http.MethodHead || cl == nil {
			if n, err := strconv.Atoi(firstOr(cl, "")); err != nil || n != len(body) {
				h["Content-Length"] = []string{strconv.Itoa(len(body))}
			}
		}
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body) // a client that hung up is the client's business
		}
		return outAnswered, status, false
	}
}

func firstOr(vs []string, def string) string {
	if len(vs) == 0 {
		return def
	}
	return vs[0]
}

// answer returns the status and body to send for res: its own, or a 502 naming the error.
func answer(res *Result) (int, []byte) {
	if res.Err != nil {
		return http.StatusBadGateway, []byte("chaos: " + strings.TrimPrefix(res.Err.Error(), "chaos: ") + "\n")
	}
	if res.Status < 200 || res.Status > 599 {
		return http.StatusBadGateway, res.Body
	}
	return res.Status, res.Body
}

// serialize writes an HTTP/1.1 response as it would go on the wire.
func serialize(status int, h http.Header, body []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	hh := h.Clone()
	if hh == nil {
		hh = http.Header{}
	}
	hh.Del("Transfer-Encoding")
	hh.Set("Content-Length", strconv.Itoa(len(body)))
	_ = hh.Write(&b) // a strings.Builder does not fail
	b.WriteString("\r\n")
	b.Write(body)
	return []byte(b.String())
}

func hijack(w http.ResponseWriter) (net.Conn, error) {
	conn, _, err := http.NewResponseController(w).Hijack()
	return conn, err
}

// resetConn resets the client connection; false when it cannot be hijacked.
func resetConn(w http.ResponseWriter) bool {
	conn, err := hijack(w)
	if err != nil {
		return false
	}
	rst(conn)
	return true
}

// rst closes conn with SO_LINGER 0, so the peer gets a TCP RST rather than a FIN.
func rst(conn net.Conn) {
	c := conn
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = nc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// logCopy records a copy sent by Resend.
func (p *Proxy) logCopy(c *Exchange, start time.Time, res Result, cancelled string) {
	p.copies.Add(1)
	out := outCopy
	if cancelled != "" {
		out = outCancelled
	}
	p.outcomes[out].Add(1)
	rec := c.rec
	p.ledger.add(Entry{
		Seq: p.seq.Add(1), Seed: p.seed, Time: start, Key: c.Key, Attempt: c.Attempt,
		Copy: c.Copy, Origin: c.Origin, Method: c.Method, Path: c.Path,
		Faults: rec.faults, Notes: rec.notes, Forwarded: rec.forwarded,
		UpstreamStatus: rec.upstreamStatus, UpstreamError: rec.upstreamErr,
		Outcome: outcomeNames[out], DurationMS: ms(time.Since(start)), UpstreamMS: ms(rec.upstream),
	})
}
