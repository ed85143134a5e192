package signature

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
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

// standard is Standard Webhooks: v1 (HMAC-SHA256) and v1a (ed25519) over "id.timestamp.body".
type standard struct {
	c       config
	hmacs   [][]byte
	private []ed25519.PrivateKey
	public  []ed25519.PublicKey
}

func newStandard(secrets []string, c config) (Scheme, error) {
	s := &standard{c: c}
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
			s.hmacs = append(s.hmacs, k)
		}
	}
	return s, nil
}

// decodeB64 strips prefix (optional for whsec_, as the official libraries do) and decodes
// standard base64 strictly.
func decodeB64(sec, prefix string, i int) ([]byte, error) {
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

func (s *standard) Name() string { return "standard" }

func (s *standard) Traits() Traits {
	return Traits{IDHeader: HeaderWebhookID, TimestampHeader: HeaderWebhookTimestamp,
		SignatureHeader: HeaderWebhookSignature, Timestamped: true, Tolerance: s.c.tolerance}
}

// signedContent is "id.timestamp.body".
func signedContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+22)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

func hmacB64(key, content []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(content)
	sum := m.Sum(nil)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum)
	return out
}

func (s *standard) Sign(msg Message) (http.Header, error) {
	if msg.ID == "" {
		return nil, fmt.Errorf("signature: standard: empty message id")
	}
	if len(s.hmacs) == 0 && len(s.private) == 0 {
		return nil, fmt.Errorf("signature: standard: only public keys given, cannot sign: %w", ErrBadSecret)
	}
	ts := msg.Timestamp
	if ts.IsZero() {
		ts = s.c.now()
	}
	content := signedContent(msg.ID, ts.Unix(), msg.Body)
	sigs := make([]string, 0, len(s.hmacs)+len(s.private))
	for _, k := range s.hmacs {
		sigs = append(sigs, "v1,"+string(hmacB64(k, content)))
	}
	for _, k := range s.private {
		sigs = append(sigs, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(k, content)))
	}
	h := make(http.Header, 3)
	h.Set(HeaderWebhookID, msg.ID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}

func (s *standard) Verify(h http.Header, body []byte) (Verified, error) {
	id, err := header(h, HeaderWebhookID)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: standard: %w", err)
	}
	tsv, err := header(h, HeaderWebhookTimestamp)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: standard: %w", err)
	}
	sigv, err := header(h, HeaderWebhookSignature)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: standard: %w", err)
	}
	ts, err := parseUnix(HeaderWebhookTimestamp, tsv)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: standard: %w", err)
	}
	if err := checkTimestamp(ts, s.c.now(), s.c.tolerance); err != nil {
		return Verified{}, fmt.Errorf("signature: standard: %w", err)
	}
	content := signedContent(id, ts.Unix(), body)
	var expected [][]byte
	for _, k := range s.hmacs {
		expected = append(expected, hmacB64(k, content))
	}
	for _, entry := range strings.Split(sigv, " ") {
		version, rest, ok := strings.Cut(entry, ",")
		if !ok {
			continue
		}
		sig, _, _ := strings.Cut(rest, ",")
		switch version {
		case "v1":
			for _, e := range expected {
				if hmac.Equal([]byte(sig), e) {
					return Verified{ID: id, Timestamp: ts}, nil
				}
			}
		case "v1a":
			raw, err := base64.StdEncoding.DecodeString(sig)
			if err != nil || len(raw) != ed25519.SignatureSize {
				continue
			}
			for _, pub := range s.public {
				if ed25519.Verify(pub, content, raw) {
					return Verified{ID: id, Timestamp: ts}, nil
				}
			}
		}
	}
	return Verified{}, fmt.Errorf("signature: standard: %w", ErrInvalidSignature)
}
