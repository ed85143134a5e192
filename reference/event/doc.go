// Package event is the one definition of the event hookproof sends: the envelope every
// delivery of its suites, load engine, reference sender and bad senders carries, with its
// encoder, and the lenient decoder the reference and known-bad receivers read bodies with.
//
// # The event envelope
//
// A delivery's body is one JSON object, members in this order:
//
//	{"id":"msg_…","type":"order.updated","timestamp":"2026-01-02T03:04:05.123Z","data":{"object_id":"ord_…","seq":3,…}}
//
// Its members mean:
//
//   - id is the delivery id. Where the signature scheme has an id header (webhook-id,
//     X-GitHub-Delivery, X-Shopify-Webhook-Id) the body's id equals that header on every
//     attempt; schemes without one (stripe, slack) identify the delivery by this field alone.
//     signature.DeliveryID is the rule that reads it back.
//   - type is a full-stop delimited event type ("order.updated", "endpoint.disabled").
//   - timestamp is when the event happened (RFC 3339, as encoding/json writes a time.Time),
//     not when an attempt was made: every retry of one event carries the same body.
//   - data is a JSON object. When it carries a string object_id and an integer seq, they
//     order the events of one object: seq grows with event time for each object_id, so a
//     receiver that applies an event whose seq is not above the last it applied for that
//     object has applied a stale one. Other members are the event's own fields.
//
// Every attempt of one event carries the same bytes, so a receiver may verify, store and
// compare them byte for byte.
//
// # Shapes
//
// Envelope is the "standard" body shape, the one hookproof sends today under every signature
// scheme. A provider-shaped body (what GitHub, Stripe or Shopify themselves send) is another
// rendering of the same facts: it is meant to be added as another type with an AppendJSON
// method of its own (and a decoder), chosen per scheme, leaving Envelope and its callers as
// they are.
package event
