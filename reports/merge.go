package reports

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrShards means the shards handed to Merge do not form whole runs.
var ErrShards = errors.New("shards do not form a whole run")

// Merge turns results files into the runs they describe. Shards of one load run (same
// Run.Shard.RunID, Shard.Count parts) become one Results; everything else passes through
// unchanged, in the order first seen. A missing, duplicated or inconsistent shard is an
// error wrapping ErrShards. The inputs are not modified.
//
// How a merged load run is computed:
//   - ledger, status codes, errors, chaos counters: sums;
//   - series: summed per second of wall-clock time since the earliest shard started;
//     per-second percentiles are the maximum of the shards (no per-second histograms);
//   - latency percentiles: recomputed from the summed histogram when every shard has one with
//     the same buckets (interpolated inside a bucket, bounded by the shards' own percentiles),
//     otherwise the maximum of the shards, an upper bound; Latency.Merge says which;
//   - thresholds: failed if any shard failed it; the observed value is the worst shard's,
//     or the sum for count metrics (lost, doubled, ...), re-checked against the limit.
func Merge(rs ...*Results) ([]*Results, error) {
	type group struct {
		at     int // position of the merged run in the output
		shards []*Results
	}
	var out []*Results
	groups := map[string]*group{}
	var order []string
	for i, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("reports: merge: results %d is nil", i+1)
		}
		// A run merged before (shard index 0) passes through, so Merge is idempotent.
		if r.Kind != KindLoad || r.Run.Shard == nil || r.Run.Shard.Count <= 1 || (r.Run.Shard.Index == 0 && len(r.Run.Shard.Seeds) > 0) {
			out = append(out, r)
			continue
		}
		id := r.Run.Shard.RunID
		g, ok := groups[id]
		if !ok {
			g = &group{at: len(out)}
			groups[id] = g
			order = append(order, id)
			out = append(out, nil) // filled in below
		}
		g.shards = append(g.shards, r)
	}
	for _, id := range order {
		g := groups[id]
		m, err := mergeShards(id, g.shards)
		if err != nil {
			return nil, err
		}
		out[g.at] = m
	}
	return out, nil
}

func runName(id string) string {
	if id == "" {
		return "load run without run_id"
	}
	return "load run " + strconv.Quote(id)
}

// checkShards verifies that shards are exactly parts 1..n of one run.
func checkShards(id string, shards []*Results) error {
	n := shards[0].Run.Shard.Count
	seen := make(map[int]bool, n)
	for _, s := range shards {
		sh := s.Run.Shard
		if sh.Count != n {
			return fmt.Errorf("reports: merge %s: shard %d says the run has %d shards, shard %d says %d: %w",
				runName(id), sh.Index, sh.Count, shards[0].Run.Shard.Index, n, ErrShards)
		}
		if sh.Index < 1 || sh.Index > n {
			return fmt.Errorf("reports: merge %s: shard index %d is outside 1..%d: %w", runName(id), sh.Index, n, ErrShards)
		}
		if seen[sh.Index] {
			return fmt.Errorf("reports: merge %s: shard %d/%d given more than once: %w", runName(id), sh.Index, n, ErrShards)
		}
		seen[sh.Index] = true
	}
	var missing []string
	for i := 1; i <= n; i++ {
		if !seen[i] {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("reports: merge %s: missing shard %s: %w", runName(id), strings.Join(missing, ", "), ErrShards)
	}
	return nil
}

// ShardsMetric names the marker threshold of a merged run with missing shards.
const ShardsMetric = "shards"

// MergeAvailable merges the shards of one load run that are there, when some of the count
// never reported (a shard that died, or never ran): the merged run then carries a MUST
// threshold "shards==count" that is not observable, naming the missing shards, so that its
// verdict is incomplete, never conformant (and --allow-unobserved does not make it pass).
// With every shard present it is Merge of one run. The shards must belong to runID and
// agree on count; none may be given twice (errors wrap ErrShards). With no shard at all, the
// run is an empty load run with only the marker.
func MergeAvailable(runID string, count int, shards []*Results) (*Results, []int, error) {
	if count < 1 {
		return nil, nil, fmt.Errorf("reports: merge %s: shard count %d: %w", runName(runID), count, ErrShards)
	}
	seen := map[int]bool{}
	for _, s := range shards {
		if s == nil || s.Kind != KindLoad || s.Load == nil {
			return nil, nil, fmt.Errorf("reports: merge %s: a shard is not a load run: %w", runName(runID), ErrShards)
		}
		sh := s.Run.Shard
		idx, n := 1, 1
		if sh != nil && sh.Count > 1 {
			idx, n = sh.Index, sh.Count
		}
		if sh != nil && sh.RunID != "" && sh.RunID != runID {
			return nil, nil, fmt.Errorf("reports: merge %s: a shard is of run %q: %w", runName(runID), sh.RunID, ErrShards)
		}
		if n != count || idx < 1 || idx > count || seen[idx] {
			return nil, nil, fmt.Errorf("reports: merge %s: shard %d/%d does not fit a run of %d shards once each: %w", runName(runID), idx, n, count, ErrShards)
		}
		seen[idx] = true
	}
	var missing []int
	for i := 1; i <= count; i++ {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	var m *Results
	switch {
	case len(shards) == 0:
		// No shard part (Merge passes a run through only when it has merged seeds): the run
		// is named by its target.
		m = &Results{Schema: Schema, Kind: KindLoad, Load: &Load{Ledger: Ledger{Effects: -1}},
			Run: RunMeta{Target: runName(runID) + ": no shard reported"}}
	case count == 1:
		c := *shards[0]
		m = &c
	default:
		var err error
		if m, err = mergeParts(runID, shards); err != nil {
			return nil, nil, err
		}
	}
	if len(missing) == 0 {
		return m, nil, nil
	}
	names := make([]string, len(missing))
	for i, n := range missing {
		names[i] = fmt.Sprintf("%d/%d", n, count)
	}
	load := *m.Load
	load.Thresholds = append(slices.Clone(load.Thresholds), Threshold{
		Expr: fmt.Sprintf("shards==%d", count), Metric: ShardsMetric, Op: "==", Limit: float64(count), Unit: "count",
		Level: MUST, Observed: float64(count - len(missing)), Display: fmt.Sprintf("%d of %d", count-len(missing), count),
		Outcome: NotObservable,
		Reason: fmt.Sprintf("not observable: shard %s never reported its results: the merged run covers part of the load only",
			strings.Join(names, ", ")),
	})
	m.Load = &load
	m.Run.AllowUnobserved = false // a missing shard is never allowed away
	if m.Run.Shard != nil {
		m.Run.Shard.Count = count
	}
	return m, missing, nil
}

func mergeShards(id string, shards []*Results) (*Results, error) {
	if err := checkShards(id, shards); err != nil {
		return nil, err
	}
	return mergeParts(id, shards)
}

// mergeParts merges shards already checked to be distinct parts of one run.
func mergeParts(id string, shards []*Results) (*Results, error) {
	shards = slices.Clone(shards)
	slices.SortFunc(shards, func(a, b *Results) int { return cmp.Compare(a.Run.Shard.Index, b.Run.Shard.Index) })
	m := &Results{Schema: Schema, Kind: KindLoad}
	m.Run = mergeMeta(shards)
	m.Cases = mergeCases(shards)
	var loads []*Load
	for _, s := range shards {
		if s.Load != nil {
			loads = append(loads, s.Load)
		}
	}
	if len(loads) > 0 {
		m.Load = mergeLoads(loads, shardStarts(shards))
	}
	m.Chaos = mergeChaos(shards)
	// One interrupted shard makes the whole run interrupted: its part of the load is partial.
	for _, s := range shards {
		if in := s.Interrupted; in != nil && m.Interrupted == nil {
			c := *in
			c.Reason = fmt.Sprintf("shard %d/%d: %s", s.Run.Shard.Index, s.Run.Shard.Count, in.Reason)
			m.Interrupted = &c
		}
	}
	var logs []string
	for _, s := range shards {
		if s.TargetLogs != "" {
			logs = append(logs, fmt.Sprintf("== shard %d/%d ==\n%s", s.Run.Shard.Index, s.Run.Shard.Count, s.TargetLogs))
		}
	}
	m.TargetLogs = strings.Join(logs, "\n")
	return m, nil
}

func mergeMeta(shards []*Results) RunMeta {
	first := shards[0].Run
	m := RunMeta{
		Target:    joinDistinct(shards, func(r *Results) string { return r.Run.Target }),
		Scheme:    joinDistinct(shards, func(r *Results) string { return r.Run.Scheme }),
		Seed:      first.Seed,
		ChaosSpec: joinDistinct(shards, func(r *Results) string { return r.Run.ChaosSpec }),
		Sink:      joinDistinct(shards, func(r *Results) string { return r.Run.Sink }),
		Started:   first.Started,
		Finished:  first.Finished,
		Versions:  map[string]string{},
		Args:      slices.Clone(first.Args),
		Shard:     &Shard{Index: 0, Count: first.Shard.Count, RunID: first.Shard.RunID},
		// Unobserved MUSTs are allowed for the merged run only if every shard allowed them.
		AllowUnobserved: true,
	}
	for _, s := range shards {
		r := s.Run
		m.Strict = m.Strict || r.Strict
		m.AllowUnobserved = m.AllowUnobserved && r.AllowUnobserved
		if !r.Started.IsZero() && (m.Started.IsZero() || r.Started.Before(m.Started)) {
			m.Started = r.Started
		}
		if r.Finished.After(m.Finished) {
			m.Finished = r.Finished
		}
		for k, v := range r.Versions {
			if old, ok := m.Versions[k]; ok && old != v && !strings.Contains(old, v) {
				m.Versions[k] = old + ", " + v
			} else if !ok {
				m.Versions[k] = v
			}
		}
		m.Shard.Seeds = append(m.Shard.Seeds, r.Seed)
		if r.TLS != nil {
			// One shard's connection stands for the run; any shard's --insecure taints it.
			if m.TLS == nil {
				t := *r.TLS
				m.TLS = &t
			}
			m.TLS.Insecure = m.TLS.Insecure || r.TLS.Insecure
		}
	}
	if len(m.Versions) == 0 {
		m.Versions = nil
	}
	return m
}

// joinDistinct joins the distinct non-empty values of f over the shards, in shard order.
func joinDistinct(shards []*Results, f func(*Results) string) string {
	var vals []string
	for _, s := range shards {
		if v := f(s); v != "" && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	return strings.Join(vals, " | ")
}

// shardStarts gives each shard's start as whole seconds after the earliest shard's start,
// so their per-second series line up on wall-clock time.
func shardStarts(shards []*Results) []int {
	var t0 time.Time
	for _, s := range shards {
		if st := s.Run.Started; !st.IsZero() && (t0.IsZero() || st.Before(t0)) {
			t0 = st
		}
	}
	offs := make([]int, 0, len(shards))
	for _, s := range shards {
		if s.Load == nil {
			continue
		}
		off := 0
		if st := s.Run.Started; !st.IsZero() && !t0.IsZero() {
			off = int(math.Round(st.Sub(t0).Seconds()))
		}
		offs = append(offs, off)
	}
	return offs
}

// mergeCases folds cases with the same ID: failed if any shard failed, passed only if all
// passed, otherwise the first shard's outcome.
func mergeCases(shards []*Results) []Case {
	var out []Case
	index := map[string]int{}
	for _, s := range shards {
		for _, c := range s.Cases {
			i, ok := index[c.ID]
			if !ok {
				index[c.ID] = len(out)
				c.Evidence = slices.Clone(c.Evidence)
				out = append(out, c)
				continue
			}
			m := &out[i]
			switch {
			case c.Outcome == Failed && m.Outcome != Failed:
				m.Outcome, m.Reason, m.Expected, m.Actual = Failed, c.Reason, c.Expected, c.Actual
			case c.Outcome == Failed && m.Outcome == Failed && c.Actual != m.Actual:
				m.Actual = m.Actual + "\n" + c.Actual
			case m.Outcome == Passed && c.Outcome != Passed:
				m.Outcome, m.Reason = c.Outcome, c.Reason
			}
			if len(m.Evidence) < maxMergedEvidence {
				m.Evidence = append(m.Evidence, c.Evidence[:min(len(c.Evidence), maxMergedEvidence-len(m.Evidence))]...)
			}
			m.DurationMS = max(m.DurationMS, c.DurationMS)
		}
	}
	return out
}

const (
	maxMergedEvidence    = 20
	maxMergedChaosLedger = 500
)

func mergeLoads(loads []*Load, offs []int) *Load {
	m := &Load{StatusCodes: map[string]int{}, Errors: map[string]int{}}
	var published int
	for _, l := range loads {
		m.Rate += l.Rate
		m.DurationS = max(m.DurationS, l.DurationS)
		w := float64(max(l.Ledger.Published, 0))
		m.Invalid += l.Invalid * w
		m.Duplicate += l.Duplicate * w
		published += l.Ledger.Published
		addMap(m.StatusCodes, l.StatusCodes)
		addMap(m.Errors, l.Errors)
	}
	if published > 0 {
		m.Invalid /= float64(published)
		m.Duplicate /= float64(published)
	} else {
		m.Invalid, m.Duplicate = loads[0].Invalid, loads[0].Duplicate
	}
	if len(m.StatusCodes) == 0 {
		m.StatusCodes = nil
	}
	if len(m.Errors) == 0 {
		m.Errors = nil
	}
	m.Ledger = mergeLedgers(loads)
	m.Histogram, m.Latency = mergeLatency(loads)
	m.Series = mergeSeries(loads, offs)
	m.Thresholds = mergeThresholds(loads)
	for _, l := range loads {
		if o := l.Outage; o != nil && (m.Outage == nil || o.At.Before(m.Outage.At)) {
			c := *o
			m.Outage = &c
		}
	}
	return m
}

func addMap(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

func mergeLedgers(loads []*Load) Ledger {
	m := Ledger{Observed: true}
	var reasons []string
	for _, l := range loads {
		g := l.Ledger
		m.Published += g.Published
		m.Acked += g.Acked
		m.FailedAfterRetries += g.FailedAfterRetries
		m.CutOff += g.CutOff
		m.Attempts += g.Attempts
		m.Retries += g.Retries
		m.Lost += g.Lost
		m.Doubled += g.Doubled
		m.InvalidSent += g.InvalidSent
		m.InvalidAccepted += g.InvalidAccepted
		m.Observed = m.Observed && g.Observed && g.Effects >= 0
		if g.Effects > 0 {
			m.Effects += g.Effects
		}
		if g.Void {
			m.Void = true
			if g.VoidReason != "" && !slices.Contains(reasons, g.VoidReason) {
				reasons = append(reasons, g.VoidReason)
			}
		}
	}
	if !m.Observed {
		// One shard without a sink makes the merged effect count meaningless.
		m.Effects = -1
	}
	m.VoidReason = strings.Join(reasons, "; ")
	return m
}

// mergeLatency merges the latency histograms and summaries of several shards.
func mergeLatency(loads []*Load) ([]Bucket, Latency) {
	var lat Latency
	var weightSum, meanSum float64
	for _, l := range loads {
		lat.Max = max(lat.Max, l.Latency.Max)
		w := float64(histTotal(l.Histogram))
		if w == 0 {
			w = float64(l.Ledger.Acked)
		}
		weightSum += w
		meanSum += w * l.Latency.Mean
	}
	if weightSum > 0 {
		lat.Mean = math.Round(meanSum/weightSum*1000) / 1000
	} else {
		lat.Mean = loads[0].Latency.Mean
	}

	hist, same := sumHistograms(loads)
	bound := func(get func(Latency) float64) (lo, hi float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, l := range loads {
			lo, hi = min(lo, get(l.Latency)), max(hi, get(l.Latency))
		}
		return lo, hi
	}
	pct := []struct {
		q   float64
		get func(Latency) float64
		set func(*Latency, float64)
	}{
		{0.50, func(l Latency) float64 { return l.P50 }, func(l *Latency, v float64) { l.P50 = v }},
		{0.90, func(l Latency) float64 { return l.P90 }, func(l *Latency, v float64) { l.P90 = v }},
		{0.99, func(l Latency) float64 { return l.P99 }, func(l *Latency, v float64) { l.P99 = v }},
	}
	total := histTotal(hist)
	for _, p := range pct {
		lo, hi := bound(p.get)
		if same && total > 0 {
			// Each shard's q-quantile bounds the merged one from both sides, so the
			// histogram estimate is clamped into [min, max] of the shards.
			p.set(&lat, min(max(histQuantile(hist, p.q), lo), hi))
		} else {
			p.set(&lat, hi)
		}
	}
	if same && total > 0 {
		lat.Merge = fmt.Sprintf("percentiles recomputed from the summed histogram of %d shards (interpolated within buckets, bounded by the shards' own percentiles); per-second percentiles are the maximum of the shards", len(loads))
	} else {
		lat.Merge = fmt.Sprintf("percentiles are the maximum of %d shards (an upper bound: the shards' histograms are missing or differ); per-second percentiles are the maximum of the shards", len(loads))
	}
	return hist, lat
}

func histTotal(h []Bucket) int {
	n := 0
	for _, b := range h {
		n += b.Count
	}
	return n
}

// sumHistograms adds histograms bucket by bucket. same reports whether all shards had a
// histogram with identical bounds; otherwise the result is the union of the bounds, for
// display only.
func sumHistograms(loads []*Load) (out []Bucket, same bool) {
	same = true
	ref := loads[0].Histogram
	for _, l := range loads {
		if len(l.Histogram) == 0 || len(l.Histogram) != len(ref) {
			same = false
			break
		}
		for i, b := range l.Histogram {
			if b.LeMS != ref[i].LeMS {
				same = false
			}
		}
	}
	counts := map[float64]int{}
	for _, l := range loads {
		for _, b := range l.Histogram {
			counts[b.LeMS] += b.Count
		}
	}
	for le, n := range counts {
		out = append(out, Bucket{LeMS: le, Count: n})
	}
	slices.SortFunc(out, func(a, b Bucket) int { return cmp.Compare(a.LeMS, b.LeMS) })
	return out, same
}

// histQuantile estimates the q-quantile of a histogram by linear interpolation inside the
// bucket that holds it (the first bucket starts at 0 ms).
func histQuantile(h []Bucket, q float64) float64 {
	total := histTotal(h)
	rank := q * float64(total)
	cum, lower := 0, 0.0
	for _, b := range h {
		if b.Count > 0 && float64(cum+b.Count) >= rank {
			if math.IsInf(b.LeMS, 0) || math.IsNaN(b.LeMS) {
				return lower
			}
			frac := (rank - float64(cum)) / float64(b.Count)
			return lower + (b.LeMS-lower)*frac
		}
		cum += b.Count
		lower = b.LeMS
	}
	return lower
}

func mergeSeries(loads []*Load, offs []int) []Point {
	bySecond := map[int]*Point{}
	for i, l := range loads {
		off := 0
		if i < len(offs) {
			off = offs[i]
		}
		for _, p := range l.Series {
			sec := p.Second + off
			m, ok := bySecond[sec]
			if !ok {
				m = &Point{Second: sec}
				bySecond[sec] = m
			}
			m.Sent += p.Sent
			m.Acked += p.Acked
			m.Errors += p.Errors
			m.P50 = max(m.P50, p.P50)
			m.P90 = max(m.P90, p.P90)
			m.P99 = max(m.P99, p.P99)
			if len(p.Codes) > 0 {
				if m.Codes == nil {
					m.Codes = map[string]int{}
				}
				addMap(m.Codes, p.Codes)
			}
		}
	}
	out := make([]Point, 0, len(bySecond))
	for _, p := range bySecond {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Point) int { return cmp.Compare(a.Second, b.Second) })
	if len(out) == 0 {
		return nil
	}
	return out
}

var thresholdExpr = regexp.MustCompile(`^\s*([A-Za-z0-9_.]+)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$`)

// countMetrics are thresholds over counts, whose merged value is the sum of the shards.
var countMetrics = map[string]bool{
	"lost": true, "doubled": true, "invalid_accepted": true, "failed_after_retries": true,
	"cut_off": true, "errors": true, "published": true, "acked": true, "effects": true,
	"attempts": true, "retries": true, "unacked": true, "timeouts": true, "invalid_sent": true,
}

// thresholdRule is a threshold's metric, operator and limit: from the fields a v2 file
// records, or parsed from the expression of a v1 file (whose limits are plain numbers for
// count metrics, the only ones re-checked).
func thresholdRule(th Threshold) (metric, op string, limit float64, ok bool) {
	if th.Op != "" {
		return strings.ToLower(th.Metric), th.Op, th.Limit, true
	}
	sm := thresholdExpr.FindStringSubmatch(th.Expr)
	if sm == nil {
		return "", "", 0, false
	}
	limit, err := strconv.ParseFloat(sm[3], 64)
	return strings.ToLower(sm[1]), sm[2], limit, err == nil
}

func mergeThresholds(loads []*Load) []Threshold {
	var out []Threshold
	index := map[string]int{}
	sums := map[string]float64{}
	for _, l := range loads {
		for _, th := range l.Thresholds {
			i, ok := index[th.Expr]
			if !ok {
				index[th.Expr] = len(out)
				out = append(out, th)
				sums[th.Expr] = th.Observed
				continue
			}
			sums[th.Expr] += th.Observed
			m := &out[i]
			if th.Result() == NotObservable || m.Result() == NotObservable {
				// Not observable in one shard: not observable in the run.
				if m.Result() != NotObservable {
					m.Outcome, m.Reason, m.Passed = NotObservable, th.Reason, false
				}
				continue
			}
			_, op, _, _ := thresholdRule(th)
			worse := false
			switch op {
			case "<", "<=":
				worse = th.Observed > m.Observed
			case ">", ">=":
				worse = th.Observed < m.Observed
			default:
				worse = !th.Passed && m.Passed
			}
			if worse {
				m.Observed, m.Display = th.Observed, th.Display
			}
			m.Passed = m.Passed && th.Passed
			if m.Outcome != "" {
				m.Outcome = map[bool]Outcome{true: Passed, false: Failed}[m.Passed]
			}
		}
	}
	for i := range out {
		th := &out[i]
		metric, op, limit, ok := thresholdRule(*th)
		if !ok || !countMetrics[metric] || th.Result() == NotObservable {
			continue
		}
		th.Observed = sums[th.Expr]
		th.Display = strconv.FormatFloat(th.Observed, 'f', -1, 64)
		th.Passed = CompareThreshold(th.Observed, op, limit)
		if th.Outcome != "" {
			th.Outcome = map[bool]Outcome{true: Passed, false: Failed}[th.Passed]
		}
	}
	return out
}

// CompareThreshold applies a threshold's operator (<, <=, >, >=, ==, !=) to an observed value
// v and the limit; load runs evaluate their thresholds with it, and Merge re-checks them.
func CompareThreshold(v float64, op string, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	case "==":
		return v == limit
	default:
		return v != limit
	}
}

func mergeChaos(shards []*Results) *Chaos {
	var m *Chaos
	for _, s := range shards {
		c := s.Chaos
		if c == nil {
			continue
		}
		if m == nil {
			m = &Chaos{Seed: c.Seed, Spec: c.Spec, Counters: map[string]int64{}, Ledger: []json.RawMessage{}}
		}
		m.Requests += c.Requests
		for k, v := range c.Counters {
			m.Counters[k] += v
		}
		if room := maxMergedChaosLedger - len(m.Ledger); room > 0 {
			m.Ledger = append(m.Ledger, c.Ledger[:min(room, len(c.Ledger))]...)
		}
	}
	if m != nil && len(m.Counters) == 0 {
		m.Counters = nil
	}
	if m != nil {
		m.Faults = mergeFaults(shards)
	}
	return m
}

// mergeFaults sums the shards' faults by name, in order of first appearance; nil when no
// shard recorded them (v1 files), so the merged file says no more than its shards did.
func mergeFaults(shards []*Results) []FaultStat {
	if !slices.ContainsFunc(shards, func(s *Results) bool { return s.Chaos != nil && len(s.Chaos.Faults) > 0 }) {
		return nil
	}
	var out []FaultStat
	at := map[string]int{}
	for _, s := range shards {
		for _, f := range s.Chaos.FaultList() {
			if i, ok := at[f.Name]; ok {
				out[i].Injected += f.Injected
				continue
			}
			at[f.Name] = len(out)
			f.Params = maps.Clone(f.Params)
			out = append(out, f)
		}
	}
	return out
}
