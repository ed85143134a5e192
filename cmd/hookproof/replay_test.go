package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/suites/inspect"
	"github.com/hookproof/hookproof/suites/receiver"
)

// runCLI runs hookproof in process with stdin.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

const replaySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// recordFile writes n standard deliveries as listen --record does (signatures REDACTED).
func recordFile(t *testing.T, n int) (string, []string) {
	t.Helper()
	s, _ := signature.New("standard", replaySecret)
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := inspect.NewWriter(f)
	var ids []string
	at := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Millisecond)
	for i := range n {
		id := fmt.Sprintf("msg_cli_%d", i)
		ev := event.Envelope{ID: id, Type: "order.updated", Timestamp: at, Data: json.RawMessage(fmt.Sprintf(`{"object_id":"ord_%d","seq":1}`, i))}
		body := ev.AppendJSON(nil)
		h, _ := s.Sign(signature.Message{ID: id, Timestamp: at, Body: body})
		h.Set("Content-Type", "application/json")
		if err := w.Write(inspect.Entry{At: at, Method: "POST", Header: inspect.RedactHeaders(h, []string{"webhook-signature"}), Body: body}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return path, ids
}

// referenceReceiver runs the reference receiver in process, its effects in a collector.
func referenceReceiver(t *testing.T) (string, *sink.Collector) {
	t.Helper()
	sk, err := sink.Listen(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sk.Close() })
	tg, err := receiver.StartBuiltin(context.Background(), receiver.BuiltinReference, "standard", replaySecret, sk.URL(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close(context.Background()) })
	return tg.URL(), sk.Collector
}

func effectsExactlyOnce(t *testing.T, c *sink.Collector, ids []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range ids {
		if err := c.WaitDistinct(ctx, id, 1); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if err := c.WaitQuiet(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := c.Distinct(id); n != 1 {
			t.Errorf("%s: %d effects, want 1", id, n)
		}
	}
	if got := len(c.Counts()); got != len(ids) {
		t.Errorf("effects for %d ids, want %d: %v", got, len(ids), c.Counts())
	}
}

// hookproof replay FILE into the reference receiver: every delivery acknowledged, one effect
// per id; then again through chaos (retries shown, still one effect per id, exit 0).
func TestReplayCLIReferenceReceiver(t *testing.T) {
	path, ids := recordFile(t, 4)
	url, effects := referenceReceiver(t)
	code, out, errs := runCLI(t, "", "replay", path, "--url", url, "--secret", replaySecret)
	if code != exitOK || !strings.Contains(out, "delivered 4/4, 0 retries, 0 failed") || strings.Count(out, "  ok   msg_cli_") != 4 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	effectsExactlyOnce(t, effects, ids)

	url2, effects2 := referenceReceiver(t)
	code, out, errs = runCLI(t, "", "replay", path, "--url", url2, "--secret", replaySecret,
		"--chaos", "drop=0.3,lost-ack=0.3,duplicate=0.5", "--seed", "5", "--max-attempts", "12")
	if code != exitOK || !strings.Contains(out, "delivered 4/4") || strings.Contains(out, " 0 retries") {
		t.Fatalf("through chaos: exit %d (want 0, with retries)\n%s\n%s", code, out, errs)
	}
	effectsExactlyOnce(t, effects2, ids)

	// The same file, from stdin, under new ids: four new events.
	b, _ := os.ReadFile(path)
	code, out, errs = runCLI(t, string(b), "replay", "-", "--url", url, "--secret", replaySecret, "--new-ids")
	if code != exitOK || strings.Count(out, "(was msg_cli_") != 4 {
		t.Fatalf("--new-ids: exit %d\n%s\n%s", code, out, errs)
	}
	var all []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "ok" {
			all = append(all, f[1])
		}
	}
	effectsExactlyOnce(t, effects, append(all, ids...))
}

func TestReplayCLIErrors(t *testing.T) {
	path, ids := recordFile(t, 3)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer fail.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	dead := "http://" + freeAddr(t) + "/hook"
	b, _ := os.ReadFile(path)
	badLine := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(badLine, append(append(bytes.SplitAfterN(b, []byte("\n"), 2)[0], []byte("{\"headers\":{},\"body\":\"no id\"}\n")...), bytes.SplitAfterN(b, []byte("\n"), 2)[1]...), 0o600)
	notJSON := filepath.Join(t.TempDir(), "notjson.jsonl")
	os.WriteFile(notJSON, append(append([]byte{}, b...), []byte("{oops\n{\"body\":\"x\"}\n")...), 0o600)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"500 always", []string{path, "--url", fail.URL, "--max-attempts", "2"}, exitFailed,
			[]string{"FAIL msg_cli_0  attempts 2  status 500", "delivered 0/3, 3 retries, 3 failed", "3 of 3 deliveries not acknowledged"}},
		{"only", []string{path, "--url", ok.URL, "--only", ids[1]}, exitOK, []string{"delivered 1/1", "ok   " + ids[1], "2 records left out by --only"}},
		{"only unknown", []string{path, "--url", ok.URL, "--only", ids[1] + ",msg_nope"}, exitUsage, []string{"msg_nope"}},
		{"no id on a line", []string{badLine, "--url", ok.URL}, exitUsage, []string{"line 2", "no delivery id"}},
		{"bad json line", []string{notJSON, "--url", ok.URL}, exitUsage, []string{"line 4", "bad record"}},
		{"unreachable", []string{path, "--url", dead}, exitHarness, []string{"nothing accepts connections"}},
		{"no file", []string{"--url", ok.URL}, exitUsage, []string{"record FILE"}},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope"), "--url", ok.URL}, exitUsage, []string{"no such file"}},
		{"bad rate", []string{path, "--url", ok.URL, "--rate", "fast"}, exitUsage, []string{"--rate"}},
		{"bad chaos", []string{path, "--url", ok.URL, "--chaos", "explode=1"}, exitUsage, []string{"--chaos"}},
		{"rate", []string{path, "--url", ok.URL, "--rate", "20/s"}, exitOK, []string{"delivered 3/3", "rate 20/s"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", append([]string{"replay"}, append(tt.args, "--secret", replaySecret)...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, out, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("output lacks %q:\n%s\n%s", w, out, errs)
				}
			}
		})
	}
}
