// Package metrics holds what the Prometheus metrics of hookproof's components share: the
// description of each metric (its name, type, labels and meaning, which README.md's
// Metrics section is generated from), the rules their names follow, and the /metrics
// handler.
//
// Every component takes a prometheus.Registerer in its options and registers its own
// metrics there: one registry per component instance (prometheus.NewRegistry), never the
// global one, so that tests and several instances in one process do not clash. Counters
// on hot paths are atomic client_golang counters resolved once (no label lookup per
// request); values a component keeps anyway (chaos Stats, the load run's ledger, the
// store's row counts) are read when /metrics is scraped, not maintained twice.
package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Type is a metric's Prometheus type.
type Type string

// The metric types used.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Desc describes one metric.
type Desc struct {
	Name   string
	Type   Type
	Labels []string
	Help   string
}

// Prom is d as a prometheus.Desc, for collectors that build metrics at scrape time.
func (d Desc) Prom() *prometheus.Desc { return prometheus.NewDesc(d.Name, d.Help, d.Labels, nil) }

// ValueType is d's type for prometheus.MustNewConstMetric (counters and gauges).
func (d Desc) ValueType() prometheus.ValueType {
	if d.Type == Counter {
		return prometheus.CounterValue
	}
	return prometheus.GaugeValue
}

// CounterVec is d as a counter vector (d must be a counter).
func (d Desc) CounterVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.Name, Help: d.Help}, d.Labels)
}

// NewCounter is d as a counter without labels.
func (d Desc) NewCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: d.Name, Help: d.Help})
}

// HistogramVec is d as a histogram vector with the given buckets (in d's unit).
func (d Desc) HistogramVec(buckets []float64) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: d.Name, Help: d.Help, Buckets: buckets}, d.Labels)
}

// NewHistogram is d as a histogram without labels.
func (d Desc) NewHistogram(buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: d.Name, Help: d.Help, Buckets: buckets})
}

// LatencyBuckets are the buckets of the latency histograms, in seconds: 0.5 ms to 60 s.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Check reports what is wrong with d's name by the Prometheus naming conventions as this
// project applies them: the hookproof_ prefix and snake case; a counter ends in _total and
// nothing else does; a histogram of durations ends in _seconds; labels are snake case and
// not reserved.
func (d Desc) Check() error {
	var errs []error
	if !strings.HasPrefix(d.Name, "hookproof_") {
		errs = append(errs, errors.New("does not start with hookproof_"))
	}
	if !snake(d.Name) {
		errs = append(errs, errors.New("is not snake case (a-z, 0-9, _)"))
	}
	switch d.Type {
	case Counter:
		if !strings.HasSuffix(d.Name, "_total") {
			errs = append(errs, errors.New("is a counter not ending in _total"))
		}
	case Gauge, Histogram:
		if strings.HasSuffix(d.Name, "_total") {
			errs = append(errs, fmt.Errorf("is a %s ending in _total", d.Type))
		}
	default:
		errs = append(errs, fmt.Errorf("has type %q", d.Type))
	}
	if d.Type == Histogram && !strings.HasSuffix(d.Name, "_seconds") {
		errs = append(errs, errors.New("is a histogram (of durations) not ending in _seconds"))
	}
	for _, unit := range []string{"_ms", "_milliseconds", "_us", "_minutes"} {
		if strings.Contains(d.Name, unit+"_") || strings.HasSuffix(d.Name, unit) {
			errs = append(errs, fmt.Errorf("uses the unit %s, not the base unit seconds", unit))
		}
	}
	if d.Help == "" {
		errs = append(errs, errors.New("has no help"))
	}
	for _, l := range d.Labels {
		if !snake(l) || strings.HasPrefix(l, "__") || l == "le" || l == "quantile" {
			errs = append(errs, fmt.Errorf("has the label %q (want snake case, not reserved)", l))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("metric %s: %w", d.Name, errors.Join(errs...))
	}
	return nil
}

func snake(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Handler serves g's metrics in the Prometheus text format (or OpenMetrics, when asked).
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registerer returns reg, or a fresh registry nobody scrapes when reg is nil, so that a
// component always has somewhere to register.
func Registerer(reg prometheus.Registerer) prometheus.Registerer {
	if reg == nil {
		return prometheus.NewRegistry()
	}
	return reg
}
