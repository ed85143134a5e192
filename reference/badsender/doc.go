// Package badsender is a family of deliberately flawed webhook senders, one flaw per file: the
// sender conformance suite's proof of teeth (each must fail the case its flaw breaks).
//
// A Sender is honest except for its one flaw: it signs every attempt afresh with the same
// delivery id, retries 5xx, timeouts and resets on a short backoff schedule with jitter, never
// follows redirects, honours Retry-After on 429 and 503, and stops delivering to an endpoint
// that answered 410. It keeps everything in memory (it is not durable: that is the reference
// sender's job) and serves the part of the reference sender's API that triggers use
// (POST /endpoints, POST /messages, GET /healthz), so `hookproof sender send` drives it too.
package badsender
