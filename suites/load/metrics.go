package load

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	prom "github.com/hookproof/hookproof/reference/metrics"
)

// The metrics of a run (WithMetrics), like Vegeta's Prometheus exporter: read from the
// run's own ledger when scraped, so the attack pays nothing for them. They are the values
// the results file ends with (Ledger.Published, Acked, Attempts, Retries; StatusCodes).
var (
	mPublished = prom.Desc{Name: "hookproof_load_published_total", Type: prom.Counter,
		Help: "Distinct valid events scheduled (the results file's ledger.published)."}
	mAcked = prom.Desc{Name: "hookproof_load_acked_total", Type: prom.Counter,
		Help: "Valid events acknowledged with a 2xx by some attempt (ledger.acked)."}
	mAttempts = prom.Desc{Name: "hookproof_load_attempts_total", Type: prom.Counter,
		Help: "HTTP attempts made, retries, invalid deliveries and duplicates included (ledger.attempts)."}
	mRetries = prom.Desc{Name: "hookproof_load_retries_total", Type: prom.Counter,
		Help: "Retry attempts of valid events (ledger.retries)."}
	mResponses = prom.Desc{Name: "hookproof_load_responses_total", Type: prom.Counter, Labels: []string{"code"},
		Help: `Attempts answered, by HTTP status code; "0" is no answer (status_codes).`}
	mFailed = prom.Desc{Name: "hookproof_load_failed_attempts_total", Type: prom.Counter,
		Help: "Attempts of valid events that got no 2xx (each is retried while attempts are left)."}
	mInFlight = prom.Desc{Name: "hookproof_load_in_flight", Type: prom.Gauge,
		Help: "Attempts sent and not answered yet."}
	mPending = prom.Desc{Name: "hookproof_load_pending", Type: prom.Gauge,
		Help: "Valid events neither acknowledged nor failed after all retries yet."}
	mLatency = prom.Desc{Name: "hookproof_load_ack_latency_seconds", Type: prom.Histogram,
		Help: "Ack latency of valid events from their scheduled send time, as the results file's latency (a timed-out attempt counts at the timeout)."}
)

// Metrics describes every metric a run exports.
func Metrics() []prom.Desc {
	return []prom.Desc{mPublished, mAcked, mAttempts, mRetries, mResponses, mFailed, mInFlight, mPending, mLatency}
}

// WithMetrics registers the run's metrics (Metrics) with reg, a registry of its own
// (prometheus.NewRegistry) served with metrics.Handler while the run goes. They stay
// registered after Run returns, with the run's final values; one registry serves one run.
func WithMetrics(reg prometheus.Registerer) Option { return func(o *options) { o.metrics = reg } }

var (
	pPublished = mPublished.Prom()
	pAcked     = mAcked.Prom()
	pAttempts  = mAttempts.Prom()
	pRetries   = mRetries.Prom()
	pResponses = mResponses.Prom()
	pFailed    = mFailed.Prom()
	pInFlight  = mInFlight.Prom()
	pPending   = mPending.Prom()
	pLatency   = mLatency.Prom()
)

type runCollector struct{ r *run }

func (runCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pPublished, pAcked, pAttempts, pRetries, pResponses, pFailed, pInFlight, pPending, pLatency} {
		ch <- d
	}
}

func (c runCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	sent := r.liveSent.Load()
	r.mu.Lock()
	published, attempts, retries, resolved, pending := r.published, r.attempts, r.retries, r.chk.resolved, r.pending
	codes := r.codes.m()
	count, sum, buckets := promBuckets(&r.overall)
	r.mu.Unlock()
	counter(pPublished, int64(published))
	counter(pAcked, r.liveAcked.Load())
	counter(pAttempts, int64(attempts))
	counter(pRetries, int64(retries))
	counter(pFailed, r.liveErrs.Load())
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		counter(pResponses, int64(codes[k]), k)
	}
	ch <- prometheus.MustNewConstMetric(pInFlight, prometheus.GaugeValue, float64(max(sent-int64(resolved), 0)))
	ch <- prometheus.MustNewConstMetric(pPending, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstHistogram(pLatency, count, sum, buckets)
}

// promBuckets folds h into the cumulative buckets of prom.LatencyBuckets (seconds): each
// fine bucket counts at its upper edge, so no value is shown as faster than it was.
func promBuckets(h *hist) (uint64, float64, map[float64]uint64) {
	bounds := prom.LatencyBuckets
	per := make([]uint64, len(bounds)+1) // the last: above every bound (+Inf only)
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		s := float64(upperOf(i)) / 1e6
		j := sort.SearchFloat64s(bounds, s)
		per[j] += uint64(c)
	}
	out := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += per[i]
		out[b] = cum
	}
	return h.n, h.sum / 1e6, out
}
