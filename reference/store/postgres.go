package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Postgres keeps the store in PostgreSQL, shared by several receiver replicas. Claims take a row
// lock on the inbox row and Advance locks the object's ordering row, so two replicas never
// process one delivery twice nor apply one object's events out of order. Its tables are named
// receiver_*, so the database can be shared with other programs (the reference sender).
//
// Every commit is durable (PostgreSQL's default synchronous_commit=on).
type Postgres struct {
	db *sql.DB
}

var _ Store = (*Postgres)(nil)

const postgresSchema = `
CREATE TABLE IF NOT EXISTS receiver_inbox (
	seq          BIGSERIAL PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	body         BYTEA NOT NULL,
	received_ms  BIGINT NOT NULL,
	processed_ms BIGINT
);
CREATE INDEX IF NOT EXISTS receiver_inbox_pending ON receiver_inbox(seq) WHERE processed_ms IS NULL;
CREATE TABLE IF NOT EXISTS receiver_objects (
	object_id TEXT PRIMARY KEY,
	last_seq  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS receiver_effects (
	seq        BIGSERIAL UNIQUE,
	effect_id  TEXT PRIMARY KEY,
	webhook_id TEXT NOT NULL UNIQUE,
	type       TEXT NOT NULL,
	data       TEXT NOT NULL,
	applied    BOOLEAN NOT NULL,
	created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS receiver_outbox (
	seq       BIGSERIAL PRIMARY KEY,
	effect_id TEXT NOT NULL REFERENCES receiver_effects(effect_id)
);`

// schemaLock serialises schema creation when several replicas start at once.
const schemaLock = 0x686f6f6b70726f6f // "hookproo"

// OpenPostgres connects to the PostgreSQL database at dsn and creates the tables if needed.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: open: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, postgresSchema)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: create schema: %w", err)
	}
	return &Postgres{db: db}, nil
}

// Insert implements Store.
func (s *Postgres) Insert(ctx context.Context, ds []Delivery) ([]bool, error) {
	inserted := make([]bool, len(ds))
	err := inTx(ctx, s.db, func(tx *sql.Tx) (err error) {
		for i, d := range ds {
			inserted[i], err = changedOne(tx.ExecContext(ctx,
				`INSERT INTO receiver_inbox(id, body, received_ms) VALUES($1, $2, $3) ON CONFLICT(id) DO NOTHING`, inboxValues(d)...))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: postgres: insert %d deliveries: %w", len(ds), err)
	}
	return inserted, nil
}

// Pending implements Store.
func (s *Postgres) Pending(ctx context.Context, after int64, limit int) ([]Row, error) {
	return queryAll(ctx, s.db, "store: postgres: pending", scanRow,
		`SELECT seq, id, body, received_ms FROM receiver_inbox WHERE processed_ms IS NULL AND seq > $1 ORDER BY seq LIMIT $2`, after, limit)
}

// Process implements Store.
func (s *Postgres) Process(ctx context.Context, fn func(Tx) error) error {
	return inTx(ctx, s.db, func(tx *sql.Tx) error { return fn(postgresTx{tx}) })
}

type postgresTx struct{ tx *sql.Tx }

func (t postgresTx) Claim(ctx context.Context, webhookID string) (bool, error) {
	// The UPDATE locks the row: a replica claiming it at the same time waits for this
	// transaction, then finds it processed and claims nothing.
	claimed, err := changedOne(t.tx.ExecContext(ctx,
		`UPDATE receiver_inbox SET processed_ms = $1 WHERE id = $2 AND processed_ms IS NULL`, time.Now().UnixMilli(), webhookID))
	if err != nil {
		return false, fmt.Errorf("store: postgres: claim %q: %w", webhookID, err)
	}
	return claimed, nil
}

func (t postgresTx) Advance(ctx context.Context, objectID string, seq int64) (bool, error) {
	// The upsert locks the object's row until commit, so replicas advance one object one
	// event at a time; it changes nothing when the event is not newer.
	applied, err := changedOne(t.tx.ExecContext(ctx, `INSERT INTO receiver_objects(object_id, last_seq) VALUES($1, $2)
		ON CONFLICT(object_id) DO UPDATE SET last_seq = excluded.last_seq WHERE receiver_objects.last_seq < excluded.last_seq`, objectID, seq))
	if err != nil {
		return false, fmt.Errorf("store: postgres: advance %q to seq %d: %w", objectID, seq, err)
	}
	return applied, nil
}

func (t postgresTx) AddEffect(ctx context.Context, e Effect, report bool) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO receiver_effects(effect_id, webhook_id, type, data, applied, created_ms)
		VALUES($1, $2, $3, $4, $5, $6)`, effectValues(e)...)
	if err != nil {
		return fmt.Errorf("store: postgres: add effect of %q: %w", e.WebhookID, err)
	}
	if report {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO receiver_outbox(effect_id) VALUES($1)`, e.EffectID); err != nil {
			return fmt.Errorf("store: postgres: queue effect of %q: %w", e.WebhookID, err)
		}
	}
	return nil
}

var _ BatchTx = postgresTx{}

// ClaimAll implements BatchTx: one UPDATE, which locks every row it claims, as Claim does.
func (t postgresTx) ClaimAll(ctx context.Context, ids []string) ([]bool, error) {
	claimed := make([]bool, len(ids))
	if len(ids) == 0 {
		return claimed, nil
	}
	got, err := queryStrings(ctx, t.tx, `UPDATE receiver_inbox SET processed_ms = $1 WHERE id = ANY($2) AND processed_ms IS NULL RETURNING id`,
		time.Now().UnixMilli(), ids)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: claim %d deliveries: %w", len(ids), err)
	}
	markFirst(claimed, got, func(i int) string { return ids[i] })
	return claimed, nil
}

// AdvanceAll implements BatchTx. It creates the objects not seen before (with the seq of their
// first event, which is applied), locks every object's row in object_id order (as Advance, until
// the transaction ends; the order keeps two replicas from deadlocking on them), judges the
// events in order, and writes each object's newest applied seq back.
func (t postgresTx) AdvanceAll(ctx context.Context, objectIDs []string, seqs []int64) ([]bool, error) {
	applied := make([]bool, len(objectIDs))
	if len(objectIDs) == 0 {
		return applied, nil
	}
	fail := func(err error) ([]bool, error) {
		return nil, fmt.Errorf("store: postgres: advance %d events: %w", len(objectIDs), err)
	}
	first := make(map[string]int, len(objectIDs)) // object → index of its first event
	var objs []string
	var firstSeqs []int64
	for i, o := range objectIDs {
		if _, ok := first[o]; !ok {
			first[o] = i
			objs = append(objs, o)
		}
	}
	slices.Sort(objs)
	for _, o := range objs {
		firstSeqs = append(firstSeqs, seqs[first[o]])
	}
	created, err := queryStrings(ctx, t.tx, `INSERT INTO receiver_objects(object_id, last_seq)
		SELECT o, s FROM unnest($1::text[], $2::bigint[]) AS v(o, s) ORDER BY o
		ON CONFLICT(object_id) DO NOTHING RETURNING object_id`, objs, firstSeqs)
	if err != nil {
		return fail(err)
	}
	isNew := make(map[string]bool, len(created))
	for _, o := range created {
		isNew[o] = true
	}
	last := make(map[string]int64, len(objs))
	rows, err := t.tx.QueryContext(ctx, `SELECT object_id, last_seq FROM receiver_objects WHERE object_id = ANY($1) ORDER BY object_id FOR UPDATE`, objs)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var o string
		var seq int64
		if err := rows.Scan(&o, &seq); err != nil {
			rows.Close()
			return fail(err)
		}
		last[o] = seq
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	moved := make(map[string]bool, len(objs))
	for i, o := range objectIDs {
		switch {
		case isNew[o] && first[o] == i:
			applied[i] = true // created with this seq
		case seqs[i] > last[o]:
			applied[i], last[o], moved[o] = true, seqs[i], true
		}
	}
	if len(moved) == 0 {
		return applied, nil
	}
	var ups []string
	var upSeqs []int64
	for _, o := range objs {
		if moved[o] {
			ups, upSeqs = append(ups, o), append(upSeqs, last[o])
		}
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE receiver_objects AS r SET last_seq = v.s FROM unnest($1::text[], $2::bigint[]) AS v(o, s)
		WHERE r.object_id = v.o AND r.last_seq < v.s`, ups, upSeqs); err != nil {
		return fail(err)
	}
	return applied, nil
}

// AddEffects implements BatchTx: one INSERT of the effects and one of their outbox entries, each
// in the order of es.
func (t postgresTx) AddEffects(ctx context.Context, es []Effect, report bool) error {
	if len(es) == 0 {
		return nil
	}
	n := len(es)
	effectIDs, webhookIDs, types, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	appliedCol, created := make([]bool, n), make([]int64, n)
	for i, e := range es {
		v := effectValues(e) // the columns as Insert would write them
		effectIDs[i], webhookIDs[i], types[i], data[i] = v[0].(string), v[1].(string), v[2].(string), v[3].(string)
		appliedCol[i], created[i] = v[4].(bool), v[5].(int64)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO receiver_effects(effect_id, webhook_id, type, data, applied, created_ms)
		SELECT e, w, t, d, a, c FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::bigint[])
			WITH ORDINALITY AS v(e, w, t, d, a, c, n) ORDER BY n`,
		effectIDs, webhookIDs, types, data, appliedCol, created); err != nil {
		return fmt.Errorf("store: postgres: add %d effects: %w", len(es), err)
	}
	if report {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO receiver_outbox(effect_id)
			SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS v(e, n) ORDER BY n`, effectIDs); err != nil {
			return fmt.Errorf("store: postgres: queue %d effects: %w", len(es), err)
		}
	}
	return nil
}

// Outbox implements Store. Several replicas may read the same entries and report them twice;
// the shared effect_id makes that count once, and each reports in commit order.
func (s *Postgres) Outbox(ctx context.Context, limit int) ([]Queued, error) {
	return queryAll(ctx, s.db, "store: postgres: outbox", scanQueued, `SELECT o.seq, e.effect_id, e.webhook_id, e.type, e.data, e.applied
		FROM receiver_outbox o JOIN receiver_effects e ON e.effect_id = o.effect_id ORDER BY o.seq LIMIT $1`, limit)
}

// Reported implements Store.
func (s *Postgres) Reported(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM receiver_outbox WHERE seq = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("store: postgres: mark %d effects reported: %w", len(seqs), err)
	}
	return nil
}

// Effects implements Store.
func (s *Postgres) Effects(ctx context.Context, webhookID string) ([]Effect, error) {
	return queryAll(ctx, s.db, "store: postgres: effects", scanEffect, `SELECT effect_id, webhook_id, type, data, applied FROM receiver_effects
		WHERE $1 = '' OR webhook_id = $1 ORDER BY seq`, webhookID)
}

// Stats implements Store.
func (s *Postgres) Stats(ctx context.Context) (Stats, error) {
	return queryStats(ctx, s.db, "store: postgres: stats", `SELECT
		(SELECT COUNT(*) FROM receiver_inbox),
		(SELECT COUNT(*) FROM receiver_inbox WHERE processed_ms IS NULL),
		(SELECT COUNT(*) FROM receiver_effects),
		(SELECT COUNT(*) FROM receiver_outbox)`)
}

// Close implements Store.
func (s *Postgres) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: postgres: close: %w", err)
	}
	return nil
}
