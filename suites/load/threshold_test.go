package load

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/suites/catalog"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in     string
		metric string
		op     string
		limit  float64
		q      float64
		expr   string
	}{
		{"ack_p99<5s", "ack_p99", "<", 5000, 0.99, "ack_p99<5s"},
		{"ack_p50<=1s", "ack_p50", "<=", 1000, 0.5, "ack_p50<=1s"},
		{" ack_p95 < 250ms ", "ack_p95", "<", 250, 0.95, "ack_p95<250ms"},
		{"ack_p99.9<2s", "ack_p99.9", "<", 2000, 0.999, "ack_p99.9<2s"},
		{"ack_p100<10", "ack_p100", "<", 10, 1, "ack_p100<10"},
		{"ACK_MAX<1m", "ack_max", "<", 60000, 0, "ack_max<1m"},
		{"ack_mean<1.5", "ack_mean", "<", 1.5, 0, "ack_mean<1.5"},
		{"lost==0", "lost", "==", 0, 0, "lost==0"},
		{"doubled!=1", "doubled", "!=", 1, 0, "doubled!=1"},
		{"invalid_accepted==0", "invalid_accepted", "==", 0, 0, "invalid_accepted==0"},
		{"error_rate<0.01", "error_rate", "<", 0.01, 0, "error_rate<0.01"},
		{"error_rate<1%", "error_rate", "<", 0.01, 0, "error_rate<1%"},
		{"acked_ratio>=99.5%", "acked_ratio", ">=", 0.995, 0, "acked_ratio>=99.5%"},
		{"published>100", "published", ">", 100, 0, "published>100"},
	}
	for _, tt := range tests {
		got, err := ParseThreshold(tt.in)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", tt.in, err)
			continue
		}
		if got.Metric != tt.metric || got.Op != tt.op || math.Abs(got.Limit-tt.limit) > 1e-9 || math.Abs(got.Quantile-tt.q) > 1e-12 || got.Expr != tt.expr {
			t.Errorf("ParseThreshold(%q) = %+v; want metric %s op %s limit %v q %v expr %s", tt.in, got, tt.metric, tt.op, tt.limit, tt.q, tt.expr)
		}
	}
}

func TestParseThresholdErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"ack_p99", "no comparison operator"},
		{"ack_p99=5s", "'=' is not an operator"},
		{"<5s", "no metric"},
		{"ack_p99<", "no limit"},
		{"ack_p99<5s<6s", "more than one operator"},
		{"speed<5", `unknown metric "speed"`},
		{"ack_p0<5s", "not an ack percentile"},
		{"ack_p101<5s", "not an ack percentile"},
		{"ack_pNaN<5s", "not an ack percentile"},
		{"ack_p99<5x", `"5x" is not a duration`},
		{"ack_p99<-5s", "negative"},
		{"lost==zero", `"zero" is not a number`},
		{"lost==NaN", "not a finite number"},
		{"error_rate<lots", "not a ratio"},
		{"error_rate<Inf%", "not a finite number"},
	}
	for _, tt := range tests {
		_, err := ParseThreshold(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrThreshold) {
			t.Errorf("ParseThreshold(%q) error = %v, want one containing %q", tt.in, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("ParseThreshold(%q) error %q does not name the expression", tt.in, err)
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"ack_p99<5s", "lost==0", "error_rate<1%", "ack_p99.9<=250ms", "x", "a<b<c", "ack_p1e2<1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			if !errors.Is(err, ErrThreshold) {
				t.Fatalf("error %v does not wrap ErrThreshold", err)
			}
			return
		}
		if math.IsNaN(th.Limit) || math.IsInf(th.Limit, 0) || th.Limit < 0 {
			t.Fatalf("%q: limit %v", s, th.Limit)
		}
		// The canonical expression parses to the same rule.
		again, err := ParseThreshold(th.Expr)
		if err != nil || again.Metric != th.Metric || again.Op != th.Op || again.Limit != th.Limit {
			t.Fatalf("%q: canonical %q parses to %+v, %v", s, th.Expr, again, err)
		}
	})
}

func TestThresholdsOverrideAndObservability(t *testing.T) {
	all := Observable{Sink: true, Invalid: true}
	exprs := func(rs []Threshold) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Expr)
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name       string
		user       []string
		can        Observable
		want       string
		unobserved int
		wantErr    string
	}{
		{"defaults", nil, all, "unacked==0 ack_p99<5s lost==0 doubled==0 invalid_accepted==0", 0, ""},
		{"override", []string{"ack_p99<2s", "error_rate<1%"}, all, "unacked==0 lost==0 doubled==0 invalid_accepted==0 ack_p99<2s error_rate<1%", 0, ""},
		{"add a percentile", []string{"ack_p50<100ms"}, all, "unacked==0 ack_p99<5s lost==0 doubled==0 invalid_accepted==0 ack_p50<100ms", 0, ""},
		{"no sink", nil, Observable{Invalid: true}, "unacked==0 ack_p99<5s invalid_accepted==0", 2, ""},
		{"no invalid", nil, Observable{Sink: true}, "unacked==0 ack_p99<5s lost==0 doubled==0", 1, ""},
		{"sink metric without sink", []string{"doubled==0"}, Observable{}, "", 0, "effect sink"},
		{"invalid metric without invalid", []string{"invalid_accepted<=1"}, Observable{Sink: true}, "", 0, "--invalid"},
		{"bad one", []string{"lost=0"}, all, "", 0, "'=' is not an operator"},
		{"loosen unacked on purpose", []string{"unacked<=10"}, all, "ack_p99<5s lost==0 doubled==0 invalid_accepted==0 unacked<=10", 0, ""},
	}
	for _, tt := range tests {
		rules, unobserved, err := Thresholds(tt.user, tt.can)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || exprs(rules) != tt.want || len(unobserved) != tt.unobserved {
			t.Errorf("%s: got %q, unobserved %q, %v; want %q and %d unobserved", tt.name, exprs(rules), unobserved, err, tt.want, tt.unobserved)
		}
	}
}

func TestEvaluate(t *testing.T) {
	obs := func(v float64) func(Threshold) Observation {
		return func(Threshold) Observation { return Observation{Value: v, OK: true} }
	}
	tests := []struct {
		expr    string
		value   float64
		passed  bool
		display string
	}{
		{"ack_p99<5s", 4999, true, "5.00s"},
		{"ack_p99<5s", 5000, false, "5.00s"},
		{"ack_p99<=5s", 5000, true, "5.00s"},
		{"ack_p50<100ms", 12.3456, true, "12.3ms"},
		{"lost==0", 0, true, "0"},
		{"lost==0", 3, false, "3"},
		{"doubled!=0", 0, false, "0"},
		{"published>=10", 10, true, "10"},
		{"published>10", 10, false, "10"},
		{"error_rate<1%", 0.0123, false, "1.23%"},
		{"error_rate<0.02", 0.0123, true, "1.23%"},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got := th.Evaluate(obs(tt.value))
		if got.Passed != tt.passed || got.Display != tt.display || got.Expr != th.Expr || got.Metric != th.Metric {
			t.Errorf("%s at %v: %+v, want passed %v display %q", tt.expr, tt.value, got, tt.passed, tt.display)
		}
	}
	th, _ := ParseThreshold("ack_p99<5s")
	got := th.Evaluate(func(Threshold) Observation { return Observation{Why: "no acks"} })
	if got.Passed || got.Display != "no acks" {
		t.Errorf("a threshold with nothing to measure must fail and say why: %+v", got)
	}
}

func TestEveryLoadRequirementHasItsDefaultThresholds(t *testing.T) {
	defaults := map[string]bool{}
	for _, d := range DefaultThresholds {
		defaults[d] = true
	}
	covered := map[string]bool{}
	for id, exprs := range Requirements {
		for _, e := range exprs {
			if !defaults[e] {
				t.Errorf("%s: %q is not a default threshold", id, e)
			}
			covered[e] = true
		}
	}
	for d := range defaults {
		if !covered[d] {
			t.Errorf("default threshold %q grades no requirement", d)
		}
	}
}

func TestRequirementsMatchTheCatalogue(t *testing.T) {
	reqs, err := catalog.All(catalog.Load)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		seen[r.ID] = true
		if _, ok := Requirements[r.ID]; !ok {
			t.Errorf("catalogue requirement %s has no threshold grading it", r.ID)
		}
	}
	for id := range Requirements {
		if !seen[id] {
			t.Errorf("Requirements names %s, which the load catalogue lacks", id)
		}
	}
}
