package harness

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/h1"
	"github.com/hookproof/hookproof/suites/target"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// ErrUnreachable is wrapped by Probe when nothing answers at the target's address.
var ErrUnreachable = errors.New("target unreachable")

// HandlerTarget is a target.Target serving an http.Handler on a free loopback port: how tests
// and the built-in reference and known-bad receivers become targets.
type HandlerTarget struct {
	srv *http.Server
	hot *h1.Server // instead of srv (ServeHot)
	ln  net.Listener
	u   string

	mu    sync.Mutex
	conns map[net.Conn]http.ConnState // for Close: is any request really in flight?
}

// track records each connection's state (http.Server.ConnState).
func (t *HandlerTarget) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(t.conns, c)
		return
	}
	t.conns[c] = st
}

// busy says whether a connection is serving a request.
func (t *HandlerTarget) busy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.conns {
		if st == http.StateActive {
			return true
		}
	}
	return false
}

func newHandlerTarget(h http.Handler, ln net.Listener, u string) *HandlerTarget {
	t := &HandlerTarget{ln: ln, u: u, conns: map[net.Conn]http.ConnState{}}
	t.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: t.track}
	return t
}

// ServeHot is ServeHandler for the reference receiver and the chaos proxy: served by h1, as
// hookproof receiver and hookproof chaos serve them on plain HTTP.
func ServeHot(h http.Handler, path string) (*HandlerTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serve handler: %w", err)
	}
	t := &HandlerTarget{ln: ln, u: "http://" + ln.Addr().String() + path,
		hot: &h1.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
	go func() { _ = t.hot.Serve(ln) }()
	return t, nil
}

// ServeHandler starts serving h on 127.0.0.1 at a free port; path is appended to the URL.
func ServeHandler(h http.Handler, path string) (*HandlerTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serve handler: %w", err)
	}
	t := newHandlerTarget(h, ln, "http://"+ln.Addr().String()+path)
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

func (t *HandlerTarget) URL() string                          { return t.u }
func (t *HandlerTarget) Logs(context.Context) (string, error) { return "", nil }

// Close stops the server, waiting for requests in flight until ctx ends. A connection that
// never carried a request (a client's spare dial, which net/http's Shutdown waits on until it
// is 5 s old) does not make Close fail: only a request still being served does.
func (t *HandlerTarget) Close(ctx context.Context) error {
	if t.hot != nil {
		// h1 closes a connection waiting for its first request at once.
		if err := t.hot.Shutdown(ctx); err != nil {
			return fmt.Errorf("stop handler target: a request was still being served: %w", err)
		}
		return nil
	}
	if err := t.srv.Shutdown(ctx); err != nil {
		busy := t.busy()
		_ = t.srv.Close()
		if busy {
			return fmt.Errorf("stop handler target: a request was still being served: %w", err)
		}
	}
	return nil
}

// Probe checks that something accepts TCP connections at the target's host and port, without
// sending it a request (a webhook endpoint may act on any request). It wraps ErrUnreachable.
func Probe(ctx context.Context, t target.Target) error {
	_, err := ProbeTLS(ctx, t, nil)
	return err
}

// ProbeTLS is Probe, and for an https target a TLS handshake with cfg (nil: the defaults)
// that checks its certificate, still without sending a request. It returns the handshake's
// state (nil for http). A certificate that does not verify, or a server that wants a client
// certificate, is a *tlsconf.Error (wrapping tlsconf.ErrTLS) that says which flag fixes it.
func ProbeTLS(ctx context.Context, t target.Target, cfg *tls.Config) (*tls.ConnectionState, error) {
	u, err := url.Parse(t.URL())
	if err != nil {
		return nil, fmt.Errorf("target url %q: %w", t.URL(), err)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.URL(), err)
	}
	if u.Scheme != "https" {
		_ = conn.Close()
		return nil, nil
	}
	return tlsconf.Handshake(ctx, conn, host, cfg)
}

// ServeHandlerTLS is ServeHandler over TLS with cfg: the target's URL is https.
func ServeHandlerTLS(h http.Handler, path string, cfg *tls.Config) (*HandlerTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serve handler: %w", err)
	}
	t := newHandlerTarget(h, ln, "https://"+ln.Addr().String()+path)
	go func() { _ = t.srv.Serve(tls.NewListener(ln, cfg)) }()
	return t, nil
}
