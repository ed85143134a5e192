package official_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-github/v84/github"
)

// githubReceiver is go-github's README example: ValidatePayload(r, secret), then
// ParseWebHook(WebHookType(r), payload); the delivery id is DeliveryID(r). go-github hands the
// application a typed event; hookproof sends repository_dispatch, whose client_payload holds the
// application's data (object_id and seq, the ordering key).
func githubReceiver(secret string, a *app) http.Handler {
	key := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := github.ValidatePayload(r, key)
		if err != nil {
			verifyFailed(w, http.StatusUnauthorized, err)
			return
		}
		event, err := github.ParseWebHook(github.WebHookType(r), payload)
		if err != nil {
			verifyFailed(w, http.StatusBadRequest, err)
			return
		}
		// As an app does: switch on the event's type. A repository_dispatch carries the
		// application's own JSON in client_payload.
		var data json.RawMessage
		var typ string
		switch e := event.(type) {
		case *github.RepositoryDispatchEvent:
			data, typ = e.ClientPayload, e.GetAction()
		default:
			typ = github.WebHookType(r)
		}
		processed(w, a.process(github.DeliveryID(r), typ, readOrder(data)))
	})
}

func TestGoGitHubLibrary(t *testing.T) {
	const secret = "hookproof-github-secret"
	t.Run("correct", func(t *testing.T) {
		wantConformant(t, conform(t, "github", secret, true, githubReceiver))
	})
	t.Run("no-dedupe", func(t *testing.T) {
		wantDuplicateEffects(t, conform(t, "github", secret, false, githubReceiver))
	})
}
