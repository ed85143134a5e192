package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// ErrTLS is wrapped by every *Error: the target's TLS could not be used, so the harness could
// not run (exit 3).
var ErrTLS = errors.New("TLS failure")

// Reasons of an Error.
const (
	ReasonUnknownAuthority = "unknown authority"
	ReasonNameMismatch     = "name mismatch"
	ReasonExpired          = "expired"
	ReasonNotYetValid      = "not yet valid"
	ReasonInvalid          = "invalid certificate"
	ReasonClientCert       = "client certificate required"
	ReasonClientRefused    = "client certificate refused"
	ReasonNotTLS           = "not TLS"
	ReasonHandshake        = "handshake failed"
)

// Error is a TLS connection that failed, explained: the reason, what was seen, and the flag
// that fixes it.
type Error struct {
	Host   string // host:port of the target
	Reason string // one of the Reason constants
	Detail string // what was seen, in a few words
	Fix    string // the flag (or the change) that fixes it
	Err    error  // the error of crypto/tls or crypto/x509
}

func (e *Error) Error() string {
	return fmt.Sprintf("TLS %s: %s: %s", e.Reason, e.Detail, e.Fix)
}

func (e *Error) Unwrap() error        { return e.Err }
func (e *Error) Is(target error) bool { return target == ErrTLS }

// Explain says in words why a connection to host (host:port) made with cfg failed, when the
// cause is TLS: a certificate that does not verify (unknown authority, a name mismatch,
// expired), a server that wants or refuses a client certificate, an endpoint that does not
// speak TLS. Anything else (a refused connection, a timeout) is nil: it is not TLS's.
func Explain(err error, host string, cfg *tls.Config) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	caGiven := cfg != nil && cfg.RootCAs != nil
	certGiven := cfg != nil && (len(cfg.Certificates) > 0 || cfg.GetClientCertificate != nil)
	mk := func(reason, detail, fix string) *Error {
		return &Error{Host: host, Reason: reason, Detail: detail, Fix: fix, Err: err}
	}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &ua):
		detail := "the certificate of " + host + " is signed by an unknown authority"
		if ua.Cert != nil {
			detail += fmt.Sprintf(" (issuer %q)", issuerName(ua.Cert))
		}
		fix := "give the CA that signed it with --ca FILE (a PEM bundle, added to the system roots), or skip verification with --insecure"
		if caGiven {
			fix = "the --ca bundle does not hold the CA that signed it: give that CA with --ca FILE, or skip verification with --insecure"
		}
		return mk(ReasonUnknownAuthority, detail, fix)
	case errors.As(err, &he):
		names := certNames(he.Certificate)
		detail := fmt.Sprintf("the certificate of %s is not valid for %q", host, he.Host)
		if len(names) > 0 {
			detail += " (it is for " + strings.Join(names, ", ") + ")"
		}
		fix := "give the name it was issued for with --tls-server-name NAME (or use a URL with that name)"
		if len(names) > 0 && !strings.Contains(names[0], " ") {
			fix = fmt.Sprintf("give the name it was issued for with --tls-server-name %s (or use a URL with that name)", names[0])
		}
		return mk(ReasonNameMismatch, detail, fix)
	case errors.As(err, &ci):
		switch {
		case ci.Reason == x509.Expired && ci.Cert != nil && time.Now().Before(ci.Cert.NotBefore):
			return mk(ReasonNotYetValid, fmt.Sprintf("the certificate of %s is not valid before %s", host, ci.Cert.NotBefore.UTC().Format(time.RFC3339)),
				"check the clocks, or skip verification with --insecure")
		case ci.Reason == x509.Expired:
			at := ""
			if ci.Cert != nil {
				at = " on " + ci.Cert.NotAfter.UTC().Format(time.RFC3339)
			}
			return mk(ReasonExpired, "the certificate of "+host+" expired"+at, "renew the endpoint's certificate, or skip verification with --insecure")
		}
		return mk(ReasonInvalid, "the certificate of "+host+" is not valid: "+ci.Error(), "fix the endpoint's certificate, or skip verification with --insecure")
	case errors.As(err, &rh):
		return mk(ReasonNotTLS, host+" does not speak TLS (it answered in plain text)", "use an http:// URL")
	}
	msg := err.Error()
	switch {
	case certGiven && strings.Contains(msg, "tls: certificate required"):
		// A Go client sends no certificate the server's CA list does not cover.
		return mk(ReasonClientRefused, host+" requires a client certificate signed by a CA it trusts, and the one given is not",
			"give a certificate signed by a CA the endpoint trusts with --cert FILE --key FILE")
	case strings.Contains(msg, "tls: certificate required"),
		!certGiven && strings.Contains(msg, "remote error: tls: bad certificate"),
		!certGiven && strings.Contains(msg, "remote error: tls: handshake failure"):
		return mk(ReasonClientCert, host+" requires a client certificate (mutual TLS)", "give one with --cert FILE --key FILE")
	case strings.Contains(msg, "remote error: tls: bad certificate"),
		strings.Contains(msg, "remote error: tls: unknown certificate authority"),
		strings.Contains(msg, "remote error: tls: certificate expired"),
		strings.Contains(msg, "remote error: tls: unsupported certificate"):
		return mk(ReasonClientRefused, host+" refused the client certificate ("+remoteAlert(msg)+")",
			"give a certificate signed by a CA the endpoint trusts with --cert FILE --key FILE")
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return mk(ReasonNotTLS, host+" does not speak TLS (it answered in plain HTTP)", "use an http:// URL")
	case strings.Contains(msg, "remote error: tls:"), strings.Contains(msg, "tls: "):
		return mk(ReasonHandshake, "the TLS handshake with "+host+" failed: "+msg, "check the endpoint's TLS setup (--tls-server-name, --cert, --ca; --insecure skips verification)")
	}
	return nil
}

// remoteAlert is the alert of a "remote error: tls: bad certificate" message.
func remoteAlert(msg string) string {
	if _, a, ok := strings.Cut(msg, "remote error: "); ok {
		return a
	}
	return msg
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}

// certNames are the names a certificate is valid for: its DNS names and IP addresses.
func certNames(c *x509.Certificate) []string {
	if c == nil {
		return nil
	}
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 && c.Subject.CommonName != "" {
		out = append(out, c.Subject.CommonName+" (common name only: no subject alternative names)")
	}
	return out
}

// HostPort is the host:port of an http(s) URL's host part, the port defaulted by scheme.
func HostPort(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
