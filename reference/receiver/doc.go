// Package receiver is hookproof's reference webhook receiver: it verifies, stores durably,
// acknowledges, and only then processes, exactly once per delivery id and in seq order per object.
//
// It is meant to be read. The pipeline:
//
//	POST ──▶ read ≤1 MiB ──▶ verify signature ──▶ committer ──▶ 2xx
//	                                                │ group commit: one durable transaction
//	                                                │ for every delivery waiting (INSERT OR IGNORE)
//	                                                ▼
//	                                       inbox (SQLite WAL, synchronous=FULL, or PostgreSQL)
//	                                                │ new rows are handed on in memory; the inbox
//	                                                │ is read back at start, on overflow, on rescans
//	                                                ▼
//	                                           dispatcher: one queue per worker, chosen by
//	                                                │ object_id, so one object's events keep
//	                                                │ their inbox order
//	                                                ▼
//	        worker: one transaction = claim the delivery (idempotency) + advance the object's
//	                seq (or mark the event stale) + effect row + outbox row (a fresh effect_id)
//	                                                │
//	                                                ▼
//	        reporter: outbox ──▶ effect sink, at least once, in commit order; a row is
//	                  deleted only after the sink answered 2xx
//
// Nothing is acknowledged before it is committed, so a crash after a 2xx loses nothing: on
// restart every acknowledged, unprocessed row is processed, and every effect still in the
// outbox is reported again under its effect_id, which the sink counts once.
//
// Answers:
//
//	200  delivery stored (first time) or already stored (duplicate): either way, no retry needed
//	400  malformed request: a missing or malformed id or timestamp header, a signature header
//	     not in the scheme's form (github's without "sha256=", a repeated one, non-ASCII
//	     bytes, over 8 KiB), a timestamp outside the tolerance (stale or future), no usable
//	     delivery id, a body that could not be read
//	401  missing signature header, or no signature that verifies (including well-formed
//	     entries of garbage, and entries of unknown versions only)
//	405  a method other than POST (deliveries), GET/HEAD /healthz, OPTIONS (handshake); with Allow
//	413  a body over 1 MiB
//	503  the store failed or the receiver is shutting down: the sender should retry (never
//	     used for a client's fault)
//
// OPTIONS answers the CloudEvents webhook abuse-protection handshake: 200 with
// WebHook-Allowed-Origin echoing WebHook-Request-Origin and, when WebHook-Request-Rate was
// asked, WebHook-Allowed-Rate.
package receiver
