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

// Decisions on the receiver requirements (see LevelRule), by what Stripe's libraries do:
// stripe-go webhook.ConstructEvent and stripe-node stripe.webhooks.constructEvent
// (suites/receiver/official).
func init() {
	registerLevels("stripe", withShared(map[string]LevelRule{
		"RCV-SIG-001":  {"MUST", "stripe-go webhook.ConstructEvent and stripe-node webhooks.constructEvent accept the Stripe event signed as t=…,v1=…, which the stripe scheme sends"},
		"RCV-SIG-002":  {"MUST", "ConstructEvent (stripe-go and stripe-node) compares each v1 with the HMAC of t.body and refuses a mismatch"},
		"RCV-SIG-003":  {"MUST", "ConstructEvent computes the HMAC with its own secret, so another secret's v1 does not match"},
		"RCV-SIG-004":  {"MUST", "ConstructEvent refuses a request without Stripe-Signature (stripe-go ErrNotSigned), the one header Stripe signs with"},
		"RCV-SIG-005":  {"MUST", "ConstructEvent compares the v1 MAC with the expected one, so half of it matches nothing (stripe-go ErrNoValidSignature)"},
		"RCV-SIG-006":  {"MUST", "stripe-go ConstructEvent refuses the unprefixed signature, a bare hex MAC after t=… (an item without '=': ErrInvalidHeader) and skips a v1 that is not hex, and stripe-node finds no matching v1 in either"},
		"RCV-SIG-007":  {"MUST", "stripe-go finds no valid signature in an empty v1=, and stripe-node's secureCompare throws on it, which Stripe's documented handler (any error answers 400) answers 400"},
		"RCV-SIG-008":  {"MUST", "stripe-go ConstructEvent refuses a t= that strconv.ParseInt cannot read (ErrInvalidHeader), and stripe-node signs over parseInt's integer, so the case's signature over the literal text does not match"},
		"RCV-SIG-009":  {"MUST", "stripe-go and stripe-node collect every v1= entry, skip other schemes such as v0 and accept any matching v1"},
		"RCV-SIG-010":  {"MUST", "ConstructEvent verifies the raw payload (stripe-go: bytes; stripe-node: the raw Buffer) before parsing it"},
		"RCV-SIG-011":  {"MUST", "ConstructEvent signs the payload it is given, so a body changed after signing matches no v1"},
		"RCV-SIG-012":  {"MUST", "stripe-go ConstructEvent finds no valid v1 in a 16 KiB header, and Node's HTTP server answers such a header 431 before stripe-node sees it"},
		"RCV-SIG-013":  {"MUST", "stripe-go skips a v1 that is not hex (ErrNoValidSignature), and stripe-node's timingSafeEqual throws a RangeError, which Stripe's documented handler (any error answers 400) answers 400"},
		"RCV-SIG-014":  {"MUST", "Stripe's documented handler answers 400 when ConstructEvent fails, before any processing, so a refused delivery has no effect"},
		"RCV-SIG-015":  {"SHOULD", "kept at the catalogue level: ConstructEvent's errors (stripe-go and stripe-node) name neither the expected signature nor the secret, but what the handler answers is the application's"},
		"RCV-TS-001":   {"MUST", "ConstructEvent refuses a timestamp older than its 300 s default tolerance (stripe-go ErrTooOld)"},
		"RCV-TS-002":   {"SHOULD", "Stripe's libraries (stripe-go webhook.ConstructEvent, stripe-node webhooks.constructEvent) reject only timestamps older than the tolerance; a timestamp in the future is accepted"},
		"RCV-TS-003":   {"MUST", "ConstructEvent accepts a timestamp younger than its 300 s tolerance, and any timestamp in the future"},
		"RCV-TS-004":   {"MUST", "ConstructEvent checks the timestamp's age on every call, so the byte-for-byte replay is refused once it is older than the tolerance"},
		"RCV-ACK-001":  {"MUST", "kept at the catalogue level: no library is involved; Stripe's docs ask endpoints to return a 2xx quickly, before any complex logic, and Stripe retries a delivery that got none"},
		"RCV-ACK-002":  {"SHOULD", "kept at the catalogue level: no library is involved; Stripe's docs ask endpoints to return a 2xx quickly, before any complex logic"},
		"RCV-ACK-003":  {"MUST", "kept at the catalogue level: no library is involved; Stripe's docs ask endpoints to return a 2xx quickly, before any complex logic, and Stripe retries a delivery that got none"},
		"RCV-ACK-004":  {"MUST", whyRedirect},
		"RCV-IDEM-001": {"MUST", "kept at the catalogue level: no library deduplicates; Stripe documents that an endpoint may receive the same event more than once"},
		"RCV-IDEM-002": {"MUST", "kept at the catalogue level: no library deduplicates; Stripe documents that an endpoint may receive the same event more than once"},
		"RCV-IDEM-003": {"MUST", "kept at the catalogue level: no library deduplicates; Stripe documents that an endpoint may receive the same event more than once, and retries a delivery that got no 2xx"},
		"RCV-ORD-001":  {"SHOULD", "kept at the catalogue level: no library orders events; Stripe documents that event order is not guaranteed"},
		"RCV-ORD-002":  {"MUST", "kept at the catalogue level: no library orders events; Stripe documents that event order is not guaranteed, so a stale event does arrive after a newer one"},
	}))
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

// Decisions on the receiver requirements (see LevelRule), by what GitHub's libraries do:
// go-github ValidatePayload and ParseWebHook, @octokit/webhooks createNodeMiddleware and
// @octokit/webhooks-methods verify (suites/receiver/official).
func init() {
	registerLevels("github", withShared(map[string]LevelRule{
		"RCV-SIG-001":  {"MUST", "go-github ValidatePayload and ParseWebHook, and @octokit/webhooks' middleware, accept a delivery signed as sha256= and the hex MAC, with X-GitHub-Event, which the github scheme sends"},
		"RCV-SIG-002":  {"MUST", "go-github ValidatePayload and @octokit/webhooks-methods verify compare the HMAC-SHA256 of the body and refuse a mismatch"},
		"RCV-SIG-003":  {"MUST", "go-github ValidatePayload and @octokit/webhooks-methods verify compute the HMAC with their own secret, so another secret's signature does not match"},
		"RCV-SIG-004":  {"MUST", "without X-Hub-Signature-256 and the sha1 X-Hub-Signature it falls back to, go-github ValidatePayload fails (missing signature), and @octokit/webhooks' middleware answers 400 (required headers missing)"},
		"RCV-SIG-005":  {"MUST", "go-github ValidatePayload finds half a MAC does not match, and @octokit/webhooks-methods verify compares the exact text after a length check"},
		"RCV-SIG-006":  {"MUST", "go-github ValidatePayload refuses a signature without the sha256= prefix or not hex; @octokit/webhooks-methods verify compares the exact text"},
		"RCV-SIG-007":  {"MUST", "go-github ValidatePayload finds the empty MAC after sha256= does not match; @octokit/webhooks-methods verify compares the exact text"},
		"RCV-SIG-010":  {"MUST", "go-github ValidatePayload MACs the raw body it reads, and @octokit/webhooks verifies the body decoded as UTF-8, which valid UTF-8 survives intact"},
		"RCV-SIG-011":  {"MUST", "go-github ValidatePayload and @octokit/webhooks-methods verify MAC the body they are given, so a body changed after signing does not match"},
		"RCV-SIG-012":  {"MUST", "go-github ValidatePayload finds the 16 KiB MAC does not match, and Node's HTTP server answers such a header 431 before @octokit/webhooks sees it"},
		"RCV-SIG-013":  {"MUST", "go-github ValidatePayload refuses non-hex bytes in the MAC, and @octokit/webhooks-methods verify compares the exact text"},
		"RCV-SIG-014":  {"MUST", "the documented handlers answer an error from ValidatePayload or verify before any processing, so a refused delivery has no effect"},
		"RCV-SIG-015":  {"SHOULD", "kept at the catalogue level: go-github's errors (payload signature check failed) and @octokit/webhooks' (signature does not match event payload and secret) name neither the expected signature nor the secret, but what the handler answers is the application's"},
		"RCV-SIG-016":  {"SHOULD", "X-GitHub-Delivery is not covered by the HMAC of the body: go-github ValidatePayload and @octokit/webhooks-methods verify accept a signed delivery without it (only @octokit/webhooks' middleware requires it)"},
		"RCV-ACK-001":  {"SHOULD", "GitHub expects a response within 10 seconds, and @octokit/webhooks' middleware answers 202 only after its 9 s timeout, so a receiver built as GitHub documents may take longer than this case's 5 s"},
		"RCV-ACK-002":  {"SHOULD", "kept at the catalogue level: no library is involved; GitHub expects a response within 10 seconds, so 1 s is advice"},
		"RCV-ACK-003":  {"SHOULD", "GitHub expects each response within 10 seconds, and @octokit/webhooks' middleware answers 202 only after its 9 s timeout, so a burst acknowledged between 5 and 10 s is one GitHub accepts"},
		"RCV-ACK-004":  {"MUST", whyRedirect},
		"RCV-IDEM-001": {"MUST", "kept at the catalogue level: no library deduplicates; a delivery can reach the receiver again (a redelivery), and X-GitHub-Delivery is its id"},
		"RCV-IDEM-002": {"MUST", "kept at the catalogue level: no library deduplicates; a delivery can reach the receiver again (a redelivery), and X-GitHub-Delivery is its id"},
		"RCV-IDEM-003": {"MUST", "kept at the catalogue level: no library deduplicates; a delivery whose answer was lost can reach the receiver again (a redelivery)"},
		"RCV-ORD-001":  {"SHOULD", "kept at the catalogue level: no library orders events, and a delivery sent again arrives after newer ones"},
		"RCV-ORD-002":  {"MUST", "kept at the catalogue level: no library orders events, and a delivery sent again arrives after newer ones"},
	}))
}

// Decisions on the receiver requirements (see LevelRule), by what Shopify's library does:
// @shopify/shopify-api shopify.webhooks.validate (suites/receiver/official). There is no
// official Go library.
func init() {
	registerLevels("shopify", withShared(map[string]LevelRule{
		"RCV-SIG-001":  {"MUST", "@shopify/shopify-api webhooks.validate accepts the body's HMAC with X-Shopify-Topic, X-Shopify-Shop-Domain, X-Shopify-API-Version and X-Shopify-Webhook-Id, which the shopify scheme sends"},
		"RCV-SIG-002":  {"MUST", "webhooks.validate compares X-Shopify-Hmac-Sha256 with the base64 HMAC-SHA256 of the raw body and answers invalid_hmac on a mismatch"},
		"RCV-SIG-003":  {"MUST", "webhooks.validate computes the HMAC with its own secret, so another secret's signature is invalid_hmac"},
		"RCV-SIG-004":  {"MUST", "webhooks.validate answers missing_hmac without X-Shopify-Hmac-Sha256"},
		"RCV-SIG-005":  {"MUST", "webhooks.validate's safeCompare checks the length first, so half a MAC is invalid_hmac"},
		"RCV-SIG-006":  {"MUST", "webhooks.validate compares the exact canonical base64 text, so a signature that is not base64, or carries a sha256= key, is invalid_hmac"},
		"RCV-SIG-007":  {"MUST", "webhooks.validate accepts only the exact canonical base64 of the HMAC, so an empty X-Shopify-Hmac-Sha256 is refused"},
		"RCV-SIG-010":  {"MUST", "webhooks.validate MACs the raw body string re-encoded as UTF-8, which valid UTF-8 survives intact"},
		"RCV-SIG-011":  {"MUST", "webhooks.validate MACs the body it is given, so a body changed after signing is invalid_hmac"},
		"RCV-SIG-012":  {"MUST", "Node's HTTP server answers a 16 KiB header 431 before @shopify/shopify-api sees it, and webhooks.validate's length check would refuse it"},
		"RCV-SIG-013":  {"MUST", "webhooks.validate compares the exact base64 text (safeCompare), so a header with non-ASCII bytes is invalid_hmac"},
		"RCV-SIG-014":  {"MUST", "the documented handler answers 400 when webhooks.validate returns valid:false, before any processing, so a refused delivery has no effect"},
		"RCV-SIG-015":  {"SHOULD", "kept at the catalogue level: webhooks.validate returns only a reason (invalid_hmac), never the expected HMAC, but what the handler answers is the application's"},
		"RCV-SIG-016":  {"SHOULD", "X-Shopify-Webhook-Id is not covered by the body's HMAC, so a delivery without it is no forgery: @shopify/shopify-api webhooks.validate refuses it (missing_headers), but a receiver that checks the HMAC alone accepts it"},
		"RCV-ACK-001":  {"MUST", whySenderContract},
		"RCV-ACK-002":  {"SHOULD", whySenderContract},
		"RCV-ACK-003":  {"MUST", whySenderContract},
		"RCV-ACK-004":  {"MUST", whyRedirect},
		"RCV-IDEM-001": {"MUST", "kept at the catalogue level: no library deduplicates; Shopify documents that a webhook may be delivered more than once"},
		"RCV-IDEM-002": {"MUST", "kept at the catalogue level: no library deduplicates; Shopify documents that a webhook may be delivered more than once"},
		"RCV-IDEM-003": {"MUST", "kept at the catalogue level: no library deduplicates; Shopify documents that a webhook may be delivered more than once, and retries one that got no 2xx"},
		"RCV-ORD-001":  {"SHOULD", "kept at the catalogue level: no library orders events; Shopify documents that webhook order is not guaranteed"},
		"RCV-ORD-002":  {"MUST", "kept at the catalogue level: no library orders events; Shopify documents that webhook order is not guaranteed, so a stale event does arrive after a newer one"},
	}))
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
		Timestamped: true, Tolerance: s.c.tolerance, BodyShape: "slack-event-callback", URLVerification: true,
		RetryHeaders: []string{HeaderSlackRetryNum, HeaderSlackRetryReason}}
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

// Decisions on the receiver requirements (see LevelRule), by what Slack's Go library does:
// slack-go NewSecretsVerifier, Ensure and slackevents.ParseEvent (suites/receiver/official).
func init() {
	registerLevels("slack", withShared(map[string]LevelRule{
		"RCV-SIG-001":  {"MUST", "slack-go NewSecretsVerifier and Ensure accept v0= and the hex MAC of v0:timestamp:body, and slackevents.ParseEvent parses the event_callback the slack scheme sends"},
		"RCV-SIG-002":  {"MUST", "slack-go Ensure compares the HMAC of v0:timestamp:body and returns ErrInvalidSignature on a mismatch"},
		"RCV-SIG-003":  {"MUST", "slack-go Ensure computes the HMAC with its own secret, so another secret's signature is ErrInvalidSignature"},
		"RCV-SIG-004":  {"MUST", "slack-go NewSecretsVerifier returns ErrMissingHeaders without X-Slack-Signature or X-Slack-Request-Timestamp"},
		"RCV-SIG-005":  {"MUST", "slack-go NewSecretsVerifier refuses a MAC that is not exactly 32 bytes (ErrInvalidSignature)"},
		"RCV-SIG-006":  {"MUST", "slack-go NewSecretsVerifier refuses a signature without v0= (ErrInvalidSignature) or not hex"},
		"RCV-SIG-007":  {"MUST", "slack-go NewSecretsVerifier refuses the empty v0= (not a 32-byte MAC: ErrInvalidSignature)"},
		"RCV-SIG-008":  {"MUST", "slack-go NewSecretsVerifier refuses a timestamp strconv.ParseInt cannot read, whatever the signature"},
		"RCV-SIG-010":  {"MUST", "slack-go's documented handler writes the raw body into the verifier (SecretsVerifier.Write) before parsing it"},
		"RCV-SIG-011":  {"MUST", "slack-go Ensure MACs the body written to it, so a body changed after signing is ErrInvalidSignature"},
		"RCV-SIG-012":  {"MUST", "slack-go NewSecretsVerifier refuses a 16 KiB value (not a 32-byte MAC: ErrInvalidSignature)"},
		"RCV-SIG-013":  {"MUST", "slack-go NewSecretsVerifier refuses non-hex bytes with a decoding error, which the documented handler answers 400"},
		"RCV-SIG-014":  {"MUST", "slack-go's documented handler answers an error from NewSecretsVerifier or Ensure before ParseEvent, so a refused delivery has no effect"},
		"RCV-SIG-015":  {"SHOULD", "kept at the catalogue level: slack-go Ensure returns ErrInvalidSignature and logs at most a 4-byte prefix of the computed MAC, but what the handler answers is the application's"},
		"RCV-TS-001":   {"MUST", "slack-go NewSecretsVerifier refuses a timestamp more than 5 minutes from now (ErrExpiredTimestamp)"},
		"RCV-TS-002":   {"MUST", "slack-go NewSecretsVerifier compares the absolute difference with 5 minutes, so a timestamp too far ahead is ErrExpiredTimestamp too"},
		"RCV-TS-003":   {"MUST", "slack-go NewSecretsVerifier accepts a timestamp within 5 minutes of now, in the past or in the future"},
		"RCV-TS-004":   {"MUST", "slack-go NewSecretsVerifier checks the timestamp on every request, so the byte-for-byte replay is refused once it is more than 5 minutes old"},
		"RCV-ACK-001":  {"MUST", "kept at the catalogue level: no library is involved; Slack expects an HTTP 2xx within 3 seconds, inside this case's 5 s, and retries with X-Slack-Retry-Num"},
		"RCV-ACK-002":  {"SHOULD", "kept at the catalogue level: no library is involved; Slack's limit is 3 seconds, so 1 s is advice"},
		"RCV-ACK-003":  {"MUST", "kept at the catalogue level: no library is involved; Slack expects each HTTP 2xx within 3 seconds, inside this case's 5 s"},
		"RCV-ACK-004":  {"MUST", whyRedirect},
		"RCV-IDEM-001": {"MUST", "kept at the catalogue level: slack-go's NewSecretsVerifier doc says Events API consumers should deduplicate by event_id, and Slack retries with X-Slack-Retry-Num"},
		"RCV-IDEM-002": {"MUST", "kept at the catalogue level: slack-go's NewSecretsVerifier doc says Events API consumers should deduplicate by event_id, and Slack retries with X-Slack-Retry-Num"},
		"RCV-IDEM-003": {"MUST", "kept at the catalogue level: Slack retries a request that got no 2xx in time (X-Slack-Retry-Num), and slack-go's NewSecretsVerifier doc says to deduplicate by event_id"},
		"RCV-ORD-001":  {"SHOULD", "kept at the catalogue level: no library orders events, and Slack's retries (X-Slack-Retry-Num) arrive after newer events"},
		"RCV-ORD-002":  {"MUST", "kept at the catalogue level: no library orders events, and Slack's retries (X-Slack-Retry-Num) arrive after newer events"},
		"RCV-URLV-001": {"MUST", "Slack sends the signed url_verification challenge before any event and sends none to a Request URL that does not answer it; slackevents.ParseEvent returns it as URLVerification for the handler to echo"},
	}))
}
