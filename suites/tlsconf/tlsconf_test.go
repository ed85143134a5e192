package tlsconf_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/suites/tlsconf"
)

// serve starts an HTTPS server on loopback with cert, requiring client certificates of
// clientCA when it is set.
func serve(t *testing.T, cert tls.Certificate, clientCA *tlsconf.CA) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCA != nil {
		ts.TLS.ClientCAs, ts.TLS.ClientAuth = clientCA.Pool(), tls.RequireAndVerifyClientCert
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

func probe(host string, cfg *tls.Config) (*tls.ConnectionState, error) {
	return tlsconf.Probe(context.Background(), host, cfg, 5*time.Second)
}

func TestProbeExplainsEveryVerifyFailure(t *testing.T) {
	ca, err := tlsconf.NewCA("hookproof test CA")
	if err != nil {
		t.Fatal(err)
	}
	good, _ := ca.Server("localhost", "127.0.0.1")
	other, _ := ca.Server("webhooks.example")
	expired, _ := ca.Issue(tlsconf.IssueOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}, "127.0.0.1")
	client, _ := ca.Client("hookproof client")
	stranger, _ := tlsconf.NewCA("stranger CA")
	strangerClient, _ := stranger.Client("intruder")

	trusted := &tls.Config{RootCAs: ca.Pool()}
	cases := []struct {
		name    string
		cert    tls.Certificate
		mtls    bool
		cfg     *tls.Config
		reason  string
		mention string
	}{
		{"unknown authority", good.TLS, false, &tls.Config{}, tlsconf.ReasonUnknownAuthority, "--ca FILE"},
		{"name mismatch", other.TLS, false, trusted, tlsconf.ReasonNameMismatch, "--tls-server-name webhooks.example"},
		{"expired", expired.TLS, false, trusted, tlsconf.ReasonExpired, "expired on"},
		{"client certificate required", good.TLS, true, trusted, tlsconf.ReasonClientCert, "--cert FILE --key FILE"},
		{"client certificate refused", good.TLS, true, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{strangerClient.TLS}}, tlsconf.ReasonClientRefused, "--cert FILE --key FILE"},
		{"TLS 1.2 client certificate required", good.TLS, true, &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12}, tlsconf.ReasonClientCert, "--cert"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cca *tlsconf.CA
			if c.mtls {
				cca = ca
			}
			host := serve(t, c.cert, cca)
			_, err := probe(host, c.cfg)
			var e *tlsconf.Error
			if !errors.As(err, &e) || !errors.Is(err, tlsconf.ErrTLS) {
				t.Fatalf("err = %v (%T), want a *tlsconf.Error", err, err)
			}
			if e.Reason != c.reason || !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("err = %q (reason %q), want reason %q mentioning %q", err, e.Reason, c.reason, c.mention)
			}
			t.Logf("%s", err)
		})
	}

	t.Run("verified", func(t *testing.T) {
		host := serve(t, good.TLS, ca)
		st, err := probe(host, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS}})
		if err != nil {
			t.Fatal(err)
		}
		d := tlsconf.Describe(st, &tls.Config{Certificates: []tls.Certificate{client.TLS}}, "127.0.0.1", "ca.pem")
		if d.Version != "TLS 1.3" || d.Cipher == "" || !d.ClientCertificate || d.Insecure {
			t.Fatalf("describe = %+v", d)
		}
	})
	t.Run("name given", func(t *testing.T) {
		host := serve(t, other.TLS, nil)
		if _, err := probe(host, &tls.Config{RootCAs: ca.Pool(), ServerName: "webhooks.example"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		host := serve(t, expired.TLS, nil)
		if _, err := probe(host, &tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("plain http", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		defer ts.Close()
		_, err := probe(ts.Listener.Addr().String(), trusted)
		var e *tlsconf.Error
		if !errors.As(err, &e) || e.Reason != tlsconf.ReasonNotTLS {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		host := ln.Addr().String()
		ln.Close()
		_, err := probe(host, trusted)
		var de *tlsconf.DialError
		if !errors.As(err, &de) || errors.Is(err, tlsconf.ErrTLS) {
			t.Fatalf("err = %v, want a dial error", err)
		}
	})
}

func TestClientConfigFiles(t *testing.T) {
	dir := t.TempDir()
	ca, _ := tlsconf.NewCA("files CA")
	caFile, _ := ca.WriteFile(dir, "ca")
	leaf, _ := ca.Client("c")
	f, _ := leaf.WriteFiles(dir, "client")
	cfg, err := tlsconf.Client{CA: caFile, Cert: f.Cert, Key: f.Key, ServerName: "x"}.Config()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "x" {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	for _, c := range []tlsconf.Client{{CA: f.Key}, {Cert: f.Cert}, {Key: f.Key}, {Cert: f.Cert, Key: caFile}, {CA: dir + "/none.pem"}} {
		if _, err := c.Config(); !errors.Is(err, tlsconf.ErrConfig) {
			t.Errorf("%+v: err = %v, want ErrConfig", c, err)
		}
	}
	for _, s := range []tlsconf.Server{{Cert: f.Cert}, {Key: f.Key}, {ClientCA: caFile}, {Cert: f.Cert, Key: f.Key, ClientCA: f.Key}} {
		if _, err := s.Config(); !errors.Is(err, tlsconf.ErrConfig) {
			t.Errorf("%+v: err = %v, want ErrConfig", s, err)
		}
	}
	if cfg, err := (tlsconf.Server{Cert: f.Cert, Key: f.Key, ClientCA: caFile}).Config(); err != nil || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("server config %v, %v", cfg, err)
	}
}
