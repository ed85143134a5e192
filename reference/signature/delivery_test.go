package signature

import (
	"net/http"
	"testing"
	"time"
)

// What each provider sends besides the signature, as its docs describe a delivery: the headers
// its official libraries read (GitHub's middleware answers 400 without X-GitHub-Event; Shopify's
// without the topic, shop domain and API version).
func TestSetProviderHeaders(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := map[string]map[string]string{
		"github": {HeaderGitHubEvent: GitHubEvent, HeaderGitHubHookID: gitHubHookID, HeaderGitHubTargetID: gitHubTargetID,
			HeaderGitHubTargetType: "repository", "User-Agent": gitHubUserAgent},
		"shopify": {HeaderShopifyTopic: ShopifyTopic, HeaderShopifyShopDomain: ShopifyShopDomain, HeaderShopifyAPIVersion: ShopifyAPIVersion,
			HeaderShopifyTriggeredAt: "2026-01-02T03:04:05Z", HeaderShopifyEventID: guid("shopify-event:d1")},
		"stripe":   {"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
		"slack":    {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", HeaderSlackRetryNum: ""},
		"standard": {"User-Agent": ""},
		"svix":     {"User-Agent": ""},
	}
	for _, scheme := range Names() {
		h := http.Header{}
		SetProviderHeaders(scheme, h, Delivery{ID: "d1", At: at, Attempt: 1})
		if h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", scheme, h.Get("Content-Type"))
		}
		w, ok := want[scheme]
		if !ok {
			t.Errorf("%s: no expectation for its delivery headers; add one", scheme)
			continue
		}
		for k, v := range w {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", scheme, k, got, v)
			}
		}
		if HasProviderHeaders(scheme) != (len(h) > 1) {
			t.Errorf("%s: HasProviderHeaders %v but %d headers", scheme, HasProviderHeaders(scheme), len(h))
		}
	}
	h := http.Header{}
	SetProviderHeaders("slack", h, Delivery{ID: "d1", Attempt: 3})
	if h.Get(HeaderSlackRetryNum) != "2" || h.Get(HeaderSlackRetryReason) == "" {
		t.Errorf("slack retry headers on the 3rd attempt: %v", h)
	}
	if g := guid("x"); len(g) != 36 || g[8] != '-' || g != guid("x") {
		t.Errorf("guid %q", g)
	}
}

func TestSetRetryHeaders(t *testing.T) {
	h := http.Header{"X-Shopify-Event-Id": {"same-event"}}
	SetRetryHeaders("shopify", h, 2)
	SetRetryHeaders("slack", h, 1)
	if len(h) != 1 || h.Get("X-Shopify-Event-Id") != "same-event" {
		t.Errorf("headers changed where the provider marks no retry: %v", h)
	}
	SetRetryHeaders("slack", h, 4)
	if h.Get(HeaderSlackRetryNum) != "3" || h.Get(HeaderSlackRetryReason) != "http_error" || h.Get("X-Shopify-Event-Id") != "same-event" {
		t.Errorf("slack retry headers on the 4th attempt: %v", h)
	}
}
