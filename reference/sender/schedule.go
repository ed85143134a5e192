package sender

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Schedule is the delay before each attempt of a message: Schedule[0] after the message is
// sent (usually 0, "immediately"), Schedule[i] after the i-th attempt failed. Its length is
// the number of attempts; when the last one fails the message becomes a dead letter.
type Schedule []time.Duration

// DefaultSchedule is the example schedule of Standard Webhooks: immediately, then 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h and 10 h after each failure (about 27.5 h in all).
var DefaultSchedule = Schedule{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// MaxAttempts bounds a schedule's length, so a typo cannot schedule a message forever.
const MaxAttempts = 100

// ParseSchedule parses a comma-separated list of Go durations ("0s,100ms,200ms,400ms"). The
// delays after the first must not decrease: a schedule is a backoff.
func ParseSchedule(s string) (Schedule, error) {
	parts := strings.Split(s, ",")
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("schedule: empty (want a list such as 0s,5s,5m)")
	}
	if len(parts) > MaxAttempts {
		return nil, fmt.Errorf("schedule: %d attempts, at most %d", len(parts), MaxAttempts)
	}
	out := make(Schedule, 0, len(parts))
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("schedule: entry %d: %w", i+1, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("schedule: entry %d: negative delay %s", i+1, d)
		}
		if i >= 2 && d < out[i-1] {
			return nil, fmt.Errorf("schedule: entry %d (%s) is shorter than entry %d (%s): delays must not decrease", i+1, d, i, out[i-1])
		}
		out = append(out, d)
	}
	return out, nil
}

// String formats s as ParseSchedule reads it.
func (s Schedule) String() string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = d.String()
	}
	return strings.Join(p, ",")
}

// jittered spreads d uniformly over [d·(1−j), d·(1+j)], so that messages which failed together
// do not all come back together. j is clamped to [0, 1].
func jittered(d time.Duration, j float64, r *rand.Rand) time.Duration {
	if d <= 0 || j <= 0 {
		return d
	}
	j = min(j, 1)
	f := 1 + j*(2*r.Float64()-1)
	return time.Duration(float64(d) * f)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
// It returns false for anything else; a date in the past is a zero delay.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		if len(v) > 10 {
			return 0, false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}
