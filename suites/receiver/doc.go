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
package receiver
