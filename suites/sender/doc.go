// Package sender is the sender conformance suite: Ginkgo specs, one per catalogue requirement,
// in which hookproof plays a scripted receiver and grades how the sender under test delivers.
//
// For each case hookproof opens a fresh endpoint with a script of answers (5xx, no answer, a
// reset connection, 3xx, 410, 429 with Retry-After, 2xx), runs the trigger command that makes
// the sender emit one event to it, and records every attempt (arrival time, headers, body):
//
//	trigger (sh -c CMD, {url}) ──▶ sender under test ──attempts──▶ scripted receiver (hookproof)
//
// Files and the spec order follow the requirement families (headers, signatures, ids,
// timestamps, retries, status codes, timeouts, payload); every spec quotes its requirement
// from suites/catalog/sender.yaml, and suites/harness turns the run into reports.Results.
// Run it with Run (the CLI's `hookproof conform sender`) or with `go test` on this package,
// which takes the same settings as flags (see suite_test.go).
//
// Proof of teeth: reference/badsender holds known-bad senders, one flaw per file
// (new-id-per-retry, one-id-for-all, event-time-timestamp, no-retries, no-backoff,
// follows-redirects, 3xx-is-success, ignores-retry-after, as of this writing); each fails exactly
// the cases its flaw breaks and leaves exactly the cases whose premise it takes away not
// observable. The reference sender
// passes every case, with a URL per case and with one fixed URL, and the long case against its
// real 15 s timeout. TestEndToEndExactlyOnce sends 100 messages from the reference sender through
// the chaos proxy to the reference receiver: every one is delivered and processed exactly once.
package sender
