package official_test

import (
	"encoding/json"
	"github.com/hookproof/hookproof/reports"
	"io"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// slackReceiver is slack-go's examples/eventsapi handler: NewSecretsVerifier(header, secret)
// (400 on error), Write(body) (500), Ensure() (401), then slackevents.ParseEvent with
// OptionNoVerifyToken (500 on error); url_verification is answered with its challenge and an
// event_callback is processed. NewSecretsVerifier's doc says to dedupe by event_id, which is
// the delivery id here; the application's data is the inner event.
func slackReceiver(secret string, a *app) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err != nil {
			verifyFailed(w, http.StatusBadRequest, err)
			return
		}
		if _, err := sv.Write(body); err != nil {
			verifyFailed(w, http.StatusInternalServerError, err)
			return
		}
		if err := sv.Ensure(); err != nil {
			verifyFailed(w, http.StatusUnauthorized, err)
			return
		}
		eventsAPIEvent, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			verifyFailed(w, http.StatusInternalServerError, err)
			return
		}
		switch eventsAPIEvent.Type {
		case slackevents.URLVerification:
			var cr *slackevents.ChallengeResponse
			if err := json.Unmarshal(body, &cr); err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text")
			_, _ = w.Write([]byte(cr.Challenge))
		case slackevents.CallbackEvent:
			cb, _ := eventsAPIEvent.Data.(*slackevents.EventsAPICallbackEvent)
			var inner []byte
			if cb != nil && cb.InnerEvent != nil {
				inner = *cb.InnerEvent
			}
			var id string
			if cb != nil {
				id = cb.EventID
			}
			processed(w, a.process(id, eventsAPIEvent.InnerEvent.Type, readOrder(inner)))
		default:
			// The example does nothing for other outer types, and answers 200.
		}
	})
}

func TestSlackGoLibrary(t *testing.T) {
	const secret = "hookproof-slack-signing-secret"
	t.Run("correct", func(t *testing.T) {
		// The documented handler answers the url_verification challenge: opt in to its check.
		res := conform(t, "slack", secret, true, slackReceiver, "--opt-in", "slack-url-verification")
		wantConformant(t, res)
		for _, c := range res.Cases {
			if c.ID == "RCV-URLV-001" && c.Outcome != reports.Passed {
				t.Errorf("RCV-URLV-001: %s (%s)", c.Outcome, c.Actual)
			}
		}
	})
	t.Run("no-dedupe", func(t *testing.T) {
		wantDuplicateEffects(t, conform(t, "slack", secret, false, slackReceiver))
	})
}
