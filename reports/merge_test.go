package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// shard makes a minimal load shard i/n of run id.
func shard(id string, i, n int, l *Load) *Results {
	return &Results{Schema: Schema, Kind: KindLoad, Load: l,
		Run: RunMeta{Target: "http://127.0.0.1:1/h", Seed: int64(i), Started: time.Unix(1000, 0).UTC(), Finished: time.Unix(1030, 0).UTC(),
			Shard: &Shard{Index: i, Count: n, RunID: id}}}
}

func TestMergeShardErrors(t *testing.T) {
	l := func() *Load { return &Load{} }
	tests := []struct {
		name string
		in   []*Results
		want string
	}{
		{"missing", []*Results{shard("r", 1, 3, l()), shard("r", 3, 3, l())}, "missing shard 2/3"},
		{"duplicate", []*Results{shard("r", 1, 2, l()), shard("r", 1, 2, l()), shard("r", 2, 2, l())}, "shard 1/2 given more than once"},
		{"count mismatch", []*Results{shard("r", 1, 2, l()), shard("r", 2, 3, l())}, "says the run has 3 shards"},
		{"index out of range", []*Results{shard("r", 1, 2, l()), shard("r", 3, 2, l())}, "outside 1..2"},
		{"index zero", []*Results{shard("r", 0, 2, l()), shard("r", 2, 2, l())}, "outside 1..2"},
		{"two runs, one incomplete", []*Results{shard("a", 1, 2, l()), shard("a", 2, 2, l()), shard("b", 2, 2, l())}, `load run "b": missing shard 1/2`},
		{"nil", []*Results{nil}, "results 1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Merge(tt.in...)
			if err == nil {
				t.Fatalf("Merge succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.name != "nil" && !errors.Is(err, ErrShards) {
				t.Errorf("error %v does not wrap ErrShards", err)
			}
		})
	}
}

func TestMergePassThrough(t *testing.T) {
	rcv := &Results{Schema: Schema, Kind: KindConformReceiver, Cases: []Case{{ID: "RCV-SIG-001", Outcome: Passed}}}
	// A conformance run that says it is a shard is not merged: only load runs are.
	snd := &Results{Schema: Schema, Kind: KindConformSender, Run: RunMeta{Shard: &Shard{Index: 1, Count: 2, RunID: "x"}}}
	whole := shard("w", 1, 1, &Load{Rate: 5})
	a1, a2 := shard("a", 1, 2, &Load{Rate: 10}), shard("a", 2, 2, &Load{Rate: 20})
	got, err := Merge(rcv, a2, snd, whole, a1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d runs, want 4", len(got))
	}
	if got[0] != rcv || got[2] != snd || got[3] != whole {
		t.Errorf("pass-through runs were not kept as they were, in order")
	}
	if got[1].Load.Rate != 30 || got[1].Run.Shard.Index != 0 || got[1].Run.Shard.Count != 2 {
		t.Errorf("merged run = rate %v shard %+v, want rate 30 shard 0/2", got[1].Load.Rate, got[1].Run.Shard)
	}
}

func TestMergeLoad(t *testing.T) {
	bounds := func(counts ...int) []Bucket {
		les := []float64{10, 20, 50, 100}
		out := make([]Bucket, len(counts))
		for i, c := range counts {
			out[i] = Bucket{LeMS: les[i], Count: c}
		}
		return out
	}
	s1 := shard("run", 1, 2, &Load{
		Rate: 100, DurationS: 30, Invalid: 0.1,
		Ledger:      Ledger{Published: 100, Acked: 98, FailedAfterRetries: 2, Attempts: 120, Retries: 20, Effects: 98, Lost: 0, Doubled: 1, InvalidSent: 10, Observed: true},
		Latency:     Latency{P50: 12, P90: 40, P99: 90, Max: 95, Mean: 20},
		StatusCodes: map[string]int{"200": 98, "503": 22},
		Errors:      map[string]int{"reset": 2},
		Histogram:   bounds(50, 30, 15, 5),
		Series:      []Point{{Second: 0, Sent: 50, Acked: 49, Errors: 1, P99: 80, Codes: map[string]int{"200": 49}}, {Second: 1, Sent: 50, Acked: 49, P99: 90, Codes: map[string]int{"200": 49}}},
		Thresholds: []Threshold{
			{Expr: "ack_p99<5s", Metric: "ack_p99", Observed: 90, Display: "90 ms", Passed: true},
			{Expr: "doubled<2", Metric: "doubled", Observed: 1, Display: "1", Passed: true},
			{Expr: "acked_ratio>0.99", Metric: "acked_ratio", Observed: 0.98, Display: "98%", Passed: false},
		},
	})
	s2 := shard("run", 2, 2, &Load{
		Rate: 100, DurationS: 31, Invalid: 0.1,
		Ledger:      Ledger{Published: 100, Acked: 100, Attempts: 110, Retries: 10, Effects: 100, Lost: 2, Doubled: 1, InvalidSent: 10, InvalidAccepted: 1, Observed: true},
		Latency:     Latency{P50: 18, P90: 60, P99: 99, Max: 140, Mean: 30},
		StatusCodes: map[string]int{"200": 100, "0": 10},
		Errors:      map[string]int{"reset": 3, "timeout": 1},
		Histogram:   bounds(30, 40, 20, 10),
		Series:      []Point{{Second: 0, Sent: 50, Acked: 50, P99: 99, Codes: map[string]int{"200": 50}}, {Second: 1, Sent: 50, Acked: 50, P99: 70}},
		Thresholds: []Threshold{
			{Expr: "ack_p99<5s", Metric: "ack_p99", Observed: 99, Display: "99 ms", Passed: true},
			{Expr: "doubled<2", Metric: "doubled", Observed: 1, Display: "1", Passed: true},
			{Expr: "acked_ratio>0.99", Metric: "acked_ratio", Observed: 1, Display: "100%", Passed: true},
		},
	})
	// Shard 2 started 1.2 s after shard 1: its seconds line up one later.
	s2.Run.Started = s1.Run.Started.Add(1200 * time.Millisecond)
	s2.Run.Finished = s1.Run.Finished.Add(5 * time.Second)
	s2.Chaos = &Chaos{Seed: 2, Requests: 110, Counters: map[string]int64{"drop": 3}}
	s1.Chaos = &Chaos{Seed: 1, Requests: 120, Counters: map[string]int64{"drop": 1, "delay": 7}}

	var before bytes.Buffer
	if err := json.NewEncoder(&before).Encode([]*Results{s1, s2}); err != nil {
		t.Fatal(err)
	}
	out, err := Merge(s2, s1)
	if err != nil {
		t.Fatal(err)
	}
	var after bytes.Buffer
	if err := json.NewEncoder(&after).Encode([]*Results{s1, s2}); err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() {
		t.Errorf("Merge modified its inputs")
	}
	if len(out) != 1 {
		t.Fatalf("got %d runs, want 1", len(out))
	}
	m := out[0]
	l := m.Load
	g := l.Ledger
	wantLedger := Ledger{Published: 200, Acked: 198, FailedAfterRetries: 2, Attempts: 230, Retries: 30, Effects: 198, Lost: 2, Doubled: 2,
		InvalidSent: 20, InvalidAccepted: 1, Observed: true}
	if g != wantLedger {
		t.Errorf("ledger = %+v\nwant     %+v", g, wantLedger)
	}
	if l.Rate != 200 || l.DurationS != 31 || math.Abs(l.Invalid-0.1) > 1e-9 {
		t.Errorf("rate %v duration %v invalid %v, want 200, 31, 0.1", l.Rate, l.DurationS, l.Invalid)
	}
	if l.StatusCodes["200"] != 198 || l.StatusCodes["503"] != 22 || l.StatusCodes["0"] != 10 {
		t.Errorf("status codes = %v", l.StatusCodes)
	}
	if l.Errors["reset"] != 5 || l.Errors["timeout"] != 1 {
		t.Errorf("errors = %v", l.Errors)
	}
	wantHist := bounds(80, 70, 35, 15)
	for i := range wantHist {
		if l.Histogram[i] != wantHist[i] {
			t.Errorf("histogram = %v, want %v", l.Histogram, wantHist)
			break
		}
	}
	// 200 acks: p50 is the 100th, inside (10,20] (80 before, 70 in it): 10 + 10×20/70.
	if want := 10 + 10*20.0/70; math.Abs(l.Latency.P50-want) > 1e-9 {
		t.Errorf("p50 = %v, want %v (interpolated in the summed histogram)", l.Latency.P50, want)
	}
	// p99 interpolates to 100 - 10×(1/15)·… but is bounded by the shards' own p99s.
	if l.Latency.P99 < 90 || l.Latency.P99 > 99 {
		t.Errorf("p99 = %v, want within the shards' [90, 99]", l.Latency.P99)
	}
	if l.Latency.Max != 140 || math.Abs(l.Latency.Mean-25) > 1e-9 {
		t.Errorf("max %v mean %v, want 140 and 25", l.Latency.Max, l.Latency.Mean)
	}
	if !strings.Contains(l.Latency.Merge, "histogram") {
		t.Errorf("Latency.Merge = %q, want it to say the histogram was used", l.Latency.Merge)
	}
	wantSeries := []Point{
		{Second: 0, Sent: 50, Acked: 49, Errors: 1, P99: 80},
		{Second: 1, Sent: 100, Acked: 99, P99: 99},
		{Second: 2, Sent: 50, Acked: 50, P99: 70},
	}
	if len(l.Series) != len(wantSeries) {
		t.Fatalf("series has %d points, want %d: %+v", len(l.Series), len(wantSeries), l.Series)
	}
	for i, w := range wantSeries {
		p := l.Series[i]
		if p.Second != w.Second || p.Sent != w.Sent || p.Acked != w.Acked || p.Errors != w.Errors || p.P99 != w.P99 {
			t.Errorf("series[%d] = %+v, want %+v", i, p, w)
		}
	}
	if l.Series[1].Codes["200"] != 99 {
		t.Errorf("per-second codes were not summed: %v", l.Series[1].Codes)
	}
	ths := map[string]Threshold{}
	for _, th := range l.Thresholds {
		ths[th.Expr] = th
	}
	if th := ths["ack_p99<5s"]; !th.Passed || th.Observed != 99 {
		t.Errorf("ack_p99<5s merged to %+v, want passed with the worst shard's 99", th)
	}
	// doubled is a count: 1 + 1 = 2 breaks "<2" although each shard passed.
	if th := ths["doubled<2"]; th.Passed || th.Observed != 2 {
		t.Errorf("doubled<2 merged to %+v, want failed with the sum 2", th)
	}
	if th := ths["acked_ratio>0.99"]; th.Passed || th.Observed != 0.98 {
		t.Errorf("acked_ratio>0.99 merged to %+v, want failed with the worst shard's 0.98", th)
	}
	if m.Chaos == nil || m.Chaos.Requests != 230 || m.Chaos.Counters["drop"] != 4 || m.Chaos.Counters["delay"] != 7 {
		t.Errorf("chaos = %+v", m.Chaos)
	}
	if !m.Run.Started.Equal(s1.Run.Started) || !m.Run.Finished.Equal(s2.Run.Finished) {
		t.Errorf("run spans %v..%v, want the earliest start and the latest finish", m.Run.Started, m.Run.Finished)
	}
	if got := m.Run.Shard.Seeds; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("shard seeds = %v, want [1 2]", got)
	}
	again, err := Merge(out...)
	if err != nil || len(again) != 1 || again[0] != m {
		t.Errorf("merging a merged run again = %v, %v; want it passed through", again, err)
	}
	if m.Verdict() != NonConformant {
		t.Errorf("verdict = %v, want non-conformant (failed thresholds)", m.Verdict())
	}
}

func TestMergeLatencyFallback(t *testing.T) {
	tests := []struct {
		name   string
		h1, h2 []Bucket
	}{
		{"different buckets", []Bucket{{LeMS: 10, Count: 5}, {LeMS: 100, Count: 5}}, []Bucket{{LeMS: 20, Count: 5}, {LeMS: 100, Count: 5}}},
		{"one without histogram", []Bucket{{LeMS: 10, Count: 5}}, nil},
		{"no histograms", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := shard("r", 1, 2, &Load{Latency: Latency{P50: 5, P90: 9, P99: 30}, Histogram: tt.h1, Ledger: Ledger{Acked: 10}})
			b := shard("r", 2, 2, &Load{Latency: Latency{P50: 7, P90: 8, P99: 50}, Histogram: tt.h2, Ledger: Ledger{Acked: 10}})
			out, err := Merge(a, b)
			if err != nil {
				t.Fatal(err)
			}
			lat := out[0].Load.Latency
			if lat.P50 != 7 || lat.P90 != 9 || lat.P99 != 50 {
				t.Errorf("latency = %+v, want the max of the shards (7, 9, 50)", lat)
			}
			if !strings.Contains(lat.Merge, "maximum") {
				t.Errorf("Merge note %q does not say the maximum was used", lat.Merge)
			}
		})
	}
}

func TestMergeNoSink(t *testing.T) {
	a := shard("r", 1, 2, &Load{Ledger: Ledger{Acked: 5, Effects: 5, Observed: true}})
	b := shard("r", 2, 2, &Load{Ledger: Ledger{Acked: 5, Effects: -1}})
	out, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if g := out[0].Load.Ledger; g.Observed || g.Effects != -1 {
		t.Errorf("ledger = %+v, want unobserved with effects -1 when a shard had no sink", g)
	}
}

func TestMergeCases(t *testing.T) {
	a := shard("r", 1, 2, &Load{})
	b := shard("r", 2, 2, &Load{})
	a.Cases = []Case{{ID: "LOAD-EXACTLY-ONCE", Level: MUST, Outcome: Passed}, {ID: "LOAD-ACK-LATENCY", Level: MUST, Outcome: Passed}}
	b.Cases = []Case{{ID: "LOAD-EXACTLY-ONCE", Level: MUST, Outcome: Failed, Actual: "2 lost"}, {ID: "LOAD-ACK-LATENCY", Level: MUST, Outcome: Passed}}
	out, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	cs := out[0].Cases
	if len(cs) != 2 || cs[0].Outcome != Failed || cs[0].Actual != "2 lost" || cs[1].Outcome != Passed {
		t.Errorf("merged cases = %+v", cs)
	}
}

func TestHistQuantile(t *testing.T) {
	h := []Bucket{{LeMS: 10, Count: 10}, {LeMS: 20, Count: 0}, {LeMS: 40, Count: 10}}
	tests := []struct {
		q, want float64
	}{
		{0.25, 5},
		{0.5, 10},
		{0.75, 30},
		{1, 40},
	}
	for _, tt := range tests {
		if got := histQuantile(h, tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("histQuantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func BenchmarkMerge(b *testing.B) {
	rs := readFixtures(b, fixtureFiles...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(rs...); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMergeOneInterruptedShardInterruptsTheRun(t *testing.T) {
	ok := func() *Load {
		return &Load{Rate: 10, Ledger: Ledger{Published: 10, Acked: 10, Effects: 10, Observed: true},
			Thresholds: []Threshold{{Expr: "unacked==0", Metric: "unacked", Op: "==", Limit: 0, Passed: true, Outcome: Passed,
				Requirement: "LOAD-DELIVERED", Level: MUST}}}
	}
	a, b := shard("r", 1, 2, ok()), shard("r", 2, 2, ok())
	b.Interrupted = &Interruption{At: time.Unix(1700000005, 0), AfterS: 5, Reason: "terminated signal received"}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m[0].Verdict() != Interrupted || !strings.Contains(m[0].Interrupted.Reason, "shard 2/2") {
		t.Errorf("merged verdict %s, interrupted %+v; want interrupted by shard 2/2", m[0].Verdict(), m[0].Interrupted)
	}
	if m, _ := Merge(shard("r", 1, 2, ok()), shard("r", 2, 2, ok())); m[0].Verdict() != Conformant {
		t.Errorf("two whole shards: %s", m[0].Verdict())
	}
	// A threshold one shard could not observe is not observable in the merged run.
	c, d := shard("s", 1, 2, ok()), shard("s", 2, 2, ok())
	c.Load.Thresholds = append(c.Load.Thresholds, Threshold{Expr: "lost==0", Metric: "lost", Outcome: NotObservable, Reason: "no sink", Requirement: "LOAD-EXACTLY-ONCE", Level: MUST})
	d.Load.Thresholds = append(d.Load.Thresholds, Threshold{Expr: "lost==0", Metric: "lost", Op: "==", Passed: true, Outcome: Passed, Requirement: "LOAD-EXACTLY-ONCE", Level: MUST})
	m, err = Merge(c, d)
	if err != nil {
		t.Fatal(err)
	}
	if m[0].Verdict() != Incomplete || strings.Join(m[0].UnobservedMust(), ",") != "LOAD-EXACTLY-ONCE" {
		t.Errorf("merged verdict %s, unobserved %v", m[0].Verdict(), m[0].UnobservedMust())
	}
}

func TestV1ThresholdsStillGrade(t *testing.T) {
	r := &Results{Schema: SchemaV1, Kind: KindLoad, Load: &Load{Thresholds: []Threshold{{Expr: "lost==0", Passed: false}}}}
	if r.Verdict() != NonConformant {
		t.Errorf("a failed v1 threshold: %s", r.Verdict())
	}
	r.Load.Thresholds[0].Passed = true
	if r.Verdict() != Conformant {
		t.Errorf("a passed v1 threshold: %s", r.Verdict())
	}
}
