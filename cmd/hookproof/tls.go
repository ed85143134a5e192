package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/hookproof/hookproof/suites/tlsconf"
)

// checkTLS checks an https endpoint's certificate with cfg before anything is sent to it (a
// TLS handshake, no request): one that does not verify, or a server that wants a client
// certificate, is exit 3, said in words with the flag that fixes it. Anything else (nothing
// listens yet) is no error here: the command meets it and reports it its own way. what
// prefixes the message ("--upstream ", "--forward-to ").
func checkTLS(ctx context.Context, what, rawURL string, cfg *tls.Config) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	if _, err := tlsconf.Probe(ctx, tlsconf.HostPort(u.Scheme, u.Host), cfg, 5*time.Second); errors.Is(err, tlsconf.ErrTLS) {
		return harnessError{fmt.Errorf("%s%s: %w", what, u.Redacted(), err)}
	}
	return nil
}
