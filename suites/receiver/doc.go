// Package receiver is the receiver conformance suite: Ginkgo specs, one per catalogue requirement,
// that deliver signed (and deliberately broken) webhooks to an endpoint and grade what it does.
//
// Files and Describe groups follow the requirement families (signatures, timestamps, acks,
// idempotency, ordering, cloudevents); every spec quotes its requirement from
// suites/catalog/receiver.yaml, and suites/harness turns the run into reports.Results.
//
//	suite ──signed delivery──▶ [chaos proxy] ──▶ endpoint under test ──effect──▶ sink ◀── suite
//
// Run it with Run (the CLI's `hookproof conform receiver`), or with `go test` / `ginkgo` on
// this package, which takes the same settings as flags (see suite_test.go).
//
// Proof of teeth (teeth_test.go): reference/knownbad holds receivers broken in one way each, and
// each must fail exactly the cases its flaw breaks: no-signature-check (SIG-002…008, SIG-011…014,
// TS-001, TS-002, TS-004), reserialize-body (SIG-010), ignore-timestamp (TS-001, TS-002, TS-004,
// SIG-014), accept-future (TS-002), double-process (IDEM-001…003), slow-ack (ACK-001…003, on the
// ack cases only), 500-on-malformed (SIG-008, SIG-012, SIG-013), apply-stale (ORD-001, a SHOULD),
// leak-secret (SIG-015, a SHOULD: its rejection echoes the key as hex, HEX, base64 of the secret
// and the secret percent-encoded; the case looks for every encoding reports.SecretForms lists),
// none (nothing). The reference receiver passes every case on standard, every applicable case on
// the other schemes, and every case through a chaos proxy
// (drop=0.1,duplicate=0.2,delay=0-100ms,error=0.1(status=503)).
//
// The replay case RCV-TS-004 signs 2 s inside the window and replays 3.5 s later, so it takes 4 s,
// not 5 minutes. The ack cases measure 2xx in under 5 s (MUST) and 1 s (SHOULD), a burst of 20
// concurrent deliveries, no redirect (hookproof never follows one) and the median (INFO).
package receiver
