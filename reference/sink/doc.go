// Package sink is hookproof's effect sink: how hookproof observes what a receiver processed,
// not just what it acknowledged. A receiver reports each business effect with a Client;
// hookproof counts them with a Collector.
//
// # The effect sink contract
//
// A receiver under test reports every effect of processing an event with one POST of one
// JSON object to the sink's /effects, which answers 204 No Content:
//
//	{"webhook_id":"<delivery id>","effect_id":"<unique per processing>","type":"<event type>","data":<event data>,"applied":true}
//
// The fields:
//
//   - webhook_id is the id of the delivery that caused the effect, as signature.DeliveryID
//     reads it (the scheme's id header, else the body's "id").
//   - effect_id names one processing of one event. The receiver makes it in the transaction
//     that marks the event processed, so it may report one effect more than once (from an
//     outbox, after a crash, on a retry of the report) and the sink still counts it once.
//     Reports without an effect_id each count.
//   - type and data are the event's type and data, as the envelope carried them
//     (reference/event).
//   - applied is false when the receiver processed the event but skipped its change as stale
//     (an event older, by data.seq, than one already applied for the same object).
//
// From the reports hookproof grades two properties:
//
//   - exactly-once: every acknowledged event has exactly one distinct effect: none lost (an
//     acknowledged event with no effect) and none doubled (more than one distinct effect_id
//     for one webhook_id);
//   - ordering: the applied effects of one data.object_id have increasing data.seq.
//
// Neither is observable without a sink: a receiver that reports no effects can be graded on
// its answers only, and the cases and thresholds that need a sink are reported as not
// observable, never as passed.
package sink
