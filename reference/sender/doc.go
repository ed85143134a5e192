// Package sender is the reference webhook sender: a durable outbox (SQLite, or PostgreSQL shared
// by several replicas), an HTTP API to register endpoints, send, replay and inspect, and
// delivery workers that sign, retry and give up correctly.
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
// followed. A circuit breaker per endpoint stops hammering an endpoint that keeps failing; its
// open state, like an endpoint's disabled state, is kept in the database and survives a
// restart. Replay (one message, or every dead letter since a time) sends the same id again.
//
// The SSRF guard (guard.go) is on by default: the dialer refuses loopback, private,
// link-local, CGNAT, multicast and other special-purpose addresses (BlockedRanges), checked on
// the address actually dialled, so DNS rebinding cannot get around it. WithAllowedCIDRs lets
// chosen ranges through; WithAllowPrivate turns it off (tests, demos). The API refuses URLs
// with credentials and event data that is not valid UTF-8 JSON text.
//
// A SQLite outbox is owned by one Sender: it takes an exclusive lock on a file next to it, so
// a second process on the same database fails fast instead of delivering twice. A PostgreSQL
// outbox (postgres.go) is shared: replicas claim due messages with FOR UPDATE SKIP LOCKED and
// a lease, so no message has two attempts under way at once.
package sender
