// Package tlsconf is how hookproof speaks TLS: the client configuration of every command that
// sends (--ca, --cert, --key, --insecure, --tls-server-name), the server configuration of
// every command that serves (--tls-cert, --tls-key, --client-ca), the handshake probe that
// checks a target's certificate before anything is sent, the plain-words explanation of a
// certificate that does not verify (and the flag that fixes it), and a small certificate
// authority for tests and for conform sender's generated certificate.
//
// The flags themselves are registered by suites/session (TLSFlags, ServeTLSFlags); the
// packages below it (the harness client, the load engine, the chaos proxy, inspect) take a
// *tls.Config.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/hookproof/hookproof/reports"
)

// ErrConfig wraps a TLS file that cannot be used (missing, not PEM, key not matching): the
// user's to fix (exit 2).
var ErrConfig = errors.New("bad TLS configuration")

// Client is the client side of a run: what the sending commands' TLS flags say.
type Client struct {
	CA         string // --ca: a PEM bundle added to the system roots
	Cert, Key  string // --cert, --key: the client certificate (mutual TLS)
	Insecure   bool   // --insecure: do not verify the server's certificate
	ServerName string // --tls-server-name: the name to verify the certificate against
}

// IsZero says no TLS flag was given.
func (c Client) IsZero() bool { return c == Client{} }

// Config builds the *tls.Config of c: the system roots plus --ca, the client certificate,
// the server name and --insecure; at least TLS 1.2. Bad files wrap ErrConfig.
func (c Client) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.Insecure} //nolint:gosec // --insecure is the user's, warned about and recorded
	if c.CA != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if err := appendPEMFile(pool, c.CA); err != nil {
			return nil, fmt.Errorf("%w: --ca: %w", ErrConfig, err)
		}
		cfg.RootCAs = pool
	}
	switch {
	case c.Cert != "" && c.Key != "":
		kp, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: --cert %s --key %s: %w", ErrConfig, c.Cert, c.Key, err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	case c.Cert != "":
		return nil, fmt.Errorf("%w: --cert needs --key (the client certificate's private key)", ErrConfig)
	case c.Key != "":
		return nil, fmt.Errorf("%w: --key needs --cert (the client certificate)", ErrConfig)
	}
	return cfg, nil
}

// appendPEMFile adds every certificate of the PEM file at path to pool; a file without one is
// an error.
func appendPEMFile(pool *x509.CertPool, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("%s holds no PEM certificate", path)
	}
	return nil
}

// Describe is what a results file records of a connection made with cfg to serverName (the
// name its certificate was checked against); ca is the --ca file. A nil state is nil.
func Describe(st *tls.ConnectionState, cfg *tls.Config, serverName, ca string) *reports.TLS {
	if st == nil {
		return nil
	}
	t := &reports.TLS{
		Version:    tls.VersionName(st.Version),
		Cipher:     tls.CipherSuiteName(st.CipherSuite),
		ServerName: serverName,
		CA:         ca,
	}
	if cfg != nil {
		t.Insecure = cfg.InsecureSkipVerify
		t.ClientCertificate = len(cfg.Certificates) > 0 || cfg.GetClientCertificate != nil
	}
	return t
}
