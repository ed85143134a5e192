package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
)

// The crash tests run `hookproof receiver` as a real process (this test binary, re-executed
// into TestReceiverChildProcess) so they can kill -9 it.
const receiverChildEnv = "HOOKPROOF_TEST_RECEIVER_CHILD"

var receiverTestSecret = "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("c"), 32))

func TestReceiverChildProcess(t *testing.T) {
	raw := os.Getenv(receiverChildEnv)
	if raw == "" {
		t.Skip("only runs as the child of the crash tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitHarness)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: strings.NewReader(""), stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, e, append([]string{"receiver"}, args...)))
}

// receiverChild is one `hookproof receiver` process.
type receiverChild struct {
	cmd    *exec.Cmd
	url    string
	stdout *bytes.Buffer // everything after the listening line
	mu     sync.Mutex
	done   chan struct{}
}

var receiverListeningRE = regexp.MustCompile(`listening on (http://\S+)`)

func startReceiverChild(t *testing.T, args ...string) *receiverChild {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestReceiverChildProcess$")
	cmd.Env = append(os.Environ(), receiverChildEnv+"="+string(raw), secretEnv+"="+receiverTestSecret)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &receiverChild{cmd: cmd, stdout: &bytes.Buffer{}, done: make(chan struct{})}
	t.Cleanup(func() { c.kill() })
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if !sent {
				first <- sc.Text()
				sent = true
				continue
			}
			c.mu.Lock()
			c.stdout.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
		if !sent {
			close(first)
		}
		cmd.Wait()
		close(c.done)
	}()
	select {
	case line := <-first:
		m := receiverListeningRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("child's first line %q does not say where it listens", line)
		}
		if strings.Contains(line, receiverTestSecret) {
			t.Fatal("the secret appears in the receiver's output")
		}
		c.url = m[1]
	case <-time.After(30 * time.Second):
		t.Fatal("receiver did not start within 30 s")
	}
	return c
}

// kill is kill -9: no drain, no deferred code.
func (c *receiverChild) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

func (c *receiverChild) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stdout.String()
}

func deliverSigned(t *testing.T, s signature.Scheme, url, id string, body []byte) (int, error) {
	t.Helper()
	hdr, err := s.Sign(signature.Message{ID: id, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func crashEnvelope(id string, obj, seq int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"order.updated","timestamp":"2026-01-02T03:04:05Z","data":{"object_id":"ord_%d","seq":%d}}`, id, obj, seq)
}

func TestReceiverKill9AfterAckLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	col, err := sink.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	db := filepath.Join(t.TempDir(), "receiver.db")
	scheme, _ := signature.New("standard", receiverTestSecret)

	// Processing paused: every delivery is acknowledged and none processed when the kill lands.
	c := startReceiverChild(t, "--listen", "127.0.0.1:0", "--db", db, "--sink", col.URL(), "--workers", "0")
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint("msg_k9_", i)
			if code, err := deliverSigned(t, scheme, c.url, id, crashEnvelope(id, i%4, i)); err != nil || code != http.StatusOK {
				t.Errorf("%s: %d %v", id, code, err)
			}
		})
	}
	wg.Wait()
	c.kill()
	if col.Collector.Total() != 0 {
		t.Fatal("effects reported while processing was paused")
	}

	c = startReceiverChild(t, "--listen", "127.0.0.1:0", "--db", db, "--sink", col.URL())
	for i := range n {
		if err := col.Collector.WaitDistinct(ctx, fmt.Sprint("msg_k9_", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	// Graceful stop: SIGINT drains and exits 0.
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("receiver did not stop after SIGINT")
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(c.output(), "drained") {
		t.Errorf("after SIGINT: exit %d, output %q; want 0 and \"drained\"", code, c.output())
	}
	counts := col.Collector.Counts()
	if len(counts) != n {
		t.Errorf("%d ids have effects, want %d", len(counts), n)
	}
	for id, k := range counts {
		if k != 1 {
			t.Errorf("%s: %d distinct effects, want exactly 1", id, k)
		}
	}
}

func TestReceiverKill9MidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	col, err := sink.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	db := filepath.Join(t.TempDir(), "receiver.db")
	scheme, _ := signature.New("standard", receiverTestSecret)

	// Processing runs; the kill lands while deliveries, processing and reports are in flight.
	c := startReceiverChild(t, "--listen", "127.0.0.1:0", "--db", db, "--sink", col.URL())
	const n, objects = 300, 5
	acked := make([]bool, n)
	var mu sync.Mutex
	var ackCount int
	killed := make(chan struct{})
	var once sync.Once
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			id := fmt.Sprint("msg_mid_", i)
			code, err := deliverSigned(t, scheme, c.url, id, crashEnvelope(id, i%objects, i))
			if err == nil && code == http.StatusOK {
				mu.Lock()
				acked[i] = true
				ackCount++
				k := ackCount
				mu.Unlock()
				if k == n/3 {
					once.Do(func() { c.kill(); close(killed) })
				}
			}
		})
	}
	wg.Wait()
	once.Do(func() { c.kill(); close(killed) })
	<-killed
	mu.Lock()
	before := ackCount
	mu.Unlock()

	// The sender retries everything it has no ack for; it also re-sends what was acked, as a
	// sender that lost the answer would.
	c = startReceiverChild(t, "--listen", "127.0.0.1:0", "--db", db, "--sink", col.URL())
	for i := range n {
		id := fmt.Sprint("msg_mid_", i)
		if code, err := deliverSigned(t, scheme, c.url, id, crashEnvelope(id, i%objects, i)); err != nil || code != http.StatusOK {
			t.Fatalf("%s after restart: %d %v", id, code, err)
		}
	}
	for i := range n {
		if err := col.Collector.WaitDistinct(ctx, fmt.Sprint("msg_mid_", i), 1); err != nil {
			t.Fatalf("acked before the kill: %v; %v", acked[i], err)
		}
	}
	if err := col.Collector.WaitQuiet(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d acknowledged before kill -9; %d reports for %d effects", before, n, col.Collector.Total(), n)
	for id, k := range col.Collector.Counts() {
		if k != 1 {
			t.Errorf("%s: %d distinct effects, want exactly 1", id, k)
		}
	}
	for o := range objects {
		seqs := col.Collector.AppliedSeq(fmt.Sprint("ord_", o))
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("ord_%d applied out of order: %v", o, seqs)
			}
		}
	}
}

func TestReceiverFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{"no secret", []string{"--listen", "127.0.0.1:0"}, nil, exitUsage, "no secret"},
		{"bad standard secret", []string{"--secret", "whsec_!!"}, nil, exitUsage, "bad secret"},
		{"unknown scheme", []string{"--secret", "x", "--scheme", "nope"}, nil, exitUsage, "unknown scheme"},
		{"bad sink", []string{"--secret", receiverTestSecret, "--sink", "localhost:1"}, nil, exitUsage, "--sink"},
		{"negative workers", []string{"--secret", receiverTestSecret, "--workers", "-1"}, nil, exitUsage, "-workers"},
		{"stray argument", []string{"--secret", receiverTestSecret, "extra"}, nil, exitUsage, "unexpected argument"},
		{"bad listen address", []string{"--secret", receiverTestSecret, "--listen", "127.0.0.1:notaport"}, nil, exitHarness, "listen"},
		{"db that cannot be opened", []string{"--secret", receiverTestSecret, "--listen", "127.0.0.1:0", "--db", "/nonexistent/dir/x.db"}, nil, exitHarness, "open the inbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return tt.env[k] }}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code := run(ctx, e, append([]string{"receiver"}, tt.args...))
			if code != tt.wantCode || !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tt.wantCode, tt.wantErr)
			}
			if strings.Contains(out.String()+errb.String(), receiverTestSecret) {
				t.Error("the secret appears in the output")
			}
		})
	}
}

func TestReceiverServesInProcess(t *testing.T) {
	// Secret from the environment; Ctrl-C (the context) drains and exits 0.
	var out, errb lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			if k == secretEnv {
				return receiverTestSecret
			}
			return ""
		}}
	ctx, cancel := context.WithCancel(context.Background())
	db := filepath.Join(t.TempDir(), "r.db")
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, []string{"receiver", "--listen", "127.0.0.1:0", "--db", db}) }()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := receiverListeningRE.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("no listening line; stderr %q", errb.String())
	}
	if !strings.Contains(out.String(), "scheme standard") || strings.Contains(out.String(), receiverTestSecret) {
		t.Errorf("banner %q: want the scheme and never the secret", out.String())
	}
	scheme, _ := signature.New("standard", receiverTestSecret)
	if code, err := deliverSigned(t, scheme, url, "msg_inproc", []byte(`{"id":"msg_inproc"}`)); err != nil || code != 200 {
		t.Errorf("delivery: %d %v", code, err)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after Ctrl-C, stderr %q", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("receiver did not stop after its context ended")
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hookproof-receiver.db", "hookproof-receiver.db"},
		{"postgres://u:hunter2@127.0.0.1:5432/db", "postgres://u:xxxxx@127.0.0.1:5432/db"},
		{"postgresql://u@h/db?password=hunter2&sslmode=disable", "postgresql://u@h/db?password=xxxxx&sslmode=disable"},
	}
	for _, tt := range tests {
		if got := redactDSN(tt.in); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader at a time.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
