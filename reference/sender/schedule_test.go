package sender

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    Schedule
		wantErr bool
	}{
		{"0s,100ms,200ms,400ms", Schedule{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, false},
		{" 0s , 5s ", Schedule{0, 5 * time.Second}, false},
		{"1s", Schedule{time.Second}, false},
		{"5s,1s", Schedule{5 * time.Second, time.Second}, false}, // the first entry is the initial delay
		{"0s,1s,1s", Schedule{0, time.Second, time.Second}, false},
		{"0s,2s,1s", nil, true}, // a backoff never shrinks
		{"", nil, true},
		{"0s,,1s", nil, true},
		{"0s,-1s", nil, true},
		{"soon", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseSchedule(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSchedule(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got.String() != tt.want.String() {
			t.Errorf("ParseSchedule(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got, err := ParseSchedule(DefaultSchedule.String()); err != nil || len(got) != 8 {
		t.Errorf("DefaultSchedule does not round-trip: %v, %v", got, err)
	}
}

func FuzzParseSchedule(f *testing.F) {
	f.Add("0s,100ms,200ms,400ms")
	f.Add(DefaultSchedule.String())
	f.Add("1h,-1s")
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := ParseSchedule(s)
		if err != nil {
			return
		}
		if len(sch) == 0 || len(sch) > MaxAttempts {
			t.Fatalf("ParseSchedule(%q) gave %d entries", s, len(sch))
		}
		for i, d := range sch {
			if d < 0 || (i >= 2 && d < sch[i-1]) {
				t.Fatalf("ParseSchedule(%q) accepted %s", s, sch)
			}
		}
		again, err := ParseSchedule(sch.String())
		if err != nil || again.String() != sch.String() {
			t.Fatalf("%q does not round-trip: %s then %v, %v", s, sch, again, err)
		}
	})
}

func TestJittered(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	d := time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		got := jittered(d, 0.1, r)
		if got < 900*time.Millisecond || got > 1100*time.Millisecond {
			t.Fatalf("jittered(1s, 0.1) = %s, outside [900ms, 1.1s]", got)
		}
		seen[got] = true
	}
	if len(seen) < 500 {
		t.Errorf("jitter gave only %d distinct delays in 1000 draws", len(seen))
	}
	if got := jittered(0, 0.5, r); got != 0 {
		t.Errorf("jittered(0) = %s, want 0 (immediately stays immediately)", got)
	}
	if got := jittered(d, 0, r); got != d {
		t.Errorf("jittered(1s, 0) = %s, want 1s", got)
	}
	// The same seed gives the same delays: a run can be replayed.
	a, b := rand.New(rand.NewPCG(3, 3)), rand.New(rand.NewPCG(3, 3))
	for range 10 {
		if x, y := jittered(d, 0.2, a), jittered(d, 0.2, b); x != y {
			t.Fatalf("same seed, different delays: %s vs %s", x, y)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"99999999999", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"2", "Sun, 01 Mar 2026 12:01:00 GMT", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %s, %v", s, d, ok)
		}
	})
}
