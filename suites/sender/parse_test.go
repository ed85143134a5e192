package sender

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

func testEnv(t testing.TB, scheme, secret string) *env {
	t.Helper()
	e, err := newEnv(Options{Trigger: "true {url}", Secret: secret, Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const parseSecret = "whsec_aG9va3Byb29mLXNlbmRlci1zdWl0ZS1zZWNyZXQtMDE="

func TestEnvelopeProblems(t *testing.T) {
	e := testEnv(t, "standard", parseSecret)
	hdr := http.Header{"Webhook-Id": {"msg_1"}}
	tests := []struct {
		body string
		want string // "" for no problem, else a substring of the problems
	}{
		{`{"id":"msg_1","type":"a.b","timestamp":"2026-01-02T03:04:05Z","data":{"x":1}}`, ""},
		{`{"type":"a.b","timestamp":"2026-01-02T03:04:05.123+01:00","data":{}}`, ""}, // id optional with an id header
		{`{"type":"a.b","timestamp":"2026-01-02T03:04:05Z"}`, ""},                    // data squashed into the top level
		{`{"id":"msg_2","type":"a.b","timestamp":"2026-01-02T03:04:05Z","data":{}}`, "differs"},
		{`{"type":"a.b","timestamp":"yesterday","data":{}}`, "RFC 3339"},
		{`{"type":"","timestamp":"2026-01-02T03:04:05Z"}`, `"type"`},
		{`{"timestamp":"2026-01-02T03:04:05Z"}`, `no "type"`},
		{`{"type":"a.b","timestamp":"2026-01-02T03:04:05Z","data":[1]}`, "not an object"},
		{`[1,2]`, "not a JSON object"},
		{`not json`, "not a JSON object"},
	}
	for _, tt := range tests {
		p := strings.Join(e.envelopeProblems(Attempt{Header: hdr, Body: []byte(tt.body)}), "; ")
		if (tt.want == "") != (p == "") || !strings.Contains(p, tt.want) {
			t.Errorf("%s: problems %q, want %q", tt.body, p, tt.want)
		}
	}
	// Without an id header (stripe) the body must carry the id.
	es := testEnv(t, "stripe", "stripe-secret")
	p := es.envelopeProblems(Attempt{Header: http.Header{}, Body: []byte(`{"type":"a.b","timestamp":"2026-01-02T03:04:05Z"}`)})
	if len(p) != 1 || !strings.Contains(p[0], "must carry the delivery id") {
		t.Errorf("stripe body without id: %q", p)
	}
}

func TestHeaderProblems(t *testing.T) {
	for _, scheme := range []string{"standard", "stripe", "github", "shopify", "slack"} {
		secret := parseSecret
		if scheme != "standard" {
			secret = "secret-" + scheme
		}
		e := testEnv(t, scheme, secret)
		sc, _ := signature.New(scheme, secret)
		body := []byte(`{"id":"msg_1","type":"a.b","timestamp":"2026-01-02T03:04:05Z","data":{}}`)
		h, err := sc.Sign(signature.Message{ID: "msg_1", Timestamp: time.Now(), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		a := Attempt{Method: "POST", Header: h, Body: body}
		if p := e.headerProblems(a); len(p) != 0 {
			t.Errorf("%s: a correct attempt has problems %q", scheme, p)
		}
		bad := a
		bad.Method = "PUT"
		bad.Header = h.Clone()
		bad.Header.Del("Content-Type")
		bad.Header.Add(e.traits.SignatureHeader, "again")
		if p := e.headerProblems(bad); len(p) != 3 {
			t.Errorf("%s: PUT, no Content-Type, two signature headers: problems %q, want 3", scheme, p)
		}
	}
	e := testEnv(t, "standard", parseSecret)
	h := http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {"msg.1"}, "Webhook-Timestamp": {"1.5"},
		"Webhook-Signature": {"v1,???"}}
	p := strings.Join(e.headerProblems(Attempt{Method: "POST", Header: h}), "; ")
	for _, want := range []string{"contains '.'", "not integer unix seconds", "not in the standard format"} {
		if !strings.Contains(p, want) {
			t.Errorf("problems %q lack %q", p, want)
		}
	}
}

func FuzzEnvelopeProblems(f *testing.F) {
	e := testEnv(f, "standard", parseSecret)
	f.Add([]byte(`{"id":"msg_1","type":"a.b","timestamp":"2026-01-02T03:04:05Z","data":{}}`), "msg_1", "1700000000")
	f.Add([]byte(`{"data":"x"}`), "", "x")
	f.Fuzz(func(t *testing.T, body []byte, id, ts string) {
		a := Attempt{Method: "POST", Header: http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}}, Body: body}
		e.envelopeProblems(a)
		e.headerProblems(a)
		if n, ok := e.timestampOf(a); ok && n <= 0 {
			t.Fatalf("timestampOf(%q) = %d, ok", ts, n)
		}
	})
}

func TestShellWord(t *testing.T) {
	for _, s := range []string{"http://127.0.0.1:9/case/SND-ID-001/ab12", "http://[::1]:9/case/x", "it's", "a b", "$(rm -rf /)", ""} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellWord(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellWord(%q) = %s: the shell reads %q (%v)", s, shellWord(s), out, err)
		}
	}
	if got := shellWord("http://127.0.0.1:9/case/SND-ID-001/ab12"); strings.Contains(got, "'") {
		t.Errorf("a plain URL was quoted: %s", got)
	}
}

func FuzzShellWord(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:9/x", "it's", "a\nb", "`x`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := shellWord(s)
		if w != s && !(strings.HasPrefix(w, "'") && strings.HasSuffix(w, "'")) {
			t.Fatalf("shellWord(%q) = %q: neither as is nor single-quoted", s, w)
		}
		if w == s && strings.ContainsAny(s, " '\"`$\\;&|<>*?[]()\n\t#~") {
			t.Fatalf("shellWord(%q) left shell syntax unquoted", s)
		}
	})
}
