package signature

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Verify and New wrap them with %w and a detail; test with errors.Is.
var (
	ErrInvalidSignature = errors.New("no valid signature")
	ErrTimestampTooOld  = errors.New("timestamp too old")
	ErrTimestampTooNew  = errors.New("timestamp too far in the future")
	ErrMissingHeader    = errors.New("missing header")
	ErrMalformedHeader  = errors.New("malformed header")
	ErrBadSecret        = errors.New("bad secret")
)

// DefaultTolerance is how far a signed timestamp may be from the verifier's clock.
const DefaultTolerance = 5 * time.Minute

// MaxHeaderLen bounds a signature or timestamp header; longer ones are malformed, not parsed.
const MaxHeaderLen = 8 << 10

// Message is one delivery attempt to sign.
type Message struct {
	ID        string    // delivery id; carried in a header where the scheme has one
	Timestamp time.Time // attempt time; zero means the scheme's clock now
	Body      []byte    // raw body, signed byte for byte
}

// Verified is what a successful verification learned about the delivery.
type Verified struct {
	ID        string    // from the scheme's id header, else the body's top-level "id"
	Timestamp time.Time // zero for schemes that sign no timestamp
}

// Traits describe a scheme's headers, for code that crafts or inspects deliveries.
type Traits struct {
	IDHeader string // "" when the id travels only in the body (stripe, slack)
	// IDSigned says the signature covers the id header (standard): without it the signature
	// cannot verify. Where it is not signed (github, shopify), a delivery without it is still
	// authentic, and the providers' libraries accept it.
	IDSigned        bool
	TimestampHeader string // "" when the timestamp is not a header of its own or not signed
	SignatureHeader string
	// LegacySignatureHeaders are further signatures the provider sends (github's sha1
	// X-Hub-Signature), which some official libraries fall back to: a delivery "without its
	// signature" lacks these too.
	LegacySignatureHeaders []string
	// BodyShape is the layout of the provider's bodies, an event.Shape: "" for hookproof's
	// envelope, "stripe-event", "slack-event-callback".
	BodyShape string
	// URLVerification: before it sends events to a new endpoint, the provider sends a signed
	// challenge the endpoint must echo (Slack's url_verification).
	URLVerification bool
	Timestamped     bool          // the signature covers a timestamp checked against a tolerance
	Tolerance       time.Duration // 0 when not Timestamped
	// RetryHeaders are the headers the provider marks a retry with (Slack: X-Slack-Retry-Num
	// and X-Slack-Retry-Reason, see SetRetryHeaders); nil when its retries look like first
	// attempts.
	RetryHeaders []string
}

// Scheme signs and verifies deliveries with the secrets it was made with. A Scheme is
// immutable after New and safe for concurrent use.
type Scheme interface {
	Name() string
	Traits() Traits
	// Sign returns the headers to send with msg: id, timestamp and signature headers as the
	// scheme defines them. With several secrets (rotation) it signs with each.
	Sign(msg Message) (http.Header, error)
	// Verify checks h and the raw body. Any valid signature with any secret passes; entries
	// of unknown versions are skipped.
	Verify(h http.Header, body []byte) (Verified, error)
}

// Option configures a Scheme.
type Option func(*config)

type config struct {
	now       func() time.Time
	tolerance time.Duration
	secrets   []string
}

// WithClock injects the clock used for signing (zero Message.Timestamp) and for tolerance checks.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTolerance sets how far a timestamp may be from now (default 5 minutes).
func WithTolerance(d time.Duration) Option { return func(c *config) { c.tolerance = d } }

// WithRotatedSecrets adds secrets (the previous ones during a rotation): Sign signs with every
// secret, Verify accepts a signature made with any of them.
func WithRotatedSecrets(secrets ...string) Option {
	return func(c *config) { c.secrets = append(c.secrets, secrets...) }
}

type factory func(secrets []string, c config) (Scheme, error)

var schemes = map[string]factory{
	"standard": newStandard,
	"stripe":   newStripe,
	"github":   newGitHub,
	"shopify":  newShopify,
	"slack":    newSlack,
}

// Names lists the scheme names New accepts, sorted.
func Names() []string {
	n := slices.Sorted(maps.Keys(schemes))
	return n
}

// New returns the named scheme keyed with secret. A secret the scheme cannot use (empty, not
// base64 where base64 is required, too short) is an ErrBadSecret error that says why.
func New(name, secret string, opts ...Option) (Scheme, error) {
	f, ok := schemes[name]
	if !ok {
		return nil, fmt.Errorf("signature: unknown scheme %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	c := config{now: time.Now, tolerance: DefaultTolerance}
	for _, o := range opts {
		o(&c)
	}
	if c.tolerance < 0 {
		return nil, fmt.Errorf("signature: negative tolerance %s", c.tolerance)
	}
	secrets := append([]string{secret}, c.secrets...)
	for i, s := range secrets {
		if s == "" {
			return nil, fmt.Errorf("signature: %s: secret %d is empty: %w", name, i+1, ErrBadSecret)
		}
	}
	return f(secrets, c)
}

// headerName is a header as a scheme spells it (for messages) and as net/http stores it
// (canonical), resolved once so that Verify does not canonicalise on every call.
type headerName struct{ name, key string }

func newHeaderName(name string) headerName {
	return headerName{name: name, key: http.CanonicalHeaderKey(name)}
}

// header returns h's single value for n, trimmed. Absent is ErrMissingHeader; a value that is
// too long, not printable ASCII or repeated is ErrMalformedHeader.
func header(h http.Header, n headerName) (string, error) {
	vs := h[n.key]
	switch {
	case len(vs) == 0 || (len(vs) == 1 && strings.TrimSpace(vs[0]) == ""):
		return "", fmt.Errorf("%s: %w", n.name, ErrMissingHeader)
	case len(vs) > 1:
		return "", fmt.Errorf("%s: sent %d times: %w", n.name, len(vs), ErrMalformedHeader)
	}
	v := strings.TrimSpace(vs[0])
	if err := checkHeaderValue(v); err != nil {
		return "", fmt.Errorf("%s: %w: %w", n.name, err, ErrMalformedHeader)
	}
	return v, nil
}

// checkHeaderValue accepts what a header value may carry here: at most MaxHeaderLen bytes of
// printable ASCII.
func checkHeaderValue(v string) error {
	if len(v) > MaxHeaderLen {
		return fmt.Errorf("%d bytes, over %d", len(v), MaxHeaderLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Errorf("byte 0x%02x at %d is not printable ASCII", v[i], i)
		}
	}
	return nil
}

// checkID refuses, at signing time, an id that could not arrive intact in a header: Verify
// would reject it or see a different (trimmed) value.
func checkID(scheme, id string) error {
	if id == "" {
		return fmt.Errorf("signature: %s: empty message id", scheme)
	}
	if id != strings.TrimSpace(id) {
		return fmt.Errorf("signature: %s: message id %s has surrounding spaces", scheme, clip(id))
	}
	if err := checkHeaderValue(id); err != nil {
		return fmt.Errorf("signature: %s: message id: %w", scheme, err)
	}
	return nil
}

// maxUnix is the largest timestamp a header may carry (12 digits, the year 33658).
const maxUnix = 999_999_999_999

// signingTime resolves a message's timestamp (zero means now) and refuses one that no
// verifier would parse: before 1970 or beyond 12 digits.
func signingTime(scheme string, ts time.Time, now func() time.Time) (string, error) {
	if ts.IsZero() {
		ts = now()
	}
	u := ts.Unix()
	if u < 0 || u > maxUnix {
		return "", fmt.Errorf("signature: %s: timestamp %d is outside 0..%d unix seconds", scheme, u, int64(maxUnix))
	}
	return strconv.FormatInt(u, 10), nil
}

// checkTimestamp applies the tolerance window around now.
func checkTimestamp(ts, now time.Time, tolerance time.Duration) error {
	switch {
	case now.Sub(ts) > tolerance:
		return fmt.Errorf("%s before now, tolerance %s: %w", now.Sub(ts).Truncate(time.Second), tolerance, ErrTimestampTooOld)
	case ts.Sub(now) > tolerance:
		return fmt.Errorf("%s after now, tolerance %s: %w", ts.Sub(now).Truncate(time.Second), tolerance, ErrTimestampTooNew)
	}
	return nil
}

// parseUnix parses decimal unix seconds strictly: digits only (no sign, no fraction), at most
// 12 of them, no leading zero. Canonical form matters: the signed content carries the header's
// text, so one instant must have exactly one accepted spelling.
func parseUnix(name, v string) (time.Time, error) {
	if v == "" || len(v) > 12 || (v[0] == '0' && len(v) > 1) {
		return time.Time{}, fmt.Errorf("%s: %s is not unix seconds: %w", name, clip(v), ErrMalformedHeader)
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, fmt.Errorf("%s: %s is not unix seconds: %w", name, clip(v), ErrMalformedHeader)
		}
		n = n*10 + int64(v[i]-'0')
	}
	return time.Unix(n, 0), nil
}

// ParseUnix parses a signed timestamp's text as the schemes do: decimal unix seconds, digits
// only (no sign, no fraction), at most 12 of them, no leading zero. Anything else is an
// ErrMalformedHeader error.
func ParseUnix(v string) (time.Time, error) { return parseUnix("timestamp", v) }

// clip quotes an untrusted value for an error message, cut to a readable length.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
