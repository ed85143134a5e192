package sender

import (
	"encoding/json"
	"time"
)

// Endpoint is a registered destination. The secrets are kept by the Sender and never leave
// it: no JSON field carries them.
type Endpoint struct {
	ID                     string    `json:"id"`
	URL                    string    `json:"url"`
	Scheme                 string    `json:"scheme"`
	FailureNotificationURL string    `json:"failure_notification_url,omitempty"`
	Disabled               bool      `json:"disabled"`
	DisabledReason         string    `json:"disabled_reason,omitempty"`
	DisabledAt             time.Time `json:"disabled_at,omitzero"`
	// FailingSince is when the current run of failed attempts began; zero while healthy.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// Rotating is true while previous secrets are still signed with (secret rotation).
	Rotating bool `json:"rotating"`
	// Breaker is the circuit breaker's state: "closed", "open" or "half-open".
	Breaker string `json:"breaker,omitempty"`
	// Notification is the state of the failure notification: "", "pending", "sent" or "failed".
	Notification string    `json:"notification,omitempty"`
	CreatedAt    time.Time `json:"created_at"`

	secret   string
	previous []previousSecret
}

// previousSecret is an old secret still signed with until ExpiresAt.
type previousSecret struct {
	Secret    string `json:"secret"`
	ExpiresAt int64  `json:"expires_at"` // unix ms
}

// activePrevious lists the previous secrets not yet expired at now.
func (e *Endpoint) activePrevious(now time.Time) []string {
	var out []string
	for _, p := range e.previous {
		if p.ExpiresAt > now.UnixMilli() {
			out = append(out, p.Secret)
		}
	}
	return out
}

// EndpointSpec registers an endpoint.
type EndpointSpec struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
	// Scheme is a signature scheme name (reference/signature); empty means "standard".
	Scheme                 string `json:"scheme,omitempty"`
	FailureNotificationURL string `json:"failure_notification_url,omitempty"`
	// PreviousSecrets are still signed with, next to Secret, for PreviousTTL (rotation
	// already under way when the endpoint is registered).
	PreviousSecrets []string `json:"previous_secrets,omitempty"`
	PreviousTTL     Duration `json:"previous_ttl,omitzero"`
	IdempotencyKey  string   `json:"-"`
}

// Rotation replaces an endpoint's secret; the old one is still signed with for PreviousTTL.
type Rotation struct {
	Secret      string   `json:"secret"`
	PreviousTTL Duration `json:"previous_ttl,omitzero"`
}

// DefaultPreviousTTL is how long an old secret is still signed with after a rotation.
const DefaultPreviousTTL = 24 * time.Hour

// Status of a message.
type Status string

const (
	Pending   Status = "pending"   // waiting for its next attempt
	Delivered Status = "delivered" // some attempt got a 2xx
	Dead      Status = "dead"      // a dead letter: attempts exhausted, or its endpoint disabled
)

// Message is one event for one endpoint. Its ID is the webhook-id of every attempt.
type Message struct {
	ID             string          `json:"id"`
	EndpointID     string          `json:"endpoint_id"`
	Type           string          `json:"type"`
	Status         Status          `json:"status"`
	Attempts       int             `json:"attempts"`
	Failures       int             `json:"failures"` // failed attempts since it was sent or last replayed
	NextAttemptAt  time.Time       `json:"next_attempt_at,omitzero"`
	CreatedAt      time.Time       `json:"created_at"`
	DeliveredAt    time.Time       `json:"delivered_at,omitzero"`
	DeadAt         time.Time       `json:"dead_at,omitzero"`
	DeadReason     string          `json:"dead_reason,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Payload        json.RawMessage `json:"payload,omitempty"` // the exact bytes every attempt sends
}

// SendRequest asks for one event to be delivered to one endpoint.
type SendRequest struct {
	EndpointID string `json:"endpoint_id"`
	Type       string `json:"type"`
	// Data is the event's data, a JSON object, passed through as the envelope's "data".
	Data           json.RawMessage `json:"data"`
	IdempotencyKey string          `json:"-"`
}

// Outcome of one attempt.
type Outcome string

const (
	InFlight    Outcome = "in-flight"   // started, no answer yet
	Success     Outcome = "success"     // 2xx
	Failure     Outcome = "failure"     // any other answer, a timeout, a transport error
	Gone        Outcome = "gone"        // 410: the endpoint was disabled
	Interrupted Outcome = "interrupted" // the sender stopped (or crashed) before an answer; not counted as a failure
)

// Attempt is one HTTP request made for a message.
type Attempt struct {
	MessageID string    `json:"message_id"`
	N         int       `json:"n"` // 1-based, over the message's whole life (replays continue the count)
	StartedAt time.Time `json:"started_at"`
	// SignedTimestamp is the timestamp signed into this attempt (unix seconds).
	SignedTimestamp int64   `json:"signed_timestamp"`
	URL             string  `json:"url"`
	DurationMS      float64 `json:"duration_ms"`
	StatusCode      int     `json:"status_code,omitempty"`
	Outcome         Outcome `json:"outcome"`
	Error           string  `json:"error,omitempty"`
	RetryAfterMS    int64   `json:"retry_after_ms,omitempty"`
	// Response is an excerpt of the answer's body, for debugging.
	Response string `json:"response,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("24h").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errBadRequest("a duration must be a string such as \"24h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return errBadRequest("duration %q is not a non-negative Go duration such as \"24h\"", s)
	}
	*d = Duration(v)
	return nil
}
