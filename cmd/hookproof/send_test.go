package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
)

// capture is an endpoint that keeps every request and answers with the next status of its list
// (the last one repeated).
type capture struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies, c.headers = append(c.bodies, b), append(c.headers, r.Header.Clone())
	st := c.statuses[min(len(c.bodies), len(c.statuses))-1]
	c.mu.Unlock()
	w.Header().Set("X-Answer", "yes")
	w.WriteHeader(st)
	io.WriteString(w, "answered\x1b[31m red")
}

func serveCapture(t *testing.T, statuses ...int) (*capture, string) {
	c := &capture{statuses: statuses}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL + "/hook"
}

// send delivers the exact bytes of --event FILE with a signature that verifies, on every
// scheme; the request's headers and the answer are shown, its control characters stripped.
func TestSendExactBytesEveryScheme(t *testing.T) {
	body := []byte("{\"id\":\"evt_file_1\",\"note\":\"not reformatted\"}  \n\x00\xff trailing bytes, not JSON\n")
	path := filepath.Join(t.TempDir(), "event.bin")
	os.WriteFile(path, body, 0o600)
	for _, scheme := range signature.Names() {
		t.Run(scheme, func(t *testing.T) {
			secret := signature.SecretFrom(scheme, []byte("hookproof-send-test-secret-key-!"))
			c, url := serveCapture(t, 204)
			code, out, errs := runCLI(t, "", "send", "--url", url, "--secret", secret, "--scheme", scheme, "--event", path)
			if code != exitOK || len(c.bodies) != 1 {
				t.Fatalf("exit %d, %d requests\n%s\n%s", code, len(c.bodies), out, errs)
			}
			if !bytes.Equal(c.bodies[0], body) {
				t.Fatalf("the receiver got %q, want the file's exact bytes %q", c.bodies[0], body)
			}
			s, _ := signature.New(scheme, secret)
			if _, err := s.Verify(c.headers[0], c.bodies[0]); err != nil {
				t.Fatalf("the signature does not verify: %v\n%v", err, c.headers[0])
			}
			tr := s.Traits()
			for _, want := range []string{"> " + tr.SignatureHeader + ": " + c.headers[0].Get(tr.SignatureHeader), "< 204 No Content", "acknowledged: 204 after 1 attempt"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, secret) || strings.ContainsAny(out, "\x1b") || !strings.Contains(out, "< X-Answer: yes") {
				t.Errorf("the output shows the secret or control characters:\n%q", out)
			}
			if tr.IDHeader != "" && !strings.HasPrefix(c.headers[0].Get(tr.IDHeader), "msg_") {
				t.Errorf("%s = %q, want a generated msg_ id (the body is not JSON: it has no id)", tr.IDHeader, c.headers[0].Get(tr.IDHeader))
			}
		})
	}
}

// Without --event, send makes a sample event in the scheme's body shape, with --id as its id.
func TestSendSampleEvent(t *testing.T) {
	for _, scheme := range signature.Names() {
		t.Run(scheme, func(t *testing.T) {
			secret := signature.SecretFrom(scheme, []byte("hookproof-send-test-secret-key-!"))
			c, url := serveCapture(t, 200)
			code, out, errs := runCLI(t, "", "send", "--url", url, "--secret", secret, "--scheme", scheme, "--id", "msg_sample_7")
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs)
			}
			s, _ := signature.New(scheme, secret)
			v, err := s.Verify(c.headers[0], c.bodies[0])
			if err != nil {
				t.Fatal(err)
			}
			if v.ID != "msg_sample_7" && scheme != "github" && scheme != "shopify" || signature.DeliveryID(scheme, c.headers[0], c.bodies[0]) != "msg_sample_7" {
				t.Fatalf("delivery id %q, want msg_sample_7: %s", v.ID, c.bodies[0])
			}
			if got := event.Parse(c.bodies[0]); !got.Ordered {
				t.Fatalf("the sample event reads as %+v: %s", got, c.bodies[0])
			}
		})
	}
}

// A JSON body's own top-level id names the delivery in the id header when --id is not given.
func TestSendBodyID(t *testing.T) {
	c, url := serveCapture(t, 200)
	if code, out, errs := runCLI(t, `{"id":"evt_body_1","type":"x"}`, "send", "--url", url, "--secret", replaySecret, "--event", "-"); code != exitOK || c.headers[0].Get("webhook-id") != "evt_body_1" {
		t.Fatalf("exit %d, webhook-id %q\n%s\n%s", code, c.headers[0].Get("webhook-id"), out, errs)
	}
}

func TestSendStdinAndRetry(t *testing.T) {
	c, url := serveCapture(t, 503, 503, 202)
	code, out, errs := runCLI(t, "raw stdin bytes\n", "send", "--url", url, "--secret", replaySecret, "--event", "-", "--retry", "--id", "msg_r")
	if code != exitOK || len(c.bodies) != 3 || string(c.bodies[2]) != "raw stdin bytes\n" {
		t.Fatalf("exit %d, %d requests\n%s\n%s", code, len(c.bodies), out, errs)
	}
	for _, want := range []string{"--- attempt 1", "--- attempt 3", "retrying in", "(status 503)", "< 202 Accepted", "acknowledged: 202 after 3 attempts"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	s, _ := signature.New("standard", replaySecret)
	for i := range c.bodies {
		if _, err := s.Verify(c.headers[i], c.bodies[i]); err != nil || c.headers[i].Get("webhook-id") != "msg_r" {
			t.Fatalf("attempt %d: %v, id %q", i+1, err, c.headers[i].Get("webhook-id"))
		}
	}

	_, url = serveCapture(t, 503)
	if code, out, _ := runCLI(t, "x", "send", "--url", url, "--secret", replaySecret, "--event", "-"); code != exitFailed || !strings.Contains(out, "< 503") {
		t.Fatalf("503 without --retry: exit %d, want 1\n%s", code, out)
	}
	c, url = serveCapture(t, 410)
	if code, _, _ := runCLI(t, "x", "send", "--url", url, "--secret", replaySecret, "--event", "-", "--retry"); code != exitFailed || len(c.bodies) != 1 {
		t.Fatalf("410 with --retry: exit %d after %d attempts, want 1 after 1", code, len(c.bodies))
	}
}

func TestSendErrors(t *testing.T) {
	dead := "http://" + freeAddr(t) + "/hook"
	_, ok := serveCapture(t, 200)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unreachable", []string{"--url", dead, "--secret", replaySecret}, exitHarness, "could not reach"},
		{"no url", []string{"--secret", replaySecret}, exitUsage, "--url"},
		{"no secret", []string{"--url", ok}, exitUsage, "no secret"},
		{"id on stripe file", []string{"--url", ok, "--secret", "whsec_x", "--scheme", "stripe", "--event", "-", "--id", "evt_1"}, exitUsage, "no id header"},
		{"max-attempts without retry", []string{"--url", ok, "--secret", replaySecret, "--max-attempts", "3"}, exitUsage, "--retry"},
		{"missing file", []string{"--url", ok, "--secret", replaySecret, "--event", filepath.Join(t.TempDir(), "nope")}, exitUsage, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "{}", append([]string{"send"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d (want %d), output lacks %q?\n%s\n%s", code, tt.code, tt.want, out, errs)
			}
		})
	}
}
