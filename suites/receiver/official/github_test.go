package official_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-github/v84/github"
)

// githubReceiver is go-github's README example: ValidatePayload(r, secret), then
// ParseWebHook(WebHookType(r), payload); the delivery id is DeliveryID(r). go-github hands the
// application a typed event; the ordering key is the application's own data in the payload
// (hookproof's envelope carries it as data.object_id and data.seq).
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
		_ = event // a real app switches on event.(type); the effect below is the same for any
		var app struct {
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(payload, &app)
		processed(w, a.process(github.DeliveryID(r), github.WebHookType(r), readOrder(app.Data)))
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
