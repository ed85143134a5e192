package chaos

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
)

// The proxy's metrics (WithMetrics): its Stats, read when scraped, so the request path
// pays nothing for them. A reset of the counters (the admin API's POST /reset) resets
// them too, which Prometheus reads as a counter reset.
var (
	mRequests = metrics.Desc{Name: "hookproof_chaos_requests_total", Type: metrics.Counter,
		Help: "Client requests the proxy received (Stats.Requests)."}
	mCopies = metrics.Desc{Name: "hookproof_chaos_copies_total", Type: metrics.Counter,
		Help: "Copies of requests that faults sent on their own (duplicate, replay; Stats.Copies)."}
	mForwarded = metrics.Desc{Name: "hookproof_chaos_forwarded_total", Type: metrics.Counter,
		Help: "Sends to the upstream, copies included (Stats.Forwarded)."}
	mOutcomes = metrics.Desc{Name: "hookproof_chaos_responses_total", Type: metrics.Counter, Labels: []string{"outcome"},
		Help: "Requests by what the client got (Stats.Outcomes): answered, reset, reset-partway, hang, client-gone; copy or cancelled for copies."}
	mFaults = metrics.Desc{Name: "hookproof_chaos_faults_total", Type: metrics.Counter, Labels: []string{"fault", "type"},
		Help: "Times each fault instance fired (Stats.Instances), by instance name and fault type (drop, delay, duplicate, ...)."}
	mActive = metrics.Desc{Name: "hookproof_chaos_faults_active", Type: metrics.Gauge,
		Help: "Fault instances in the chain now."}
	mDropped = metrics.Desc{Name: "hookproof_chaos_ledger_dropped_total", Type: metrics.Counter,
		Help: "Ledger entries pushed out of the bounded ledger (Stats.LedgerDropped)."}
)

// Metrics describes every metric the proxy exports.
func Metrics() []metrics.Desc {
	return []metrics.Desc{mRequests, mCopies, mForwarded, mOutcomes, mFaults, mActive, mDropped}
}

// WithMetrics registers the proxy's metrics (Metrics) with reg, a registry of its own
// (prometheus.NewRegistry), served with metrics.Handler.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(p *Proxy) error { p.metrics = reg; return nil }
}

var (
	pRequests  = mRequests.Prom()
	pCopies    = mCopies.Prom()
	pForwarded = mForwarded.Prom()
	pOutcomes  = mOutcomes.Prom()
	pFaults    = mFaults.Prom()
	pActive    = mActive.Prom()
	pDropped   = mDropped.Prom()
)

// collector reads the proxy's Stats when scraped.
type collector struct{ p *Proxy }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pRequests, pCopies, pForwarded, pOutcomes, pFaults, pActive, pDropped} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(pRequests, st.Requests)
	counter(pCopies, st.Copies)
	counter(pForwarded, st.Forwarded)
	counter(pDropped, st.LedgerDropped)
	for _, name := range outcomeNames {
		counter(pOutcomes, st.Outcomes[name], name)
	}
	for _, in := range st.Instances {
		counter(pFaults, in.Count, in.Name, in.Type)
	}
	ch <- prometheus.MustNewConstMetric(pActive, prometheus.GaugeValue, float64(len(*c.p.chain.Load())))
}
