package official_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stripe/stripe-go/v82/webhook"
)

// stripeReceiver is Stripe's documented handler: the body read through a 64 KiB
// MaxBytesReader (503 when it cannot be read), webhook.ConstructEvent(payload,
// Stripe-Signature, secret), 400 on any error. ConstructEvent also refuses an event whose
// api_version is not of stripe-go's release train; the receiver does not work around it. The
// delivery id is event.ID; the application's data is event.data.object.
func stripeReceiver(secret string, a *app) http.Handler {
	const maxBodyBytes = int64(65536)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		payload, err := io.ReadAll(r.Body)
		if err != nil {
			verifyFailed(w, http.StatusServiceUnavailable, err)
			return
		}
		event, err := webhook.ConstructEvent(payload, r.Header.Get("Stripe-Signature"), secret)
		if err != nil {
			verifyFailed(w, http.StatusBadRequest, err)
			return
		}
		var raw json.RawMessage
		if event.Data != nil {
			raw = event.Data.Raw
		}
		processed(w, a.process(event.ID, string(event.Type), readOrder(raw)))
	})
}

func TestStripeGoLibrary(t *testing.T) {
	const secret = "whsec_hookproof-stripe-secret"
	t.Run("correct", func(t *testing.T) {
		wantConformant(t, conform(t, "stripe", secret, true, stripeReceiver))
	})
	t.Run("no-dedupe", func(t *testing.T) {
		wantDuplicateEffects(t, conform(t, "stripe", secret, false, stripeReceiver))
	})
}
