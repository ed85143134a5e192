package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Provider headers.
const (
	HeaderStripeSignature  = "Stripe-Signature"
	HeaderGitHubSignature  = "X-Hub-Signature-256"
	HeaderGitHubDelivery   = "X-GitHub-Delivery"
	HeaderShopifyHmac      = "X-Shopify-Hmac-Sha256"
	HeaderShopifyWebhookID = "X-Shopify-Webhook-Id"
	HeaderSlackSignature   = "X-Slack-Signature"
	HeaderSlackTimestamp   = "X-Slack-Request-Timestamp"
)

// The provider schemes key HMAC-SHA256 with the raw secret string (no decoding). With several
// secrets, Stripe signs with each (its header carries a list); the others send one signature,
// made with the first secret, and accept any secret on verify.

func rawKeys(secrets []string) [][]byte {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return keys
}

func hmacSum(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// matchAny compares got (already decoded) with the MAC of every key, in constant time per key.
func matchAny(keys [][]byte, got []byte, parts ...[]byte) bool {
	ok := false
	for _, k := range keys {
		if hmac.Equal(got, hmacSum(k, parts...)) {
			ok = true
		}
	}
	return ok
}

// --- stripe -----------------------------------------------------------------

type stripe struct {
	c    config
	keys [][]byte
}

func newStripe(secrets []string, c config) (Scheme, error) { return &stripe{c, rawKeys(secrets)}, nil }

func (s *stripe) Name() string { return "stripe" }
func (s *stripe) Traits() Traits {
	return Traits{SignatureHeader: HeaderStripeSignature, Timestamped: true, Tolerance: s.c.tolerance}
}

func (s *stripe) Sign(msg Message) (http.Header, error) {
	ts := msg.Timestamp
	if ts.IsZero() {
		ts = s.c.now()
	}
	t := []byte(strconv.FormatInt(ts.Unix(), 10))
	var b strings.Builder
	b.WriteString("t=")
	b.Write(t)
	for _, k := range s.keys {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(hmacSum(k, t, []byte("."), msg.Body)))
	}
	h := make(http.Header, 1)
	h.Set(HeaderStripeSignature, b.String())
	return h, nil
}

func (s *stripe) Verify(h http.Header, body []byte) (Verified, error) {
	v, err := header(h, HeaderStripeSignature)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: stripe: %w", err)
	}
	var tv string
	var sigs []string
	for _, item := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return Verified{}, fmt.Errorf("signature: stripe: %s: item %q is not key=value: %w", HeaderStripeSignature, item, ErrMalformedHeader)
		}
		switch k {
		case "t":
			if tv != "" {
				return Verified{}, fmt.Errorf("signature: stripe: %s: t given twice: %w", HeaderStripeSignature, ErrMalformedHeader)
			}
			tv = val
		case "v1":
			sigs = append(sigs, val)
		}
	}
	if tv == "" {
		return Verified{}, fmt.Errorf("signature: stripe: %s: no t=: %w", HeaderStripeSignature, ErrMalformedHeader)
	}
	ts, err := parseUnix(HeaderStripeSignature+" t", tv)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: stripe: %w", err)
	}
	if err := checkTimestamp(ts, s.c.now(), s.c.tolerance); err != nil {
		return Verified{}, fmt.Errorf("signature: stripe: %w", err)
	}
	for _, sig := range sigs {
		raw, err := hex.DecodeString(sig)
		if err != nil || len(raw) != sha256.Size {
			continue
		}
		if matchAny(s.keys, raw, []byte(tv), []byte("."), body) {
			return Verified{ID: BodyID(body), Timestamp: ts}, nil
		}
	}
	return Verified{}, fmt.Errorf("signature: stripe: %w", ErrInvalidSignature)
}

// --- github and shopify: a MAC of the raw body, id in a header ----------------

type bodyMAC struct {
	name, sigHeader, idHeader, prefix string
	encode                            func([]byte) string
	decode                            func(string) ([]byte, error)
	c                                 config
	keys                              [][]byte
}

func newGitHub(secrets []string, c config) (Scheme, error) {
	return &bodyMAC{name: "github", sigHeader: HeaderGitHubSignature, idHeader: HeaderGitHubDelivery,
		prefix: "sha256=", encode: hex.EncodeToString, decode: hex.DecodeString, c: c, keys: rawKeys(secrets)}, nil
}

func newShopify(secrets []string, c config) (Scheme, error) {
	return &bodyMAC{name: "shopify", sigHeader: HeaderShopifyHmac, idHeader: HeaderShopifyWebhookID,
		encode: base64.StdEncoding.EncodeToString, decode: base64.StdEncoding.Strict().DecodeString, c: c, keys: rawKeys(secrets)}, nil
}

func (s *bodyMAC) Name() string { return s.name }
func (s *bodyMAC) Traits() Traits {
	return Traits{IDHeader: s.idHeader, SignatureHeader: s.sigHeader}
}

func (s *bodyMAC) Sign(msg Message) (http.Header, error) {
	if msg.ID == "" {
		return nil, fmt.Errorf("signature: %s: empty message id", s.name)
	}
	h := make(http.Header, 2)
	h.Set(s.idHeader, msg.ID)
	h.Set(s.sigHeader, s.prefix+s.encode(hmacSum(s.keys[0], msg.Body)))
	return h, nil
}

func (s *bodyMAC) Verify(h http.Header, body []byte) (Verified, error) {
	id, err := header(h, s.idHeader)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.name, err)
	}
	v, err := header(h, s.sigHeader)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.name, err)
	}
	enc, ok := strings.CutPrefix(v, s.prefix)
	if !ok {
		return Verified{}, fmt.Errorf("signature: %s: %s does not start with %q: %w", s.name, s.sigHeader, s.prefix, ErrMalformedHeader)
	}
	raw, err := s.decode(enc)
	if err != nil || len(raw) != sha256.Size {
		return Verified{}, fmt.Errorf("signature: %s: %s is not a SHA-256 MAC: %w", s.name, s.sigHeader, ErrMalformedHeader)
	}
	if !matchAny(s.keys, raw, body) {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.name, ErrInvalidSignature)
	}
	return Verified{ID: id}, nil
}

// --- slack ------------------------------------------------------------------

type slack struct {
	c    config
	keys [][]byte
}

func newSlack(secrets []string, c config) (Scheme, error) { return &slack{c, rawKeys(secrets)}, nil }

func (s *slack) Name() string { return "slack" }
func (s *slack) Traits() Traits {
	return Traits{TimestampHeader: HeaderSlackTimestamp, SignatureHeader: HeaderSlackSignature,
		Timestamped: true, Tolerance: s.c.tolerance}
}

func (s *slack) Sign(msg Message) (http.Header, error) {
	ts := msg.Timestamp
	if ts.IsZero() {
		ts = s.c.now()
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	h := make(http.Header, 2)
	h.Set(HeaderSlackTimestamp, t)
	h.Set(HeaderSlackSignature, "v0="+hex.EncodeToString(hmacSum(s.keys[0], []byte("v0:"+t+":"), msg.Body)))
	return h, nil
}

func (s *slack) Verify(h http.Header, body []byte) (Verified, error) {
	tv, err := header(h, HeaderSlackTimestamp)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: slack: %w", err)
	}
	v, err := header(h, HeaderSlackSignature)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: slack: %w", err)
	}
	ts, err := parseUnix(HeaderSlackTimestamp, tv)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: slack: %w", err)
	}
	if err := checkTimestamp(ts, s.c.now(), s.c.tolerance); err != nil {
		return Verified{}, fmt.Errorf("signature: slack: %w", err)
	}
	enc, ok := strings.CutPrefix(v, "v0=")
	if !ok {
		return Verified{}, fmt.Errorf("signature: slack: %s does not start with \"v0=\": %w", HeaderSlackSignature, ErrMalformedHeader)
	}
	raw, err := hex.DecodeString(enc)
	if err != nil || len(raw) != sha256.Size {
		return Verified{}, fmt.Errorf("signature: slack: %s is not a SHA-256 MAC: %w", HeaderSlackSignature, ErrMalformedHeader)
	}
	if !matchAny(s.keys, raw, []byte("v0:"+tv+":"), body) {
		return Verified{}, fmt.Errorf("signature: slack: %w", ErrInvalidSignature)
	}
	return Verified{ID: BodyID(body), Timestamp: ts}, nil
}
