package signature

import (
	"net/http"
	"testing"
	"time"
)

var idTestSecrets = map[string]string{
	"standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"svix":     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"stripe":   "whsec_stripe_test_secret",
	"github":   "github-test-secret",
	"shopify":  "shopify-test-secret",
	"slack":    "slack-test-secret",
}

// TestIDHeadersMatchTraits keeps DeliveryID's table in step with the schemes: every scheme is
// in it, with the id header its Traits name.
func TestIDHeadersMatchTraits(t *testing.T) {
	for _, name := range Names() {
		s, err := New(name, idTestSecrets[name])
		if err != nil {
			t.Fatal(err)
		}
		n, ok := idHeaders[name]
		if !ok || n.name != s.Traits().IDHeader {
			t.Errorf("%s: DeliveryID uses id header %q, Traits say %q", name, n.name, s.Traits().IDHeader)
		}
	}
	if len(idHeaders) != len(Names()) {
		t.Errorf("idHeaders has %d schemes, New knows %d", len(idHeaders), len(Names()))
	}
}

// TestVerifiedIDIsDeliveryID: what Verify reports as the id is DeliveryID, for every scheme.
func TestVerifiedIDIsDeliveryID(t *testing.T) {
	for _, name := range Names() {
		s, _ := New(name, idTestSecrets[name])
		for _, body := range []string{`{"id":"evt_body","type":"t"}`, `{"type":"t"}`, `[1]`, `{"id":"a\u0062"}`} {
			h, err := s.Sign(Message{ID: "msg_hdr", Timestamp: time.Now(), Body: []byte(body)})
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.Verify(h, []byte(body))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := DeliveryID(name, h, []byte(body)); got != v.ID {
				t.Errorf("%s %s: DeliveryID = %q, Verified.ID = %q", name, body, got, v.ID)
			}
		}
	}
}

func TestDeliveryID(t *testing.T) {
	body := []byte(`{"id":"evt_body"}`)
	tests := []struct {
		name, scheme string
		h            http.Header
		want         string
	}{
		{"standard header", "standard", http.Header{"Webhook-Id": {"msg_1"}}, "msg_1"},
		{"standard without header: body", "standard", http.Header{}, "evt_body"},
		{"trimmed", "github", http.Header{"X-Github-Delivery": {"  gh "}}, "gh"},
		{"blank header: body", "shopify", http.Header{"X-Shopify-Webhook-Id": {" "}}, "evt_body"},
		{"repeated header: none", "standard", http.Header{"Webhook-Id": {"a", "b"}}, ""},
		{"stripe ignores id headers", "stripe", http.Header{"Webhook-Id": {"msg_1"}}, "evt_body"},
		{"slack body", "slack", http.Header{}, "evt_body"},
		{"other scheme's header ignored", "github", http.Header{"Webhook-Id": {"msg_1"}}, "evt_body"},
		{"unknown scheme: any header", "", http.Header{"X-Shopify-Webhook-Id": {"sh"}}, "sh"},
		{"unknown scheme: order", "", http.Header{"X-Github-Delivery": {"gh"}, "Webhook-Id": {"std"}}, "std"},
		{"unknown scheme: body", "", http.Header{}, "evt_body"},
	}
	for _, tt := range tests {
		if got := DeliveryID(tt.scheme, tt.h, body); got != tt.want {
			t.Errorf("%s: DeliveryID = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := IDHeaders(); len(got) != 4 || got[0] != HeaderWebhookID {
		t.Errorf("IDHeaders = %v", got)
	}
}

// A Slack event_callback names its delivery by event_id.
func TestSlackEventID(t *testing.T) {
	body := []byte(`{"token":"t","event":{"type":"app_mention"},"type":"event_callback","event_id":"Ev0HOOK"}`)
	if got := DeliveryID("slack", http.Header{}, body); got != "Ev0HOOK" {
		t.Errorf("slack DeliveryID = %q", got)
	}
	if got := DeliveryID("", http.Header{}, body); got != "Ev0HOOK" {
		t.Errorf("unknown-scheme DeliveryID = %q", got)
	}
	s, _ := New("slack", "slack-secret")
	h, _ := s.Sign(Message{Timestamp: time.Now(), Body: body})
	if v, err := s.Verify(h, body); err != nil || v.ID != "Ev0HOOK" {
		t.Errorf("Verify: %+v, %v", v, err)
	}
}
