package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
)

// Server is the server side of a command that serves (receiver, listen, chaos, sink):
// --tls-cert and --tls-key serve HTTPS, --client-ca requires client certificates signed by
// one of its CAs (mutual TLS).
type Server struct {
	Cert, Key string // --tls-cert, --tls-key: PEM certificate (chain) and key
	ClientCA  string // --client-ca: PEM bundle; a client without a certificate it signed is refused
}

// Enabled says the command serves HTTPS.
func (s Server) Enabled() bool { return s.Cert != "" || s.Key != "" }

// Scheme is "https" when the command serves TLS, else "http": for the URLs it prints.
func (s Server) Scheme() string {
	if s.Enabled() {
		return "https"
	}
	return "http"
}

// Config builds the server's *tls.Config (nil when it serves plain HTTP). Bad files and bad
// combinations wrap ErrConfig.
func (s Server) Config() (*tls.Config, error) {
	switch {
	case s.Cert != "" && s.Key == "":
		return nil, fmt.Errorf("%w: --tls-cert needs --tls-key (the certificate's private key)", ErrConfig)
	case s.Key != "" && s.Cert == "":
		return nil, fmt.Errorf("%w: --tls-key needs --tls-cert (the certificate)", ErrConfig)
	case s.ClientCA != "" && s.Cert == "":
		return nil, fmt.Errorf("%w: --client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)", ErrConfig)
	case s.Cert == "":
		return nil, nil
	}
	kp, err := tls.LoadX509KeyPair(s.Cert, s.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: --tls-cert %s --tls-key %s: %w", ErrConfig, s.Cert, s.Key, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{kp}}
	if s.ClientCA != "" {
		pool := x509.NewCertPool()
		if err := appendPEMFile(pool, s.ClientCA); err != nil {
			return nil, fmt.Errorf("%w: --client-ca: %w", ErrConfig, err)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Listener wraps ln in TLS with cfg (nil: ln as it is). Serve HTTP on it as on ln: an
// http.Server serving a TLS listener speaks HTTP/1.1 over TLS.
func Listener(ln net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return ln
	}
	return tls.NewListener(ln, cfg)
}
