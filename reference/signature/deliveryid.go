package signature

import (
	"errors"
	"net/http"
	"slices"
)

// idHeaders maps each scheme to its delivery-id header; a scheme without one (stripe, slack)
// maps to the zero headerName. A test checks it against every scheme's Traits.
var idHeaders = map[string]headerName{
	"standard": hWebhookID,
	"github":   hGitHubDelivery,
	"shopify":  hShopifyWebhookID,
	"stripe":   {},
	"slack":    {},
}

// anyIDHeaders are the id headers DeliveryID tries, in this order, when the scheme is not known.
var anyIDHeaders = []headerName{hWebhookID, hGitHubDelivery, hShopifyWebhookID}

// IDHeaders lists the delivery-id headers of every scheme that has one, in the order
// DeliveryID tries them for a request of an unknown scheme.
func IDHeaders() []string {
	out := make([]string, len(anyIDHeaders))
	for i, h := range anyIDHeaders {
		out[i] = h.name
	}
	return out
}

// DeliveryID names the delivery a request carries, by the one rule all of hookproof follows
// (verification, the chaos proxy, the suites and the receivers):
//
//  1. the scheme's id header (webhook-id, X-GitHub-Delivery, X-Shopify-Webhook-Id), when the
//     scheme has one and the request carries it: its value, trimmed;
//  2. else the body's top-level "id" string (BodyID), which is how stripe and slack, whose
//     schemes have no id header, identify a delivery;
//  3. else "" (no id).
//
// An id header that is present but malformed (sent twice, too long, not printable ASCII)
// gives "": no verifier would accept the request, so it names no delivery.
//
// scheme is a name New accepts. When it is "" (or unknown), as for a proxy that does not know
// which scheme it carries, step 1 tries the id header of every scheme, in the order of
// IDHeaders, and the first present one wins. For any request that Verify accepts,
// Verified.ID is DeliveryID(scheme, h, body).
func DeliveryID(scheme string, h http.Header, body []byte) string {
	if n, ok := idHeaders[scheme]; ok {
		if n.key == "" {
			return SchemeBodyID(scheme, body)
		}
		return deliveryID(h, body, n)
	}
	return deliveryID(h, body, anyIDHeaders...)
}

func deliveryID(h http.Header, body []byte, names ...headerName) string {
	for _, n := range names {
		switch v, err := header(h, n); {
		case err == nil:
			return v
		case !errors.Is(err, ErrMissingHeader):
			return ""
		}
	}
	if id := BodyID(body); id != "" {
		return id
	}
	return bodyField(body, "event_id") // a Slack event_callback, when the scheme is not known
}

// SignatureHeaders lists every scheme's signature header as its provider spells it, in the
// order of Names (the chaos proxy's corrupt fault looks for the first one a request carries).
func SignatureHeaders() []string {
	var out []string
	for _, n := range Names() {
		s, err := New(n, SecretFrom(n, []byte("hookproof-signature-headers-key")))
		if err != nil {
			continue
		}
		if h := s.Traits().SignatureHeader; !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
