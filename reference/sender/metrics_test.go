package sender

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
	"github.com/hookproof/hookproof/reference/metrics/promtest"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
)

// TestMetricsAgreeWithOutbox delivers to the reference receiver (whose first answers are
// 503s), to an endpoint that always fails (its breaker opens) and to one that answers 410,
// scrapes /metrics over HTTP and checks the counters against the attempts and messages
// the sender recorded, and the receiver's own count of accepted deliveries.
func TestMetricsAgreeWithOutbox(t *testing.T) {
	ctx := context.Background()
	scheme, err := signature.New("standard", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	rreg := prometheus.NewRegistry()
	rcv, err := receiver.Open(ctx, scheme, t.TempDir()+"/r.db", receiver.WithMetrics(rreg))
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refused.Add(1) <= 2 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		rcv.ServeHTTP(w, r)
	}))
	defer func() {
		flaky.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rcv.Close(cctx)
	}()
	failing := newRecorder(t, step{status: 500})
	gone := newRecorder(t, step{status: 410})

	clk := &fakeClock{t: time.Now()} // the receiver checks signed timestamps against its own clock
	reg := prometheus.NewRegistry()
	s := openTest(t, WithClock(clk.Now), WithSchedule(Schedule{0, time.Second, time.Second, time.Second, time.Second, time.Second}),
		WithJitter(0), WithBreaker(3, time.Minute, 4*time.Minute), WithWorkers(1, 1), WithMetrics(reg))
	msrv := httptest.NewServer(metrics.Handler(reg))
	defer msrv.Close()
	rmsrv := httptest.NewServer(metrics.Handler(rreg))
	defer rmsrv.Close()

	good := mustEndpoint(t, s, EndpointSpec{URL: flaky.URL + "/hook"})
	bad := mustEndpoint(t, s, EndpointSpec{URL: failing.URL()})
	off := mustEndpoint(t, s, EndpointSpec{URL: gone.URL()})
	var ids []string
	for i := range 4 {
		for _, ep := range []Endpoint{good, bad, off} {
			ids = append(ids, mustSend(t, s, ep.ID, `{"i":`+strconv.Itoa(i)+`}`).ID)
			clk.Advance(time.Millisecond)
		}
	}
	for range 8 {
		deliverDue(t, s)
		clk.Advance(2 * time.Second)
	}

	fams, err := promtest.Scrape(ctx, msrv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range fams.Check(Metrics()) {
		t.Error(p)
	}
	for _, d := range Metrics() {
		if fams[d.Name] == nil {
			t.Errorf("%s: not scraped", d.Name)
		}
	}
	byOutcome := map[Outcome]int{}
	byStatus := map[Status]int{}
	retrying, total := 0, 0
	for _, id := range ids {
		m := message(t, s, id)
		byStatus[m.Status]++
		failed := 0
		for _, a := range attempts(t, s, id) {
			byOutcome[a.Outcome]++
			total++
			if a.Outcome == Failure {
				failed++
			}
		}
		if m.Status == Pending && failed > 0 {
			retrying++
		}
	}
	if byOutcome[Success] != 4 || byOutcome[Failure] < 2+3 || byOutcome[Gone] == 0 || retrying == 0 {
		t.Fatalf("the run did not exercise retries, the breaker and 410: attempts %v, %d retrying", byOutcome, retrying)
	}
	eq := func(what string, got float64, want int) {
		t.Helper()
		if got != float64(want) {
			t.Errorf("%s = %v, want %d", what, got, want)
		}
	}
	for _, o := range []Outcome{Success, Failure, Gone, Interrupted} {
		eq("hookproof_sender_attempts_total{outcome="+string(o)+"}", fams.Value("hookproof_sender_attempts_total", "outcome", string(o)), byOutcome[o])
	}
	eq("hookproof_sender_attempt_duration_seconds count", fams.Value("hookproof_sender_attempt_duration_seconds"), total)
	for _, st := range []Status{Pending, Delivered, Dead} {
		eq("hookproof_sender_messages{status="+string(st)+"}", fams.Value("hookproof_sender_messages", "status", string(st)), byStatus[st])
	}
	eq("hookproof_sender_retry_queue_depth", fams.Value("hookproof_sender_retry_queue_depth"), retrying)
	eq("hookproof_sender_endpoints{state=disabled}", fams.Value("hookproof_sender_endpoints", "state", "disabled"), 1)
	eq("hookproof_sender_endpoints{state=enabled}", fams.Value("hookproof_sender_endpoints", "state", "enabled"), 2)
	for _, c := range []struct {
		ep    Endpoint
		state string
	}{{good, "closed"}, {bad, "open"}} {
		e, err := s.Endpoint(ctx, c.ep.ID)
		if err != nil || e.Breaker != c.state {
			t.Fatalf("endpoint %s: breaker %q (%v), want %s", c.ep.ID, e.Breaker, err, c.state)
		}
		eq("hookproof_sender_breaker_state{endpoint="+c.ep.ID+",state="+c.state+"}",
			fams.Value("hookproof_sender_breaker_state", "endpoint", c.ep.ID, "state", c.state), 1)
		eq("hookproof_sender_breaker_state{endpoint="+c.ep.ID+"} series", float64(fams.Series("hookproof_sender_breaker_state", "endpoint", c.ep.ID)), 3)
		eq("hookproof_sender_breaker_state{endpoint="+c.ep.ID+"} sum", fams.Value("hookproof_sender_breaker_state", "endpoint", c.ep.ID), 1)
	}

	// The receiver's side of the same deliveries.
	rf, err := promtest.Scrape(ctx, rmsrv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	eq("hookproof_receiver_deliveries_total{status=200,outcome=accepted}",
		rf.Value("hookproof_receiver_deliveries_total", "status", "200", "outcome", "accepted"), byOutcome[Success])
}
