package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// Credentials in --url (user:password, a token in the query) never reach the results file,
// HTML, JUnit, Markdown or stderr: the URL is shown redacted, and its credentials are secrets.
func TestURLCredentialsAreRedacted(t *testing.T) {
	const pass, token, user = "hunter2-passw0rd", "tok_live_abcdef123456", "deploybot"
	raw := "http://" + user + ":" + pass + "@127.0.0.1:9/hook?token=" + token + "&page=2"
	dir := t.TempDir()
	var stderr bytes.Buffer
	out := Outputs{Results: filepath.Join(dir, "r.json"), Files: map[string]string{
		"html": filepath.Join(dir, "r.html"), "junit": filepath.Join(dir, "r.xml"), "summary-md": filepath.Join(dir, "r.md")}}
	s := New(Config{Command: "conform receiver", Stderr: &stderr, Stdout: &stderr,
		Args: []string{"conform", "receiver", "--url", raw, "--url=" + raw}, Outputs: out})
	defer s.Close(context.Background())
	f, fs := parseTargetFlags(t, "--url", raw)
	if err := f.Validate(fs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenTarget(context.Background(), f, "standard", "whsec_x"); err != nil {
		t.Fatal(err)
	}
	s.Printf("probing %s", raw)
	meta := s.Meta()
	meta.Started, meta.Finished = time.Unix(0, 0), time.Unix(1, 0)
	r := &reports.Results{Kind: reports.KindConformReceiver, Run: meta}
	r.Cases = append(r.Cases, reports.Case{ID: "RCV-SIG-001", Level: reports.MUST, Outcome: reports.Failed,
		Requirement: "x", Actual: "the receiver answered: bad credentials " + pass + " for " + token})
	_ = s.Finish(context.Background(), r)

	for _, name := range []string{"r.json", "r.html", "r.xml", "r.md"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{pass, token} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
	}
	for _, secret := range []string{pass, token} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("stderr contains %q:\n%s", secret, stderr.String())
		}
	}
	if strings.Contains(meta.Target, pass) || !strings.Contains(meta.Target, "127.0.0.1:9/hook") {
		t.Errorf("RunMeta.Target = %q, want the URL without its credentials", meta.Target)
	}
}
