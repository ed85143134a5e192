package metrics

import (
	"strings"
	"testing"
)

// TestCheckNames: the conventions Check enforces, each breach caught.
func TestCheckNames(t *testing.T) {
	good := []Desc{
		{Name: "hookproof_x_requests_total", Type: Counter, Labels: []string{"code"}, Help: "h"},
		{Name: "hookproof_x_lag_seconds", Type: Histogram, Help: "h"},
		{Name: "hookproof_x_depth", Type: Gauge, Help: "h"},
	}
	for _, d := range good {
		if err := d.Check(); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
	}
	for _, c := range []struct {
		d    Desc
		want string
	}{
		{Desc{Name: "x_requests_total", Type: Counter, Help: "h"}, "hookproof_"},
		{Desc{Name: "hookproof_requests", Type: Counter, Help: "h"}, "_total"},
		{Desc{Name: "hookproof_depth_total", Type: Gauge, Help: "h"}, "gauge ending in _total"},
		{Desc{Name: "hookproof_lag_ms", Type: Histogram, Help: "h"}, "_seconds"},
		{Desc{Name: "hookproof_lag_ms_total", Type: Counter, Help: "h"}, "unit _ms"},
		{Desc{Name: "hookproof_Requests_total", Type: Counter, Help: "h"}, "snake case"},
		{Desc{Name: "hookproof_requests_total", Type: Counter}, "no help"},
		{Desc{Name: "hookproof_requests_total", Type: Counter, Help: "h", Labels: []string{"le"}}, "label"},
	} {
		err := c.d.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error about %q", c.d, err, c.want)
		}
	}
}
