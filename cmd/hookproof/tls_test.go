package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// tlsFiles are a test's certificates, generated in the test (never fetched): a CA, a server
// certificate for 127.0.0.1 and localhost, and a client certificate, all on disk as PEM.
type tlsFiles struct {
	CA                     string
	ServerCert, ServerKey  string
	ClientCert, ClientKey  string
	StrangerCA             string // a CA that signed nothing here
	StrangerC, StrangerKey string // a client certificate of the stranger CA
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	ca, err := tlsconf.NewCA("hookproof test CA")
	if err != nil {
		t.Fatal(err)
	}
	must := func(l *tlsconf.Leaf, err error) *tlsconf.Leaf {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	var f tlsFiles
	if f.CA, err = ca.WriteFile(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	srv, err := must(ca.Server("127.0.0.1", "localhost")).WriteFiles(dir, "server")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := must(ca.Client("hookproof test client")).WriteFiles(dir, "client")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tlsconf.NewCA("stranger CA")
	if err != nil {
		t.Fatal(err)
	}
	if f.StrangerCA, err = stranger.WriteFile(dir, "stranger-ca"); err != nil {
		t.Fatal(err)
	}
	sc, err := must(stranger.Client("intruder")).WriteFiles(dir, "stranger-client")
	if err != nil {
		t.Fatal(err)
	}
	f.ServerCert, f.ServerKey, f.ClientCert, f.ClientKey, f.StrangerC, f.StrangerKey = srv.Cert, srv.Key, cli.Cert, cli.Key, sc.Cert, sc.Key
	return f
}

var httpsListeningRE = regexp.MustCompile(`listening on (https://\S+)`)

// serveCommand runs `hookproof args...` in process (receiver, chaos, listen) until the test
// ends and returns the https URL it says it listens on.
func serveCommand(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: errb, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Errorf("hookproof %s did not stop", args[0])
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := httpsListeningRE.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("hookproof %v exited %d:\n%s%s", args, code, out.String(), errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("hookproof %v does not say it listens on https:\n%s%s", args, out.String(), errb.String())
	return ""
}

// TestConformReceiverOverTLS runs conform receiver against `hookproof receiver --tls-cert`:
// without --ca the certificate does not verify (exit 3, naming --ca), with --ca it passes and
// the results hold the TLS version and cipher, a wrong --tls-server-name is a name mismatch,
// --insecure passes with a warning that the results and the reports carry; against a
// receiver that requires client certificates (--client-ca), a run without one is refused
// (exit 3, naming --cert and --key), with one it passes.
func TestConformReceiverOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	f := newTLSFiles(t)
	sinkAddr := freeAddr(t)
	dir := t.TempDir()
	rcv := serveCommand(t, "receiver", "--listen", "127.0.0.1:0", "--secret", conformSecret, "--db", filepath.Join(dir, "r.db"),
		"--sink", "http://"+sinkAddr+"/effects", "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey)
	mtls := serveCommand(t, "receiver", "--listen", "127.0.0.1:0", "--secret", conformSecret, "--db", filepath.Join(dir, "m.db"),
		"--sink", "http://"+sinkAddr+"/effects", "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--client-ca", f.CA)
	if !strings.HasPrefix(rcv, "https://127.0.0.1:") {
		t.Fatalf("receiver URL %q", rcv)
	}
	suite := func(url string, extra ...string) []string {
		return append([]string{"--url", url, "--secret", conformSecret, "--family", "signatures", "--sink", sinkAddr}, extra...)
	}
	refused := []struct {
		name string
		args []string
		want []string
	}{
		{"no --ca: unknown authority", suite(rcv), []string{"TLS unknown authority", `issuer "hookproof test CA"`, "--ca FILE"}},
		{"wrong CA: unknown authority", suite(rcv, "--ca", f.StrangerCA), []string{"TLS unknown authority", "the --ca bundle does not hold the CA"}},
		{"name mismatch", suite(rcv, "--ca", f.CA, "--tls-server-name", "webhooks.example"), []string{"TLS name mismatch", `not valid for "webhooks.example"`, "127.0.0.1", "--tls-server-name"}},
		{"mTLS without a client certificate", suite(mtls, "--ca", f.CA), []string{"TLS client certificate required", "--cert FILE --key FILE"}},
		{"mTLS with a stranger's certificate", suite(mtls, "--ca", f.CA, "--cert", f.StrangerC, "--key", f.StrangerKey), []string{"TLS client certificate refused", "--cert FILE --key FILE"}},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			code, output := conformProcess(t, c.args...)
			if code != exitHarness {
				t.Fatalf("exit %d, want %d:\n%s", code, exitHarness, output)
			}
			for _, w := range c.want {
				if !strings.Contains(output, w) {
					t.Errorf("output lacks %q:\n%s", w, output)
				}
			}
			if strings.Contains(output, "RCV-SIG") {
				t.Errorf("cases ran although the certificate did not verify:\n%s", output)
			}
		})
	}

	passes := []struct {
		name     string
		args     []string
		insecure bool
		client   bool
	}{
		{"--ca", suite(rcv, "--ca", f.CA), false, false},
		{"--ca and --tls-server-name", suite(rcv, "--ca", f.CA, "--tls-server-name", "localhost"), false, false},
		{"--insecure", suite(rcv, "--insecure"), true, false},
		{"mTLS with the client certificate", suite(mtls, "--ca", f.CA, "--cert", f.ClientCert, "--key", f.ClientKey), false, true},
	}
	for _, c := range passes {
		t.Run(c.name, func(t *testing.T) {
			out, html, md := filepath.Join(t.TempDir(), "r.json"), filepath.Join(t.TempDir(), "r.html"), filepath.Join(t.TempDir(), "r.md")
			code, output := conformProcess(t, append(c.args, "--out", out, "--html", html, "--summary-md", md)...)
			if code != exitOK {
				t.Fatalf("exit %d:\n%s", code, output)
			}
			res, err := reports.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			tl := res.Run.TLS
			if tl == nil || tl.Version != "TLS 1.3" || !strings.HasPrefix(tl.Cipher, "TLS_") || tl.Insecure != c.insecure || tl.ClientCertificate != c.client {
				t.Fatalf("results TLS = %+v", tl)
			}
			if !c.insecure && tl.CA != f.CA {
				t.Errorf("results TLS CA = %q, want %q", tl.CA, f.CA)
			}
			warned := strings.Contains(output, "WARNING: --insecure")
			if warned != c.insecure {
				t.Errorf("--insecure warning printed: %v, want %v:\n%s", warned, c.insecure, output)
			}
			for _, file := range []string{html, md} {
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Contains(string(b), reports.InsecureWarning); got != c.insecure {
					t.Errorf("%s shows the --insecure warning: %v, want %v", filepath.Base(file), got, c.insecure)
				}
				if !strings.Contains(string(b), "TLS 1.3") {
					t.Errorf("%s does not show the TLS version", filepath.Base(file))
				}
			}
		})
	}
}

// TestLoadOverHTTPSThroughChaosExactlyOnce sends load over HTTPS through `hookproof chaos`
// serving HTTPS itself and reaching an upstream receiver that requires client certificates:
// every valid event is processed exactly once through drops, duplicates and lost acks, and
// the results hold the TLS of the run. A chaos proxy without the client certificate is
// refused at start (exit 3), and load's own in-process --chaos reaches the mTLS receiver
// with --cert and --key.
func TestLoadOverHTTPSThroughChaosExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("load runs")
	}
	f := newTLSFiles(t)
	sinkAddr := freeAddr(t)
	rcv := serveCommand(t, "receiver", "--listen", "127.0.0.1:0", "--secret", loadSecret, "--db", filepath.Join(t.TempDir(), "r.db"),
		"--sink", "http://"+sinkAddr+"/effects", "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--client-ca", f.CA)
	faults := []string{"--drop", "0.05", "--duplicate", "0.1", "--lost-ack", "0.05", "--seed", "11"}

	t.Run("chaos without the client certificate is refused", func(t *testing.T) {
		code, _, stderr := runCLI(t, "", append([]string{"chaos", "--listen", "127.0.0.1:0", "--upstream", rcv, "--ca", f.CA}, faults...)...)
		if code != exitHarness || !strings.Contains(stderr, "TLS client certificate required") || !strings.Contains(stderr, "--cert FILE --key FILE") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	check := func(t *testing.T, out string, chaosed bool) {
		t.Helper()
		res, err := reports.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		l := res.Load.Ledger
		if l.Published == 0 || l.Lost != 0 || l.Doubled != 0 || !res.ThresholdsPassed() {
			t.Fatalf("ledger %+v, thresholds passed %v", l, res.ThresholdsPassed())
		}
		if chaosed && l.Retries == 0 {
			t.Errorf("no retries: the chaos did nothing? ledger %+v", l)
		}
		if tl := res.Run.TLS; tl == nil || tl.Version != "TLS 1.3" || tl.Cipher == "" || tl.Insecure {
			t.Fatalf("results TLS = %+v", tl)
		}
	}
	load := func(url string, extra ...string) []string {
		return append([]string{"--url", url, "--secret", loadSecret, "--rate", "100/s", "--duration", "2s", "--seed", "5",
			"--sink", sinkAddr, "--drain", "10s", "--sink-wait", "5s", "--progress", "off"}, extra...)
	}

	t.Run("through hookproof chaos over HTTPS", func(t *testing.T) {
		px := serveCommand(t, append([]string{"chaos", "--listen", "127.0.0.1:0", "--upstream", rcv, "--ca", f.CA,
			"--cert", f.ClientCert, "--key", f.ClientKey, "--tls-cert", f.ServerCert, "--tls-key", f.ServerKey}, faults...)...)
		out := filepath.Join(t.TempDir(), "load.json")
		code, stdout, stderr := runLoadCLI(t, load(px+"/webhooks", "--ca", f.CA, "--out", out)...)
		if code != exitOK {
			t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
		}
		check(t, out, true)
	})
	t.Run("through load's own chaos to the mTLS receiver", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "load.json")
		code, stdout, stderr := runLoadCLI(t, load(rcv+"/webhooks", "--ca", f.CA, "--cert", f.ClientCert, "--key", f.ClientKey,
			"--chaos", "drop=0.05,duplicate=0.1,lost-ack=0.05", "--out", out)...)
		if code != exitOK {
			t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
		}
		check(t, out, true)
	})
	t.Run("load without the client certificate is refused", func(t *testing.T) {
		code, _, stderr := runLoadCLI(t, load(rcv, "--ca", f.CA)...)
		if code != exitHarness || !strings.Contains(stderr, "TLS client certificate required") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// TestConformSenderOverTLS runs conform sender with --tls: the scripted receiver serves
// HTTPS with a generated certificate, and the trigger (hookproof send) trusts its CA through
// {ca}; a trigger that does not trust it delivers nothing, and {ca} without --tls is a
// usage error.
func TestConformSenderOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	trigger := func(extra ...string) string {
		return helperCommand(append([]string{"send", "--url", "{url}", "--secret", senderTestSecret}, extra...)...)
	}
	t.Run("the sender trusts {ca}", func(t *testing.T) {
		code, output := conformSenderProcess(t, "--tls", "--trigger", trigger("--ca", "{ca}"), "--secret", senderTestSecret,
			"--id", "SND-SIG-001", "--seed", "4")
		if code != exitOK || !strings.Contains(output, "1 passed, 0 failed") || !strings.Contains(output, "serving HTTPS") {
			t.Fatalf("exit %d:\n%s", code, output)
		}
		if !strings.Contains(output, "https://127.0.0.1:") {
			t.Errorf("the scripted receiver's URL is not https:\n%s", output)
		}
	})
	t.Run("a sender that does not trust it delivers nothing", func(t *testing.T) {
		code, output := conformSenderProcess(t, "--tls", "--trigger", trigger(), "--secret", senderTestSecret,
			"--id", "SND-SIG-001", "--seed", "4")
		if code != exitHarness || !strings.Contains(output, "TLS unknown authority") {
			t.Fatalf("exit %d, want %d and the trigger's TLS error:\n%s", code, exitHarness, output)
		}
	})
	t.Run("{ca} without --tls", func(t *testing.T) {
		code, output := conformSenderProcess(t, "--trigger", trigger("--ca", "{ca}"), "--secret", senderTestSecret, "--id", "SND-SIG-001")
		if code != exitUsage || !strings.Contains(output, "give --tls") {
			t.Fatalf("exit %d:\n%s", code, output)
		}
	})
}

// TestSinkServesTLS: hookproof sink takes --tls-cert/--tls-key and --client-ca like the other
// servers: a client that trusts the CA (and, with --client-ca, shows a certificate) reaches it.
func TestSinkServesTLS(t *testing.T) {
	f := newTLSFiles(t)
	u := serveCommand(t, "sink", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "s.db"),
		"--tls-cert", f.ServerCert, "--tls-key", f.ServerKey, "--client-ca", f.CA)
	cfg, err := (tlsconf.Client{CA: f.CA, Cert: f.ClientCert, Key: f.ClientKey}).Config()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	resp, err := hc.Get(strings.TrimSuffix(u, "/") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET /healthz over TLS: %d", resp.StatusCode)
	}
	noCert, _ := (tlsconf.Client{CA: f.CA}).Config()
	hc = &http.Client{Transport: &http.Transport{TLSClientConfig: noCert}, Timeout: 10 * time.Second}
	if resp, err := hc.Get(strings.TrimSuffix(u, "/") + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate reached a sink that requires one: %d", resp.StatusCode)
	}
}
