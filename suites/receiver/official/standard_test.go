package official_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// standardReceiver verifies as the library's README shows: NewWebhook(secret), then
// Verify(payload, headers). The delivery id is the webhook-id header.
func standardReceiver(secret string, a *app) http.Handler {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(r.Body)
		if err != nil {
			verifyFailed(w, http.StatusBadRequest, err)
			return
		}
		if err := wh.Verify(payload, r.Header); err != nil {
			verifyFailed(w, http.StatusBadRequest, err)
			return
		}
		var ev struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			verifyFailed(w, http.StatusBadRequest, err)
			return
		}
		processed(w, a.process(r.Header.Get(standardwebhooks.HeaderWebhookID), ev.Type, readOrder(ev.Data)))
	})
}

func TestStandardWebhooksLibrary(t *testing.T) {
	secret := newSecret(t)
	t.Run("correct", func(t *testing.T) {
		wantConformant(t, conform(t, "standard", secret, true, standardReceiver))
	})
	t.Run("no-dedupe", func(t *testing.T) {
		wantDuplicateEffects(t, conform(t, "standard", secret, false, standardReceiver))
	})
}
