package sender

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
)

// The sender's metrics (WithMetrics).
var (
	mAttempts = metrics.Desc{Name: "hookproof_sender_attempts_total", Type: metrics.Counter, Labels: []string{"outcome"},
		Help: "Delivery attempts recorded, by outcome: success (2xx), failure (any other answer, a timeout, a transport error), gone (410: the endpoint is disabled), interrupted (the sender stopped first; attempted again)."}
	mDuration = metrics.Desc{Name: "hookproof_sender_attempt_duration_seconds", Type: metrics.Histogram,
		Help: "Duration of each recorded delivery attempt, from its start to the answer (or the error)."}
	mMessages = metrics.Desc{Name: "hookproof_sender_messages", Type: metrics.Gauge, Labels: []string{"status"},
		Help: "Messages in the outbox by status (pending, delivered, dead), counted in the database when scraped."}
	mRetryQueue = metrics.Desc{Name: "hookproof_sender_retry_queue_depth", Type: metrics.Gauge,
		Help: "Pending messages that failed at least once and wait for a retry, counted in the database when scraped."}
	mBreaker = metrics.Desc{Name: "hookproof_sender_breaker_state", Type: metrics.Gauge, Labels: []string{"endpoint", "state"},
		Help: "Circuit breaker of each endpoint attempted since the start, as a state set: 1 for its state now (closed, open, half-open), 0 for the others."}
	mEndpoints = metrics.Desc{Name: "hookproof_sender_endpoints", Type: metrics.Gauge, Labels: []string{"state"},
		Help: "Registered endpoints, enabled or disabled (after 410, or failing too long), counted in the database when scraped."}
)

// Metrics describes every metric the sender exports.
func Metrics() []metrics.Desc {
	return []metrics.Desc{mAttempts, mDuration, mMessages, mRetryQueue, mBreaker, mEndpoints}
}

// WithMetrics registers the sender's metrics (Metrics) with reg: a registry of its own
// (prometheus.NewRegistry), served with metrics.Handler. The database's counts and the
// breakers are read when reg is gathered.
func WithMetrics(reg prometheus.Registerer) Option { return func(c *config) { c.metrics = reg } }

var outcomeOrder = []Outcome{Success, Failure, Gone, Interrupted}

type sendMetrics struct {
	attempts map[Outcome]prometheus.Counter // fixed after construction: read without a lock
	duration prometheus.Histogram
}

func (s *Sender) initMetrics() error {
	vec := mAttempts.CounterVec()
	m := &sendMetrics{attempts: map[Outcome]prometheus.Counter{}, duration: mDuration.NewHistogram(metrics.LatencyBuckets)}
	for _, o := range outcomeOrder {
		m.attempts[o] = vec.WithLabelValues(string(o))
	}
	s.m = m
	reg := metrics.Registerer(s.cfg.metrics)
	for _, c := range []prometheus.Collector{vec, m.duration, sendCollector{s}} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// recorded counts an attempt finishAttempt has written.
func (m *sendMetrics) recorded(a Attempt) {
	if c := m.attempts[a.Outcome]; c != nil {
		c.Inc()
	}
	m.duration.Observe(a.DurationMS / 1000)
}

var (
	pMessages   = mMessages.Prom()
	pRetryQueue = mRetryQueue.Prom()
	pBreaker    = mBreaker.Prom()
	pEndpoints  = mEndpoints.Prom()
)

type sendCollector struct{ s *Sender }

func (sendCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pMessages
	ch <- pRetryQueue
	ch <- pBreaker
	ch <- pEndpoints
}

func (c sendCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	now := s.now()
	type state struct{ id, state string }
	s.mu.Lock()
	states := make([]state, 0, len(s.breakers))
	for id, b := range s.breakers {
		states = append(states, state{id, b.state(now)})
	}
	s.mu.Unlock()
	for _, b := range states {
		for _, name := range []string{"closed", "open", "half-open"} {
			v := 0.0
			if b.state == name {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(pBreaker, prometheus.GaugeValue, v, b.id, name)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := s.st.counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pMessages, err)
		return
	}
	for _, st := range []Status{Pending, Delivered, Dead} {
		ch <- prometheus.MustNewConstMetric(pMessages, prometheus.GaugeValue, float64(cs.messages[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(pRetryQueue, prometheus.GaugeValue, float64(cs.retrying))
	ch <- prometheus.MustNewConstMetric(pEndpoints, prometheus.GaugeValue, float64(cs.enabled), "enabled")
	ch <- prometheus.MustNewConstMetric(pEndpoints, prometheus.GaugeValue, float64(cs.disabled), "disabled")
}

// storeCounts are the database's counts behind the gauges.
type storeCounts struct {
	messages          map[Status]int64
	retrying          int64
	enabled, disabled int64
}

func (s *store) counts(ctx context.Context) (storeCounts, error) {
	c := storeCounts{messages: map[Status]int64{}}
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM messages GROUP BY status`)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return c, err
		}
		c.messages[Status(st)] = n
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	var enabled, disabled sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM messages WHERE status = 'pending' AND failures > 0),
		(SELECT SUM(disabled = 0) FROM endpoints),
		(SELECT SUM(disabled != 0) FROM endpoints)`).Scan(&c.retrying, &enabled, &disabled)
	c.enabled, c.disabled = enabled.Int64, disabled.Int64
	return c, err
}
