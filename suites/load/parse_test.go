package load

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		perSec  float64
		wantErr string
	}{
		{"200/s", Rate{200, time.Second}, 200, ""},
		{"200", Rate{200, time.Second}, 200, ""},
		{"50/1s", Rate{50, time.Second}, 50, ""},
		{"1000/1m", Rate{1000, time.Minute}, 1000.0 / 60, ""},
		{"5/500ms", Rate{5, 500 * time.Millisecond}, 10, ""},
		{" 10 / m ", Rate{10, time.Minute}, 10.0 / 60, ""},
		{"0/s", Rate{0, time.Second}, 0, ""},
		{"", Rate{}, 0, "whole number"},
		{"fast", Rate{}, 0, "whole number"},
		{"-5/s", Rate{}, 0, "whole number"},
		{"1.5/s", Rate{}, 0, "whole number"},
		{"10/0s", Rate{}, 0, "positive period"},
		{"10/-1s", Rate{}, 0, "positive period"},
		{"10/fortnight", Rate{}, 0, "positive period"},
		{"2000000/s", Rate{}, 0, "over the limit"},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrRate) {
				t.Errorf("ParseRate(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if ps := got.PerSecond(); ps < tt.perSec-1e-9 || ps > tt.perSec+1e-9 {
			t.Errorf("ParseRate(%q).PerSecond() = %v, want %v", tt.in, ps, tt.perSec)
		}
	}
}

func TestRateSplitAndInterval(t *testing.T) {
	r := Rate{200, time.Second}
	if got := r.Interval(); got != 5*time.Millisecond {
		t.Errorf("interval %s, want 5ms", got)
	}
	s := r.Split(3)
	if got := s.PerSecond() * 3; got < 199.999 || got > 200.001 {
		t.Errorf("3 shards of %s send %v/s together, want 200", r, got)
	}
	if (Rate{}).Split(4) != (Rate{}) || !(Rate{}).IsZero() || (Rate{}).Interval() != 0 {
		t.Error("the unbounded rate must stay unbounded")
	}
	if r.String() != "200/s" || (Rate{1, time.Minute}).String() != "1/1m0s" || (Rate{}).String() != "max" {
		t.Errorf("String: %s %s %s", r, Rate{1, time.Minute}, Rate{})
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"200/s", "50/1s", "1000/1m", "0", "x/y", "9999999999/1ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrRate) {
				t.Fatalf("error %v does not wrap ErrRate", err)
			}
			return
		}
		if r.Freq < 0 || r.Per <= 0 || r.PerSecond() > maxFreqPerSecond {
			t.Fatalf("ParseRate(%q) = %+v accepted", s, r)
		}
		if r.Freq > 0 && r.Interval() <= 0 {
			t.Fatalf("ParseRate(%q) = %+v has no positive interval", s, r)
		}
	})
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{"1/4", Shard{1, 4}, ""},
		{"4/4", Shard{4, 4}, ""},
		{" 2 / 3 ", Shard{2, 3}, ""},
		{"1/1", Shard{1, 1}, ""},
		{"0/4", Shard{}, "index 0"},
		{"5/4", Shard{}, "index 5"},
		{"1/0", Shard{}, "count 0"},
		{"1/5000", Shard{}, "count 5000"},
		{"1", Shard{}, "want i/n"},
		{"a/b", Shard{}, "want i/n"},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrShard) {
				t.Errorf("ParseShard(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDeriveRunID(t *testing.T) {
	a := DeriveRunID(7, []string{"--url", "u", "--rate", "200/s"})
	if a != DeriveRunID(7, []string{"--url", "u", "--rate", "200/s"}) {
		t.Error("the same seed and arguments must give the same run id")
	}
	for _, other := range []string{DeriveRunID(8, []string{"--url", "u", "--rate", "200/s"}), DeriveRunID(7, []string{"--url", "u", "--rate", "100/s"}), DeriveRunID(7, []string{"--url", "u--rate", "200/s"})} {
		if other == a {
			t.Errorf("different runs share the id %s", a)
		}
	}
	if !strings.HasPrefix(a, "load-") || len(a) != len("load-")+12 {
		t.Errorf("run id %q", a)
	}
}
