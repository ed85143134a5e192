// Package load is the engine of hookproof load: a Vegeta attack of signed webhook deliveries,
// retried like a real sender, reconciled against an effect sink and graded by k6-style thresholds.
//
// A run is a pipeline of small parts, each replaceable and tested on its own:
//
//	pacer ─▶ signing targeter ─┐                       ┌─▶ ledger (per delivery state) ─▶ reconcile with sink
//	                           ├─▶ recording transport ─┤
//	retry queue (backoff) ─────┘   [chaos proxy]        └─▶ latency histograms, series ─▶ thresholds ─▶ Results
//
// The main attack sends new deliveries at the configured rate; a second attack, paced by the
// retry queue, re-sends failed ones with the same id and a fresh timestamp and signature, during
// the attack and in a bounded drain phase. Every request's outcome is recorded by a wrapping
// RoundTripper (Vegeta's Result carries no request headers), and ack latency is measured from
// each attempt's scheduled send time, so a slow target cannot hide behind a slowed generator.
package load
