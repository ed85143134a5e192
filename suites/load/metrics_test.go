package load_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
	"github.com/hookproof/hookproof/reference/metrics/promtest"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/load"
)

// TestMetricsAgreeWithResults runs a short load (with invalid deliveries, duplicates and
// retries after 503s), scrapes /metrics over HTTP while it goes and after, and checks the
// final counters against the results file.
func TestMetricsAgreeWithResults(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		seen[id]++
		n, k := seen[id], len(seen)
		mu.Unlock()
		if n == 1 && k%4 == 0 {
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer target.Close()
	reg := prometheus.NewRegistry()
	msrv := httptest.NewServer(metrics.Handler(reg))
	defer msrv.Close()

	cfg := load.Config{
		URL: target.URL, Secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		Rate: load.Rate{Freq: 200, Per: time.Second}, Duration: 1500 * time.Millisecond,
		Seed: 3, Timeout: 5 * time.Second, Drain: 10 * time.Second, Invalid: 0.1, Duplicate: 0.1,
		Backoff: load.Backoff{Base: 5 * time.Millisecond, Cap: 20 * time.Millisecond},
	}
	type outcome struct {
		res *reports.Results
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := load.Run(context.Background(), cfg, load.WithMetrics(reg))
		done <- outcome{res, err}
	}()
	ctx := context.Background()
	var during promtest.Families
	for during == nil || during.Value("hookproof_load_published_total") == 0 {
		select {
		case o := <-done:
			t.Fatalf("the run ended (%v) before a scrape saw it going", o.err)
		case <-time.After(20 * time.Millisecond):
		}
		f, err := promtest.Scrape(ctx, msrv.URL+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		during = f
	}
	for _, p := range during.Check(load.Metrics()) {
		t.Error("during the run:", p)
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	fams, err := promtest.Scrape(ctx, msrv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range fams.Check(load.Metrics()) {
		t.Error(p)
	}
	for _, d := range load.Metrics() {
		if fams[d.Name] == nil {
			t.Errorf("%s: not scraped", d.Name)
		}
	}
	l := o.res.Load
	if l.Ledger.Retries == 0 || l.Ledger.Published < 100 || l.Ledger.InvalidSent == 0 {
		t.Fatalf("the run did not exercise retries and invalid deliveries: %+v", l.Ledger)
	}
	eq := func(what string, got float64, want int) {
		t.Helper()
		if got != float64(want) {
			t.Errorf("%s = %v, results file says %d", what, got, want)
		}
	}
	eq("hookproof_load_published_total", fams.Value("hookproof_load_published_total"), l.Ledger.Published)
	eq("hookproof_load_acked_total", fams.Value("hookproof_load_acked_total"), l.Ledger.Acked)
	eq("hookproof_load_attempts_total", fams.Value("hookproof_load_attempts_total"), l.Ledger.Attempts)
	eq("hookproof_load_retries_total", fams.Value("hookproof_load_retries_total"), l.Ledger.Retries)
	eq("hookproof_load_in_flight", fams.Value("hookproof_load_in_flight"), 0)
	eq("hookproof_load_pending", fams.Value("hookproof_load_pending"), l.Ledger.CutOff)
	total := 0
	for code, n := range l.StatusCodes {
		eq("hookproof_load_responses_total{code="+code+"}", fams.Value("hookproof_load_responses_total", "code", code), n)
		total += n
	}
	eq("hookproof_load_responses_total", fams.Value("hookproof_load_responses_total"), total)
	eq("hookproof_load_responses_total vs attempts", float64(total), l.Ledger.Attempts)
	hn := 0
	for _, b := range l.Histogram {
		hn += b.Count
	}
	eq("hookproof_load_ack_latency_seconds count", fams.Value("hookproof_load_ack_latency_seconds"), hn)
	h := fams["hookproof_load_ack_latency_seconds"].GetMetric()[0].GetHistogram()
	if mean := h.GetSampleSum() / float64(h.GetSampleCount()) * 1000; mean < l.Latency.Mean*0.99 || mean > l.Latency.Mean*1.01 {
		t.Errorf("histogram mean %.3f ms, results file %.3f ms", mean, l.Latency.Mean)
	}
	// A second run cannot take the same registry: its metrics would mix with the first's.
	if _, err := load.Run(ctx, cfg, load.WithMetrics(reg)); err == nil {
		t.Error("a second run registered on the first one's registry")
	}
}
