package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/store"
)

const badSecret = "whsec_YmFkLXJlY2VpdmVyLXRlc3Qtc2VjcmV0LTI0Ynl0ZXM="

func TestBadReceiverUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--secret", badSecret}, "--flaw is required"},
		{[]string{"--flaw", "no-such-flaw", "--secret", badSecret}, "unknown --flaw"},
		{[]string{"--flaw", "ack-before-durable", "--secret", badSecret}, "needs --db"},
		{[]string{"--flaw", "slow-ack", "--secret", badSecret, "--db", "/tmp/x.db"}, "--db only applies"},
		{[]string{"--flaw", "slow-ack"}, "--secret is required"},
		{[]string{"--flaw", "none", "--secret", badSecret, "--scheme", "nope"}, "unknown scheme"},
	}
	for _, tt := range tests {
		e, stderr := newTestEnv()
		if code := runBadReceiver(context.Background(), e, tt.args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr: %s", tt.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: stderr lacks %q: %s", tt.args, tt.want, stderr)
		}
	}
}

// TestBadReceiverAckBeforeDurable serves the flaw in process: a delivery is acknowledged while
// the inbox on disk is still empty, and a graceful shutdown writes it.
func TestBadReceiverAckBeforeDurable(t *testing.T) {
	port := freeTestPort(t)
	db := filepath.Join(t.TempDir(), "bad.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, stderr := newTestEnv()
	done := make(chan int, 1)
	go func() {
		done <- runBadReceiver(ctx, e, []string{"--flaw", "ack-before-durable", "--listen", "127.0.0.1:" + strconv.Itoa(port),
			"--secret", badSecret, "--db", db, "--flush-every", "1h"})
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitHealthy(t, base+"/healthz", done)

	sch, err := signature.New("standard", badSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"msg_bad_1","type":"order.updated","timestamp":"2026-01-01T00:00:00Z","data":{"object_id":"ord_1","seq":1}}`)
	h, err := sch.Sign(signature.Message{ID: "msg_bad_1", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/hook", bytes.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delivery answered %d, want 200", resp.StatusCode)
	}
	if n := inboxRows(t, db); n != 0 {
		t.Fatalf("inbox on disk holds %d rows right after the ack, want 0 (that is the flaw)", n)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("badreceiver did not stop within 30 s of its context ending")
	}
	if n := inboxRows(t, db); n != 1 {
		t.Fatalf("inbox after a graceful stop holds %d rows, want 1", n)
	}
	if strings.Contains(stderr.String(), badSecret) {
		t.Fatalf("the secret appears in the output:\n%s", stderr)
	}
}

func TestBadReceiverInMemoryHealthz(t *testing.T) {
	port := freeTestPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, _ := newTestEnv()
	done := make(chan int, 1)
	go func() {
		done <- runBadReceiver(ctx, e, []string{"--flaw", "none", "--listen", "127.0.0.1:" + strconv.Itoa(port), "--secret", badSecret})
	}()
	waitHealthy(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/healthz", done)
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d", code)
	}
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHealthy(t *testing.T, url string, done <-chan int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("exited with %d before it was healthy", code)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy within 30 s", url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func inboxRows(t *testing.T, path string) int64 {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Inbox
}
