package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxEffectBytes bounds one report. A receiver accepts bodies up to 1 MiB and an effect carries
// the body's data, so the bound leaves room for that plus the envelope.
const MaxEffectBytes = 4 << 20

// Effect is one business effect reported by a receiver.
type Effect struct {
	WebhookID string          `json:"webhook_id"`
	EffectID  string          `json:"effect_id,omitempty"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	Applied   bool            `json:"applied"`
}

// ErrBadEffect is wrapped by DecodeEffect for a report that breaks the contract.
var ErrBadEffect = errors.New("bad effect report")

// DecodeEffect parses one report: a single JSON object with a non-empty webhook_id and a boolean
// applied; data may be any JSON value (absent reads as null). Unknown fields are ignored, so a
// receiver may add its own; anything after the object is an error.
func DecodeEffect(b []byte) (Effect, error) {
	var w struct {
		WebhookID *string         `json:"webhook_id"`
		EffectID  *string         `json:"effect_id"`
		Type      *string         `json:"type"`
		Data      json.RawMessage `json:"data"`
		Applied   *bool           `json:"applied"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&w); err != nil {
		return Effect{}, fmt.Errorf("%w: %v", ErrBadEffect, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return Effect{}, fmt.Errorf("%w: data after the JSON object", ErrBadEffect)
	}
	switch {
	case w.WebhookID == nil || *w.WebhookID == "":
		return Effect{}, fmt.Errorf("%w: webhook_id is missing or empty", ErrBadEffect)
	case w.Applied == nil:
		return Effect{}, fmt.Errorf("%w: applied is missing", ErrBadEffect)
	}
	e := Effect{WebhookID: *w.WebhookID, Applied: *w.Applied, Data: w.Data}
	if w.EffectID != nil {
		e.EffectID = *w.EffectID
	}
	if w.Type != nil {
		e.Type = *w.Type
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("null")
	}
	return e, nil
}
