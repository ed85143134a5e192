package reports

import (
	"fmt"
	"image/color"
	"slices"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/chaos"
)

// What a real demo run showed: its last second acknowledged nothing (only retries were in
// flight), and its percentiles of 0 ms were drawn as a plunge to zero.
func TestAckedRuns(t *testing.T) {
	pt := func(sec, acked int) Point { return Point{Second: sec, Acked: acked, P50: 1, P90: 2, P99: 3} }
	seconds := func(runs [][]Point) [][]int {
		var out [][]int
		for _, r := range runs {
			var s []int
			for _, p := range r {
				s = append(s, p.Second)
			}
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		name   string
		series []Point
		want   [][]int
	}{
		{"empty", nil, nil},
		{"every second acked", []Point{pt(0, 5), pt(1, 5), pt(2, 5)}, [][]int{{0, 1, 2}}},
		{"quiet last second", []Point{pt(0, 42), pt(1, 48), pt(2, 48), pt(3, 0)}, [][]int{{0, 1, 2}}},
		{"quiet middle second", []Point{pt(0, 5), pt(1, 0), pt(2, 5), pt(3, 5)}, [][]int{{0}, {2, 3}}},
		{"missing second", []Point{pt(0, 5), pt(1, 5), pt(3, 5)}, [][]int{{0, 1}, {3}}},
		{"nothing acked", []Point{pt(0, 0), pt(1, 0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seconds(ackedRuns(tt.series)); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("ackedRuns = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimeRange(t *testing.T) {
	tests := []struct {
		series []Point
		lo, hi float64
	}{
		{nil, -0.5, 0.5},
		{[]Point{{Second: 0}, {Second: 3}}, -0.5, 3.5},
		{[]Point{{Second: 5}}, 4.5, 5.5},
	}
	for _, tt := range tests {
		if lo, hi := timeRange(tt.series); lo != tt.lo || hi != tt.hi {
			t.Errorf("timeRange(%v) = %v, %v; want %v, %v", tt.series, lo, hi, tt.lo, tt.hi)
		}
	}
}

// The time axes start half a second before 0: the first tick must read "0", not "-0".
func TestSecondTicksFromHalfBeforeZero(t *testing.T) {
	var labels []string
	for _, tk := range (secondTicks{}).Ticks(-0.5, 3.5) {
		labels = append(labels, tk.Label)
	}
	if want := []string{"0", "1", "2", "3"}; !slices.Equal(labels, want) {
		t.Errorf("ticks %q, want %q", labels, want)
	}
}

func TestLatencyChartGaps(t *testing.T) {
	tests := []struct {
		name   string
		series []Point
		want   []string
	}{
		{"quiet last second", []Point{{Second: 0, Acked: 4, P50: 300, P90: 700, P99: 1100}, {Second: 1, Acked: 5, P50: 330, P90: 530, P99: 750}, {Second: 2}},
			[]string{">p50<", ">p99<", ">0<", ">2<", ">1.2 s<"}},
		{"lone acked second", []Point{{Second: 0}, {Second: 1, Acked: 1, P50: 3, P90: 3, P99: 3}, {Second: 2}},
			[]string{">p50<", ">0<", ">2<"}},
		// Nothing to draw: empty axes over the run's seconds, on a readable latency scale.
		{"nothing acked", []Point{{Second: 0, Sent: 5}, {Second: 1, Sent: 5}},
			[]string{">seconds since start<", ">0<", ">1<", ">1 s<"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg, err := latencyChart(wideCanvas, tt.series)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(svg, w) {
					t.Errorf("chart lacks %q", w)
				}
			}
			if strings.Contains(svg, ">-0<") || strings.Contains(svg, ">-1<") {
				t.Errorf("chart labels a negative second")
			}
		})
	}
}

// A run in which every case passed has no expected or actual to show: the table drops those
// columns so the requirement gets the width; a run with a failure keeps them.
func TestHTMLExpectedActualColumns(t *testing.T) {
	passed := Case{ID: "RCV-SIG-001", Level: MUST, Outcome: Passed, Requirement: "signed is acked",
		Evidence: []Exchange{{Method: "POST", URL: "http://127.0.0.1:1/hook", Status: 200}}}
	failed := Case{ID: "RCV-SIG-002", Level: MUST, Outcome: Failed, Requirement: "forged is rejected",
		Expected: "4xx", Actual: "200", Evidence: []Exchange{{Method: "POST", URL: "http://127.0.0.1:1/hook", Status: 200}}}
	tests := []struct {
		name    string
		cases   []Case
		columns bool
	}{
		{"all passed", []Case{passed}, false},
		{"one failed", []Case{passed, failed}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := string(render(t, []*Results{{Kind: KindConformReceiver, Cases: tt.cases}}))
			if got := strings.Contains(page, "<th>expected</th><th>actual</th>"); got != tt.columns {
				t.Errorf("expected/actual columns shown: %v, want %v", got, tt.columns)
			}
			colspan := `colspan="4"`
			if tt.columns {
				colspan = `colspan="6"`
			}
			if n := strings.Count(page, colspan); n != len(tt.cases) {
				t.Errorf("%d evidence rows span %s, want %d", n, colspan, len(tt.cases))
			}
			if got := strings.Count(page, `<td class="mono ev"`); tt.columns && got != 2*len(tt.cases) || !tt.columns && got != 0 {
				t.Errorf("%d expected/actual cells", got)
			}
		})
	}
}

// The demo hands its load run an in-process collector, which has no address: the report
// must not say effects were not observed next to a ledger that counted them.
func TestHTMLEffectSinkMeta(t *testing.T) {
	tests := []struct {
		name string
		r    *Results
		want string
	}{
		{"address", &Results{Kind: KindLoad, Run: RunMeta{Sink: "127.0.0.1:9"}, Load: &Load{Ledger: Ledger{Observed: true}}}, "127.0.0.1:9"},
		{"in-process collector", &Results{Kind: KindLoad, Load: &Load{Ledger: Ledger{Observed: true, Effects: 3}}}, "in-process collector"},
		{"no sink", &Results{Kind: KindLoad, Load: &Load{Ledger: Ledger{Effects: -1}}}, "none (effects not observed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			for _, m := range runMeta(func(s string) string { return s }, tt.r) {
				if m.K == "Effect sink" {
					got = m.V
				}
			}
			if got != tt.want {
				t.Errorf("effect sink %q, want %q", got, tt.want)
			}
		})
	}
}

// Every kind of fault the chaos proxy knows says what the target did about it.
func TestEveryChaosKindIsMeasured(t *testing.T) {
	for _, k := range chaos.Kinds() {
		if measuredBy[k] == "" {
			t.Errorf("chaos kind %q: no measure in measuredBy", k)
		}
	}
	r := &Results{Kind: KindLoad, Load: &Load{Ledger: Ledger{Observed: true, Effects: 10}}}
	if did, class := chaosEffect(r, chaos.KindLosesAnswer); class != "ok" || !strings.Contains(did, "0 doubled") {
		t.Errorf("loses-answer: %q (%s), want the doubled count", did, class)
	}
}

// The send schedule's last hit is due at exactly its duration, so a 3 s run has a fourth
// point holding that hit and the late retries: the throughput lines leave it out.
func TestSendWindow(t *testing.T) {
	pts := func(n int) []Point {
		var out []Point
		for i := range n {
			out = append(out, Point{Second: i, Sent: 100})
		}
		return out
	}
	tests := []struct {
		name      string
		series    []Point
		durationS float64
		whole     int
		partial   int
	}{
		{"last hit in its own second", pts(4), 3, 3, 1},
		{"retries after the schedule", pts(6), 3, 3, 3},
		{"every second whole", pts(3), 3, 3, 0},
		{"fractional duration", pts(3), 2.5, 2, 1},
		{"no duration: the last point is partial", pts(4), 0, 3, 1},
		{"no duration, one point", pts(1), 0, 1, 0},
		{"empty", nil, 3, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole, partial := sendWindow(tt.series, tt.durationS)
			if len(whole) != tt.whole || partial != tt.partial {
				t.Errorf("sendWindow = %d whole, %d partial; want %d, %d", len(whole), partial, tt.whole, tt.partial)
			}
		})
	}
}

// Errors a passing run expected are grey and named, never red; a run that did not pass
// keeps them red.
func TestErrorLook(t *testing.T) {
	series := []Point{{Second: 0, Sent: 10, Acked: 8, Errors: 2}, {Second: 1, Sent: 10, Acked: 9, Errors: 1}, {Second: 2, Sent: 1, Acked: 1}}
	load := func(passed bool) *Load {
		return &Load{DurationS: 2, Series: series, StatusCodes: map[string]int{"200": 18, "503": 1, "0": 2},
			Thresholds: []Threshold{{Expr: "error_rate<50%", Passed: passed}}}
	}
	chaos := func(counters map[string]int64) *Chaos { return &Chaos{Counters: counters} }
	tests := []struct {
		name  string
		r     *Results
		label string
	}{
		{"failed run", &Results{Kind: KindLoad, Load: load(false), Chaos: chaos(map[string]int64{"drop": 3})}, "errors"},
		{"passed, chaos covers the errors", &Results{Kind: KindLoad, Load: load(true), Chaos: chaos(map[string]int64{"drop": 2, "error": 1, "delay": 50})}, "injected by chaos"},
		{"passed, lost acks count", &Results{Kind: KindLoad, Load: load(true), Chaos: chaos(map[string]int64{"lost-ack": 3})}, "injected by chaos"},
		{"passed, more errors than injected", &Results{Kind: KindLoad, Load: load(true), Chaos: chaos(map[string]int64{"drop": 1, "delay": 50})}, "retried"},
		{"passed without chaos", &Results{Kind: KindLoad, Load: load(true)}, "retried"},
	}
	red, grey := hexColor(colRed), hexColor(colNeutral)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			look := errorLookFor(tt.r)
			if look.label != tt.label {
				t.Errorf("errors drawn as %q, want %q", look.label, tt.label)
			}
			for _, cv := range []canvas{wideCanvas, phoneCanvas} {
				svg, err := throughputChart(cv, series, 2, look)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(svg, ">"+tt.label+"<") {
					t.Errorf("throughput chart has no legend %q", tt.label)
				}
				status, err := statusChart(cv, tt.r.Load.StatusCodes, look)
				if err != nil {
					t.Fatal(err)
				}
				if hasRed := strings.Contains(svg, red) || strings.Contains(status, red); hasRed == look.neutral {
					t.Errorf("neutral %v, but red in the charts: %v", look.neutral, hasRed)
				}
				if look.neutral && (!strings.Contains(svg, grey) || !strings.Contains(status, grey)) {
					t.Errorf("expected errors are not drawn grey (%s)", grey)
				}
			}
		})
	}
}

// hexColor is c as vgsvg writes it: #RRGGBB.
func hexColor(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
}
