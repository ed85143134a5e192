// Package store is the reference receiver's durable state: the inbox of acknowledged deliveries,
// per-object ordering, the effects table and the outbox of effects not yet reported to a sink.
//
// Two backends share one interface: SQLite through the pure-Go modernc.org/sqlite driver (the
// embedded default: WAL, synchronous=FULL, one writer connection) and PostgreSQL through pgx
// (the shared store for several receiver replicas). Open picks one from the DSN.
package store
