package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SQLite keeps the store in one file. Writes go through a single connection, so transactions
// never contend inside the process (and busy_timeout covers another process on the same file);
// reads use a small pool of their own, which WAL lets run beside the writer.
type SQLite struct {
	w, r *sql.DB
}

var _ Store = (*SQLite)(nil)

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS inbox (
	seq          INTEGER PRIMARY KEY,   -- arrival (commit) order
	id           TEXT NOT NULL UNIQUE,  -- delivery id: the idempotency key
	body         BLOB NOT NULL,         -- raw body, exactly as signed
	received_ms  INTEGER NOT NULL,
	processed_ms INTEGER                -- NULL until a processing transaction claims it
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox(seq) WHERE processed_ms IS NULL;
CREATE TABLE IF NOT EXISTS objects (
	object_id TEXT PRIMARY KEY,
	last_seq  INTEGER NOT NULL          -- last applied seq: older events are stale
);
CREATE TABLE IF NOT EXISTS effects (
	effect_id  TEXT PRIMARY KEY,
	webhook_id TEXT NOT NULL UNIQUE,    -- one effect per delivery, enforced by the database too
	type       TEXT NOT NULL,
	data       TEXT NOT NULL,
	applied    INTEGER NOT NULL,
	created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,  -- report order = commit order
	effect_id TEXT NOT NULL REFERENCES effects(effect_id)
);`

// OpenSQLite opens or creates the SQLite store at path (a plain file path; ":memory:" is
// refused because the inbox must outlive the process).
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: sqlite: %q: want a plain file path", path)
	}
	// WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL at every commit,
	// so a committed inbox row survives kill -9 and an OS crash; immediate transactions take
	// the write lock up front instead of failing to upgrade a read lock later.
	const params = "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=1"
	w, err := sql.Open("sqlite", path+params)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if _, err := w.ExecContext(ctx, sqliteSchema); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: create schema in %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: sqlite: open %s for reading: %w", path, err)
	}
	return &SQLite{w: w, r: r}, nil
}

// Insert implements Store.
func (s *SQLite) Insert(ctx context.Context, ds []Delivery) ([]bool, error) {
	inserted := make([]bool, len(ds))
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO inbox(id, body, received_ms) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, d := range ds {
			res, err := st.ExecContext(ctx, d.ID, d.Body, unixMilli(d.ReceivedAt))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			inserted[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: insert %d deliveries: %w", len(ds), err)
	}
	return inserted, nil
}

// Pending implements Store.
func (s *SQLite) Pending(ctx context.Context, after int64, limit int) ([]Row, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT seq, id, body FROM inbox WHERE processed_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: pending: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Seq, &r.ID, &r.Body); err != nil {
			return nil, fmt.Errorf("store: sqlite: pending: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sqlite: pending: %w", err)
	}
	return out, nil
}

// Process implements Store.
func (s *SQLite) Process(ctx context.Context, fn func(Tx) error) error {
	return inTx(ctx, s.w, func(tx *sql.Tx) error { return fn(sqliteTx{tx}) })
}

type sqliteTx struct{ tx *sql.Tx }

func (t sqliteTx) Claim(ctx context.Context, webhookID string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE inbox SET processed_ms = ? WHERE id = ? AND processed_ms IS NULL`,
		time.Now().UnixMilli(), webhookID)
	if err != nil {
		return false, fmt.Errorf("store: sqlite: claim %q: %w", webhookID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: sqlite: claim %q: %w", webhookID, err)
	}
	return n == 1, nil
}

func (t sqliteTx) LastSeq(ctx context.Context, objectID string) (int64, bool, error) {
	var seq int64
	err := t.tx.QueryRowContext(ctx, `SELECT last_seq FROM objects WHERE object_id = ?`, objectID).Scan(&seq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("store: sqlite: last seq of %q: %w", objectID, err)
	}
	return seq, true, nil
}

func (t sqliteTx) SetLastSeq(ctx context.Context, objectID string, seq int64) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO objects(object_id, last_seq) VALUES(?, ?)
		ON CONFLICT(object_id) DO UPDATE SET last_seq = excluded.last_seq`, objectID, seq)
	if err != nil {
		return fmt.Errorf("store: sqlite: set last seq of %q: %w", objectID, err)
	}
	return nil
}

func (t sqliteTx) AddEffect(ctx context.Context, e Effect, report bool) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO effects(effect_id, webhook_id, type, data, applied, created_ms)
		VALUES(?, ?, ?, ?, ?, ?)`, e.EffectID, e.WebhookID, e.Type, string(jsonOrNull(e.Data)), e.Applied, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: sqlite: add effect of %q: %w", e.WebhookID, err)
	}
	if report {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO outbox(effect_id) VALUES(?)`, e.EffectID); err != nil {
			return fmt.Errorf("store: sqlite: queue effect of %q: %w", e.WebhookID, err)
		}
	}
	return nil
}

// Outbox implements Store.
func (s *SQLite) Outbox(ctx context.Context, limit int) ([]Queued, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.seq, e.effect_id, e.webhook_id, e.type, e.data, e.applied
		FROM outbox o JOIN effects e ON e.effect_id = o.effect_id ORDER BY o.seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: outbox: %w", err)
	}
	defer rows.Close()
	var out []Queued
	for rows.Next() {
		var q Queued
		var data string
		if err := rows.Scan(&q.Seq, &q.EffectID, &q.WebhookID, &q.Type, &data, &q.Applied); err != nil {
			return nil, fmt.Errorf("store: sqlite: outbox: %w", err)
		}
		q.Data = []byte(data)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sqlite: outbox: %w", err)
	}
	return out, nil
}

// Reported implements Store.
func (s *SQLite) Reported(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `DELETE FROM outbox WHERE seq = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, q := range seqs {
			if _, err := st.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: sqlite: mark %d effects reported: %w", len(seqs), err)
	}
	return nil
}

// Effects implements Store.
func (s *SQLite) Effects(ctx context.Context, webhookID string) ([]Effect, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT effect_id, webhook_id, type, data, applied FROM effects
		WHERE ? = '' OR webhook_id = ? ORDER BY rowid`, webhookID, webhookID)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: effects: %w", err)
	}
	defer rows.Close()
	var out []Effect
	for rows.Next() {
		var e Effect
		var data string
		if err := rows.Scan(&e.EffectID, &e.WebhookID, &e.Type, &data, &e.Applied); err != nil {
			return nil, fmt.Errorf("store: sqlite: effects: %w", err)
		}
		e.Data = []byte(data)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sqlite: effects: %w", err)
	}
	return out, nil
}

// Stats implements Store.
func (s *SQLite) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM inbox),
		(SELECT COUNT(*) FROM inbox WHERE processed_ms IS NULL),
		(SELECT COUNT(*) FROM effects),
		(SELECT COUNT(*) FROM outbox)`).Scan(&st.Inbox, &st.Pending, &st.Effects, &st.Outbox)
	if err != nil {
		return Stats{}, fmt.Errorf("store: sqlite: stats: %w", err)
	}
	return st, nil
}

// Close implements Store.
func (s *SQLite) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// inTx runs fn in a transaction on db and commits it, or rolls it back when fn fails.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func jsonOrNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
