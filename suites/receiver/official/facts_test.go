package official_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v84/github"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	stripe "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// envelope is hookproof's body today (suites/receiver/delivery.go).
const envelope = `{"id":"msg_1","type":"order.updated","timestamp":"2026-01-02T03:04:05Z","data":{"object_id":"ord_1","seq":1,"status":"updated"}}`

// TestLibraryFacts pins what FINDINGS.md says about the libraries, so that an upgrade that
// changes one of them is noticed here.
func TestLibraryFacts(t *testing.T) {
	t.Run("go-github ParseWebHook needs X-GitHub-Event", func(t *testing.T) {
		if _, err := github.ParseWebHook("", []byte(envelope)); err == nil || !strings.Contains(err.Error(), "unknown X-Github-Event") {
			t.Errorf("ParseWebHook without an event type: %v", err)
		}
		// Most types accept hookproof's envelope (unknown fields are ignored); page_build and
		// status do not (their "id" is an integer).
		for _, typ := range []string{"ping", "repository_dispatch", "issues"} {
			if _, err := github.ParseWebHook(typ, []byte(envelope)); err != nil {
				t.Errorf("ParseWebHook(%q, envelope): %v", typ, err)
			}
		}
		for _, typ := range []string{"page_build", "status"} {
			if _, err := github.ParseWebHook(typ, []byte(envelope)); err == nil {
				t.Errorf("ParseWebHook(%q, envelope) succeeded; FINDINGS.md says it fails", typ)
			}
		}
	})

	t.Run("go-github ValidatePayload ignores X-GitHub-Delivery", func(t *testing.T) {
		r, _ := http.NewRequest("POST", "/", strings.NewReader(envelope))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(github.SHA256SignatureHeader, "sha256="+hexMAC("s", envelope))
		if _, err := github.ValidatePayload(r, []byte("s")); err != nil {
			t.Errorf("ValidatePayload without X-GitHub-Delivery: %v", err)
		}
	})

	t.Run("stripe-go ConstructEvent", func(t *testing.T) {
		sign := func(body string, at time.Time) (stripe.Event, error) {
			p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: "s", Timestamp: at})
			return webhook.ConstructEvent(p.Payload, p.Header, "s")
		}
		if stripe.APIVersion != "2025-08-27.basil" {
			t.Errorf("stripe.APIVersion = %q; FINDINGS.md says 2025-08-27.basil", stripe.APIVersion)
		}
		if _, err := sign(envelope, time.Now()); err == nil || !strings.Contains(err.Error(), "Failed to parse webhook body json") {
			t.Errorf("envelope without data.object: %v", err)
		}
		noVersion := `{"id":"evt_1","object":"event","type":"order.updated","data":{"object":{"object_id":"ord_1","seq":1}}}`
		if _, err := sign(noVersion, time.Now()); err == nil || !strings.Contains(err.Error(), "API version") {
			t.Errorf("event without api_version: %v", err)
		}
		basil := `{"id":"evt_1","object":"event","api_version":"2025-03-31.basil","type":"order.updated","data":{"object":{"object_id":"ord_1","seq":1}}}`
		if ev, err := sign(basil, time.Now()); err != nil || ev.ID != "evt_1" {
			t.Errorf("an event of the basil train: %v", err)
		}
		if _, err := sign(basil, time.Now().Add(1000*time.Hour)); err != nil {
			t.Errorf("stripe-go now rejects a timestamp 1000 h ahead (%v): update FINDINGS.md on RCV-TS-002", err)
		}
		if _, err := sign(basil, time.Now().Add(-5*time.Minute-2*time.Second)); err != webhook.ErrTooOld {
			t.Errorf("5 min 2 s old: %v, want ErrTooOld", err)
		}
	})

	t.Run("slackevents.ParseEvent", func(t *testing.T) {
		ev, err := slackevents.ParseEvent(json.RawMessage(envelope), slackevents.OptionNoVerifyToken())
		if err != nil || ev.Type != "order.updated" {
			t.Errorf("envelope: type %q, %v; FINDINGS.md says it parses as an outer event of type order.updated", ev.Type, err)
		}
		unknown := `{"type":"event_callback","event_id":"Ev1","event":{"type":"order.updated","object_id":"o","seq":1}}`
		if _, err := slackevents.ParseEvent(json.RawMessage(unknown), slackevents.OptionNoVerifyToken()); err == nil {
			t.Errorf("an event_callback with an unmapped inner type parsed")
		}
		mention := `{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","object_id":"o","seq":1,"status":"updated"}}`
		ev, err = slackevents.ParseEvent(json.RawMessage(mention), slackevents.OptionNoVerifyToken())
		if err != nil || ev.Type != slackevents.CallbackEvent || ev.Data.(*slackevents.EventsAPICallbackEvent).EventID != "Ev1" {
			t.Errorf("app_mention callback: %+v, %v", ev, err)
		}
	})

	t.Run("slack SecretsVerifier rejects both directions", func(t *testing.T) {
		for _, off := range []time.Duration{-5*time.Minute - 2*time.Second, 5*time.Minute + 2*time.Second} {
			h := http.Header{}
			h.Set("X-Slack-Request-Timestamp", unix(time.Now().Add(off)))
			h.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
			if _, err := slack.NewSecretsVerifier(h, "s"); err != slack.ErrExpiredTimestamp {
				t.Errorf("offset %s: %v, want ErrExpiredTimestamp", off, err)
			}
		}
	})
}
