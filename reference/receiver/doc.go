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
//	                seq (or mark the event stale) + effect row + outbox row (a fresh effect_id);
//	                on PostgreSQL a few statements per 32 events (store.BatchTx)
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
//	408  the body did not arrive within the body timeout (10 s by default); the connection closes
//	413  a body over 1 MiB; refused before reading when Content-Length says so (no 100 Continue)
//	503  the store failed, the receiver is shutting down, or the read budget is full (with
//	     Retry-After: 1): the sender should retry (never used for a client's fault)
//
// Bounds before verification: the body has to be read before its signature can be checked, so
// what an unauthenticated client can hold is bounded. A request without the signature header
// is refused (401) before its body is read. A body must arrive whole within the body timeout
// (WithBodyTimeout, 10 s). Bodies being read or awaiting their commit share a read budget
// (WithReadBudget, 64 MiB): a body declared by Content-Length is charged its size before a byte
// is read, a chunked one as its buffer grows; a body that does not fit gets 503 with
// Retry-After at once. Bodies over 64 KiB or of unknown length may use three quarters of the
// budget, so a flood of large uploads leaves room for ordinary deliveries. Processed bodies are
// not kept: batch slices are cleared after use. (hookproof receiver also caps request headers
// at 64 KiB.) A flood of slow small bodies can still fill the budget for up to the body timeout;
// the deliveries refused meanwhile get 503 and are retried by their senders.
//
// OPTIONS answers the CloudEvents webhook abuse-protection handshake: 200 with
// WebHook-Allowed-Origin echoing WebHook-Request-Origin and, when WebHook-Request-Rate was
// asked, WebHook-Allowed-Rate.
//
// Durability: the 200 is sent only after the inbox transaction committed with synchronous=FULL
// (WAL fsynced), so an acknowledged delivery survives kill -9 and an OS crash; concurrent
// deliveries share one commit, so durability costs one fsync per batch. Processing commits are
// written to the WAL before they return (they survive kill -9) and fsynced by the next inbox
// commit: only an OS crash in between can undo one, and then the delivery is processed again.
//
// Ordering: an event whose data.seq is not greater than the object's last applied seq is
// processed as stale (its effect is recorded with applied:false). A body that is not the envelope
// (no object_id/seq) is still processed, with applied:true and no ordering. The reporter retries
// a failed report on its own, with backoff per failure (50 ms doubling to 5 s, from 50 ms again
// after every success), and marks what succeeded first: behind a sink that fails 5 % of
// requests, 1,000 effects arrive within about 3 s.
//
// Replicas: on one PostgreSQL store (tables receiver_inbox, receiver_objects, receiver_effects,
// receiver_outbox) claims lock the inbox row and the seq update locks the object's row, so each
// delivery is processed once and an object's applied seq only grows. A replica rescans the inbox
// every 2 s, so rows acknowledged by a replica that died are processed by another. The password
// in a DSN is never printed.
//
// GET /healthz answers {"status":"ok","scheme":…,"inbox":…,"pending":…,"effects":…,"outbox":…}
// (503 while shutting down or when the store cannot answer). Close drains: new deliveries get
// 503, in-flight acks finish, everything acknowledged is processed and reported.
//
// Use:
//
//	rcv, err := receiver.Open(ctx, scheme, "receiver.db", receiver.WithSink(sc), receiver.WithLogger(log))
//	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: rcv} // then srv.Shutdown(ctx), rcv.Close(ctx)
//
// Any http.Server serves it. hookproof receiver serves plain HTTP with h1.Server (package
// reference/h1: the same parsing, less work per request) and TLS with net/http.
//
// Options: WithWorkers (default 1 on SQLite, 4 on PostgreSQL; 0 stores and acknowledges only),
// WithSink, WithLogger, WithMaxBatch (largest group commit, default 256), WithRescan,
// WithBodyTimeout, WithReadBudget. New takes
// any store.Store instead of a DSN.
//
// Limits: the inbox keeps every delivery id forever (that is the duplicate check); a deployment
// deletes processed rows older than its senders' retry horizon (Standard Webhooks senders retry
// for about 3 days). On a shared store two replicas may process one object's events at the same
// moment; the later seq still wins, but an in-order event can then be marked stale.
package receiver
