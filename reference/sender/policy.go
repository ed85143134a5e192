package sender

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// The reference sender's retry policy, for code that delivers one message at a time outside a
// Sender (hookproof replay and send): the same reading of an answer and the same backoff.

// Classify reads an answer as the reference sender does: only a 2xx is Success; 410 Gone is
// Gone (the endpoint asked to stop: no further attempt); any other status, 3xx included, is a
// Failure to retry. A 429 or 503 may carry a Retry-After (delay-seconds or an HTTP-date), which
// is returned capped at maxRetryAfter: the next attempt waits at least that long. detail says
// why in one line ("" on success). Only the status and the headers are read.
func Classify(resp *http.Response, now time.Time, maxRetryAfter time.Duration) (o Outcome, detail string, retryAfter time.Duration) {
	o, detail, ms := classify(resp, now, maxRetryAfter)
	return o, detail, time.Duration(ms) * time.Millisecond
}

// Next is the wait before the next attempt of a message whose failures attempts all failed
// (1 after the first): the schedule's delay for that attempt, jittered by j as the reference
// sender jitters it (uniform in d·(1−j)…d·(1+j), drawn from r), and at least retryAfter. ok is
// false when the schedule is exhausted: the message is a dead letter.
func (s Schedule) Next(failures int, j float64, retryAfter time.Duration, r *rand.Rand) (wait time.Duration, ok bool) {
	if failures < 1 || failures >= len(s) {
		return 0, false
	}
	return max(jittered(s[failures], j, r), retryAfter), true
}

// Backoff is a schedule of attempts attempts for a person waiting on a terminal (replay, send):
// immediately, then first, doubled after each failure up to limit. The reference sender's
// DefaultSchedule spans a day; this one the same shape in seconds.
func Backoff(attempts int, first, limit time.Duration) Schedule {
	attempts = min(max(attempts, 1), MaxAttempts)
	s := make(Schedule, attempts)
	d := first
	for i := 1; i < attempts; i++ {
		s[i] = min(d, limit)
		d *= 2
	}
	return s
}

// TransportError describes a request that got no answer (timeout, refused, closed) in one line,
// without repeating the URL, which may carry a token.
func TransportError(err error) string { return transportError(err) }

// Printable keeps b as valid UTF-8 without control characters (newlines and tabs kept), for
// showing an endpoint's answer on a terminal.
func Printable(b []byte) string { return printable(b) }
