package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"time"
)

// settle is how long Handshake waits, after a TLS 1.3 handshake, for the server's verdict on
// the client certificate: in TLS 1.3 the client's handshake ends before the server has
// checked it, and a refusal arrives as an alert afterwards.
const settle = 250 * time.Millisecond

// ServerName is the name a connection to host (host:port) with cfg checks the certificate
// against: cfg.ServerName (--tls-server-name), else the host.
func ServerName(cfg *tls.Config, host string) string {
	if cfg != nil && cfg.ServerName != "" {
		return cfg.ServerName
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return host
	}
	return h
}

// ForHost is cfg (nil: a default one) with the server name set for host (host:port) when cfg
// has none, as http.Transport does: what a tls.Client needs.
func ForHost(cfg *tls.Config, host string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName = ServerName(cfg, host)
	}
	return c
}

// Handshake makes a TLS handshake over conn (already connected to host, host:port) with cfg,
// sends nothing else, and closes conn. It returns the connection's state, or the failure
// explained (*Error, wrapping ErrTLS) when it is TLS's. In TLS 1.3 it waits up to 250 ms for
// the server to refuse the client certificate (or the lack of one).
func Handshake(ctx context.Context, conn net.Conn, host string, cfg *tls.Config) (*tls.ConnectionState, error) {
	tc := tls.Client(conn, ForHost(cfg, host))
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		if e := Explain(err, host, cfg); e != nil {
			return nil, e
		}
		return nil, err
	}
	st := tc.ConnectionState()
	if st.Version == tls.VersionTLS13 {
		_ = tc.SetReadDeadline(time.Now().Add(settle))
		var b [1]byte
		_, err := tc.Read(b[:])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if e := Explain(err, host, cfg); e != nil {
				return nil, e
			}
		}
	}
	return &st, nil
}

// Probe dials host (host:port) within timeout and makes a TLS handshake with cfg (Handshake).
// A dial that fails returns the dial's error as it is (not TLS's: callers report it as
// unreachable); check with Explain or errors.Is(err, ErrTLS).
func Probe(ctx context.Context, host string, cfg *tls.Config, timeout time.Duration) (*tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, &DialError{Err: err}
	}
	return Handshake(ctx, conn, host, cfg)
}

// DialError is Probe's error when no connection could be made at all.
type DialError struct{ Err error }

func (e *DialError) Error() string { return e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }
