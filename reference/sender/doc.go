// Package sender is the reference webhook sender: a durable SQLite outbox, an HTTP API to register
// endpoints, send, replay and inspect, and delivery workers that sign, retry and give up correctly.
//
// A message is stored before it is acknowledged to the caller, so a crash (even kill -9 in the
// middle of a delivery) loses nothing: on restart every pending message is attempted again, and
// every message is delivered at least once. The lifecycle of one message:
//
//	POST /messages ─▶ pending ─▶ attempt ─▶ 2xx ─────────────────────────────▶ delivered
//	                     ▲          │
//	                     │          ├─ other answer, timeout, reset ─▶ retry per schedule (+ jitter,
//	                     │          │                                    at least Retry-After on 429/503)
//	                     └──────────┤
//	                                ├─ schedule exhausted ──────────────▶ dead letter
//	                                └─ 410 Gone, or failing longer than DisableAfter
//	                                     ─▶ endpoint disabled, its messages dead-lettered,
//	                                        failure_notification_url called
//
// Every attempt is signed afresh: the same webhook-id, a new timestamp. Redirects are not
// followed. A circuit breaker per endpoint stops hammering an endpoint that keeps failing.
// Replay (one message, or every dead letter since a time) sends the same id again.
//
// One Sender owns its database: it takes an exclusive lock on a file next to it, so a second
// process on the same database fails fast instead of delivering twice.
package sender
