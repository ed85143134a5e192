package chaos

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// keySecrets are usable secrets for every scheme.
var keySecrets = map[string]string{
	"standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"svix":     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"stripe":   "whsec_stripe_test_secret",
	"github":   "github-test-secret",
	"shopify":  "shopify-test-secret",
	"slack":    "slack-test-secret",
}

// TestDefaultKeyIsTheSignatureRule checks that the proxy groups deliveries exactly as the
// signature package identifies them, for every scheme: what Verify reports and what
// signature.DeliveryID reads, signed or not, id header or body.
func TestDefaultKeyIsTheSignatureRule(t *testing.T) {
	for _, name := range signature.Names() {
		secret, ok := keySecrets[name]
		if !ok {
			t.Fatalf("no test secret for scheme %s", name)
		}
		s, err := signature.New(name, secret)
		if err != nil {
			t.Fatal(err)
		}
		hasHeader := s.Traits().IDHeader != ""
		for _, body := range []string{
			`{"id":"msg_1","type":"order.updated","timestamp":"2026-01-02T03:04:05Z","data":{"object_id":"o","seq":1}}`,
			`{"id":"evt_in_body","type":"t"}`, // differs from the header id below
			`{"type":"t","data":{"id":"nested"}}`,
			`{"id":7}`,
			`not json`,
		} {
			h, err := s.Sign(signature.Message{ID: "msg_1", Timestamp: time.Now(), Body: []byte(body)})
			if err != nil {
				t.Fatal(err)
			}
			want := signature.DeliveryID(name, h, []byte(body))
			if got := key(h, body); got != want {
				t.Errorf("%s %s: DefaultKey = %q, signature.DeliveryID = %q", name, body, got, want)
			}
			v, err := s.Verify(h, []byte(body))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if v.ID != want {
				t.Errorf("%s %s: Verified.ID = %q, signature.DeliveryID = %q", name, body, v.ID, want)
			}
			if hasHeader && want != "msg_1" {
				t.Errorf("%s %s: id %q, want the id header's msg_1", name, body, want)
			}
			// Without the id header (a delivery of a scheme whose id travels in the body, or a
			// header lost on the way), both fall back to the body.
			if hasHeader {
				h.Del(s.Traits().IDHeader)
				if got, want := key(h, body), signature.DeliveryID(name, h, []byte(body)); got != want || got != signature.BodyID([]byte(body)) {
					t.Errorf("%s %s without %s: DefaultKey = %q, DeliveryID = %q", name, body, s.Traits().IDHeader, got, want)
				}
			}
		}
	}
}

func key(h http.Header, body string) string {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header = h
	return DefaultKey(r, []byte(body))
}
