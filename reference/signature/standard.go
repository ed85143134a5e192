package signature

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// Standard Webhooks headers.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// Secret prefixes of Standard Webhooks: a symmetric secret, an ed25519 secret key (signs) and
// an ed25519 public key (verifies only).
const (
	PrefixSecret    = "whsec_"
	PrefixSecretKey = "whsk_"
	PrefixPublicKey = "whpk_"
)

// Bounds of a symmetric Standard Webhooks secret, in decoded bytes.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// Standard Webhooks headers as net/http stores them.
var (
	hWebhookID        = newHeaderName(HeaderWebhookID)
	hWebhookTimestamp = newHeaderName(HeaderWebhookTimestamp)
	hWebhookSignature = newHeaderName(HeaderWebhookSignature)
)

// standardHeaders are the names a Standard Webhooks scheme sends its id, timestamp and
// signature under: webhook-* for standard, svix-* for svix (which signs the same way).
type standardHeaders struct {
	name        string // the scheme's name
	id, ts, sig headerName
}

var webhookHeaders = standardHeaders{name: "standard", id: hWebhookID, ts: hWebhookTimestamp, sig: hWebhookSignature}

// whsecSchemes are the schemes whose secrets are Standard Webhooks secrets (whsec_ + base64).
var whsecSchemes = map[string]bool{"standard": true}

// StandardFamily reports whether scheme signs as Standard Webhooks does (standard, svix): a
// whsec_ secret, "id.timestamp.body", a list of "v1,<base64>" entries.
func StandardFamily(scheme string) bool { return whsecSchemes[scheme] }

// SecretFrom makes a secret of scheme's shape from key bytes (24 to 64 of them): whsec_ and
// base64 for the Standard Webhooks family (standard, svix), the hex of the bytes for the
// providers that key their HMAC with the secret string itself.
func SecretFrom(scheme string, key []byte) string {
	if whsecSchemes[scheme] {
		return PrefixSecret + base64.StdEncoding.EncodeToString(key)
	}
	return "hookproof_" + hex.EncodeToString(key)
}

// standard is Standard Webhooks: v1 (HMAC-SHA256) and v1a (ed25519) over "id.timestamp.body".
type standard struct {
	h       standardHeaders
	c       config
	hmacs   []*macKey
	private []ed25519.PrivateKey
	public  []ed25519.PublicKey
}

func newStandard(secrets []string, c config) (Scheme, error) {
	return newStandardWith(webhookHeaders, secrets, c)
}

func newStandardWith(hs standardHeaders, secrets []string, c config) (Scheme, error) {
	s := &standard{h: hs, c: c}
	for i, sec := range secrets {
		switch {
		case strings.HasPrefix(sec, PrefixSecretKey):
			k, err := decodeB64(sec, PrefixSecretKey, i)
			if err != nil {
				return nil, err
			}
			var priv ed25519.PrivateKey
			switch len(k) {
			case ed25519.SeedSize:
				priv = ed25519.NewKeyFromSeed(k)
			case ed25519.PrivateKeySize:
				priv = ed25519.PrivateKey(k)
			default:
				return nil, fmt.Errorf("signature: standard: secret %d: ed25519 secret key is %d bytes, want %d (seed) or %d: %w",
					i+1, len(k), ed25519.SeedSize, ed25519.PrivateKeySize, ErrBadSecret)
			}
			s.private = append(s.private, priv)
			s.public = append(s.public, priv.Public().(ed25519.PublicKey))
		case strings.HasPrefix(sec, PrefixPublicKey):
			k, err := decodeB64(sec, PrefixPublicKey, i)
			if err != nil {
				return nil, err
			}
			if len(k) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("signature: standard: secret %d: ed25519 public key is %d bytes, want %d: %w",
					i+1, len(k), ed25519.PublicKeySize, ErrBadSecret)
			}
			s.public = append(s.public, ed25519.PublicKey(k))
		default:
			k, err := decodeB64(sec, PrefixSecret, i)
			if err != nil {
				return nil, err
			}
			if len(k) < MinSecretBytes || len(k) > MaxSecretBytes {
				return nil, fmt.Errorf("signature: standard: secret %d decodes to %d bytes, want %d to %d: %w",
					i+1, len(k), MinSecretBytes, MaxSecretBytes, ErrBadSecret)
			}
			s.hmacs = append(s.hmacs, newMACKey(k))
		}
	}
	return s, nil
}

// decodeB64 strips prefix (optional for whsec_, as the official libraries do) and decodes
// standard base64 strictly.
func decodeB64(sec, prefix string, i int) ([]byte, error) {
	// The strict decoder still skips CR and LF; a secret carrying them was pasted wrongly.
	if strings.ContainsAny(sec, "\r\n") {
		return nil, fmt.Errorf("signature: standard: secret %d: %s… contains a line break: %w", i+1, redactedHint(sec), ErrBadSecret)
	}
	k, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(sec, prefix))
	if err != nil {
		return nil, fmt.Errorf("signature: standard: secret %d: %s… is not %s followed by standard base64 (%v): %w",
			i+1, redactedHint(sec), prefix, err, ErrBadSecret)
	}
	return k, nil
}

// redactedHint shows just enough of a secret to recognise which one was meant.
func redactedHint(s string) string {
	if i := strings.IndexByte(s, '_'); i >= 0 && i < 6 {
		return s[:i+1]
	}
	return ""
}

func (s *standard) Name() string { return s.h.name }

func (s *standard) Traits() Traits {
	return Traits{IDHeader: s.h.id.name, IDSigned: true, TimestampHeader: s.h.ts.name,
		SignatureHeader: s.h.sig.name, Timestamped: true, Tolerance: s.c.tolerance}
}

// signedContent is "id.timestamp.body", for ed25519, which needs the whole message at once.
func signedContent(id, ts string, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(ts)+len(body)+2)
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}

func (s *standard) Sign(msg Message) (http.Header, error) {
	if err := checkID(s.h.name, msg.ID); err != nil {
		return nil, err
	}
	if len(s.hmacs) == 0 && len(s.private) == 0 {
		return nil, fmt.Errorf("signature: %s: only public keys given, cannot sign: %w", s.h.name, ErrBadSecret)
	}
	ts, err := signingTime(s.h.name, msg.Timestamp, s.c.now)
	if err != nil {
		return nil, err
	}
	// The signature header's entries, space-separated, in one buffer: on the stack for up to
	// two HMAC secrets ("v1," and 44 characters each).
	var room [96]byte
	sigs := room[:0]
	for _, k := range s.hmacs {
		sigs = appendEntry(sigs, "v1,")
		sigs = k.appendMAC(sigs, base64MAC, msg.Body, msg.ID, ".", ts, ".")
	}
	if len(s.private) > 0 {
		content := signedContent(msg.ID, ts, msg.Body)
		for _, k := range s.private {
			sigs = appendEntry(sigs, "v1a,")
			sigs = base64.StdEncoding.AppendEncode(sigs, ed25519.Sign(k, content))
		}
	}
	return signedHeader(s.h.id.key, msg.ID, s.h.ts.key, ts, s.h.sig.key, string(sigs)), nil
}

// appendEntry starts a signature entry with its version, after a space unless it is the first.
func appendEntry(dst []byte, version string) []byte {
	if len(dst) > 0 {
		dst = append(dst, ' ')
	}
	return append(dst, version...)
}

// Verify walks the space-separated "version,signature" entries. v1 entries are compared as
// text with the expected base64 MAC; v1a entries must be canonical (strict) base64 of an
// ed25519 signature. Entries of other versions, and entries without a comma, are skipped.
func (s *standard) Verify(h http.Header, body []byte) (Verified, error) {
	id, err := header(h, s.h.id)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.h.name, err)
	}
	tsv, err := header(h, s.h.ts)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.h.name, err)
	}
	sigv, err := header(h, s.h.sig)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.h.name, err)
	}
	ts, err := parseUnix(s.h.ts.name, tsv)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.h.name, err)
	}
	if err := checkTimestamp(ts, s.c.now(), s.c.tolerance); err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.h.name, err)
	}
	ok := false
	for _, k := range s.hmacs {
		st := k.get()
		want := st.text[:base64.StdEncoding.EncodedLen(sha256.Size)]
		base64.StdEncoding.Encode(want, st.sum(body, id, ".", tsv, "."))
		for rest := sigv; rest != "" && !ok; {
			var entry string
			entry, rest, _ = strings.Cut(rest, " ")
			if sig, found := strings.CutPrefix(entry, "v1,"); found {
				sig, _, _ = strings.Cut(sig, ",")
				ok = hmac.Equal([]byte(sig), want)
			}
		}
		k.put(st)
		if ok {
			return Verified{ID: id, Timestamp: ts}, nil
		}
	}
	if len(s.public) > 0 {
		var content []byte // built for the first v1a entry only
		for rest := sigv; rest != ""; {
			var entry string
			entry, rest, _ = strings.Cut(rest, " ")
			sig, found := strings.CutPrefix(entry, "v1a,")
			if !found {
				continue
			}
			sig, _, _ = strings.Cut(sig, ",")
			if len(sig) != base64.StdEncoding.EncodedLen(ed25519.SignatureSize) {
				continue // also keeps the decode within raw
			}
			var raw [ed25519.SignatureSize + 2]byte // 88 characters decode into up to 66 bytes
			n, err := base64.StdEncoding.Strict().Decode(raw[:], []byte(sig))
			if err != nil || n != ed25519.SignatureSize {
				continue
			}
			if content == nil {
				content = signedContent(id, tsv, body)
			}
			for _, pub := range s.public {
				if ed25519.Verify(pub, content, raw[:n]) {
					return Verified{ID: id, Timestamp: ts}, nil
				}
			}
		}
	}
	return Verified{}, fmt.Errorf("signature: %s: %w", s.h.name, ErrInvalidSignature)
}

// Decisions on the receiver requirements (see LevelRule), by what the Standard Webhooks spec
// and its libraries do: github.com/standard-webhooks/standard-webhooks/libraries/go Verify and
// the npm standardwebhooks Webhook.verify (suites/receiver/official).
func init() {
	registerLevels("standard", withShared(map[string]LevelRule{
		"RCV-SIG-001":  {"MUST", "standard-webhooks Verify (Go and Node) accepts a delivery signed over id.timestamp.body with the whsec_ secret"},
		"RCV-SIG-002":  {"MUST", "standard-webhooks Verify compares each v1 entry with the HMAC of id.timestamp.body and refuses a mismatch (no matching signature found)"},
		"RCV-SIG-003":  {"MUST", "standard-webhooks Verify computes the HMAC with its own secret, so another secret's signature matches no entry"},
		"RCV-SIG-004":  {"MUST", "standard-webhooks Verify refuses a delivery missing webhook-id, webhook-timestamp or webhook-signature (missing required headers), and the spec signs the id and the timestamp"},
		"RCV-SIG-005":  {"MUST", "standard-webhooks Verify compares the base64 text of each v1 entry with the expected one, so a truncated signature matches nothing"},
		"RCV-SIG-006":  {"MUST", "standard-webhooks Verify skips an entry without its v1, prefix and compares the base64 text exactly, so neither malformed signature matches (an error, not a crash)"},
		"RCV-SIG-007":  {"MUST", "standard-webhooks Verify compares the empty value of 'v1,' with the expected base64 text and finds no match"},
		"RCV-SIG-008":  {"MUST", "the spec makes webhook-timestamp an integer: standard-webhooks Go refuses a non-integer (strconv.ParseInt), and the Node library signs over parseInt's integer, so the case's signature over the literal text does not match"},
		"RCV-SIG-009":  {"MUST", "standard-webhooks Verify splits the list on spaces, skips entries whose version is not v1 and accepts any matching v1 entry"},
		"RCV-SIG-010":  {"MUST", "standard-webhooks Verify takes the raw payload (Go: bytes; Node: the raw string or Buffer) and signs over it unchanged"},
		"RCV-SIG-011":  {"MUST", "standard-webhooks Verify signs the payload it is given, so a body changed after signing matches no entry"},
		"RCV-SIG-012":  {"MUST", "standard-webhooks Verify finds no matching entry in a 16 KiB header, and Node's HTTP server answers such a header 431 before the library sees it"},
		"RCV-SIG-013":  {"MUST", "standard-webhooks Verify finds no matching entry among non-ASCII bytes and returns an error, which the documented handler answers 400"},
		"RCV-SIG-014":  {"MUST", "the documented handler returns when standard-webhooks Verify fails, before any processing, so a refused delivery has no effect"},
		"RCV-SIG-015":  {"SHOULD", "kept at the catalogue level: standard-webhooks Verify's errors (no matching signature found) name neither the expected signature nor the secret, but what the handler answers is the application's"},
		"RCV-TS-001":   {"MUST", "standard-webhooks Verify refuses a timestamp more than 5 minutes old (message timestamp too old), in Go and Node"},
		"RCV-TS-002":   {"MUST", "standard-webhooks Verify refuses a timestamp more than 5 minutes ahead (message timestamp too new), in Go and Node"},
		"RCV-TS-003":   {"MUST", "standard-webhooks Verify accepts any timestamp within 5 minutes of now, in the past or in the future"},
		"RCV-TS-004":   {"MUST", "standard-webhooks Verify checks the timestamp on every call, so the byte-for-byte replay is refused once it is more than 5 minutes old"},
		"RCV-ACK-001":  {"MUST", whySenderContract},
		"RCV-ACK-002":  {"SHOULD", whySenderContract},
		"RCV-ACK-003":  {"MUST", whySenderContract},
		"RCV-ACK-004":  {"MUST", whyRedirect},
		"RCV-IDEM-001": {"MUST", "kept at the catalogue level: no library deduplicates; the Standard Webhooks spec makes webhook-id the idempotency key of a message that may be sent more than once"},
		"RCV-IDEM-002": {"MUST", "kept at the catalogue level: no library deduplicates; the Standard Webhooks spec makes webhook-id the idempotency key of a message that may be sent more than once"},
		"RCV-IDEM-003": {"MUST", "kept at the catalogue level: no library deduplicates; the Standard Webhooks spec retries a message until it is acknowledged, under the same webhook-id"},
		"RCV-ORD-001":  {"SHOULD", whyNoOrdering},
		"RCV-ORD-002":  {"MUST", whyNoOrdering},
	}))
}
