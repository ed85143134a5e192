package sender

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// postgresDSNEnv names the PostgreSQL server the tests may use (as in reference/store). Each
// test gets a schema of its own there, dropped afterwards.
const postgresDSNEnv = "HOOKPROOF_TEST_POSTGRES_DSN"

// postgresDSN returns the DSN of a fresh, empty schema (dropped when t ends), or "" when no
// server is configured: then the PostgreSQL run is skipped loudly, or fails under CI=true.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: .ci/run must start PostgreSQL", postgresDSNEnv)
		}
		t.Logf("SKIPPING the PostgreSQL outbox: set %s=postgres://… to test it", postgresDSNEnv)
		return ""
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := "hookproof_sender_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", postgresDSNEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// forEachOutbox runs fn on a SQLite outbox and, when a server is configured, a PostgreSQL
// one. open opens a Sender on that one outbox (again after a Close: a restart), with the
// SSRF guard off (test receivers are on loopback), closed at cleanup.
func forEachOutbox(t *testing.T, fn func(t *testing.T, open func(opts ...Option) *Sender)) {
	run := func(t *testing.T, db string) {
		fn(t, func(opts ...Option) *Sender {
			t.Helper()
			s, err := Open(context.Background(), db, append([]Option{WithAllowPrivate()}, opts...)...)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close(context.Background()) })
			return s
		})
	}
	t.Run("sqlite", func(t *testing.T) { run(t, filepath.Join(t.TempDir(), "outbox.db")) })
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresDSN(t)
		if dsn == "" {
			t.Skip("no PostgreSQL")
		}
		run(t, dsn)
	})
}

// TestPostgresOutboxBasics runs the ordinary life of messages on the PostgreSQL outbox:
// retries on the schedule, a dead letter, its replay, idempotent sends, attempts listed.
func TestPostgresOutboxBasics(t *testing.T) {
	dsn := postgresDSN(t)
	if dsn == "" {
		t.Skip("no PostgreSQL")
	}
	ctx := context.Background()
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 503}, step{status: 200})
	s, err := Open(ctx, dsn, WithAllowPrivate(), WithClock(clk.Now), WithJitter(0), WithSchedule(Schedule{0, time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m, created, err := s.Send(ctx, SendRequest{EndpointID: ep.ID, Type: "order.updated", Data: []byte(`{"a":1}`), IdempotencyKey: "k1"})
	if err != nil || !created {
		t.Fatal(err)
	}
	if again, created, err := s.Send(ctx, SendRequest{EndpointID: ep.ID, Type: "order.updated", Data: []byte(`{"a":1}`), IdempotencyKey: "k1"}); err != nil || created || again.ID != m.ID {
		t.Errorf("repeated send: %v %v %v", again.ID, created, err)
	}
	deliverDue(t, s)
	clk.Advance(time.Second)
	deliverDue(t, s)
	if got := message(t, s, m.ID); got.Status != Delivered || got.Attempts != 2 {
		t.Errorf("message %s after %d attempts, want delivered after 2", got.Status, got.Attempts)
	}
	as := attempts(t, s, m.ID)
	if len(as) != 2 || as[0].StatusCode != 503 || as[1].Outcome != Success {
		t.Errorf("attempts %+v", as)
	}
	rec.setScript(step{status: 500})
	m2 := mustSend(t, s, ep.ID, `{"a":2}`)
	deliverDue(t, s)
	clk.Advance(time.Second)
	deliverDue(t, s)
	if got := message(t, s, m2.ID); got.Status != Dead {
		t.Fatalf("message %s, want dead", got.Status)
	}
	if d, err := s.DeadLetters(ctx, ep.ID, 10); err != nil || len(d) != 1 {
		t.Errorf("dead letters %v %v", d, err)
	}
	rec.setScript(step{status: 200})
	if _, err := s.Replay(ctx, m2.ID); err != nil {
		t.Fatal(err)
	}
	deliverDue(t, s)
	if got := message(t, s, m2.ID); got.Status != Delivered || got.Attempts != 3 {
		t.Errorf("replayed message %s after %d attempts, want delivered after 3", got.Status, got.Attempts)
	}
}

// TestPostgresTwoReplicas runs two senders on one PostgreSQL outbox. The receiver fails the
// first attempt of every third message, answers slowly, and records the deliveries in flight
// per webhook-id: two at once for one id fail the test. Every message is delivered once
// (one success) after the attempts its schedule gave it, both replicas take part, and no
// attempt is left in flight.
func TestPostgresTwoReplicas(t *testing.T) {
	dsn := postgresDSN(t)
	if dsn == "" {
		t.Skip("no PostgreSQL")
	}
	ctx := context.Background()
	var mu sync.Mutex
	inflight := map[string]int{}
	requests := map[string]int{}
	successes := map[string]int{}
	var overlaps atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		inflight[id]++
		if inflight[id] > 1 {
			overlaps.Add(1)
			t.Errorf("webhook-id %s: %d deliveries in flight at once", id, inflight[id])
		}
		requests[id]++
		n := requests[id]
		fail := n == 1 && id[len(id)-1]%3 == 0 // about one message in three fails once
		mu.Unlock()
		time.Sleep(time.Duration(5+len(id)%7) * time.Millisecond)
		mu.Lock()
		inflight[id]--
		if !fail {
			successes[id]++
		}
		mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer recv.Close()

	var made [2]atomic.Int64
	open := func(i int) *Sender {
		s, err := Open(ctx, dsn, WithAllowPrivate(), WithSchedule(Schedule{0, 20 * time.Millisecond, 40 * time.Millisecond}),
			WithPollInterval(20*time.Millisecond), WithWorkers(8, 8), WithBreaker(0, 0, 0),
			WithTransport(countingTransport{&made[i], http.DefaultTransport}))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(0), open(1)
	defer a.Close(ctx)
	defer b.Close(ctx)
	ep := mustEndpoint(t, a, EndpointSpec{URL: recv.URL + "/hook"})
	const total = 200
	var ids []string
	for i := range total {
		s := a
		if i%2 == 1 {
			s = b
		}
		ids = append(ids, mustSend(t, s, ep.ID, fmt.Sprintf(`{"i":%d}`, i)).ID)
	}
	a.Start()
	b.Start()
	eventually(t, 60*time.Second, "every message delivered", func() bool {
		for _, id := range ids {
			if message(t, a, id).Status != Delivered {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		as := attempts(t, b, id)
		wantFail := id[len(id)-1]%3 == 0
		want := 1
		if wantFail {
			want = 2
		}
		if successes[id] != 1 || requests[id] != want || len(as) != want {
			t.Errorf("%s: %d successes, %d requests, %d attempts recorded; want 1 success after %d attempts",
				id, successes[id], requests[id], len(as), want)
		}
		for _, at := range as {
			if at.Outcome == InFlight || at.Outcome == Interrupted {
				t.Errorf("%s: attempt %d left %s", id, at.N, at.Outcome)
			}
		}
	}
	if made[0].Load() == 0 || made[1].Load() == 0 {
		t.Errorf("attempts per replica %d and %d: want both to deliver", made[0].Load(), made[1].Load())
	}
	t.Logf("replica attempts: %d and %d; overlaps: %d", made[0].Load(), made[1].Load(), overlaps.Load())
}

type countingTransport struct {
	n  *atomic.Int64
	rt http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// TestPostgresDeadReplicaClaimExpires: a replica that took a message and died (its claim
// and in-flight attempt left behind) holds it only until the lease ends; then the other
// replica marks that attempt interrupted and delivers the message.
func TestPostgresDeadReplicaClaimExpires(t *testing.T) {
	dsn := postgresDSN(t)
	if dsn == "" {
		t.Skip("no PostgreSQL")
	}
	ctx := context.Background()
	clk := newFakeClock()
	rec := newRecorder(t)
	s, err := Open(ctx, dsn, WithAllowPrivate(), WithClock(clk.Now), WithRequestTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m := mustSend(t, s, ep.ID, `{}`)
	// What a replica killed mid-attempt leaves: a live claim and an in-flight attempt.
	if _, err := s.st.db.ExecContext(ctx, `UPDATE messages SET claimed_by = 'snd_dead', claimed_until = ?, attempts = 1 WHERE id = ?`,
		ms(clk.Now().Add(s.st.lease)), m.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.st.beginAttempt(ctx, m.ID, 1, clk.Now(), clk.Now().Unix(), rec.URL()); err != nil {
		t.Fatal(err)
	}
	if n := deliverDue(t, s); n != 0 || len(rec.requests()) != 0 {
		t.Fatalf("%d attempts while another replica's claim holds", n)
	}
	clk.Advance(s.st.lease + time.Millisecond)
	deliverDue(t, s)
	as := attempts(t, s, m.ID)
	if len(as) != 2 || as[0].Outcome != Interrupted || as[1].Outcome != Success || len(rec.requests()) != 1 {
		t.Errorf("attempts %+v, %d requests; want the dead replica's interrupted, then one success", as, len(rec.requests()))
	}
}
