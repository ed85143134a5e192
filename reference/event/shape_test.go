package event

import (
	"encoding/json"
	"testing"
	"time"
)

// Every shape is valid JSON that Parse reads back to the event's data and ordering key.
func TestShapesRoundTrip(t *testing.T) {
	env := Envelope{ID: "msg_1", Type: "order.updated", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Data: json.RawMessage(`{"object_id":"ord_7","seq":3,"status":"updated"}`)}
	for _, s := range []Shape{ShapeEnvelope, ShapeStripeEvent, ShapeSlackEventCallback, ShapeGitHubRepositoryDispatch, ShapeShopifyOrder} {
		b := s.Append(nil, &env)
		if !json.Valid(b) {
			t.Errorf("%q: not JSON: %s", s, b)
			continue
		}
		r := Parse(b)
		if !r.Ordered || r.ObjectID != "ord_7" || r.Seq != 3 {
			t.Errorf("%q: Parse = %+v\n%s", s, r, b)
		}
	}
	empty := Envelope{ID: "msg_2", Type: "t", Timestamp: env.Timestamp, Data: json.RawMessage(`{}`)}
	for _, s := range []Shape{ShapeSlackEventCallback, ShapeShopifyOrder, ShapeStripeEvent} {
		if b := s.Append(nil, &empty); !json.Valid(b) {
			t.Errorf("%q with empty data: not JSON: %s", s, b)
		}
	}
}
