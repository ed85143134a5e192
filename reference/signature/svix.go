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
