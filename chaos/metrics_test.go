package chaos

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
	"github.com/hookproof/hookproof/reference/metrics/promtest"
)

// TestMetricsAgreeWithStats runs traffic through a proxy with faults, scrapes /metrics over
// HTTP and checks each counter against Stats and the upstream's own count.
func TestMetricsAgreeWithStats(t *testing.T) {
	specs, err := ParseSpec("error=0.3(status=503),duplicate=0.2,reset=0.1")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	up := &counter{}
	us := httptest.NewServer(up)
	defer us.Close()
	p, err := NewProxy(us.URL, WithSeed(7), WithFaults(specs...), WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{up: up, proxy: p, srv: httptest.NewServer(p), client: newRig(t, 1).client}
	defer r.srv.Close()
	msrv := httptest.NewServer(metrics.Handler(reg))
	defer msrv.Close()

	const n = 300
	for i := range n {
		r.send(t, fmt.Sprintf("msg_%d", i), `{"x":1}`)
	}
	// The copies duplicate sends go on in the background: wait until everything forwarded has
	// reached the upstream and nothing moves for a while, then close. (Closing first would
	// cancel a copy in flight, which the upstream may or may not have seen: "241, want 240".)
	stable, last := 0, int64(-1)
	for deadline := time.Now().Add(10 * time.Second); stable < 100 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
		f := p.Stats().Forwarded
		if f == last && int64(up.hits()) == f {
			stable++
		} else {
			stable, last = 0, f
		}
	}
	p.Close()
	st := p.Stats()

	fams, err := promtest.Scrape(context.Background(), msrv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range fams.Check(Metrics()) {
		t.Error(pr)
	}
	for _, d := range Metrics() {
		if fams[d.Name] == nil {
			t.Errorf("%s: not scraped", d.Name)
		}
	}
	eq := func(what string, got float64, want int64) {
		t.Helper()
		if got != float64(want) {
			t.Errorf("%s = %v, want %d", what, got, want)
		}
	}
	eq("hookproof_chaos_requests_total", fams.Value("hookproof_chaos_requests_total"), n)
	eq("hookproof_chaos_requests_total vs Stats", fams.Value("hookproof_chaos_requests_total"), st.Requests)
	eq("hookproof_chaos_copies_total", fams.Value("hookproof_chaos_copies_total"), st.Copies)
	eq("hookproof_chaos_forwarded_total", fams.Value("hookproof_chaos_forwarded_total"), st.Forwarded)
	eq("hookproof_chaos_forwarded_total vs upstream", fams.Value("hookproof_chaos_forwarded_total"), int64(up.hits()))
	eq("hookproof_chaos_faults_active", fams.Value("hookproof_chaos_faults_active"), 3)
	for _, typ := range []string{"error", "duplicate", "reset"} {
		if st.Faults[typ] == 0 {
			t.Errorf("fault %s never fired in %d requests", typ, n)
		}
		eq("hookproof_chaos_faults_total{type="+typ+"}", fams.Value("hookproof_chaos_faults_total", "fault", typ, "type", typ), st.Faults[typ])
	}
	var outcomes int64
	for name, v := range st.Outcomes {
		eq("hookproof_chaos_responses_total{outcome="+name+"}", fams.Value("hookproof_chaos_responses_total", "outcome", name), v)
		outcomes += v
	}
	eq("hookproof_chaos_responses_total", fams.Value("hookproof_chaos_responses_total"), outcomes)
	if st.Outcomes["reset"]+st.Outcomes["reset-partway"] == 0 || st.Copies == 0 {
		t.Errorf("no reset or no copy: %+v", st)
	}
}
