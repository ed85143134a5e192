package signature

// svix is Standard Webhooks signing as Svix sends it by default: the same secrets (whsec_…),
// signed content ("id.timestamp.body") and signature list ("v1,<base64>" entries), under
// svix-id, svix-timestamp and svix-signature. A delivery carries only the svix-* headers: the
// Svix libraries fall back to webhook-* when a svix-* header is absent, so sending both would
// let a delivery without svix-id still verify.

// Svix headers.
const (
	HeaderSvixID        = "svix-id"
	HeaderSvixTimestamp = "svix-timestamp"
	HeaderSvixSignature = "svix-signature"
)

var (
	hSvixID     = newHeaderName(HeaderSvixID)
	svixHeaders = standardHeaders{name: "svix", id: hSvixID,
		ts: newHeaderName(HeaderSvixTimestamp), sig: newHeaderName(HeaderSvixSignature)}
)

func newSvix(secrets []string, c config) (Scheme, error) {
	return newStandardWith(svixHeaders, secrets, c)
}

func init() {
	schemes["svix"] = newSvix
	whsecSchemes["svix"] = true
	idHeaders["svix"] = hSvixID
	anyIDHeaders = append(anyIDHeaders, hSvixID)
}

// Decisions on the receiver requirements (see LevelRule), by what Svix's libraries do:
// github.com/svix/svix-webhooks/go Webhook.Verify and the npm svix Webhook.verify (which wraps
// standardwebhooks). Svix signs Standard Webhooks messages, so its spec applies too.
func init() {
	registerLevels("svix", withShared(map[string]LevelRule{
		"RCV-SIG-001":  {"MUST", "svix Webhook.Verify (Go and Node) accepts a delivery signed over id.timestamp.body with the whsec_ secret under svix-id, svix-timestamp and svix-signature"},
		"RCV-SIG-002":  {"MUST", "svix Webhook.Verify compares each v1 entry with the HMAC of id.timestamp.body and refuses a mismatch"},
		"RCV-SIG-003":  {"MUST", "svix Webhook.Verify computes the HMAC with its own secret, so another secret's signature matches no entry"},
		"RCV-SIG-004":  {"MUST", "svix Webhook.Verify refuses a delivery missing svix-id, svix-timestamp or svix-signature; its fallback to the webhook-* headers finds none, since the svix scheme sends only svix-*"},
		"RCV-SIG-005":  {"MUST", "svix Webhook.Verify compares the base64 text of each v1 entry with the expected one, so a truncated signature matches nothing"},
		"RCV-SIG-006":  {"MUST", "svix Webhook.Verify skips an entry without its v1, prefix and compares the base64 text exactly, so neither malformed signature matches (an error, not a crash)"},
		"RCV-SIG-007":  {"MUST", "svix Webhook.Verify compares the empty value of 'v1,' with the expected base64 text and finds no match"},
		"RCV-SIG-008":  {"MUST", "svix-timestamp is an integer: svix Go refuses a non-integer (strconv.ParseInt), and svix Node signs over parseInt's integer, so the case's signature over the literal text does not match"},
		"RCV-SIG-009":  {"MUST", "svix Webhook.Verify splits the list on spaces, skips entries whose version is not v1 and accepts any matching v1 entry"},
		"RCV-SIG-010":  {"MUST", "svix Webhook.Verify takes the raw payload (Go: bytes; Node: the raw string or Buffer) and signs over it unchanged"},
		"RCV-SIG-011":  {"MUST", "svix Webhook.Verify signs the payload it is given, so a body changed after signing matches no entry"},
		"RCV-SIG-012":  {"MUST", "svix Webhook.Verify finds no matching entry in a 16 KiB header, and Node's HTTP server answers such a header 431 before the library sees it"},
		"RCV-SIG-013":  {"MUST", "svix Webhook.Verify finds no matching entry among non-ASCII bytes and returns an error, which the documented handler answers 400"},
		"RCV-SIG-014":  {"MUST", "the documented handler returns when svix Webhook.Verify fails, before any processing, so a refused delivery has no effect"},
		"RCV-SIG-015":  {"SHOULD", "kept at the catalogue level: svix Webhook.Verify's errors name neither the expected signature nor the secret, but what the handler answers is the application's"},
		"RCV-TS-001":   {"MUST", "svix Webhook.Verify refuses a timestamp more than 5 minutes old, in Go and Node"},
		"RCV-TS-002":   {"MUST", "svix Webhook.Verify refuses a timestamp more than 5 minutes ahead (message timestamp too new), in Go and Node"},
		"RCV-TS-003":   {"MUST", "svix Webhook.Verify accepts any timestamp within 5 minutes of now, in the past or in the future"},
		"RCV-TS-004":   {"MUST", "svix Webhook.Verify checks the timestamp on every call, so the byte-for-byte replay is refused once it is more than 5 minutes old"},
		"RCV-ACK-001":  {"MUST", whySenderContract},
		"RCV-ACK-002":  {"SHOULD", whySenderContract},
		"RCV-ACK-003":  {"MUST", whySenderContract},
		"RCV-ACK-004":  {"MUST", whyRedirect},
		"RCV-IDEM-001": {"MUST", "kept at the catalogue level: no library deduplicates; Svix sends Standard Webhooks messages, whose spec makes the message id (svix-id) the idempotency key of a message that may be sent more than once"},
		"RCV-IDEM-002": {"MUST", "kept at the catalogue level: no library deduplicates; Svix sends Standard Webhooks messages, whose spec makes the message id (svix-id) the idempotency key of a message that may be sent more than once"},
		"RCV-IDEM-003": {"MUST", "kept at the catalogue level: no library deduplicates; a message is retried until it is acknowledged, under the same svix-id"},
		"RCV-ORD-001":  {"SHOULD", whyNoOrdering},
		"RCV-ORD-002":  {"MUST", whyNoOrdering},
	}))
}
