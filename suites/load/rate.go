package load

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of deliveries per period, as Vegeta writes it: 200/s, 50/1s, 1000/1m.
// The zero Rate means "as fast as the workers allow" (benchmarks only; the CLI refuses it).
type Rate struct {
	Freq int           `json:"freq"`
	Per  time.Duration `json:"per"`
}

// ErrRate is wrapped by every rate parsing error.
var ErrRate = errors.New("bad rate")

// maxFreqPerSecond bounds a rate: far above what one machine sends, low enough that every
// derived interval stays a positive number of nanoseconds.
const maxFreqPerSecond = 1_000_000

// ParseRate parses "N", "N/s", "N/1s", "N/500ms", "N/1m". A bare N is per second.
func ParseRate(s string) (Rate, error) {
	in := strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(in, "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a whole number of deliveries (want e.g. 200/s): %w", s, num, ErrRate)
	}
	r := Rate{Freq: n, Per: time.Second}
	if hasPer {
		p := strings.TrimSpace(per)
		// "s", "m", "h" alone mean one of that unit, as in Vegeta.
		if p != "" && (p[0] < '0' || p[0] > '9') {
			p = "1" + p
		}
		d, err := time.ParseDuration(p)
		if err != nil || d <= 0 {
			return Rate{}, fmt.Errorf("rate %q: %q is not a positive period (want s, 1s, 500ms, 1m): %w", s, per, ErrRate)
		}
		r.Per = d
	}
	if r.Freq > 0 && r.PerSecond() > maxFreqPerSecond {
		return Rate{}, fmt.Errorf("rate %q: %.0f/s is over the limit of %d/s: %w", s, r.PerSecond(), maxFreqPerSecond, ErrRate)
	}
	return r, nil
}

// PerSecond is the rate in deliveries per second (0 for the unbounded rate).
func (r Rate) PerSecond() float64 {
	if r.Freq <= 0 || r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// Interval is the time between two scheduled deliveries (0 for the unbounded rate).
func (r Rate) Interval() time.Duration {
	if r.Freq <= 0 || r.Per <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.Freq)
}

// IsZero reports whether r is the unbounded rate.
func (r Rate) IsZero() bool { return r.Freq <= 0 || r.Per <= 0 }

// Split returns the rate of one of n shards: the same frequency over a period n times as long,
// so that 200/s over 3 shards is 200/3s each, with no rounding.
func (r Rate) Split(n int) Rate {
	if n <= 1 || r.IsZero() {
		return r
	}
	if r.Per > math.MaxInt64/time.Duration(n) {
		return r
	}
	return Rate{Freq: r.Freq, Per: r.Per * time.Duration(n)}
}

func (r Rate) String() string {
	if r.IsZero() {
		return "max"
	}
	if r.Per == time.Second {
		return strconv.Itoa(r.Freq) + "/s"
	}
	return strconv.Itoa(r.Freq) + "/" + r.Per.String()
}
