// Package promtest scrapes a /metrics endpoint over HTTP and reads it with the Prometheus
// text parser, for the tests of every component's metrics.
package promtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookproof/hookproof/reference/metrics"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Scrape GETs url (a /metrics endpoint) in the text format and parses it.
func Scrape(ctx context.Context, url string) (Families, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want the text format", url, ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("GET %s: parsing the text format: %w\n%s", url, err, body)
	}
	return Families(fams), nil
}

// Value is the value of the series of family name whose labels include labels (pairs of
// name, value), summed over every such series: a counter's or gauge's value, a histogram's
// count. A family or series that is not there is 0.
func (f Families) Value(name string, labels ...string) float64 {
	mf := f[name]
	if mf == nil {
		return 0
	}
	var sum float64
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.GetUntyped() != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// Series counts the series of family name whose labels include labels.
func (f Families) Series(name string, labels ...string) int {
	n := 0
	if mf := f[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				n++
			}
		}
	}
	return n
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Check checks the scraped families against descs, the component's documented metrics:
// every family scraped is documented, with its type and its labels, and every name follows
// the conventions (metrics.Desc.Check). It returns every problem found.
func (f Families) Check(descs []metrics.Desc) []string {
	byName := map[string]metrics.Desc{}
	var bad []string
	for _, d := range descs {
		byName[d.Name] = d
		if err := d.Check(); err != nil {
			bad = append(bad, err.Error())
		}
	}
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mf := f[name]
		d, ok := byName[name]
		if !ok {
			bad = append(bad, name+": scraped, not documented")
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != string(d.Type) {
			bad = append(bad, fmt.Sprintf("%s: scraped as a %s, documented as a %s", name, got, d.Type))
		}
		if !strings.HasPrefix(name, "hookproof_") {
			bad = append(bad, name+": no hookproof_ prefix")
		}
		if mf.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			bad = append(bad, name+": a counter not ending in _total")
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM && !strings.HasSuffix(name, "_seconds") {
			bad = append(bad, name+": a histogram not ending in _seconds")
		}
		want := map[string]bool{}
		for _, l := range d.Labels {
			want[l] = true
		}
		for _, m := range mf.GetMetric() {
			got := map[string]bool{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = true
			}
			if len(got) != len(want) {
				bad = append(bad, fmt.Sprintf("%s: a series with labels %v, documented %v", name, keys(got), d.Labels))
				break
			}
			for l := range got {
				if !want[l] {
					bad = append(bad, fmt.Sprintf("%s: a series with labels %v, documented %v", name, keys(got), d.Labels))
					break
				}
			}
		}
	}
	return bad
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
