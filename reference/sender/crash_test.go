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
		400 * time.Millisecond, 800 * time.Millisecond}), WithWorkers(4, 4), WithRequestTimeout(20*time.Second))
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
// restarts it on the same database, and checks every message still arrives at least once.
func TestKill9DuringDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const total, killAfter = 40, 10
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
			if hold { // keep these in flight until the sender is dead
				select {
				case <-killed:
				case <-r.Context().Done():
				}
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
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
	if interrupted == 0 {
		t.Error("no attempt was recorded as interrupted: the kill did not land during a delivery")
	}
	t.Logf("%d messages, %d requests, %d delivered more than once, %d attempts interrupted by the kill", total, hits, dup, interrupted)
}
