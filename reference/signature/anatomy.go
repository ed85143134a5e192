package signature

import (
	"net/http"
	"regexp"
	"strings"
)

// Anatomy is how a scheme lays out its signature header, for code that crafts altered or
// malformed signatures by hand (the conformance suites) or checks a sender's. Every Scheme
// that New returns implements it, so that such code asks the scheme instead of switching on
// its name.
type Anatomy interface {
	// SplitSignature splits the first signature of header value v into what precedes it (a
	// version tag, Stripe's "t=…,v1=") and the encoded MAC.
	SplitSignature(v string) (prefix, sig string)
	// Unprefixed is v with the first signature's version key removed: still the MAC, no
	// longer well formed ("t=…,<hex>", a bare MAC, or for shopify a foreign "sha256=" key).
	Unprefixed(v string) string
	// SignatureEncoding names how the MAC is written: "base64" or "hex".
	SignatureEncoding() string
	// WellFormed reports whether v has the shape of the scheme's signature header.
	WellFormed(v string) bool
	// SignatureCount counts the signatures in v (a list for standard and stripe).
	SignatureCount(v string) int
	// SignedTimestamp returns the text of the timestamp h carries for the signature; ok is
	// false when the scheme signs none.
	SignedTimestamp(h http.Header) (ts string, ok bool)
	// SignLiteral signs body (and id) over ts given as literal text, not necessarily an
	// integer, with the first secret; ok is false when the scheme signs no timestamp or its
	// secret cannot (an ed25519 public key). Only the scheme's own headers are returned.
	SignLiteral(id, ts string, body []byte) (h http.Header, ok bool)
	// SignatureLists are header values holding several signature entries, one of them valid
	// (valid, the whole valid header) and the others bogus (a well-encoded wrong MAC), for
	// the schemes whose header is a list; nil for the others.
	SignatureLists(valid, bogus string) []SignatureList
	// Entries splits header value v into one header value per signature entry, each of which
	// verifies alone when its entry does: for standard and svix each space-separated entry,
	// for stripe "t=…,v1=…" for each v1 entry (other versions skipped); for the schemes whose
	// header holds one signature, v itself. Code that says which entry of a list matched
	// (hookproof listen) verifies them one by one.
	Entries(v string) []string
}

// SignatureList is one header value of Anatomy.SignatureLists.
type SignatureList struct {
	Note  string
	Value string
}

// AnatomyOf returns s's anatomy.
func AnatomyOf(s Scheme) Anatomy { return s.(Anatomy) }

var (
	_ Anatomy = (*standard)(nil)
	_ Anatomy = (*stripe)(nil)
	_ Anatomy = (*bodyMAC)(nil)
	_ Anatomy = (*slack)(nil)
)

// --- standard and svix: "v1,<base64>" entries, space-separated ----------------------------

var standardFormat = regexp.MustCompile(`^[a-z0-9]+,[A-Za-z0-9+/]+={0,2}( [a-z0-9]+,[A-Za-z0-9+/]+={0,2})*$`)

func (s *standard) SplitSignature(v string) (string, string) {
	first, _, _ := strings.Cut(v, " ")
	tag, sig, _ := strings.Cut(first, ",")
	return tag + ",", sig
}
func (s *standard) Unprefixed(v string) string  { _, sig := s.SplitSignature(v); return sig }
func (s *standard) SignatureEncoding() string   { return "base64" }
func (s *standard) WellFormed(v string) bool    { return standardFormat.MatchString(v) }
func (s *standard) SignatureCount(v string) int { return len(strings.Fields(v)) }
func (s *standard) SignedTimestamp(h http.Header) (string, bool) {
	return h.Get(s.h.ts.name), true
}
func (s *standard) SignLiteral(id, ts string, body []byte) (http.Header, bool) {
	if len(s.hmacs) == 0 {
		return nil, false
	}
	v := s.hmacs[0].appendMAC([]byte("v1,"), base64MAC, body, id, ".", ts, ".")
	return signedHeader(s.h.id.key, id, s.h.ts.key, ts, s.h.sig.key, string(v)), true
}
func (s *standard) Entries(v string) []string { return strings.Fields(v) }
func (s *standard) SignatureLists(valid, bogus string) []SignatureList {
	return []SignatureList{
		{"valid v1 entry first, a wrong v1 entry after it", valid + " v1," + bogus},
		{"a wrong v1 entry first, the valid one last", "v1," + bogus + " " + valid},
		{"an unknown version (v9) and an undecodable v1a entry before the valid one",
			"v9," + bogus + " v1a," + strings.Repeat("A", 86) + "== " + valid},
	}
}

// --- stripe: "t=<ts>,v1=<hex>[,v1=<hex>]" ------------------------------------------------

var stripeFormat = regexp.MustCompile(`^t=[0-9]+(,[a-z0-9]+=[0-9a-f]+)+$`)

func (s *stripe) SplitSignature(v string) (string, string) {
	i := strings.Index(v, "v1=")
	if i < 0 {
		return v, ""
	}
	end := strings.IndexByte(v[i:], ',')
	if end < 0 {
		return v[:i+3], v[i+3:]
	}
	return v[:i+3], v[i+3 : i+end]
}
func (s *stripe) Unprefixed(v string) string {
	pre, sig := s.SplitSignature(v)
	return strings.TrimSuffix(pre, "v1=") + sig // "t=…,<hex>"
}
func (s *stripe) SignatureEncoding() string { return "hex" }
func (s *stripe) WellFormed(v string) bool  { return stripeFormat.MatchString(v) }
func (s *stripe) SignatureCount(v string) int {
	n := 0
	for _, part := range strings.Split(v, ",") {
		if strings.HasPrefix(strings.TrimSpace(part), "v1=") {
			n++
		}
	}
	return n
}
func (s *stripe) SignedTimestamp(h http.Header) (string, bool) {
	for _, part := range strings.Split(h.Get(HeaderStripeSignature), ",") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			return t, true
		}
	}
	return "", true
}
func (s *stripe) SignLiteral(_, ts string, body []byte) (http.Header, bool) {
	v := s.keys[0].appendMAC([]byte("t="+ts+",v1="), hexMAC, body, ts, ".")
	return signedHeader(hStripeSignature.key, string(v)), true
}
func (s *stripe) Entries(v string) []string {
	var ts string
	var sigs []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if t, ok := strings.CutPrefix(part, "t="); ok && ts == "" {
			ts = t
		} else if strings.HasPrefix(part, "v1=") {
			sigs = append(sigs, part)
		}
	}
	if len(sigs) == 0 {
		return []string{v}
	}
	out := make([]string, len(sigs))
	for i, sig := range sigs {
		out[i] = "t=" + ts + "," + sig
	}
	return out
}
func (s *stripe) SignatureLists(valid, bogus string) []SignatureList {
	pre, sig := s.SplitSignature(valid)
	return []SignatureList{
		{"valid v1 first, a wrong v1 after it", valid + ",v1=" + bogus},
		{"a wrong v1 first, the valid v1 last", pre + bogus + ",v1=" + sig},
		{"an unknown scheme (v0) before the valid v1", strings.TrimSuffix(pre, "v1=") + "v0=" + bogus + ",v1=" + sig},
	}
}

// --- github and shopify: one MAC of the body ----------------------------------------------

var (
	githubFormat  = regexp.MustCompile(`^sha256=[0-9a-f]{64}$`)
	shopifyFormat = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)
)

func (s *bodyMAC) SplitSignature(v string) (string, string) {
	return s.prefix, strings.TrimPrefix(v, s.prefix)
}
func (s *bodyMAC) Unprefixed(v string) string {
	_, sig := s.SplitSignature(v)
	if s.prefix == "" {
		return "sha256=" + sig // shopify: a version key it does not have
	}
	return sig
}
func (s *bodyMAC) SignatureEncoding() string {
	if s.enc == base64MAC {
		return "base64"
	}
	return "hex"
}
func (s *bodyMAC) WellFormed(v string) bool {
	if s.enc == base64MAC {
		return shopifyFormat.MatchString(v)
	}
	return githubFormat.MatchString(v)
}
func (s *bodyMAC) SignatureCount(string) int                              { return 1 }
func (s *bodyMAC) SignedTimestamp(http.Header) (string, bool)             { return "", false }
func (s *bodyMAC) SignLiteral(string, string, []byte) (http.Header, bool) { return nil, false }
func (s *bodyMAC) SignatureLists(string, string) []SignatureList          { return nil }
func (s *bodyMAC) Entries(v string) []string                              { return []string{v} }

// --- slack: "v0=<hex>" over "v0:<ts>:<body>" ----------------------------------------------

var slackFormat = regexp.MustCompile(`^v0=[0-9a-f]{64}$`)

func (s *slack) SplitSignature(v string) (string, string) { return "v0=", strings.TrimPrefix(v, "v0=") }
func (s *slack) Unprefixed(v string) string               { return strings.TrimPrefix(v, "v0=") }
func (s *slack) SignatureEncoding() string                { return "hex" }
func (s *slack) WellFormed(v string) bool                 { return slackFormat.MatchString(v) }
func (s *slack) SignatureCount(string) int                { return 1 }
func (s *slack) SignedTimestamp(h http.Header) (string, bool) {
	return h.Get(HeaderSlackTimestamp), true
}
func (s *slack) SignLiteral(_, ts string, body []byte) (http.Header, bool) {
	v := s.keys[0].appendMAC([]byte("v0="), hexMAC, body, "v0:", ts, ":")
	return signedHeader(hSlackTimestamp.key, ts, hSlackSignature.key, string(v)), true
}
func (s *slack) SignatureLists(string, string) []SignatureList { return nil }
func (s *slack) Entries(v string) []string                     { return []string{v} }

// Properties a receiver requirement may depend on, for deciding where it applies
// (Has): the catalogue names them instead of listing schemes.
const (
	PropSignedTimestamp  = "signed-timestamp"   // the signature covers a timestamp checked against a tolerance
	PropSignatureList    = "signature-list"     // the signature header may hold several entries
	PropUnsignedIDHeader = "unsigned-id-header" // a delivery-id header the signature does not cover
	PropURLVerification  = "url-verification"   // the provider checks a new endpoint with a signed challenge (Slack)
)

// Properties lists the names Has knows.
func Properties() []string {
	return []string{PropSignedTimestamp, PropSignatureList, PropUnsignedIDHeader, PropURLVerification}
}

// Has reports whether scheme has the named property; an unknown scheme or property has none.
func Has(scheme, prop string) bool {
	s, err := New(scheme, SecretFrom(scheme, []byte("hookproof-scheme-properties-key")))
	if err != nil {
		return false
	}
	tr := s.Traits()
	switch prop {
	case PropSignedTimestamp:
		return tr.Timestamped
	case PropSignatureList:
		return AnatomyOf(s).SignatureLists("v", "s") != nil
	case PropUnsignedIDHeader:
		return tr.IDHeader != "" && !tr.IDSigned
	case PropURLVerification:
		return tr.URLVerification
	}
	return false
}
