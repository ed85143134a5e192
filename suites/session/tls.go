package session

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/hookproof/hookproof/suites/tlsconf"
)

// TLSFlags are the client TLS flags of every command that sends (conform receiver, load,
// replay, send, chaos's upstream, listen --forward-to): --ca, --cert, --key, --insecure and
// --tls-server-name. Register them with AddTLSFlags (AddTargetFlags does), check them with
// Validate, and hand Config to the transport.
type TLSFlags struct {
	tlsconf.Client
	cfg *tls.Config
}

// AddTLSFlags registers --ca, --cert, --key, --insecure and --tls-server-name on fs; what
// says what the certificate is of ("the endpoint", "the upstream").
func AddTLSFlags(fs *flag.FlagSet, what string) *TLSFlags {
	f := &TLSFlags{}
	fs.StringVar(&f.CA, "ca", "", "with an https:// URL: PEM bundle of CA certificates (`FILE`) trusted besides the system roots to verify "+what+"'s certificate")
	fs.StringVar(&f.Cert, "cert", "", "with an https:// URL: client certificate `FILE` (PEM) for mutual TLS; with --key")
	fs.StringVar(&f.Key, "key", "", "with an https:// URL: private key `FILE` (PEM) of --cert")
	fs.BoolVar(&f.Insecure, "insecure", false, "with an https:// URL: do not verify "+what+"'s certificate (printed as a warning and recorded in the results)")
	fs.StringVar(&f.ServerName, "tls-server-name", "", "with an https:// URL: verify "+what+"'s certificate for `NAME` (and send it as SNI) instead of the URL's host")
	return f
}

// Given says whether any TLS flag was given.
func (f *TLSFlags) Given() bool { return f != nil && !f.IsZero() }

// Validate checks the flags against the URL they apply to ("" when the URL is not known yet)
// and loads the files; its errors are usage errors (exit 2).
func (f *TLSFlags) Validate(rawURL string) error {
	if f == nil {
		return nil
	}
	f.cfg = nil
	if !f.Given() {
		return nil
	}
	if rawURL != "" {
		if u, err := url.Parse(rawURL); err == nil && u.Scheme != "https" {
			return Usagef("%s apply to an https:// URL (%s is %s)", strings.Join(f.names(), ", "), redactedURL(u), u.Scheme)
		}
	}
	cfg, err := f.Client.Config()
	if err != nil {
		return Usage(err)
	}
	f.cfg = cfg
	return nil
}

// names are the flags given, as typed.
func (f *TLSFlags) names() []string {
	var out []string
	for _, n := range []struct {
		name string
		set  bool
	}{{"--ca", f.CA != ""}, {"--cert", f.Cert != ""}, {"--key", f.Key != ""}, {"--insecure", f.Insecure}, {"--tls-server-name", f.ServerName != ""}} {
		if n.set {
			out = append(out, n.name)
		}
	}
	return out
}

func redactedURL(u *url.URL) string { return u.Redacted() }

// Config is the client *tls.Config the flags make, nil when none was given (the system roots
// and defaults). Call Validate first.
func (f *TLSFlags) Config() *tls.Config {
	if f == nil || f.cfg == nil {
		return nil
	}
	return f.cfg
}

// Warn prints the --insecure warning of command on w, when --insecure was given.
func (f *TLSFlags) Warn(w io.Writer, command string) {
	if f != nil && f.Insecure {
		fmt.Fprintf(w, "hookproof %s: WARNING: --insecure: the endpoint's TLS certificate is not verified (anyone in the middle could answer for it); this is recorded in the results\n", command)
	}
}

// ServeTLSFlags are the server TLS flags of every command that serves (receiver, listen,
// chaos, sink): --tls-cert and --tls-key serve HTTPS, --client-ca requires client
// certificates (mutual TLS). Register them with AddServeTLSFlags, then wrap the listener:
//
//	tf := session.AddServeTLSFlags(fs)
//	...parse...
//	ln, err = tf.Listener(ln) // a usage error for bad files
//	fmt.Printf("listening on %s://%s\n", tf.Scheme(), ln.Addr())
type ServeTLSFlags struct {
	tlsconf.Server
}

// AddServeTLSFlags registers --tls-cert, --tls-key and --client-ca on fs.
func AddServeTLSFlags(fs *flag.FlagSet) *ServeTLSFlags {
	f := &ServeTLSFlags{}
	fs.StringVar(&f.Cert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM, the chain after the leaf); with --tls-key")
	fs.StringVar(&f.Key, "tls-key", "", "private key `FILE` (PEM) of --tls-cert")
	fs.StringVar(&f.ClientCA, "client-ca", "", "with --tls-cert: require a client certificate signed by a CA of this PEM `FILE` (mutual TLS); others are refused in the handshake")
	return f
}

// Describe is what a listening line adds: ", mutual TLS (client CA FILE)" or "".
func (f *ServeTLSFlags) Describe() string {
	if f.ClientCA != "" {
		return ", mutual TLS: client certificates of " + f.ClientCA
	}
	return ""
}

// Config is the server *tls.Config (nil for plain HTTP); its errors are usage errors.
func (f *ServeTLSFlags) Config() (*tls.Config, error) {
	cfg, err := f.Server.Config()
	return cfg, Usage(err)
}

// Listener wraps ln in TLS when --tls-cert is given; on a usage error ln is closed.
func (f *ServeTLSFlags) Listener(ln net.Listener) (net.Listener, error) {
	cfg, err := f.Config()
	if err != nil {
		ln.Close()
		return nil, err
	}
	return tlsconf.Listener(ln, cfg), nil
}
