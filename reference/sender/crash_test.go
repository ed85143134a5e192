package sender

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
)

// childDBEnv makes the test binary run as a sender process (see TestMain) on that database.
const childDBEnv = "HOOKPROOF_SENDER_TEST_CHILD_DB"

func TestMain(m *testing.M) {
	if db := os.Getenv(childDBEnv); db != "" {
		os.Exit(runChild(db))
	}
	os.Exit(m.Run())
}

// runChild serves a sender on 127.0.0.1:0, prints its address and runs until killed.
func runChild(db string) int {
	ctx := context.Background()
	s, err := Open(ctx, db, WithSchedule(Schedule{0, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		400 * time.Millisecond, 800 * time.Millisecond}), WithWorkers(4, 4), WithRequestTimeout(20*time.Second), WithAllowPrivate())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	s.Start()
	fmt.Printf("listening http://%s\n", ln.Addr())
	http.Serve(ln, s.Handler())
	return 0
}

// startChild starts a sender process on db and returns its API base URL.
func startChild(t *testing.T, db string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDBEnv+"="+db)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		base, ok := strings.CutPrefix(strings.TrimSpace(l), "listening ")
		if !ok {
			t.Fatalf("sender process said %q", l)
		}
		return cmd, base
	case <-time.After(30 * time.Second):
		t.Fatal("sender process did not start within 30s")
	}
	return nil, ""
}

// TestKill9DuringDelivery kills the sender process (SIGKILL) while deliveries are under way,
// restarts it on the same database, and checks every message still arrives at least once and,
// behind the reference receiver, is processed exactly once (some were taken by the receiver
// while the sender died waiting for the answer, so they arrive twice).
func TestKill9DuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const total, killAfter = 40, 10
	// Behind the hook, the reference receiver with an effect sink: at least once from the
	// sender, deduplicated by the receiver, is exactly once.
	sinkSrv, err := sink.Listen(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer sinkSrv.Close()
	skc, _ := sink.NewClient(sinkSrv.URL())
	sc, _ := signature.New("standard", testSecret)
	rcv, err := receiver.Open(context.Background(), sc, filepath.Join(t.TempDir(), "receiver.db"), receiver.WithSink(skc))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close(context.Background())
	var (
		mu     sync.Mutex
		seen   = map[string]int{}
		hits   int
		killed = make(chan struct{})
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		seen[id]++
		hits++
		hold := hits >= killAfter
		mu.Unlock()
		select {
		case <-killed:
		default:
			if hold {
				// The receiver takes the delivery, but its answer never reaches the sender,
				// which is killed while it waits: after the restart it must send it again.
				rcv.ServeHTTP(httptest.NewRecorder(), r)
				select {
				case <-killed:
				case <-r.Context().Done():
				}
				return
			}
		}
		rcv.ServeHTTP(w, r)
	}))
	defer recv.Close()

	db := filepath.Join(t.TempDir(), "outbox.db")
	a, base := startChild(t, db)
	ctx := context.Background()
	c, _ := NewClient(base, nil)
	ep, err := c.CreateEndpoint(ctx, EndpointSpec{URL: recv.URL + "/hook", Secret: testSecret}, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, total)
	for i := range total {
		m, err := c.Send(ctx, SendRequest{EndpointID: ep.ID, Type: "order.updated",
			Data: []byte(fmt.Sprintf(`{"object_id":"ord_%d","seq":1}`, i))}, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	eventually(t, 30*time.Second, "deliveries under way", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return hits >= killAfter
	})
	if err := a.Process.Kill(); err != nil { // SIGKILL: no cleanup, no graceful close
		t.Fatal(err)
	}
	a.Wait()
	close(killed)

	_, base = startChild(t, db)
	c, _ = NewClient(base, nil)
	eventually(t, 60*time.Second, "every message delivered after the restart", func() bool {
		for _, id := range ids {
			m, err := c.Message(ctx, id)
			if err != nil || m.Status != Delivered {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	missing, dup := 0, 0
	for _, id := range ids {
		switch n := seen[id]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d messages never reached the receiver", missing, total)
	}
	interrupted := 0
	for _, id := range ids {
		as, err := c.Attempts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Outcome == Interrupted {
				interrupted++
			}
		}
	}
	qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
	defer qcancel()
	for _, id := range ids {
		if err := sinkSrv.Collector.WaitDistinct(qctx, id, 1); err != nil {
			t.Fatalf("delivered but never processed: %v", err)
		}
	}
	sinkSrv.Collector.WaitQuiet(qctx, 300*time.Millisecond)
	for _, id := range ids {
		if n := sinkSrv.Collector.Distinct(id); n != 1 {
			t.Errorf("message %s processed %d times, want exactly once", id, n)
		}
	}
	if interrupted == 0 {
		t.Error("no attempt was recorded as interrupted: the kill did not land during a delivery")
	}
	t.Logf("%d messages, %d requests, %d delivered more than once, %d attempts interrupted by the kill, %d effects",
		total, hits, dup, interrupted, len(sinkSrv.Collector.Counts()))
}
