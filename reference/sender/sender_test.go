package sender

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// verifyAll checks every request's signature with the given secrets at clock now.
func verifyAll(t *testing.T, reqs []recorded, now func() time.Time, secrets ...string) {
	t.Helper()
	sc, err := signature.New("standard", secrets[0], signature.WithRotatedSecrets(secrets[1:]...), signature.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		if _, err := sc.Verify(r.header, r.body); err != nil {
			t.Errorf("request %d: signature does not verify: %v", i+1, err)
		}
	}
}

func TestDeliversSignedEnvelope(t *testing.T) {
	rec := newRecorder(t)
	s := openTest(t, WithSchedule(Schedule{0}))
	s.Start()
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m := mustSend(t, s, ep.ID, `{"object_id": "ord_1", "seq": 3, "note": "<b>"}`)
	eventually(t, 10*time.Second, "message delivered", func() bool { return message(t, s, m.ID).Status == Delivered })

	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	verifyAll(t, reqs, time.Now, testSecret)
	if got := r.header.Get("webhook-id"); got != m.ID {
		t.Errorf("webhook-id = %q, want the message id %q", got, m.ID)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	var env struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("body is not the envelope: %v: %s", err, r.body)
	}
	if env.ID != m.ID || env.Type != "order.updated" || env.Timestamp.IsZero() {
		t.Errorf("envelope = %+v", env)
	}
	if string(env.Data) != `{"object_id":"ord_1","seq":3,"note":"\u003cb\u003e"}` && string(env.Data) != `{"object_id":"ord_1","seq":3,"note":"<b>"}` {
		t.Errorf("data = %s, want the object passed through, compacted", env.Data)
	}
	if got := message(t, s, m.ID).Payload; string(got) != string(r.body) {
		t.Errorf("stored payload differs from the bytes sent:\n%s\n%s", got, r.body)
	}
}

func TestRetriesWithSameIDAndFreshTimestamp(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 503}, step{status: 500}, step{reset: true}, step{status: 204})
	sch := Schedule{0, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	s := openTest(t, WithClock(clk.Now), WithSchedule(sch), WithJitter(0.1), WithSeed(1))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m := mustSend(t, s, ep.ID, `{}`)

	for i := range 4 {
		if n := deliverDue(t, s); n != 1 {
			t.Fatalf("round %d: %d attempts, want 1", i+1, n)
		}
		if i < 3 {
			if n := deliverDue(t, s); n != 0 {
				t.Fatalf("round %d: a retry came before its delay", i+1)
			}
			next := message(t, s, m.ID).NextAttemptAt
			delay := next.Sub(clk.Now())
			lo, hi := sch[i+1]*9/10, sch[i+1]*11/10
			if delay < lo || delay > hi {
				t.Errorf("after failure %d: next attempt in %s, want %s ± 10%%", i+1, delay, sch[i+1])
			}
			clk.Advance(delay)
		}
	}
	reqs := rec.requests()
	if len(reqs) != 4 {
		t.Fatalf("receiver saw %d requests, want 4", len(reqs))
	}
	verifyAll(t, reqs, clk.Now, testSecret)
	prev := int64(0)
	for i, r := range reqs {
		if got := r.header.Get("webhook-id"); got != m.ID {
			t.Errorf("attempt %d: webhook-id %q, want %q on every retry", i+1, got, m.ID)
		}
		ts, _ := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64)
		if ts <= prev {
			t.Errorf("attempt %d: timestamp %d not after the previous %d: not signed afresh", i+1, ts, prev)
		}
		prev = ts
		if string(r.body) != string(reqs[0].body) {
			t.Errorf("attempt %d: body changed between attempts", i+1)
		}
	}
	got := message(t, s, m.ID)
	if got.Status != Delivered || got.Attempts != 4 || got.Failures != 3 {
		t.Errorf("message = %s, %d attempts, %d failures; want delivered, 4, 3", got.Status, got.Attempts, got.Failures)
	}
	as := attempts(t, s, m.ID)
	wantOutcomes := []Outcome{Failure, Failure, Failure, Success}
	for i, a := range as {
		if a.Outcome != wantOutcomes[i] || a.N != i+1 {
			t.Errorf("attempt %d: n %d outcome %s, want %s", i+1, a.N, a.Outcome, wantOutcomes[i])
		}
		if a.SignedTimestamp != a.StartedAt.Unix() {
			t.Errorf("attempt %d: signed %d, started %s", i+1, a.SignedTimestamp, a.StartedAt)
		}
	}
	if as[0].StatusCode != 503 || as[2].StatusCode != 0 || !strings.Contains(as[2].Error, "connection") {
		t.Errorf("attempts recorded as %+v", as)
	}
}

func TestDeadLetterAndReplay(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 500})
	s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0, time.Second, time.Second}), WithJitter(0), WithBreaker(0, 0, 0))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m := mustSend(t, s, ep.ID, `{"n":1}`)
	for range 3 {
		deliverDue(t, s)
		clk.Advance(time.Second)
	}
	got := message(t, s, m.ID)
	if got.Status != Dead || got.Attempts != 3 || !strings.Contains(got.DeadReason, "all 3 attempts") {
		t.Fatalf("after the schedule: %+v, want dead after 3 attempts", got)
	}
	if n := deliverDue(t, s); n != 0 {
		t.Fatalf("a dead letter was attempted again (%d)", n)
	}
	dl, err := s.DeadLetters(context.Background(), "", 10)
	if err != nil || len(dl) != 1 || dl[0].ID != m.ID {
		t.Fatalf("dead letters = %v, %v; want [%s]", dl, err, m.ID)
	}

	// The endpoint recovers: replay sends the same id again, with a fresh budget.
	rec.setScript(step{status: 200})
	if _, err := s.Replay(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	deliverDue(t, s)
	got = message(t, s, m.ID)
	if got.Status != Delivered || got.Attempts != 4 {
		t.Errorf("after replay: %s with %d attempts, want delivered with 4", got.Status, got.Attempts)
	}
	if r := rec.requests(); len(r) != 1 || r[0].header.Get("webhook-id") != m.ID {
		t.Errorf("replay sent %d requests, want 1 with the same webhook-id", len(r))
	}

	// Replay of every dead letter since a time.
	rec.setScript(step{status: 500})
	old := mustSend(t, s, ep.ID, `{"n":2}`)
	clk.Advance(time.Minute)
	since := clk.Now()
	recent := mustSend(t, s, ep.ID, `{"n":3}`)
	for range 3 {
		deliverDue(t, s)
		clk.Advance(time.Second)
	}
	rec.setScript(step{status: 200})
	res, err := s.ReplayFailedSince(context.Background(), since, "")
	if err != nil || res.Replayed != 1 {
		t.Fatalf("ReplayFailedSince = %+v, %v; want 1 replayed", res, err)
	}
	deliverDue(t, s)
	if st := message(t, s, recent.ID).Status; st != Delivered {
		t.Errorf("recent dead letter: %s after replay since, want delivered", st)
	}
	if st := message(t, s, old.ID).Status; st != Dead {
		t.Errorf("older dead letter: %s, want left dead", st)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name  string
		step  step
		want  time.Duration // least delay before the next attempt
		upper time.Duration
	}{
		{"429 seconds", step{status: 429, header: map[string]string{"Retry-After": "120"}}, 120 * time.Second, 121 * time.Second},
		{"503 seconds", step{status: 503, header: map[string]string{"Retry-After": "30"}}, 30 * time.Second, 31 * time.Second},
		{"503 capped", step{status: 503, header: map[string]string{"Retry-After": "999999"}}, time.Hour, time.Hour + time.Second},
		{"503 without", step{status: 503}, time.Second, 2 * time.Second},
		{"500 ignores it", step{status: 500, header: map[string]string{"Retry-After": "120"}}, time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			rec := newRecorder(t, tt.step, step{status: 200})
			s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0, time.Second, time.Second}), WithJitter(0), WithMaxRetryAfter(time.Hour))
			ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
			m := mustSend(t, s, ep.ID, `{}`)
			deliverDue(t, s)
			delay := message(t, s, m.ID).NextAttemptAt.Sub(clk.Now())
			if delay < tt.want || delay > tt.upper {
				t.Errorf("next attempt in %s, want in [%s, %s]", delay, tt.want, tt.upper)
			}
			clk.Advance(tt.want - time.Millisecond)
			if n := deliverDue(t, s); n != 0 && tt.want > time.Second {
				t.Errorf("retried before Retry-After")
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	clk := newFakeClock()
	s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0, time.Second}))
	ep := mustEndpoint(t, s, EndpointSpec{URL: srv.URL + "/hook"})
	m := mustSend(t, s, ep.ID, `{}`)
	deliverDue(t, s)
	if followed.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	as := attempts(t, s, m.ID)
	if len(as) != 1 || as[0].Outcome != Failure || as[0].StatusCode != 301 || !strings.Contains(as[0].Error, "/moved") {
		t.Errorf("attempt = %+v, want a failed 301 naming the Location", as)
	}
	if got := message(t, s, m.ID); got.Status != Pending || got.Failures != 1 {
		t.Errorf("message %s with %d failures, want pending for a retry", got.Status, got.Failures)
	}
}

// notifyReceiver records failure notifications.
func notifyReceiver(t *testing.T) (*recorder, string) {
	rec := newRecorder(t, step{status: 204})
	return rec, rec.srv.URL + "/notify"
}

func TestGoneDisablesEndpoint(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 410})
	notes, notifyURL := notifyReceiver(t)
	s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0, time.Second, time.Second}), WithWorkers(1, 1))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL(), FailureNotificationURL: notifyURL})
	m1 := mustSend(t, s, ep.ID, `{"n":1}`)
	clk.Advance(time.Millisecond)
	m2 := mustSend(t, s, ep.ID, `{"n":2}`)
	deliverDue(t, s)

	if got := rec.requests(); len(got) != 1 {
		t.Errorf("the endpoint got %d requests after its 410, want 1", len(got))
	}
	e, _ := s.Endpoint(context.Background(), ep.ID)
	if !e.Disabled || !strings.Contains(e.DisabledReason, "410") || e.Notification != "sent" {
		t.Errorf("endpoint = %+v, want disabled for 410, notification sent", e)
	}
	for _, id := range []string{m1.ID, m2.ID} {
		if got := message(t, s, id); got.Status != Dead {
			t.Errorf("message %s is %s, want dead", id, got.Status)
		}
	}
	n := notes.requests()
	if len(n) != 1 {
		t.Fatalf("notification URL got %d requests, want 1", len(n))
	}
	verifyAll(t, n, clk.Now, testSecret)
	var env struct {
		Type string       `json:"type"`
		Data notification `json:"data"`
	}
	if err := json.Unmarshal(n[0].body, &env); err != nil || env.Type != "endpoint.disabled" || env.Data.EndpointID != ep.ID {
		t.Errorf("notification = %s (%v)", n[0].body, err)
	}

	// Sent to a disabled endpoint: straight to dead letters; replay refuses until enabled.
	m3 := mustSend(t, s, ep.ID, `{"n":3}`)
	if got := message(t, s, m3.ID); got.Status != Dead {
		t.Errorf("message to a disabled endpoint is %s, want dead", got.Status)
	}
	if _, err := s.Replay(context.Background(), m3.ID); !errors.Is(err, ErrDisabled) {
		t.Errorf("replay to a disabled endpoint: %v, want ErrDisabled", err)
	}
	rec.setScript(step{status: 200})
	if _, err := s.EnableEndpoint(context.Background(), ep.ID); err != nil {
		t.Fatal(err)
	}
	res, err := s.ReplayFailedSince(context.Background(), time.Time{}, ep.ID)
	if err != nil || res.Replayed != 3 {
		t.Fatalf("replay since: %+v, %v; want 3", res, err)
	}
	deliverDue(t, s)
	if got := len(rec.requests()); got != 3 {
		t.Errorf("after enable and replay the endpoint got %d requests, want 3", got)
	}
}

func TestSustainedFailureDisablesAndNotifies(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 500})
	notes, notifyURL := notifyReceiver(t)
	notes.setScript(step{status: 500}, step{status: 200})
	sch := Schedule{0, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	s := openTest(t, WithClock(clk.Now), WithSchedule(sch), WithJitter(0), WithDisableAfter(30*time.Minute), WithBreaker(0, 0, 0))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL(), FailureNotificationURL: notifyURL})
	m := mustSend(t, s, ep.ID, `{}`)
	for range 4 {
		deliverDue(t, s)
		clk.Advance(10 * time.Minute)
	}
	e, _ := s.Endpoint(context.Background(), ep.ID)
	if !e.Disabled || !strings.Contains(e.DisabledReason, "longer than 30m") {
		t.Fatalf("after 30 min of failures: %+v, want disabled", e)
	}
	if got := message(t, s, m.ID); got.Status != Dead || got.Attempts != 4 {
		t.Errorf("message: %s after %d attempts, want dead after 4", got.Status, got.Attempts)
	}
	// The first notification failed; it is retried on the schedule.
	if got := len(notes.requests()); got != 1 {
		t.Fatalf("notifications: %d, want 1 so far", got)
	}
	clk.Advance(10 * time.Minute)
	deliverDue(t, s)
	n := notes.requests()
	if len(n) != 2 || n[0].header.Get("webhook-id") != n[1].header.Get("webhook-id") {
		t.Fatalf("notifications: %d (ids %v), want 2 with one id", len(n), n)
	}
	if e, _ := s.Endpoint(context.Background(), ep.ID); e.Notification != "sent" {
		t.Errorf("notification state %q, want sent", e.Notification)
	}
}

func TestBreakerHoldsFailingEndpoint(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t, step{status: 500})
	s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0, time.Second, time.Second, time.Second, time.Second}),
		WithJitter(0), WithBreaker(3, time.Minute, 4*time.Minute), WithWorkers(1, 1))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	var ids []string
	for i := range 5 {
		ids = append(ids, mustSend(t, s, ep.ID, `{"i":`+strconv.Itoa(i)+`}`).ID)
		clk.Advance(time.Millisecond)
	}
	deliverDue(t, s)
	if got := len(rec.requests()); got != 3 {
		t.Fatalf("%d attempts before the breaker opened, want 3", got)
	}
	if e, _ := s.Endpoint(context.Background(), ep.ID); e.Breaker != "open" {
		t.Errorf("breaker %q, want open", e.Breaker)
	}
	clk.Advance(30 * time.Second)
	if n := deliverDue(t, s); n != 0 {
		t.Errorf("%d attempts while the breaker is open", n)
	}
	// Half-open: one probe; it fails, so the breaker opens for twice as long.
	clk.Advance(31 * time.Second)
	if n := deliverDue(t, s); n != 1 {
		t.Errorf("%d attempts half-open, want 1 probe", n)
	}
	clk.Advance(61 * time.Second)
	if n := deliverDue(t, s); n != 0 {
		t.Errorf("%d attempts after a failed probe, within the doubled cooldown", n)
	}
	// The endpoint recovers: the next probe succeeds and the rest flows.
	rec.setScript(step{status: 200})
	clk.Advance(60 * time.Second)
	deliverDue(t, s)
	if e, _ := s.Endpoint(context.Background(), ep.ID); e.Breaker != "closed" {
		t.Errorf("breaker %q after a good probe, want closed", e.Breaker)
	}
	for _, id := range ids {
		if got := message(t, s, id); got.Status != Delivered {
			t.Errorf("message %s: %s, want delivered", id, got.Status)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	rec := newRecorder(t, step{hang: 30 * time.Second})
	s := openTest(t, WithSchedule(Schedule{0, time.Hour}), WithRequestTimeout(200*time.Millisecond))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m := mustSend(t, s, ep.ID, `{}`)
	start := time.Now()
	deliverDue(t, s)
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("attempt took %s with a 200ms timeout", el)
	}
	as := attempts(t, s, m.ID)
	if len(as) != 1 || as[0].Outcome != Failure || !strings.Contains(as[0].Error, "request timeout") {
		t.Errorf("attempt = %+v, want a timeout failure", as)
	}
}

func TestCloseInterruptsAndReopenRetries(t *testing.T) {
	rec := newRecorder(t, step{hang: time.Minute}, step{status: 200})
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(context.Background(), path, WithSchedule(Schedule{0, time.Hour}), WithAllowPrivate())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), path); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open on one database: %v, want ErrLocked", err)
	}
	s.Start()
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL()})
	m := mustSend(t, s, ep.ID, `{}`)
	eventually(t, 10*time.Second, "first attempt under way", func() bool { return len(rec.requests()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s3, err := reopen(t, path)
	if err != nil {
		t.Fatal(err)
	}
	as := attempts(t, s3, m.ID)
	if len(as) != 1 || as[0].Outcome != Interrupted {
		t.Fatalf("after Close mid-attempt: %+v, want one interrupted attempt", as)
	}
	if got := message(t, s3, m.ID); got.Status != Pending || got.Failures != 0 {
		t.Fatalf("message %s with %d failures, want pending, no failure counted", got.Status, got.Failures)
	}
	s3.Start()
	eventually(t, 10*time.Second, "delivered after reopening", func() bool { return message(t, s3, m.ID).Status == Delivered })
}

func reopen(t *testing.T, path string, opts ...Option) (*Sender, error) {
	s, err := Open(context.Background(), path, append(opts, WithAllowPrivate())...)
	if err == nil {
		t.Cleanup(func() { s.Close(context.Background()) })
	}
	return s, err
}

func TestSecretRotationSignsWithBoth(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(t)
	s := openTest(t, WithClock(clk.Now))
	ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL(), Secret: testSecret})
	if _, err := s.RotateSecret(context.Background(), ep.ID, Rotation{Secret: testSecret2, PreviousTTL: Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Endpoint(context.Background(), ep.ID); !e.Rotating {
		t.Error("endpoint not marked rotating")
	}
	mustSend(t, s, ep.ID, `{}`)
	deliverDue(t, s)
	during := clk.Now()
	clk.Advance(2 * time.Hour)
	mustSend(t, s, ep.ID, `{}`)
	deliverDue(t, s)
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if sigs := strings.Fields(reqs[0].header.Get("webhook-signature")); len(sigs) != 2 {
		t.Errorf("during rotation: %d signatures, want 2", len(sigs))
	}
	if sigs := strings.Fields(reqs[1].header.Get("webhook-signature")); len(sigs) != 1 {
		t.Errorf("after the old secret expired: %d signatures, want 1", len(sigs))
	}
	verifyAll(t, reqs[:1], func() time.Time { return during }, testSecret)  // old secret alone
	verifyAll(t, reqs[:1], func() time.Time { return during }, testSecret2) // new secret alone
	verifyAll(t, reqs[1:], clk.Now, testSecret2)
}

func TestIdempotentSend(t *testing.T) {
	s := openTest(t)
	ep := mustEndpoint(t, s, EndpointSpec{URL: "http://127.0.0.1:1/hook"})
	ctx := context.Background()
	req := SendRequest{EndpointID: ep.ID, Type: "order.created", Data: []byte(`{"a": 1}`), IdempotencyKey: "k1"}
	m1, created1, err := s.Send(ctx, req)
	if err != nil || !created1 {
		t.Fatalf("first send: %v, created %v", err, created1)
	}
	req.Data = []byte(`{"a":1}`) // the same object, spelled differently
	m2, created2, err := s.Send(ctx, req)
	if err != nil || created2 || m2.ID != m1.ID {
		t.Errorf("repeated send: %s, created %v, %v; want %s again", m2.ID, created2, err, m1.ID)
	}
	req.Data = []byte(`{"a":2}`)
	if _, _, err := s.Send(ctx, req); !errors.Is(err, ErrConflict) {
		t.Errorf("key reused for another event: %v, want ErrConflict", err)
	}
	e1, _, _ := s.CreateEndpoint(ctx, EndpointSpec{URL: "http://127.0.0.1:1/a", Secret: testSecret, IdempotencyKey: "e"})
	e2, created, _ := s.CreateEndpoint(ctx, EndpointSpec{URL: "http://127.0.0.1:1/a", Secret: testSecret, IdempotencyKey: "e"})
	if created || e1.ID != e2.ID {
		t.Errorf("repeated endpoint registration made %s then %s", e1.ID, e2.ID)
	}
}

func TestSendValidation(t *testing.T) {
	s := openTest(t, WithMaxPayload(1024))
	ep := mustEndpoint(t, s, EndpointSpec{URL: "http://127.0.0.1:1/hook"})
	tests := []struct {
		name string
		req  SendRequest
		want error
	}{
		{"no endpoint", SendRequest{Type: "a.b"}, ErrInvalid},
		{"unknown endpoint", SendRequest{EndpointID: "ep_nope", Type: "a.b"}, ErrNotFound},
		{"bad type", SendRequest{EndpointID: ep.ID, Type: "a b"}, ErrInvalid},
		{"dot type", SendRequest{EndpointID: ep.ID, Type: "a..b"}, ErrInvalid},
		{"array data", SendRequest{EndpointID: ep.ID, Type: "a.b", Data: []byte(`[1]`)}, ErrInvalid},
		{"broken data", SendRequest{EndpointID: ep.ID, Type: "a.b", Data: []byte(`{"a":`)}, ErrInvalid},
		{"too large", SendRequest{EndpointID: ep.ID, Type: "a.b", Data: []byte(`{"a":"` + strings.Repeat("x", 2000) + `"}`)}, ErrTooLarge},
		{"bad key", SendRequest{EndpointID: ep.ID, Type: "a.b", IdempotencyKey: "a\nb"}, ErrInvalid},
	}
	for _, tt := range tests {
		if _, _, err := s.Send(context.Background(), tt.req); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	epTests := []struct {
		name string
		spec EndpointSpec
	}{
		{"no url", EndpointSpec{Secret: testSecret}},
		{"ftp url", EndpointSpec{URL: "ftp://x/y", Secret: testSecret}},
		{"relative url", EndpointSpec{URL: "/hook", Secret: testSecret}},
		{"no secret", EndpointSpec{URL: "http://x/y"}},
		{"bad secret", EndpointSpec{URL: "http://x/y", Secret: "whsec_short"}},
		{"unknown scheme", EndpointSpec{URL: "http://x/y", Secret: testSecret, Scheme: "rot13"}},
		{"public key only", EndpointSpec{URL: "http://x/y", Secret: "whpk_" + strings.Repeat("A", 43) + "="}},
		{"bad notification url", EndpointSpec{URL: "http://x/y", Secret: testSecret, FailureNotificationURL: "mailto:a@b"}},
	}
	for _, tt := range epTests {
		_, _, err := s.CreateEndpoint(context.Background(), tt.spec)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
		if err != nil && tt.spec.Secret != "" && strings.Contains(err.Error(), tt.spec.Secret) {
			t.Errorf("%s: the error repeats the secret: %v", tt.name, err)
		}
	}
}

func TestOtherSchemes(t *testing.T) {
	for _, scheme := range []string{"stripe", "github", "shopify", "slack"} {
		t.Run(scheme, func(t *testing.T) {
			rec := newRecorder(t)
			clk := newFakeClock()
			s := openTest(t, WithClock(clk.Now))
			secret := "shh-" + scheme + "-secret-value"
			ep := mustEndpoint(t, s, EndpointSpec{URL: rec.URL(), Scheme: scheme, Secret: secret})
			m := mustSend(t, s, ep.ID, `{}`)
			deliverDue(t, s)
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			sc, _ := signature.New(scheme, secret, signature.WithClock(clk.Now))
			v, err := sc.Verify(reqs[0].header, reqs[0].body)
			if err != nil || v.ID != m.ID {
				t.Errorf("verify: %+v, %v; want id %s", v, err, m.ID)
			}
		})
	}
}
