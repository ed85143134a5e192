package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Delivery is one verified delivery to keep in the inbox before it is acknowledged.
type Delivery struct {
	ID         string    // delivery id: the idempotency key
	Body       []byte    // raw body, exactly as signed
	ReceivedAt time.Time // when the receiver read it
}

// Row is an inbox row that was acknowledged and not processed yet.
type Row struct {
	Seq        int64  // inbox order, increasing with commit order within one store
	ID         string // delivery id
	Body       []byte
	ReceivedAt time.Time // when it was acknowledged (millisecond precision once stored)
}

// Effect is one business effect: the row of the effects table, and what a sink receives.
type Effect struct {
	EffectID  string
	WebhookID string
	Type      string
	Data      json.RawMessage
	Applied   bool // false: processed but skipped as stale
}

// Queued is an outbox entry: an effect not yet reported to the sink.
type Queued struct {
	Seq int64 // outbox order = the order the effects were committed
	Effect
}

// Stats counts rows, for a health endpoint and tests.
type Stats struct {
	Inbox   int64 `json:"inbox"`   // deliveries acknowledged, ever
	Pending int64 `json:"pending"` // acknowledged, not processed yet
	Effects int64 `json:"effects"` // effects committed
	Outbox  int64 `json:"outbox"`  // effects not yet reported to the sink
}

// Store is the receiver's durable state. Implementations are safe for concurrent use.
type Store interface {
	// Insert commits deliveries to the inbox in one durable transaction. A delivery whose id is
	// already in the inbox (from this batch or before) is ignored: inserted[i] is false for it.
	// When Insert returns nil, every delivery survives a crash of the process.
	Insert(ctx context.Context, ds []Delivery) (inserted []bool, err error)
	// Pending returns up to limit unprocessed inbox rows with Seq > after, in Seq order.
	Pending(ctx context.Context, after int64, limit int) ([]Row, error)
	// Process runs fn in one transaction and commits it when fn returns nil. Everything fn does
	// through tx (claiming deliveries, ordering state, effects, outbox) commits together or not at all.
	Process(ctx context.Context, fn func(tx Tx) error) error
	// Outbox returns up to limit unreported effects, in commit order.
	Outbox(ctx context.Context, limit int) ([]Queued, error)
	// Reported removes outbox entries once the sink accepted them.
	Reported(ctx context.Context, seqs []int64) error
	// Effects returns the effects of webhookID ("" for all), in commit order.
	Effects(ctx context.Context, webhookID string) ([]Effect, error)
	// Stats counts rows.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the database.
	Close() error
}

// Tx is what a processing transaction may do. It is valid only inside Process's fn.
type Tx interface {
	// Claim marks the delivery processed and reports true, or reports false when it already
	// was (or is not in the inbox): the idempotency check, in the same transaction as the effect.
	Claim(ctx context.Context, webhookID string) (bool, error)
	// Advance makes seq the last applied seq of objectID if it is greater than the current one
	// (or the object has none yet) and reports whether it did: false means the event is stale.
	// On a shared store the object's row stays locked until the transaction ends.
	Advance(ctx context.Context, objectID string, seq int64) (applied bool, err error)
	// AddEffect records e in the effects table and, when report is true, queues it in the outbox.
	AddEffect(ctx context.Context, e Effect, report bool) error
}

// BatchTx is what a Tx may also do, set-based: the same as Claim, Advance and AddEffect called
// once per element in order, in a few statements instead of a few per element. A backend
// whose Tx implements it is processed through it. PostgreSQL's does, which saves a network
// round trip per statement; SQLite's does not: in process, the statements cost what SQLite
// does with the rows, and the set-based ones measured no cheaper.
type BatchTx interface {
	Tx
	// ClaimAll claims each delivery as Claim does; claimed[i] is Claim's answer for ids[i] (an
	// id repeated in ids is claimed at its first place only).
	ClaimAll(ctx context.Context, ids []string) (claimed []bool, err error)
	// AdvanceAll is Advance for each (objectIDs[i], seqs[i]) in order: applied[i] is false when
	// the object already showed a seq at least as new, counting the earlier elements.
	AdvanceAll(ctx context.Context, objectIDs []string, seqs []int64) (applied []bool, err error)
	// AddEffects records es in order (commit order is their order) and, when report is true,
	// queues them in the outbox in that order.
	AddEffects(ctx context.Context, es []Effect, report bool) error
}

// Open opens (creating if needed) the store named by dsn: a postgres:// or postgresql:// URL
// opens PostgreSQL, anything else is a SQLite file path.
func Open(ctx context.Context, dsn string) (Store, error) {
	if IsPostgres(dsn) {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, dsn)
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMilli()
}
