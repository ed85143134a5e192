package receiver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
	"github.com/hookproof/hookproof/reference/store"
)

// The receiver's metrics (WithMetrics).
var (
	mDeliveries = metrics.Desc{Name: "hookproof_receiver_deliveries_total", Type: metrics.Counter, Labels: []string{"status", "outcome"},
		Help: `Deliveries (POSTs) answered, by HTTP status and outcome: 200 accepted (stored), 200 duplicate (an id stored before), 200 challenge (a url_verification answered), 400/401/413 rejected, 503 unavailable (the store failed, or shutting down); status "none", outcome abandoned: the sender hung up before the ack.`}
	mEffects = metrics.Desc{Name: "hookproof_receiver_effects_total", Type: metrics.Counter, Labels: []string{"applied"},
		Help: `Effects committed by processing, by whether the event was applied ("true") or was stale for its object ("false"). One per processed delivery.`}
	mReported = metrics.Desc{Name: "hookproof_receiver_effects_reported_total", Type: metrics.Counter,
		Help: "Effects the effect sink acknowledged (a report repeated after a crash counts again)."}
	mSinkErrors = metrics.Desc{Name: "hookproof_receiver_sink_errors_total", Type: metrics.Counter,
		Help: "Reports to the effect sink that failed (each is retried, in order)."}
	mLag = metrics.Desc{Name: "hookproof_receiver_processing_lag_seconds", Type: metrics.Histogram,
		Help: "From a delivery's acknowledgement to the commit of its effect: how far processing runs behind."}
	mCommit = metrics.Desc{Name: "hookproof_receiver_inbox_commit_seconds", Type: metrics.Histogram,
		Help: "Duration of each inbox commit (one transaction, one fsync, for a batch of acks)."}
	mInboxDepth = metrics.Desc{Name: "hookproof_receiver_inbox_depth", Type: metrics.Gauge,
		Help: "Deliveries acknowledged and not processed yet, counted in the store when scraped."}
	mOutboxDepth = metrics.Desc{Name: "hookproof_receiver_outbox_depth", Type: metrics.Gauge,
		Help: "Effects not reported to the effect sink yet, counted in the store when scraped."}
	mRows = metrics.Desc{Name: "hookproof_receiver_store_rows", Type: metrics.Gauge, Labels: []string{"table"},
		Help: `Rows of the store's inbox ("inbox": deliveries acknowledged, ever) and effects table ("effects"), counted when scraped; on a shared PostgreSQL store, every replica's.`}
)

// Metrics describes every metric the receiver exports.
func Metrics() []metrics.Desc {
	return []metrics.Desc{mDeliveries, mEffects, mReported, mSinkErrors, mLag, mCommit, mInboxDepth, mOutboxDepth, mRows}
}

// WithMetrics registers the receiver's metrics (Metrics) with reg: a registry of its own
// (prometheus.NewRegistry), served with metrics.Handler. The store's row counts are queried
// when reg is gathered.
func WithMetrics(reg prometheus.Registerer) Option { return func(c *config) { c.metrics = reg } }

// Answers counted by hookproof_receiver_deliveries_total; each is one resolved counter, so
// the ack path pays one atomic add.
const (
	ansAccepted = iota
	ansDuplicate
	ansChallenge
	ans400
	ans401
	ans413
	ans503
	ansAbandoned
	ans408
	ansBusy
	numAnswers
)

var answerLabels = [numAnswers][2]string{
	{"200", "accepted"}, {"200", "duplicate"}, {"200", "challenge"},
	{"400", "rejected"}, {"401", "rejected"}, {"413", "rejected"},
	{"503", "unavailable"}, {"none", "abandoned"},
	{"408", "rejected"}, {"503", "busy"},
}

func rejectAnswer(status int) int {
	switch status {
	case 401:
		return ans401
	case 413:
		return ans413
	case 408:
		return ans408
	case 503:
		return ansBusy
	}
	return ans400
}

type recvMetrics struct {
	answers    [numAnswers]prometheus.Counter
	applied    prometheus.Counter
	stale      prometheus.Counter
	reported   prometheus.Counter
	sinkErrors prometheus.Counter
	lag        prometheus.Histogram
	commit     prometheus.Histogram
}

func newRecvMetrics(reg prometheus.Registerer, st store.Store) (*recvMetrics, error) {
	deliveries, effects := mDeliveries.CounterVec(), mEffects.CounterVec()
	m := &recvMetrics{
		applied:    effects.WithLabelValues("true"),
		stale:      effects.WithLabelValues("false"),
		reported:   mReported.NewCounter(),
		sinkErrors: mSinkErrors.NewCounter(),
		lag:        mLag.NewHistogram(metrics.LatencyBuckets),
		commit:     mCommit.NewHistogram(metrics.LatencyBuckets),
	}
	for i, l := range answerLabels {
		m.answers[i] = deliveries.WithLabelValues(l[0], l[1])
	}
	reg = metrics.Registerer(reg)
	for _, c := range []prometheus.Collector{deliveries, effects, m.reported, m.sinkErrors, m.lag, m.commit, storeCollector{st}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// storeCollector counts the store's rows when scraped.
type storeCollector struct{ st store.Store }

var (
	pInboxDepth  = mInboxDepth.Prom()
	pOutboxDepth = mOutboxDepth.Prom()
	pRows        = mRows.Prom()
)

func (storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pInboxDepth
	ch <- pOutboxDepth
	ch <- pRows
}

// scrapeTimeout bounds the store query of one scrape.
const scrapeTimeout = 5 * time.Second

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.st.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pInboxDepth, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pInboxDepth, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(pOutboxDepth, prometheus.GaugeValue, float64(st.Outbox))
	ch <- prometheus.MustNewConstMetric(pRows, prometheus.GaugeValue, float64(st.Inbox), "inbox")
	ch <- prometheus.MustNewConstMetric(pRows, prometheus.GaugeValue, float64(st.Effects), "effects")
}
