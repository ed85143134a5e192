package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Delivery is one delivery attempt as a provider describes it besides its signature.
type Delivery struct {
	ID      string    // the delivery id
	At      time.Time // when the event happened (zero: not known)
	Attempt int       // 1 for the first attempt, 2 for the first retry, ...
}

// providerHeaders holds each scheme's headers beyond its signature; each scheme registers its
// own (registerHeaders), beside its signing code.
var providerHeaders = map[string]func(h http.Header, d Delivery){}

func registerHeaders(scheme string, set func(h http.Header, d Delivery)) {
	if _, dup := providerHeaders[scheme]; dup {
		panic("signature: delivery headers registered twice for " + scheme)
	}
	providerHeaders[scheme] = set
}

// SetProviderHeaders adds to h what scheme's provider sends with every delivery besides the
// signature headers Sign returns: the event and hook headers, the User-Agent and the content
// type, as the provider's docs describe them. A receiver built on the provider's official
// library may need them (GitHub's @octokit/webhooks middleware answers 400 without
// X-GitHub-Event; Shopify's library without X-Shopify-Topic, -Shop-Domain and -API-Version).
func SetProviderHeaders(scheme string, h http.Header, d Delivery) {
	h.Set("Content-Type", "application/json")
	if set := providerHeaders[scheme]; set != nil {
		set(h, d)
	}
}

// SetRetryHeaders marks h as attempt number attempt (1: the first) the way scheme's provider
// marks its retries, where it does (Slack: X-Slack-Retry-Num and X-Slack-Retry-Reason); it
// leaves every other header as it is.
func SetRetryHeaders(scheme string, h http.Header, attempt int) {
	if scheme == "slack" && attempt > 1 {
		h.Set(HeaderSlackRetryNum, strconv.Itoa(attempt-1))
		h.Set(HeaderSlackRetryReason, "http_error")
	}
}

// HasProviderHeaders reports whether scheme's provider sends headers beyond Content-Type and
// its signature (so hot paths can skip SetProviderHeaders for the others).
func HasProviderHeaders(scheme string) bool { return providerHeaders[scheme] != nil }

// guid makes a GUID-shaped value (8-4-4-4-12 hex) from s, the same for the same s: GitHub's
// delivery ids and Shopify's event ids have that shape.
func guid(s string) string {
	sum := sha256.Sum256([]byte(s))
	x := hex.EncodeToString(sum[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// GitHub delivery headers (GitHub 'Webhook events and payloads': delivery headers).
const (
	HeaderGitHubEvent            = "X-GitHub-Event"
	HeaderGitHubHookID           = "X-GitHub-Hook-ID"
	HeaderGitHubTargetID         = "X-GitHub-Hook-Installation-Target-ID"
	HeaderGitHubTargetType       = "X-GitHub-Hook-Installation-Target-Type"
	GitHubEvent                  = "repository_dispatch" // its client_payload carries any JSON: hookproof's event
	gitHubUserAgent              = "GitHub-Hookshot/hookproof"
	gitHubHookID, gitHubTargetID = "424242", "171717"
)

// Shopify delivery headers (Shopify 'Webhooks': headers of a delivery).
const (
	HeaderShopifyTopic       = "X-Shopify-Topic"
	HeaderShopifyShopDomain  = "X-Shopify-Shop-Domain"
	HeaderShopifyAPIVersion  = "X-Shopify-API-Version"
	HeaderShopifyEventID     = "X-Shopify-Event-Id"
	HeaderShopifyTriggeredAt = "X-Shopify-Triggered-At"
	ShopifyTopic             = "orders/updated"
	ShopifyShopDomain        = "hookproof-test.myshopify.com"
	ShopifyAPIVersion        = "2025-07"
)

// Slack retry headers (Slack Events API 'Retries').
const (
	HeaderSlackRetryNum    = "X-Slack-Retry-Num"
	HeaderSlackRetryReason = "X-Slack-Retry-Reason"
)

func init() {
	registerHeaders("github", func(h http.Header, d Delivery) {
		h.Set(HeaderGitHubEvent, GitHubEvent)
		h.Set(HeaderGitHubHookID, gitHubHookID)
		h.Set(HeaderGitHubTargetID, gitHubTargetID)
		h.Set(HeaderGitHubTargetType, "repository")
		h.Set("User-Agent", gitHubUserAgent)
	})
	registerHeaders("shopify", func(h http.Header, d Delivery) {
		h.Set(HeaderShopifyTopic, ShopifyTopic)
		h.Set(HeaderShopifyShopDomain, ShopifyShopDomain)
		h.Set(HeaderShopifyAPIVersion, ShopifyAPIVersion)
		h.Set(HeaderShopifyEventID, guid("shopify-event:"+d.ID))
		at := d.At
		if at.IsZero() {
			at = time.Now()
		}
		h.Set(HeaderShopifyTriggeredAt, at.UTC().Format(time.RFC3339Nano))
		h.Set("User-Agent", "Shopify-Captain-Hook")
	})
	registerHeaders("stripe", func(h http.Header, d Delivery) {
		h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	})
	registerHeaders("slack", func(h http.Header, d Delivery) {
		h.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
		SetRetryHeaders("slack", h, d.Attempt)
	})
}

// retryHeaders lists the headers SetRetryHeaders may set, per scheme.
var retryHeaders = map[string][]string{"slack": {HeaderSlackRetryNum, HeaderSlackRetryReason}}

// RetryHeaders lists the headers with which scheme's provider marks a retry (nil for most), so
// that code re-sending a recorded delivery can drop a recorded attempt's marks before it marks
// its own with SetRetryHeaders.
func RetryHeaders(scheme string) []string { return retryHeaders[scheme] }
