package inspect

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func post(t *testing.T, url string, h http.Header, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestListenerAnswers: what the sender is told, with and without a secret, and the console
// line of each delivery.
func TestListenerAnswers(t *testing.T) {
	now := time.Now
	for _, judged := range []bool{true, false} {
		t.Run(fmt.Sprintf("secret=%v", judged), func(t *testing.T) {
			var secrets []string
			if judged {
				secrets = []string{secretOf("standard", "mine")}
			}
			j, err := NewJudge("standard", secrets)
			if err != nil {
				t.Fatal(err)
			}
			var con lockedBuffer
			l, err := NewListener(ListenerConfig{Judge: j, Hub: NewHub(10), Console: &con})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(l)
			defer srv.Close()
			bad := func(code int) int {
				if judged {
					return code
				}
				return 200
			}
			b := testBody("evt_ok")
			if code, _ := post(t, srv.URL+"/hooks", signed(t, "standard", "mine", "evt_ok", now(), b), b); code != 200 {
				t.Errorf("valid: %d", code)
			}
			b = testBody("evt_forged")
			if code, body := post(t, srv.URL, signed(t, "standard", "other", "evt_forged", now(), b), b); code != bad(401) {
				t.Errorf("forged: %d %s", code, body)
			}
			b = testBody("evt_stale")
			if code, _ := post(t, srv.URL, signed(t, "standard", "mine", "evt_stale", now().Add(-time.Hour), b), b); code != bad(401) {
				t.Errorf("stale: %d", code)
			}
			h := signed(t, "standard", "mine", "evt_badts", now(), b)
			h.Set("Webhook-Timestamp", "soon")
			if code, _ := post(t, srv.URL, h, b); code != bad(400) {
				t.Errorf("malformed: %d", code)
			}
			if code, _ := post(t, srv.URL, http.Header{}, bytes.Repeat([]byte("a"), MaxBodyBytes+1)); code != 413 {
				t.Errorf("oversized: %d", code)
			}
			out := con.String()
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 5 {
				t.Fatalf("%d console lines:\n%s", len(lines), out)
			}
			first := "POST /hooks id=evt_ok type=order.updated " + fmt.Sprint(len(testBody("evt_ok"))) + "B valid: signature valid (secret 1 of 1, entry 1 of 1)"
			if !judged {
				first = "B unjudged: signature not judged (no --secret)"
			}
			for i, want := range []string{first, "id=evt_forged", "s old, over the 300 s tolerance", "malformed: webhook-timestamp \"soon\" is not unix seconds", "refused: body over 1048576 bytes → 413"} {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d lacks %q: %s", i+1, want, lines[i])
				}
			}
			if !strings.HasSuffix(lines[0], "→ 200") || !strings.HasSuffix(lines[1], fmt.Sprintf("→ %d", bad(401))) {
				t.Errorf("the answer is not on the line:\n%s", out)
			}
			if strings.Contains(out, "v1,") || (judged && strings.Contains(out, secrets[0])) {
				t.Errorf("a signature or the secret is on the console:\n%s", out)
			}
		})
	}
}

// TestListenerHubIsBounded: with --keep 10, after 50 deliveries the hub holds the last 10.
func TestListenerHubIsBounded(t *testing.T) {
	j, _ := NewJudge("standard", nil)
	hub := NewHub(10)
	l, _ := NewListener(ListenerConfig{Judge: j, Hub: hub})
	srv := httptest.NewServer(l)
	defer srv.Close()
	for i := range 50 {
		id := fmt.Sprintf("evt_%02d", i)
		post(t, srv.URL, signed(t, "standard", "any", id, time.Now(), testBody(id)), testBody(id))
	}
	items := hub.Snapshot()
	if len(items) != 10 {
		t.Fatalf("the hub holds %d, want 10", len(items))
	}
	if items[0].Seq != 41 || items[0].Entry.Verdict.ID != "evt_40" || items[9].Entry.Verdict.ID != "evt_49" {
		t.Errorf("the hub holds %d (%s) to %s", items[0].Seq, items[0].Entry.Verdict.ID, items[9].Entry.Verdict.ID)
	}
}

// TestListenerRecordRedacts: the record holds every delivery, signature values REDACTED
// (every scheme's, the legacy ones too) unless RecordSecrets.
func TestListenerRecordRedacts(t *testing.T) {
	for _, keepSecrets := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "rec.jsonl")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := NewJudge("github", []string{secretOf("github", "mine")})
		l, _ := NewListener(ListenerConfig{Judge: j, Record: NewWriter(f), RecordSecrets: keepSecrets})
		srv := httptest.NewServer(l)
		b := testBody("evt_rec")
		h := signed(t, "github", "mine", "gh-1", time.Now(), b)
		h.Set("Webhook-Signature", "v1,c2lnbmF0dXJl") // another scheme's header, redacted too
		post(t, srv.URL+"/gh?x=1", h, b)
		srv.Close()
		f.Close()
		rf, _ := os.Open(path)
		entries, _, err := ReadRecords(rf)
		rf.Close()
		if err != nil || len(entries) != 1 {
			t.Fatalf("records: %d, %v", len(entries), err)
		}
		e := entries[0]
		if e.Path != "/gh?x=1" || !bytes.Equal(e.Body, b) || e.Verdict == nil || e.Verdict.Outcome != Valid || e.Verdict.ID != "gh-1" {
			t.Errorf("entry: %+v", e)
		}
		for _, n := range []string{signature.HeaderGitHubSignature, signature.HeaderGitHubSignatureSHA1, "Webhook-Signature"} {
			got := e.Header.Get(n)
			if keepSecrets == (got == Redacted) || got != map[bool]string{true: h.Get(n), false: Redacted}[keepSecrets] {
				t.Errorf("record-secrets=%v: %s = %q", keepSecrets, n, got)
			}
		}
	}
}

// TestForwardURL: the request's path is appended to the URL's path, its query after the URL's.
func TestForwardURL(t *testing.T) {
	for _, c := range []struct{ target, req, want string }{
		{"http://e:1", "/hooks?a=1", "http://e:1/hooks?a=1"},
		{"http://e:1/", "/hooks", "http://e:1/hooks"},
		{"http://e:1/base/", "/a/b?x=1&x=2", "http://e:1/base/a/b?x=1&x=2"},
		{"http://e:1/base?k=v", "/h?x=1", "http://e:1/base/h?k=v&x=1"},
		{"http://e:1/base?k=v", "/h", "http://e:1/base/h?k=v"},
		{"http://e:1/b%2Fc", "/d%20e", "http://e:1/b%2Fc/d%20e"},
	} {
		tu, _ := url.Parse(c.target)
		ru, _ := url.ParseRequestURI(c.req)
		if got := ForwardURL(tu, ru).String(); got != c.want {
			t.Errorf("%s + %s = %s, want %s", c.target, c.req, got, c.want)
		}
	}
}

// TestListenerForwardFailure: an endpoint that does not answer is a 502 with the reason, and
// the record says so.
func TestListenerForwardFailure(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	target, _ := url.Parse(dead.URL)
	dead.Close()
	j, _ := NewJudge("standard", nil)
	hub := NewHub(5)
	var con lockedBuffer
	l, _ := NewListener(ListenerConfig{Judge: j, Hub: hub, ForwardTo: target, Console: &con})
	srv := httptest.NewServer(l)
	defer srv.Close()
	code, body := post(t, srv.URL, signed(t, "standard", "any", "evt_x", time.Now(), testBody("evt_x")), testBody("evt_x"))
	if code != 502 || !strings.Contains(body, "the endpoint did not answer") || !strings.Contains(body, "refused") {
		t.Errorf("%d %s", code, body)
	}
	if fw := hub.Snapshot()[0].Entry.Forward; fw == nil || fw.Status != 0 || !strings.Contains(fw.Error, "refused") {
		t.Errorf("forward: %+v", fw)
	}
	if !strings.Contains(con.String(), "→ forward failed after") {
		t.Errorf("console: %s", con.String())
	}
}
