// Package sink is the effect sink of DESIGN.md: how hookproof observes what a receiver processed.
// A receiver reports each business effect with a Client; hookproof counts them with a Collector.
//
// The wire contract is one JSON object per POST to /effects, answered 204:
//
//	{"webhook_id":"<delivery id>","effect_id":"<unique per processing>","type":"<payload type>",
//	 "data":<payload data>,"applied":true|false}
//
// effect_id is made in the transaction that marks the event processed, so a receiver may report
// one effect more than once (from an outbox, after a crash) and it still counts once; reports
// without effect_id each count. Exactly-once means every acknowledged event has exactly one
// distinct effect; ordering means the applied effects of one data.object_id have increasing
// data.seq.
package sink
