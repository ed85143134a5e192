package inspect

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
)

// Outcomes of a Verdict.
const (
	Valid     = "valid"     // the signature verifies with a secret, the timestamp is within the tolerance
	Invalid   = "invalid"   // no signature, none that verifies, or a timestamp out of the tolerance
	Unjudged  = "unjudged"  // no secret to judge the signature by; nothing else is wrong
	Malformed = "malformed" // a header no verifier would read (see Verdict.Problems)
)

// DefaultMaxIDs is how many delivery ids a Judge remembers for its duplicate counts.
const DefaultMaxIDs = 100_000

// Judge gives each arriving delivery a Verdict against one scheme's rules: its signature
// (with which secret and which entry of a list it verifies), the skew of its signed timestamp
// against the tolerance, how often its delivery id arrived before, the provider's retry marks
// and the headers no verifier would read. Without secrets it judges everything but the
// signature. A Judge is safe for concurrent use.
type Judge struct {
	name      string
	tr        signature.Traits
	an        signature.Anatomy
	lenient   []signature.Scheme // one per secret, with no timestamp window: the judge checks it
	tolerance time.Duration
	now       func() time.Time

	mu     sync.Mutex
	maxIDs int
	seen   map[string]*seenID
	order  []string // ring of the ids in seen, oldest at next once full
	next   int
}

type seenID struct {
	n     int
	first time.Time
}

// JudgeOption configures a Judge.
type JudgeOption func(*Judge)

// WithJudgeClock sets the clock a delivery's arrival is taken from when Judge is given none.
func WithJudgeClock(now func() time.Time) JudgeOption { return func(j *Judge) { j.now = now } }

// WithJudgeTolerance sets how far a signed timestamp may be from the arrival (default the
// scheme's, signature.DefaultTolerance).
func WithJudgeTolerance(d time.Duration) JudgeOption { return func(j *Judge) { j.tolerance = d } }

// WithMaxIDs bounds the delivery ids remembered for duplicate counts (default DefaultMaxIDs):
// past it, the oldest id is forgotten.
func WithMaxIDs(n int) JudgeOption { return func(j *Judge) { j.maxIDs = n } }

// NewJudge returns a Judge for the named scheme. With no secrets, signatures are shown, not
// judged (Unjudged).
func NewJudge(scheme string, secrets []string, opts ...JudgeOption) (*Judge, error) {
	j := &Judge{name: scheme, now: time.Now, tolerance: signature.DefaultTolerance, maxIDs: DefaultMaxIDs, seen: map[string]*seenID{}}
	for _, o := range opts {
		o(j)
	}
	if j.maxIDs < 1 {
		j.maxIDs = DefaultMaxIDs
	}
	if j.tolerance < 0 {
		return nil, fmt.Errorf("negative tolerance %s", j.tolerance)
	}
	// A scheme made with a placeholder secret tells the traits and the anatomy.
	probe, err := signature.New(scheme, signature.SecretFrom(scheme, []byte("hookproof-listen-scheme-traits")), signature.WithTolerance(j.tolerance))
	if err != nil {
		return nil, err
	}
	j.tr, j.an = probe.Traits(), signature.AnatomyOf(probe)
	for i, s := range secrets {
		sc, err := signature.New(scheme, s, signature.WithTolerance(math.MaxInt64))
		if err != nil {
			return nil, fmt.Errorf("secret %d of %d: %w", i+1, len(secrets), err)
		}
		j.lenient = append(j.lenient, sc)
	}
	return j, nil
}

// Scheme names the judge's scheme.
func (j *Judge) Scheme() string { return j.name }

// Traits are the judge's scheme's traits.
func (j *Judge) Traits() signature.Traits { return j.tr }

// Judged reports whether the judge has secrets to judge signatures by.
func (j *Judge) Judged() bool { return len(j.lenient) > 0 }

// Judge gives the delivery of h and body, arrived at at (zero: the judge's clock now), its
// verdict, and counts its delivery id as seen. Neither secrets nor signature values appear in
// the verdict.
func (j *Judge) Judge(h http.Header, body []byte, at time.Time) Verdict {
	if at.IsZero() {
		at = j.now()
	}
	tr := j.tr
	v := Verdict{Scheme: j.name, ID: signature.DeliveryID(j.name, h, body), Type: event.Parse(body).Type}
	var notes []string
	if tr.IDHeader != "" {
		if p := headerProblem(h, tr.IDHeader); p != "" {
			v.Problems = append(v.Problems, p)
		}
	} else if v.ID == "" {
		notes = append(notes, "no delivery id in the body")
	}

	// The signature header.
	sigMissing := len(nonBlank(h.Values(tr.SignatureHeader))) == 0
	sigValue := ""
	if !sigMissing {
		if p := headerProblem(h, tr.SignatureHeader); p != "" {
			v.Problems = append(v.Problems, p)
		} else if sigValue = strings.TrimSpace(h.Get(tr.SignatureHeader)); !j.an.WellFormed(sigValue) {
			v.Problems = append(v.Problems, fmt.Sprintf("%s is not in the scheme's form (a %s MAC)", tr.SignatureHeader, j.an.SignatureEncoding()))
		}
	}

	// The signed timestamp.
	var ts time.Time
	tsOK, tsOut := false, ""
	if tr.Timestamped {
		v.Tolerance = j.tolerance.Seconds()
		text, _ := j.an.SignedTimestamp(h)
		where := tr.TimestampHeader
		switch {
		case where != "":
			if p := headerProblem(h, where); p != "" {
				v.Problems = append(v.Problems, p)
				text = ""
				where = ""
			}
		case sigMissing:
			where = "" // the timestamp travels in the (missing) signature header
		default:
			where = tr.SignatureHeader + " t"
			if text == "" {
				v.Problems = append(v.Problems, tr.SignatureHeader+" has no t= timestamp")
				where = ""
			}
		}
		if where != "" {
			t, err := signature.ParseUnix(strings.TrimSpace(text))
			if err != nil {
				v.Problems = append(v.Problems, fmt.Sprintf("%s %s is not unix seconds", where, clip(text)))
			} else {
				ts, tsOK = t, true
			}
		}
		if tsOK {
			skew := at.Sub(ts).Seconds()
			skew = math.Round(skew*1000) / 1000
			v.SkewSeconds = &skew
			switch {
			case at.Sub(ts) > j.tolerance:
				tsOut = fmt.Sprintf("timestamp %s s old, over the %s s tolerance", secs(skew), secs(v.Tolerance))
			case ts.Sub(at) > j.tolerance:
				tsOut = fmt.Sprintf("timestamp %s s in the future, over the %s s tolerance", secs(-skew), secs(v.Tolerance))
			}
		}
	}

	// The signature, with each secret.
	matched := false
	switch {
	case sigMissing:
		v.Signature = "missing"
		for _, l := range tr.LegacySignatureHeaders {
			if len(nonBlank(h.Values(l))) > 0 {
				v.Signature = "missing (only the legacy " + l + " was sent, which is not verified)"
			}
		}
	case !j.Judged():
		v.Signature = "not judged (no --secret)"
	default:
		v.Signature, matched = j.matchSignature(h, body, sigValue)
	}

	// The outcome and its reason, what decided it first.
	var lead []string
	switch {
	case matched && tsOut == "":
		v.Outcome = Valid
		lead = append(lead, "signature "+v.Signature)
	case len(v.Problems) > 0:
		v.Outcome = Malformed
		lead = append(lead, v.Problems...)
	case sigMissing:
		v.Outcome = Invalid
		lead = append(lead, tr.SignatureHeader+" "+v.Signature)
	case j.Judged() && !matched:
		v.Outcome = Invalid
		lead = append(lead, "signature: "+v.Signature)
		if tsOut != "" {
			lead = append(lead, tsOut)
		}
	case tsOut != "":
		v.Outcome = Invalid
		lead = append(lead, tsOut, "signature "+v.Signature)
	default:
		v.Outcome = Unjudged
		lead = append(lead, "signature "+v.Signature)
	}
	if v.SkewSeconds != nil && tsOut == "" {
		lead = append(lead, fmt.Sprintf("skew %s s within %s s", secs(*v.SkewSeconds), secs(v.Tolerance)))
	}
	if v.ID != "" {
		v.Seen, v.FirstAt = j.count(v.ID, at)
		if v.Seen > 0 {
			times := "times"
			if v.Seen == 1 {
				times = "time"
			}
			lead = append(lead, fmt.Sprintf("duplicate: seen %d %s before, first at %s", v.Seen, times, v.FirstAt.UTC().Format(timeFormat)))
		}
	}
	var marks []string
	for _, rh := range tr.RetryHeaders {
		for _, val := range h.Values(rh) {
			marks = append(marks, rh+": "+strings.TrimSpace(val))
		}
	}
	if len(marks) > 0 {
		v.Retry = strings.Join(marks, ", ")
		lead = append(lead, "retry ("+v.Retry+")")
	}
	v.Reason = oneLine(strings.Join(append(lead, notes...), "; "))
	return v
}

// timeFormat is how listen writes a time in a reason: UTC, milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// matchSignature says which secret and which entry of the header verify the delivery, the
// timestamp window aside (the judge checks it against the arrival).
func (j *Judge) matchSignature(h http.Header, body []byte, sigValue string) (string, bool) {
	whole := -1
	for i, s := range j.lenient {
		if _, err := s.Verify(h, body); err == nil {
			whole = i
			break
		} else if !errors.Is(err, signature.ErrInvalidSignature) {
			return "not checked (" + verifyProblem(err) + ")", false
		}
	}
	entries := j.an.Entries(sigValue)
	if whole < 0 {
		if len(entries) > 1 {
			return fmt.Sprintf("no entry matches (%d entries, %s)", len(entries), count(len(j.lenient), "secret")), false
		}
		return fmt.Sprintf("does not match (%s)", count(len(j.lenient), "secret")), false
	}
	one := h.Clone()
	for i, s := range j.lenient {
		for k, e := range entries {
			one.Set(j.tr.SignatureHeader, e)
			if _, err := s.Verify(one, body); err == nil {
				return fmt.Sprintf("valid (secret %d of %d, entry %d of %d)", i+1, len(j.lenient), k+1, len(entries)), true
			}
		}
	}
	return fmt.Sprintf("valid (secret %d of %d)", whole+1, len(j.lenient)), true
}

// verifyProblem names the kind of a Verify error without its text (which may quote header
// values).
func verifyProblem(err error) string {
	switch {
	case errors.Is(err, signature.ErrMissingHeader):
		return "a header is missing"
	case errors.Is(err, signature.ErrMalformedHeader):
		return "a header is malformed"
	}
	return "refused"
}

// count counts things in words: "1 secret", "2 secrets".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// count records an arrival of id at at and returns how often it arrived before, and when first.
func (j *Judge) count(id string, at time.Time) (int, *time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if s, ok := j.seen[id]; ok {
		n, first := s.n, s.first
		s.n++
		return n, &first
	}
	if len(j.order) < j.maxIDs {
		j.order = append(j.order, id)
	} else {
		delete(j.seen, j.order[j.next])
		j.order[j.next] = id
		j.next = (j.next + 1) % j.maxIDs
	}
	j.seen[id] = &seenID{n: 1, first: at}
	return 0, nil
}

// IDsRemembered is how many delivery ids the judge holds for duplicate counts.
func (j *Judge) IDsRemembered() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.seen)
}

// headerProblem says what is wrong with header name as one value: sent twice, too long or not
// printable ASCII, or missing; "" when nothing is.
func headerProblem(h http.Header, name string) string {
	vs := nonBlank(h.Values(name))
	switch {
	case len(vs) == 0:
		return name + " missing"
	case len(vs) > 1:
		return fmt.Sprintf("%s sent %d times", name, len(vs))
	}
	v := strings.TrimSpace(vs[0])
	if len(v) > signature.MaxHeaderLen {
		return fmt.Sprintf("%s is %d bytes, over %d", name, len(v), signature.MaxHeaderLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return name + " is not printable ASCII"
		}
	}
	return ""
}

func nonBlank(vs []string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

// secs writes seconds briefly: 300, 0.4, -12.25.
func secs(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) }

// clip quotes an untrusted value for a reason, cut to a readable length.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// oneLine keeps a reason on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
