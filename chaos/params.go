package chaos

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Params are one fault instance's settings by name. Values are strings whatever their source
// (flag, inline spec, YAML scenario, admin JSON); the fault's type parses them through Config.
type Params map[string]string

// ParamError names a param that could not be used and why.
type ParamError struct {
	Param string
	Value string
	Err   error
}

func (e *ParamError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("param %s: %v", e.Param, e.Err)
	}
	return fmt.Sprintf("param %s: %q: %v", e.Param, e.Value, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

var errUnknownParam = errors.New("unknown param")

// Config hands a fault type its params. Each getter returns the default when the param is
// absent, and records the first bad value; the proxy reports it, and any param nobody read,
// after New returns. A Config is used by one goroutine, during New only.
type Config struct {
	params Params
	used   map[string]bool
	err    error
}

func newConfig(p Params) *Config { return &Config{params: p, used: map[string]bool{}} }

func (c *Config) lookup(key string) (string, bool) {
	c.used[key] = true
	v, ok := c.params[key]
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

func (c *Config) fail(key, value string, err error) {
	if c.err == nil {
		c.err = &ParamError{Param: key, Value: value, Err: err}
	}
}

// Err reports the first bad param, then any param that no getter asked for.
func (c *Config) Err() error {
	if c.err != nil {
		return c.err
	}
	var unknown []string
	for k := range c.params {
		if !c.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &ParamError{Param: unknown[0], Err: errUnknownParam}
	}
	return nil
}

// String returns the param as is.
func (c *Config) String(key, def string) string {
	if v, ok := c.lookup(key); ok {
		return v
	}
	return def
}

// Enum returns the param, which must be one of allowed (compared case-insensitively).
func (c *Config) Enum(key, def string, allowed ...string) string {
	v, ok := c.lookup(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	c.fail(key, v, fmt.Errorf("want one of %s", strings.Join(allowed, ", ")))
	return def
}

// Int returns the param as an integer in [min, max].
func (c *Config) Int(key string, def, min, max int) int {
	v, ok := c.lookup(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.fail(key, v, errors.New("not an integer"))
		return def
	}
	if n < min || n > max {
		c.fail(key, v, fmt.Errorf("out of range [%d,%d]", min, max))
		return def
	}
	return n
}

// Float returns the param as a number in [min, max]; a trailing % divides by 100.
func (c *Config) Float(key string, def, min, max float64) float64 {
	v, ok := c.lookup(key)
	if !ok {
		return def
	}
	f, err := parseFraction(v)
	if err != nil {
		c.fail(key, v, err)
		return def
	}
	if f < min || f > max {
		c.fail(key, v, fmt.Errorf("out of range [%g,%g]", min, max))
		return def
	}
	return f
}

// Bool returns the param as a boolean (true/false, yes/no, on/off, 1/0).
func (c *Config) Bool(key string, def bool) bool {
	v, ok := c.lookup(key)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true
	case "false", "no", "off", "0":
		return false
	}
	c.fail(key, v, errors.New("not a boolean"))
	return def
}

// Custom parses the param with parse when it is present, recording parse's error; it
// reports whether the param was present and parsed.
func (c *Config) Custom(key string, parse func(v string) error) bool {
	v, ok := c.lookup(key)
	if !ok {
		return false
	}
	if err := parse(v); err != nil {
		c.fail(key, v, err)
		return false
	}
	return true
}

// Duration returns the param as a non-negative duration ("250ms"; a bare number is seconds).
func (c *Config) Duration(key string, def time.Duration) time.Duration {
	v, ok := c.lookup(key)
	if !ok {
		return def
	}
	d, err := parseDuration(v)
	if err != nil {
		c.fail(key, v, err)
		return def
	}
	return d
}

// Dist returns the param as a duration distribution (see ParseDist).
func (c *Config) Dist(key string, def Dist) Dist {
	v, ok := c.lookup(key)
	if !ok {
		return def
	}
	d, err := ParseDist(v)
	if err != nil {
		c.fail(key, v, err)
		return def
	}
	return d
}

// parseFraction reads "0.05" or "5%".
func parseFraction(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number")
	}
	if pct {
		f /= 100
	}
	return f, nil
}

// parseDuration reads a Go duration, or a bare number of seconds.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64/float64(time.Second) {
			return 0, errors.New("not a duration (like 250ms, 2s or 1m30s)")
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 {
		return 0, errors.New("negative duration")
	}
	if d > MaxDelay {
		return 0, fmt.Errorf("%s is over the maximum of %s", d, MaxDelay)
	}
	return d, nil
}

// DistKind is the shape of a duration distribution.
type DistKind uint8

const (
	Fixed   DistKind = iota // always A
	Uniform                 // uniform in [A, B]
	Normal                  // mean A, standard deviation B, clipped at 0
)

// Dist is a distribution of durations, written "2s" (fixed), "100ms-2s" (uniform) or
// "1s~200ms" (normal: mean~jitter, clipped at zero).
type Dist struct {
	Kind DistKind
	A, B time.Duration
}

// ParseDist reads a Dist.
func ParseDist(s string) (Dist, error) {
	s = strings.TrimSpace(s)
	if a, b, ok := strings.Cut(s, "~"); ok {
		mean, err := parseDuration(strings.TrimSpace(a))
		if err != nil {
			return Dist{}, fmt.Errorf("mean: %w", err)
		}
		sd, err := parseDuration(strings.TrimSpace(b))
		if err != nil {
			return Dist{}, fmt.Errorf("jitter: %w", err)
		}
		return Dist{Kind: Normal, A: mean, B: sd}, nil
	}
	if i := strings.IndexByte(s, '-'); i > 0 {
		lo, err := parseDuration(strings.TrimSpace(s[:i]))
		if err != nil {
			return Dist{}, fmt.Errorf("low bound: %w", err)
		}
		hi, err := parseDuration(strings.TrimSpace(s[i+1:]))
		if err != nil {
			return Dist{}, fmt.Errorf("high bound: %w", err)
		}
		if hi < lo {
			return Dist{}, errors.New("high bound below low bound")
		}
		return Dist{Kind: Uniform, A: lo, B: hi}, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return Dist{}, err
	}
	return Dist{Kind: Fixed, A: d}, nil
}

// Sample draws one duration.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	switch d.Kind {
	case Uniform:
		if d.B <= d.A {
			return d.A
		}
		return d.A + time.Duration(r.Int64N(int64(d.B-d.A)+1))
	case Normal:
		v := float64(d.A) + r.NormFloat64()*float64(d.B)
		if v < 0 {
			return 0
		}
		return time.Duration(v)
	default:
		return d.A
	}
}

// IsZero reports whether d always gives 0.
func (d Dist) IsZero() bool {
	return d.A == 0 && (d.Kind == Fixed || d.B == 0)
}

func (d Dist) String() string {
	switch d.Kind {
	case Uniform:
		return d.A.String() + "-" + d.B.String()
	case Normal:
		return d.A.String() + "~" + d.B.String()
	default:
		return d.A.String()
	}
}
