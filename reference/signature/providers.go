package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
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

var (
	hStripeSignature  = newHeaderName(HeaderStripeSignature)
	hGitHubSignature  = newHeaderName(HeaderGitHubSignature)
	hGitHubDelivery   = newHeaderName(HeaderGitHubDelivery)
	hShopifyHmac      = newHeaderName(HeaderShopifyHmac)
	hShopifyWebhookID = newHeaderName(HeaderShopifyWebhookID)
	hSlackSignature   = newHeaderName(HeaderSlackSignature)
	hSlackTimestamp   = newHeaderName(HeaderSlackTimestamp)

	hGitHubSignatureSHA1 = newHeaderName(HeaderGitHubSignatureSHA1)
)

// The provider schemes key HMAC-SHA256 with the raw secret string (no decoding). With several
// secrets, Stripe signs with each (its header carries a list); the others send one signature,
// made with the first secret, and accept any secret on verify.

func rawKeys(secrets []string) []*macKey {
	keys := make([]*macKey, len(secrets))
	for i, s := range secrets {
		keys[i] = newMACKey([]byte(s))
	}
	return keys
}

// decodeHexMAC decodes a hex SHA-256 MAC (either case, as the providers' libraries accept) into
// dst; ok is false for anything else.
func decodeHexMAC(dst *[sha256.Size]byte, s string) bool {
	if len(s) != hex.EncodedLen(sha256.Size) {
		return false
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err == nil
}

// --- stripe -----------------------------------------------------------------

type stripe struct {
	c    config
	keys []*macKey
}

func newStripe(secrets []string, c config) (Scheme, error) { return &stripe{c, rawKeys(secrets)}, nil }

func (s *stripe) Name() string { return "stripe" }
func (s *stripe) Traits() Traits {
	return Traits{SignatureHeader: HeaderStripeSignature, Timestamped: true, Tolerance: s.c.tolerance, BodyShape: "stripe-event"}
}

func (s *stripe) Sign(msg Message) (http.Header, error) {
	t, err := signingTime("stripe", msg.Timestamp, s.c.now)
	if err != nil {
		return nil, err
	}
	// "t=…,v1=…" in one buffer, on the stack for up to two secrets.
	var room [160]byte
	v := append(room[:0], "t="...)
	v = append(v, t...)
	for _, k := range s.keys {
		v = append(v, ",v1="...)
		v = k.appendMAC(v, hexMAC, msg.Body, t, ".")
	}
	return signedHeader(hStripeSignature.key, string(v)), nil
}

// Verify reads "t=…,v1=…[,v1=…]": every item must be key=value and t must appear exactly once;
// v1 values that are not 64 hex digits, and items with other keys (v0, …), are skipped.
func (s *stripe) Verify(h http.Header, body []byte) (Verified, error) {
	v, err := header(h, hStripeSignature)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: stripe: %w", err)
	}
	var tv string
	seenT := false
	for rest, more := v, true; more; {
		var item string
		item, rest, more = strings.Cut(rest, ",")
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return Verified{}, fmt.Errorf("signature: stripe: %s: item %s is not key=value: %w", HeaderStripeSignature, clip(item), ErrMalformedHeader)
		}
		if k == "t" {
			if seenT {
				return Verified{}, fmt.Errorf("signature: stripe: %s: t given twice: %w", HeaderStripeSignature, ErrMalformedHeader)
			}
			seenT, tv = true, val
		}
	}
	if !seenT {
		return Verified{}, fmt.Errorf("signature: stripe: %s: no t=: %w", HeaderStripeSignature, ErrMalformedHeader)
	}
	ts, err := parseUnix(HeaderStripeSignature+" t", tv)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: stripe: %w", err)
	}
	if err := checkTimestamp(ts, s.c.now(), s.c.tolerance); err != nil {
		return Verified{}, fmt.Errorf("signature: stripe: %w", err)
	}
	ok := false
	for _, k := range s.keys {
		st := k.get()
		want := st.sum(body, tv, ".")
		for rest, more := v, true; more && !ok; {
			var item string
			item, rest, more = strings.Cut(rest, ",")
			sig, found := strings.CutPrefix(strings.TrimSpace(item), "v1=")
			var raw [sha256.Size]byte
			ok = found && decodeHexMAC(&raw, sig) && hmac.Equal(raw[:], want)
		}
		k.put(st)
		if ok {
			return Verified{ID: deliveryID(h, body), Timestamp: ts}, nil
		}
	}
	return Verified{}, fmt.Errorf("signature: stripe: %w", ErrInvalidSignature)
}

// --- github and shopify: a MAC of the raw body, id in a header ----------------

type bodyMAC struct {
	name             string
	sigHeader, idHdr headerName
	prefix           string
	enc              macEncoding // hex (github) or standard base64 (shopify)
	c                config
	keys             []*macKey
	// sha1Key, when set (github), also signs the legacy X-Hub-Signature (HMAC-SHA1, hex), which
	// GitHub still sends beside X-Hub-Signature-256. Verify never looks at it.
	sha1Key []byte
}

func newGitHub(secrets []string, c config) (Scheme, error) {
	return &bodyMAC{name: "github", sigHeader: hGitHubSignature, idHdr: hGitHubDelivery,
		prefix: "sha256=", enc: hexMAC, c: c, keys: rawKeys(secrets), sha1Key: []byte(secrets[0])}, nil
}

// HeaderGitHubSignatureSHA1 is GitHub's legacy signature header: "sha1=" and the hex HMAC-SHA1
// of the body. GitHub sends it with every delivery; receivers should verify the SHA-256 one.
const HeaderGitHubSignatureSHA1 = "X-Hub-Signature"

// githubSHA1 is the value of X-Hub-Signature for body.
func githubSHA1(key, body []byte) string {
	m := hmac.New(sha1.New, key)
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func newShopify(secrets []string, c config) (Scheme, error) {
	return &bodyMAC{name: "shopify", sigHeader: hShopifyHmac, idHdr: hShopifyWebhookID,
		enc: base64MAC, c: c, keys: rawKeys(secrets)}, nil
}

func (s *bodyMAC) Name() string { return s.name }
func (s *bodyMAC) Traits() Traits {
	t := Traits{IDHeader: s.idHdr.name, SignatureHeader: s.sigHeader.name}
	if s.sha1Key != nil {
		t.LegacySignatureHeaders = []string{HeaderGitHubSignatureSHA1}
		t.BodyShape = "github-repository-dispatch" // the event X-GitHub-Event names
	} else {
		t.BodyShape = "shopify-order" // the resource of the X-Shopify-Topic, orders/updated
	}
	return t
}

// decode reads a MAC in the scheme's encoding: hex in either case, or canonical base64.
func (s *bodyMAC) decode(dst *[sha256.Size]byte, enc string) bool {
	if s.enc == hexMAC {
		return decodeHexMAC(dst, enc)
	}
	if len(enc) != base64.StdEncoding.EncodedLen(sha256.Size) {
		return false
	}
	var raw [sha256.Size + 1]byte // 44 characters decode into up to 33 bytes: keep the length check above
	n, err := base64.StdEncoding.Strict().Decode(raw[:], []byte(enc))
	copy(dst[:], raw[:n])
	return err == nil && n == sha256.Size
}

func (s *bodyMAC) Sign(msg Message) (http.Header, error) {
	if err := checkID(s.name, msg.ID); err != nil {
		return nil, err
	}
	var room [80]byte
	v := s.keys[0].appendMAC(append(room[:0], s.prefix...), s.enc, msg.Body)
	if s.sha1Key != nil {
		return signedHeader(s.idHdr.key, msg.ID, s.sigHeader.key, string(v), hGitHubSignatureSHA1.key, githubSHA1(s.sha1Key, msg.Body)), nil
	}
	return signedHeader(s.idHdr.key, msg.ID, s.sigHeader.key, string(v)), nil
}

func (s *bodyMAC) Verify(h http.Header, body []byte) (Verified, error) {
	id, err := header(h, s.idHdr)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.name, err)
	}
	v, err := header(h, s.sigHeader)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.name, err)
	}
	enc, ok := strings.CutPrefix(v, s.prefix)
	if !ok {
		return Verified{}, fmt.Errorf("signature: %s: %s does not start with %q: %w", s.name, s.sigHeader.name, s.prefix, ErrMalformedHeader)
	}
	var raw [sha256.Size]byte
	if !s.decode(&raw, enc) {
		return Verified{}, fmt.Errorf("signature: %s: %s is not a SHA-256 MAC: %w", s.name, s.sigHeader.name, ErrMalformedHeader)
	}
	if !matchAny(s.keys, raw[:], body) {
		return Verified{}, fmt.Errorf("signature: %s: %w", s.name, ErrInvalidSignature)
	}
	return Verified{ID: id}, nil
}

// --- slack ------------------------------------------------------------------

type slack struct {
	c    config
	keys []*macKey
}

func newSlack(secrets []string, c config) (Scheme, error) { return &slack{c, rawKeys(secrets)}, nil }

func (s *slack) Name() string { return "slack" }
func (s *slack) Traits() Traits {
	return Traits{TimestampHeader: HeaderSlackTimestamp, SignatureHeader: HeaderSlackSignature,
		Timestamped: true, Tolerance: s.c.tolerance, BodyShape: "slack-event-callback", URLVerification: true}
}

func (s *slack) Sign(msg Message) (http.Header, error) {
	t, err := signingTime("slack", msg.Timestamp, s.c.now)
	if err != nil {
		return nil, err
	}
	var room [80]byte
	v := s.keys[0].appendMAC(append(room[:0], "v0="...), hexMAC, msg.Body, "v0:", t, ":")
	return signedHeader(hSlackTimestamp.key, t, hSlackSignature.key, string(v)), nil
}

func (s *slack) Verify(h http.Header, body []byte) (Verified, error) {
	tv, err := header(h, hSlackTimestamp)
	if err != nil {
		return Verified{}, fmt.Errorf("signature: slack: %w", err)
	}
	v, err := header(h, hSlackSignature)
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
	var raw [sha256.Size]byte
	if !decodeHexMAC(&raw, enc) {
		return Verified{}, fmt.Errorf("signature: slack: %s is not a SHA-256 MAC: %w", HeaderSlackSignature, ErrMalformedHeader)
	}
	if !matchAny(s.keys, raw[:], body, "v0:", tv, ":") {
		return Verified{}, fmt.Errorf("signature: slack: %w", ErrInvalidSignature)
	}
	return Verified{ID: SchemeBodyID("slack", body), Timestamp: ts}, nil
}

// Levels that follow the providers' own libraries (see LevelRule).
func init() {
	registerLevels("stripe", map[string]LevelRule{
		"RCV-TS-002": {Level: "SHOULD", Why: "Stripe's libraries (stripe-go webhook.ConstructEvent, stripe-node webhooks.constructEvent) reject only timestamps older than the tolerance; a timestamp in the future is accepted"},
	})
}
