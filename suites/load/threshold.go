package load

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
)

// ErrThreshold is wrapped by every threshold parsing error.
var ErrThreshold = errors.New("bad threshold")

// DefaultThresholds are the rules every run is graded by unless overridden: "fail the build
// if a single event is not delivered, lost, processed twice, forged through, or acked too
// slowly". Each backs one requirement of the load catalogue (see Requirements). A user
// threshold on the same metric replaces the default one (--threshold unacked<=10 loosens
// unacked==0), and the results then record the user's rule.
var DefaultThresholds = []string{"unacked==0", "ack_p99<5s", "lost==0", "doubled==0", "invalid_accepted==0"}

// Requirements maps each load catalogue ID to the default thresholds that grade it.
var Requirements = map[string][]string{
	"LOAD-DELIVERED":    {"unacked==0"},
	"LOAD-ACK-LATENCY":  {"ack_p99<5s"},
	"LOAD-EXACTLY-ONCE": {"lost==0", "doubled==0"},
	"LOAD-SIG-REJECT":   {"invalid_accepted==0"},
}

// requirementOf names the catalogue requirement a default threshold expression grades.
func requirementOf(expr string) string {
	for id, exprs := range Requirements {
		if slices.Contains(exprs, expr) {
			return id
		}
	}
	return ""
}

// unit is what a metric measures, which decides how its limit is written and shown.
type unit uint8

const (
	unitMS    unit = iota // milliseconds; limits are durations ("5s", "250ms", or a bare number of ms)
	unitCount             // a number of events or attempts
	unitRatio             // a fraction; limits are "0.01" or "1%"
)

type metricInfo struct {
	unit  unit
	sink  bool // observable only with an effect sink
	about string
}

// metrics lists the named metrics a threshold may use. Ack percentiles other than these
// (ack_p95, ack_p99.9, any ack_pN with 0 < N <= 100) are recognised by pattern.
var metrics = map[string]metricInfo{
	"ack_p50":              {unitMS, false, "median ack latency"},
	"ack_p90":              {unitMS, false, "90th percentile ack latency"},
	"ack_p99":              {unitMS, false, "99th percentile ack latency"},
	"ack_max":              {unitMS, false, "slowest ack"},
	"ack_mean":             {unitMS, false, "mean ack latency"},
	"lost":                 {unitCount, true, "acked valid events without an effect"},
	"doubled":              {unitCount, true, "valid events with more than one distinct effect"},
	"effects":              {unitCount, true, "distinct effects of this run's events"},
	"invalid_accepted":     {unitCount, false, "invalid deliveries answered 2xx or given an effect"},
	"failed_after_retries": {unitCount, false, "valid events never acked in all their attempts"},
	"cut_off":              {unitCount, false, "valid events still pending when the drain ended"},
	"published":            {unitCount, false, "distinct valid events sent"},
	"unacked":              {unitCount, false, "valid events not acked by the end of the drain (failed after retries + cut off)"},
	"acked":                {unitCount, false, "valid events acked with 2xx"},
	"attempts":             {unitCount, false, "HTTP attempts, retries and duplicates included"},
	"retries":              {unitCount, false, "retry attempts"},
	"invalid_sent":         {unitCount, false, "deliveries sent with an invalid signature"},
	"errors":               {unitCount, false, "failed attempts of valid deliveries (non-2xx, timeout, connection error)"},
	"timeouts":             {unitCount, false, "attempts of valid deliveries that got no answer in time"},
	"error_rate":           {unitRatio, false, "errors / attempts of valid deliveries"},
	"acked_ratio":          {unitRatio, false, "acked / published"},
}

// Threshold is one parsed rule, e.g. ack_p99<5s. Limits of duration metrics are in ms.
type Threshold struct {
	Expr   string  // canonical form: metric, operator, limit as written, no spaces
	Metric string  // e.g. ack_p99
	Op     string  // <, <=, >, >=, ==, !=
	Limit  float64 // in the metric's unit (milliseconds for latencies)
	// Quantile is set for ack percentiles: 0.99 for ack_p99.
	Quantile float64
	// Default is set on a rule that came from DefaultThresholds (not replaced by the user):
	// it grades a requirement of the load catalogue.
	Default bool
	unit    unit
	sink    bool
}

// NeedsSink reports whether t can only be observed with an effect sink.
func (t Threshold) NeedsSink() bool { return t.sink }

func (t Threshold) String() string { return t.Expr }

var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseThreshold parses "metric op limit": ack_p99<5s, ack_p50<=1s, lost==0, error_rate<0.01,
// error_rate<1%. Errors name the expression and say what is wrong with it.
func ParseThreshold(expr string) (Threshold, error) {
	s := strings.TrimSpace(expr)
	fail := func(format string, a ...any) (Threshold, error) {
		return Threshold{}, fmt.Errorf("threshold %q: %s: %w", expr, fmt.Sprintf(format, a...), ErrThreshold)
	}
	if s == "" {
		return fail("empty (want e.g. ack_p99<5s)")
	}
	at, op := -1, ""
	for i := 0; i < len(s) && at < 0; i++ {
		for _, o := range ops {
			if strings.HasPrefix(s[i:], o) {
				at, op = i, o
				break
			}
		}
		if at < 0 && s[i] == '=' {
			return fail("'=' is not an operator (use ==, !=, <, <=, > or >=)")
		}
	}
	if at < 0 {
		return fail("no comparison operator (use <, <=, >, >=, == or !=)")
	}
	name := strings.ToLower(strings.TrimSpace(s[:at]))
	lim := strings.TrimSpace(s[at+len(op):])
	if name == "" {
		return fail("no metric before %q", op)
	}
	if lim == "" {
		return fail("no limit after %q", op)
	}
	if strings.ContainsAny(lim, "<>=!") {
		return fail("more than one operator")
	}
	t := Threshold{Metric: name, Op: op}
	info, ok := metrics[name]
	switch {
	case ok:
	case strings.HasPrefix(name, "ack_p"):
		q, err := strconv.ParseFloat(name[len("ack_p"):], 64)
		if err != nil || !(q > 0 && q <= 100) || math.IsNaN(q) {
			return fail("%q is not an ack percentile (ack_p50, ack_p95, ack_p99.9: 0 < N <= 100)", name)
		}
		info = metricInfo{unit: unitMS}
	default:
		return fail("unknown metric %q (known: %s, or ack_pN)", name, strings.Join(MetricNames(), ", "))
	}
	if strings.HasPrefix(name, "ack_p") {
		q, _ := strconv.ParseFloat(name[len("ack_p"):], 64)
		t.Quantile = q / 100
	}
	t.unit, t.sink = info.unit, info.sink
	v, err := parseLimit(lim, info.unit)
	if err != nil {
		return fail("%v", err)
	}
	t.Limit = v
	t.Expr = name + op + lim
	return t, nil
}

// parseLimit reads a limit in the metric's unit.
func parseLimit(s string, u unit) (float64, error) {
	var v float64
	switch u {
	case unitMS:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			v = f // a bare number is milliseconds, as in k6
		} else {
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration (e.g. 5s, 250ms, 1m; a bare number is milliseconds)", s)
			}
			v = float64(d) / float64(time.Millisecond)
		}
	case unitRatio:
		num, pct := strings.CutSuffix(s, "%")
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a ratio (e.g. 0.01 or 1%%)", s)
		}
		if pct {
			f /= 100
		}
		v = f
	default:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		v = f
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return v, nil
}

// MetricNames lists the named metrics, sorted.
func MetricNames() []string {
	out := make([]string, 0, len(metrics))
	for k := range metrics {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// MetricHelp describes each named metric, one line each, for usage text.
func MetricHelp() []string {
	var out []string
	for _, n := range MetricNames() {
		out = append(out, fmt.Sprintf("%-21s %s", n, metrics[n].about))
	}
	return append(out, fmt.Sprintf("%-21s %s", "ack_pN", "any ack latency percentile, e.g. ack_p95, ack_p99.9"))
}

// Observable says what a run can observe: thresholds on anything else are left out.
type Observable struct {
	Sink    bool // an effect sink: lost, doubled, effects
	Invalid bool // invalid deliveries are sent: invalid_accepted
}

// Thresholds builds the rule set of a run: the defaults, where a user threshold on the same
// metric replaces the default one, plus every other user threshold. A default rule on what
// the run cannot observe (lost without a sink, invalid_accepted without invalid deliveries)
// is left out of rules and returned in unobserved, with Unobservable saying why: the results
// record it as not observable, never as passed. A user rule on it is an error.
func Thresholds(user []string, can Observable) (rules []Threshold, unobserved []Threshold, err error) {
	var mine []Threshold
	overridden := map[string]bool{}
	for _, e := range user {
		t, err := ParseThreshold(e)
		if err != nil {
			return nil, nil, err
		}
		if why := t.unobservable(can); why != "" {
			return nil, nil, fmt.Errorf("threshold %q: %s: %w", e, why, ErrThreshold)
		}
		mine = append(mine, t)
		overridden[t.Metric] = true
	}
	for _, e := range DefaultThresholds {
		t, err := ParseThreshold(e)
		if err != nil {
			return nil, nil, err
		}
		t.Default = true
		switch {
		case overridden[t.Metric]:
		case t.unobservable(can) != "":
			unobserved = append(unobserved, t)
		default:
			rules = append(rules, t)
		}
	}
	return append(rules, mine...), unobserved, nil
}

// Unobservable says why a run like can cannot observe t's metric, or "" when it can.
func (t Threshold) Unobservable(can Observable) string { return t.unobservable(can) }

// unobservable says why a run like can cannot observe t's metric, or "".
func (t Threshold) unobservable(can Observable) string {
	switch {
	case t.sink && !can.Sink:
		return "not observable without an effect sink (--sink ADDR)"
	case t.Metric == "invalid_accepted" && !can.Invalid:
		return "not observable without invalid deliveries (--invalid P)"
	}
	return ""
}

// Observation is a metric's value in a finished run. OK is false when the run gives the metric
// no value (a percentile of no acks); such a threshold fails, saying why.
type Observation struct {
	Value float64
	OK    bool
	Why   string // when !OK
}

// Evaluate grades t against what observe reports for its metric.
func (t Threshold) Evaluate(observe func(Threshold) Observation) reports.Threshold {
	o := observe(t)
	out := t.record()
	if !o.OK {
		out.Display, out.Outcome = o.Why, reports.Failed
		return out
	}
	out.Observed = round3(o.Value)
	out.Display = display(o.Value, t.unit)
	out.Passed = reports.CompareThreshold(o.Value, t.Op, t.Limit)
	out.Outcome = reports.Failed
	if out.Passed {
		out.Outcome = reports.Passed
	}
	return out
}

// NotObserved is the record of a threshold the run could not observe, saying why.
func (t Threshold) NotObserved(why string) reports.Threshold {
	out := t.record()
	out.Outcome, out.Reason, out.Display = reports.NotObservable, why, "not observable"
	return out
}

// record is what the results file keeps of t itself: its rule and, for a default, the
// requirement it grades, with the requirement's level from the load catalogue.
func (t Threshold) record() reports.Threshold {
	out := reports.Threshold{Expr: t.Expr, Metric: t.Metric, Op: t.Op, Limit: t.Limit, Unit: t.unit.String()}
	if t.Default {
		if out.Requirement = requirementOf(t.Expr); out.Requirement != "" {
			if req, ok := catalog.Lookup(out.Requirement); ok {
				out.Level = req.Level
			}
		}
	}
	return out
}

func (u unit) String() string {
	switch u {
	case unitMS:
		return "ms"
	case unitRatio:
		return "ratio"
	default:
		return "count"
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// display formats an observed value with its unit, as the summary prints it.
func display(v float64, u unit) string {
	switch u {
	case unitMS:
		return formatMS(v)
	case unitRatio:
		return strconv.FormatFloat(round3(v*100), 'f', -1, 64) + "%"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// formatMS shows milliseconds with a unit people read at a glance.
func formatMS(ms float64) string {
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}
