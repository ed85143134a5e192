package chaos

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// FaultSpec describes one fault instance: which type, how often, on which requests.
// It is plain data (JSON for the admin API, YAML in scenarios, or the inline spec).
type FaultSpec struct {
	// Name identifies the instance in the ledger, counters and admin API; it defaults to
	// Type, then Type-2, Type-3, ... when several instances share a type.
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
	// Probability is the chance in [0,1] that a matching request gets the fault. Parsers
	// default it to 1 when omitted; in Go, 0 means never.
	Probability float64 `json:"probability"`
	Match       Match   `json:"match,omitzero"`
	Params      Params  `json:"params,omitempty"`
}

// Match restricts an instance to some requests. Empty fields match everything.
type Match struct {
	// Method is one method or a comma-separated list ("POST,PUT"), any case.
	Method string `json:"method,omitempty"`
	// Path is a glob over the request path where * matches any run of characters, '/'
	// included ("/webhooks/*").
	Path string `json:"path,omitempty"`
	// Header maps a header name to a glob over its value; "*" only asks that it be present.
	Header map[string]string `json:"header,omitempty"`
	// Attempts selects the delivery attempts: "2" (only the second), "1-2" (the first two),
	// "3-" (the third and later). Attempts count per delivery key, from 1.
	Attempts string `json:"attempts,omitempty"`
}

// IsZero reports whether m matches every request.
func (m Match) IsZero() bool {
	return m.Method == "" && m.Path == "" && len(m.Header) == 0 && m.Attempts == ""
}

// matcher is a compiled Match.
type matcher struct {
	methods  []string
	path     string
	header   []headerRule
	min, max int // attempts; max 0 is unbounded
}

type headerRule struct{ name, glob string }

func (m Match) compile() (matcher, error) {
	var c matcher
	if m.Method != "" {
		for _, s := range strings.Split(m.Method, ",") {
			s = strings.ToUpper(strings.TrimSpace(s))
			if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) {
				return c, fmt.Errorf("match method: %q is not a method", m.Method)
			}
			c.methods = append(c.methods, s)
		}
	}
	c.path = m.Path
	for name, glob := range m.Header {
		if !validHeaderName(name) {
			return c, fmt.Errorf("match header: %q is not a header name", name)
		}
		c.header = append(c.header, headerRule{http.CanonicalHeaderKey(name), glob})
	}
	sort.Slice(c.header, func(i, j int) bool { return c.header[i].name < c.header[j].name })
	if m.Attempts != "" {
		lo, hi, err := parseAttempts(m.Attempts)
		if err != nil {
			return c, fmt.Errorf("match attempts: %q: %w", m.Attempts, err)
		}
		c.min, c.max = lo, hi
	}
	return c, nil
}

func parseAttempts(s string) (lo, hi int, err error) {
	s = strings.TrimSpace(s)
	a, b, isRange := strings.Cut(s, "-")
	lo, err = strconv.Atoi(strings.TrimSpace(a))
	if err != nil || lo < 1 {
		return 0, 0, errors.New(`want N, A-B or A- with attempts counted from 1`)
	}
	if !isRange {
		return lo, lo, nil
	}
	if strings.TrimSpace(b) == "" {
		return lo, 0, nil
	}
	hi, err = strconv.Atoi(strings.TrimSpace(b))
	if err != nil || hi < lo {
		return 0, 0, errors.New(`want N, A-B or A- with A <= B`)
	}
	return lo, hi, nil
}

func (c *matcher) matches(x *Exchange) bool {
	if c.min > 0 && (x.Attempt < c.min || (c.max > 0 && x.Attempt > c.max)) {
		return false
	}
	if len(c.methods) > 0 {
		ok := false
		for _, m := range c.methods {
			if strings.EqualFold(m, x.Method) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if c.path != "" && !glob(c.path, x.Path) {
		return false
	}
	for _, h := range c.header {
		vs, ok := x.Header[h.name]
		if !ok && x.sharedHeader && h.name == "User-Agent" {
			vs, ok = noUserAgent, true // as in the header forwardHeader makes
		}
		if !ok {
			return false
		}
		if h.glob == "*" || h.glob == "" {
			continue
		}
		found := false
		for _, v := range vs {
			if glob(h.glob, v) {
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

// glob matches s against pattern, where * matches any run of bytes (none included).
func glob(pattern, s string) bool {
	// Iterative wildcard matching with one backtrack point: linear for one star, at worst
	// O(len(pattern)*len(s)); no recursion, so hostile patterns cannot blow the stack.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// instance is an active fault: the spec's metadata around the Fault built from it.
type instance struct {
	spec  FaultSpec
	fault Fault
	match matcher
	salt  uint64
	count *atomic.Int64
}

// validate checks what the spec says without building the fault.
func (s *FaultSpec) validate() error {
	if math.IsNaN(s.Probability) || s.Probability < 0 || s.Probability > 1 {
		return fmt.Errorf("probability %g out of range [0,1]", s.Probability)
	}
	if strings.ContainsAny(s.Name, "/ \t\r\n,()=") {
		return fmt.Errorf("name %q: must not contain spaces or any of / , ( ) =", s.Name)
	}
	return nil
}

// build checks s and makes its instance; s.Name must already be set.
func buildInstance(s FaultSpec) (*instance, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	t, err := LookupType(s.Type)
	if err != nil {
		return nil, err
	}
	m, err := s.Match.compile()
	if err != nil {
		return nil, err
	}
	c := newConfig(s.Params)
	f, err := t.New(c)
	if cerr := c.Err(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return &instance{spec: s, fault: f, match: m, salt: hashString(0, s.Name)}, nil
}

// CheckSpecs reports the first spec that would not build (unknown type, bad probability,
// param or match rule), naming it.
func CheckSpecs(specs []FaultSpec) error {
	named, err := nameSpecs(specs)
	if err != nil {
		return err
	}
	for _, s := range named {
		if _, err := buildInstance(s); err != nil {
			return fmt.Errorf("fault %s: %w", s.Name, err)
		}
	}
	return nil
}

// nameSpecs fills in missing names (type, type-2, ...) and rejects duplicates.
func nameSpecs(specs []FaultSpec) ([]FaultSpec, error) {
	out := make([]FaultSpec, len(specs))
	taken := map[string]bool{}
	for _, s := range specs {
		if s.Name != "" {
			if taken[s.Name] {
				return nil, fmt.Errorf("fault %s: %w", s.Name, ErrDuplicateName)
			}
			taken[s.Name] = true
		}
	}
	nm := &namer{taken: taken}
	for i, s := range specs {
		if s.Name == "" {
			s.Name = nm.free(s.Type)
		}
		out[i] = s
	}
	return out, nil
}

func freeName(base string, taken map[string]bool) string {
	return (&namer{taken: taken}).free(base)
}

// namer hands out free names: base, then base-2, base-3, ... It remembers where each base's
// search stopped, so naming n unnamed faults of one type takes linear time, not quadratic.
type namer struct {
	taken map[string]bool
	next  map[string]int // the first suffix not tried yet, per base
}

func (n *namer) free(base string) string {
	if base == "" {
		base = "fault"
	}
	if n.next == nil {
		n.next = map[string]int{}
	}
	if !n.taken[base] {
		n.taken[base] = true
		return base
	}
	for i := max(n.next[base], 2); ; i++ {
		if name := base + "-" + strconv.Itoa(i); !n.taken[name] {
			n.next[base] = i + 1
			n.taken[name] = true
			return name
		}
	}
}

// Bounds of a fault chain. MaxFaults is the most fault instances a proxy (a scenario, a
// spec, the admin API) holds; MaxCopies the most copies faults may make of one request, however
// duplicate and replay faults are chained (two duplicates of copies=100 would otherwise make
// 10,200); MaxDelay the longest duration any param takes (a delay, a copy's after, ...).
const (
	MaxFaults = 1000
	MaxCopies = 100
	MaxDelay  = 10 * time.Minute
)

// errTooManyFaults is the error for a chain over MaxFaults.
var errTooManyFaults = fmt.Errorf("at most %d faults", MaxFaults)

// ErrDuplicateName and ErrNoSuchFault are returned by the fault-editing methods.
var (
	ErrDuplicateName = errors.New("a fault with this name already exists")
	ErrNoSuchFault   = errors.New("no fault with this name")
)
