package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

var senderTestSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("sender-cli-test-secret-32-bytes!"))

func senderEnv(vars map[string]string) (*env, *syncBuffer, *syncBuffer) {
	out, errb := &syncBuffer{}, &syncBuffer{}
	return &env{stdin: strings.NewReader(""), stdout: out, stderr: errb, getenv: func(k string) string { return vars[k] }}, out, errb
}

func TestSenderUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--schedule", "0s,2s,1s", "--db", filepath.Join(dir, "a.db")}, exitUsage, "must not decrease"},
		{[]string{"--schedule", "", "--db", filepath.Join(dir, "a.db")}, exitUsage, "empty"},
		{[]string{"--allow-cidr", "10.0.0.0/33", "--db", filepath.Join(dir, "a.db")}, exitUsage, "--allow-cidr"},
		// An unreachable PostgreSQL outbox is a harness failure, its password never printed.
		{[]string{"--listen", "127.0.0.1:0", "--db", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2"}, exitHarness, "open the outbox at postgres://u:"},
		{[]string{"--jitter", "2", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "b.db")}, exitUsage, "jitter"},
		{[]string{"--timeout", "0s", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "c.db")}, exitUsage, "timeout"},
		{[]string{"--nope"}, exitUsage, "not defined"},
		{[]string{"serve"}, exitUsage, "unexpected argument"},
		{[]string{"--listen", "127.0.0.1:99999"}, exitHarness, "listen"},
		{[]string{"send"}, exitUsage, "exactly one of --url and --endpoint"},
		{[]string{"send", "--url", "http://127.0.0.1:9/h", "--endpoint", "ep_1"}, exitUsage, "exactly one"},
		{[]string{"send", "--url", "http://127.0.0.1:9/h"}, exitUsage, "no secret"},
		{[]string{"send", "--url", "http://127.0.0.1:9/h", "--secret", "s", "--data", "{"}, exitUsage, "--data"},
		{[]string{"send", "--api", "127.0.0.1:1", "--endpoint", "ep_1"}, exitUsage, "--api"},
		{[]string{"send", "--api", "http://127.0.0.1:1", "--endpoint", "ep_1"}, exitHarness, "send"},
	}
	for _, tt := range tests {
		e, _, stderr := senderEnv(nil)
		if code := runSender(context.Background(), e, tt.args); code != tt.code {
			t.Errorf("%v: exit %d, want %d; stderr: %s", tt.args, code, tt.code, stderr)
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: stderr lacks %q: %s", tt.args, tt.want, stderr)
		}
		if strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("%v: the DSN's password is printed: %s", tt.args, stderr)
		}
	}
}

// TestSenderServeAndSend runs "hookproof sender" in process, sends through "sender send" and
// checks the delivery, the idempotent endpoint registration, and a clean shutdown.
func TestSenderServeAndSend(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		n := len(got)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // one retry, on the compressed schedule
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, stdout, stderr := senderEnv(nil)
	done := make(chan int, 1)
	db := filepath.Join(t.TempDir(), "outbox.db")
	go func() {
		// The receiver is on loopback: --allow-private (the default guard refuses it, below).
		done <- runSender(ctx, e, []string{"--listen", "127.0.0.1:0", "--db", db, "--schedule", "0s,50ms,100ms", "--seed", "7", "--allow-private"})
	}()
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	var api string
	deadline := time.Now().Add(30 * time.Second)
	for api == "" {
		if m := addr.FindStringSubmatch(stdout.String()); m != nil {
			api = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("sender did not start: %s %s", stdout, stderr)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !strings.Contains(stdout.String(), "seed 7") {
		t.Errorf("the seed is not printed: %s", stdout)
	}

	send := func(data string) map[string]string {
		t.Helper()
		se, out, serr := senderEnv(map[string]string{secretEnv: senderTestSecret})
		code := runSender(ctx, se, []string{"send", "--api", api, "--url", recv.URL + "/hook", "--type", "order.updated", "--data", data})
		if code != exitOK {
			t.Fatalf("sender send: exit %d: %s", code, serr)
		}
		var res map[string]string
		if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
			t.Fatalf("sender send printed %q", out)
		}
		return res
	}
	first := send(`{"object_id":"ord_1","seq":1}`)
	second := send(`{"object_id":"ord_1","seq":2}`)
	if first["endpoint_id"] != second["endpoint_id"] || first["message_id"] == second["message_id"] {
		t.Errorf("two sends to one URL: %v then %v; want one endpoint, two messages", first, second)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d requests, want 3 (one retried)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sc, _ := signature.New("standard", senderTestSecret)
	mu.Lock()
	for i, r := range got {
		if _, err := sc.Verify(r.Header, bodies[i]); err != nil {
			t.Errorf("request %d: %v", i+1, err)
		}
	}
	mu.Unlock()
	if strings.Contains(stdout.String()+stderr.String(), senderTestSecret) {
		t.Error("the secret appears in the sender's output")
	}

	// A second sender on the database in use is refused (exit 3), not run beside the first.
	e2, _, stderr2 := senderEnv(nil)
	if code := runSender(ctx, e2, []string{"--listen", "127.0.0.1:0", "--db", db}); code != exitHarness ||
		!strings.Contains(stderr2.String(), "in use") {
		t.Errorf("second sender on one database: exit %d, %s; want 3, in use", code, stderr2)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("shutdown: exit %d: %s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sender did not stop")
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("outbox file: %v", err)
	}
}

// TestSenderGuardOnByDefault runs "hookproof sender" with its defaults: registering a
// loopback URL is refused (400, so "sender send" exits 2) and the receiver there is never
// connected to; --allow-cidr 127.0.0.0/8 lets the same registration through.
func TestSenderGuardOnByDefault(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepts atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				accepts.Add(1)
			}
		}}
	go srv.Serve(ln)
	defer srv.Close()
	target := "http://" + ln.Addr().String() + "/hook"

	for _, tc := range []struct {
		flags []string
		code  int
		out   string
	}{
		{nil, exitUsage, "destination refused: 127.0.0.1 is loopback"},
		{[]string{"--allow-cidr", "127.0.0.0/8"}, exitOK, `"status":"pending"`},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		e, stdout, stderr := senderEnv(nil)
		done := make(chan int, 1)
		args := append([]string{"--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "outbox.db")}, tc.flags...)
		go func() { done <- runSender(ctx, e, args) }()
		addr := regexp.MustCompile(`listening on (http://\S+)`)
		var api string
		for deadline := time.Now().Add(30 * time.Second); api == ""; time.Sleep(10 * time.Millisecond) {
			if m := addr.FindStringSubmatch(stdout.String()); m != nil {
				api = m[1]
			} else if time.Now().After(deadline) {
				t.Fatalf("sender did not start: %s %s", stdout, stderr)
			}
		}
		if !strings.Contains(stdout.String(), "SSRF guard on") {
			t.Errorf("%v: the banner does not show the guard: %s", tc.flags, stdout)
		}
		se, out, serr := senderEnv(map[string]string{secretEnv: senderTestSecret})
		code := runSender(ctx, se, []string{"send", "--api", api, "--url", target})
		if code != tc.code || !strings.Contains(out.String()+serr.String(), tc.out) {
			t.Errorf("%v: sender send: exit %d, %s%s; want %d, %q", tc.flags, code, out, serr, tc.code, tc.out)
		}
		if tc.flags == nil && accepts.Load() != 0 {
			t.Errorf("the refused receiver got %d connections, want 0", accepts.Load())
		}
		if tc.code == exitOK {
			for deadline := time.Now().Add(10 * time.Second); accepts.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if accepts.Load() == 0 {
				t.Errorf("%v: the allowed receiver was never connected to", tc.flags)
			}
		}
		cancel()
		<-done
	}
}
