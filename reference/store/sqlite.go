package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SQLite keeps the store in one file, with WAL so that reads run beside the writer.
//
// Durability is chosen per transaction, with two writer connections that take turns under one
// lock (so they never contend inside the process; busy_timeout covers another process):
//
//   - inbox commits go through a synchronous=FULL connection: the WAL is fsynced before Insert
//     returns, so an acknowledged delivery survives kill -9 and an OS crash;
//   - processing and outbox bookkeeping go through a synchronous=NORMAL connection: written to
//     the WAL (they survive kill -9) and fsynced by the next inbox commit or checkpoint. An OS
//     crash in between can only make a delivery be processed again, never lose one.
//
// That keeps fsyncs, the slowest thing here, on the acknowledgement path alone. Checkpoints run
// in the background, never inside a commit.
type SQLite struct {
	in, w, r, cp *sql.DB // inbox writer, processing writer, readers, checkpointer
	// writeMu lets one transaction write at a time; procMu queues processing transactions
	// among themselves, so an inbox commit waits for the writer behind at most one of them.
	writeMu, procMu sync.Mutex
	stop, done      chan struct{} // the checkpointer's
	closeOnce       sync.Once
	// Statements of the hot paths, prepared once on their writer.
	insert, claim, advance, effect, queue *sql.Stmt
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
	seq        INTEGER PRIMARY KEY,     -- commit order
	effect_id  TEXT NOT NULL,           -- random: unique without an index to prove it
	webhook_id TEXT NOT NULL UNIQUE,    -- one effect per delivery, enforced by the database too
	type       TEXT NOT NULL,
	data       TEXT NOT NULL,
	applied    INTEGER NOT NULL,
	created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,  -- report order = commit order
	effect INTEGER NOT NULL                    -- effects.seq
);`

// OpenSQLite opens or creates the SQLite store at path (a plain file path; ":memory:" is
// refused because the inbox must outlive the process).
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: sqlite: %q: want a plain file path", path)
	}
	s := &SQLite{stop: make(chan struct{}), done: make(chan struct{})}
	fail := func(what string, err error) (*SQLite, error) {
		close(s.done) // no checkpointer yet
		s.Close()
		return nil, fmt.Errorf("store: sqlite: %s %s: %w", what, path, err)
	}
	// Immediate transactions take the write lock up front instead of failing to upgrade a read
	// lock later. No writer checkpoints by itself (wal_autocheckpoint=0): a checkpoint copies and
	// fsyncs pages and would stall whichever commit crossed the threshold.
	const writer = "&_busy_timeout=10000&_txlock=immediate&_pragma=wal_autocheckpoint(0)"
	var err error
	for _, c := range []struct {
		db     **sql.DB
		params string
		conns  int
	}{
		{&s.w, "?_journal_mode=WAL&_synchronous=NORMAL" + writer, 1}, // first: sets WAL mode for the file
		{&s.in, "?_synchronous=FULL" + writer, 1},
		{&s.r, "?_busy_timeout=10000&_query_only=1", 4},
		{&s.cp, "?_busy_timeout=10000", 1},
	} {
		if *c.db, err = sql.Open("sqlite", path+c.params); err != nil {
			return fail("open", err)
		}
		(*c.db).SetMaxOpenConns(c.conns)
		(*c.db).SetMaxIdleConns(c.conns)
		(*c.db).SetConnMaxLifetime(0)
		(*c.db).SetConnMaxIdleTime(0)
		if c.db == &s.w {
			if err := s.createSchema(ctx); err != nil {
				return fail("schema of", err)
			}
		} else if err := (*c.db).PingContext(ctx); err != nil {
			return fail("open", err)
		}
	}
	for _, p := range []struct {
		db  *sql.DB
		st  **sql.Stmt
		sql string
	}{
		{s.in, &s.insert, `INSERT INTO inbox(id, body, received_ms) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING`},
		{s.w, &s.claim, `UPDATE inbox SET processed_ms = ? WHERE id = ? AND processed_ms IS NULL`},
		// An upsert that only moves forward: no row changes when the event is not newer.
		{s.w, &s.advance, `INSERT INTO objects(object_id, last_seq) VALUES(?, ?)
			ON CONFLICT(object_id) DO UPDATE SET last_seq = excluded.last_seq WHERE excluded.last_seq > objects.last_seq`},
		{s.w, &s.effect, `INSERT INTO effects(effect_id, webhook_id, type, data, applied, created_ms) VALUES(?, ?, ?, ?, ?, ?)`},
		{s.w, &s.queue, `INSERT INTO outbox(effect) VALUES(?)`},
	} {
		if *p.st, err = p.db.PrepareContext(ctx, p.sql); err != nil {
			return fail("prepare a statement for", err)
		}
	}
	go s.checkpoints()
	return s, nil
}

// sqliteSchemaVersion is stored as the file's user_version. A file made by another version is
// refused rather than migrated: the inbox of a reference receiver is cheap to start afresh.
const sqliteSchemaVersion = 1

func (s *SQLite) createSchema(ctx context.Context) error {
	var version, tables int
	if err := s.w.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT COUNT(*) FROM sqlite_master WHERE type = 'table')`).Scan(&version, &tables); err != nil {
		return err
	}
	switch {
	case tables > 0 && version != sqliteSchemaVersion:
		return fmt.Errorf("the file has schema version %d, this receiver needs %d: use a new file", version, sqliteSchemaVersion)
	case tables > 0:
		return nil
	}
	_, err := s.w.ExecContext(ctx, sqliteSchema+fmt.Sprintf("\nPRAGMA user_version = %d;", sqliteSchemaVersion))
	return err
}

// checkpoints moves the WAL into the database file in the background: a PASSIVE checkpoint
// copies what no reader still needs and never blocks the writer.
func (s *SQLite) checkpoints() {
	defer close(s.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A failed checkpoint is retried at the next tick; the WAL only grows meanwhile.
			_, _ = s.cp.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// Insert implements Store.
func (s *SQLite) Insert(ctx context.Context, ds []Delivery) ([]bool, error) {
	inserted := make([]bool, len(ds))
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := writeTx(ctx, s.in, func(ctx context.Context, tx *sql.Tx) (err error) {
		st := tx.StmtContext(ctx, s.insert)
		for i, d := range ds {
			if inserted[i], err = changedOne(st.ExecContext(ctx, inboxValues(d)...)); err != nil {
				return err
			}
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
	return queryAll(ctx, s.r, "store: sqlite: pending", scanRow,
		`SELECT seq, id, body, received_ms FROM inbox WHERE processed_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

// Process implements Store.
func (s *SQLite) Process(ctx context.Context, fn func(Tx) error) error {
	s.procMu.Lock()
	defer s.procMu.Unlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return writeTx(ctx, s.w, func(ctx context.Context, tx *sql.Tx) error { return fn(&sqliteTx{s: s, tx: tx, ctx: ctx}) })
}

// sqliteTx runs its statements with the transaction's own context (see writeTx), whatever
// context its methods are given.
type sqliteTx struct {
	s   *SQLite
	tx  *sql.Tx
	ctx context.Context
	// The prepared statements bound to tx, each made on first use: binding one costs an
	// allocation and a lock, which a batch of deliveries then pays once instead of per row.
	bound map[*sql.Stmt]*sql.Stmt
}

// exec runs one of the prepared statements in the transaction.
func (t *sqliteTx) exec(st *sql.Stmt, args ...any) (sql.Result, error) {
	b, ok := t.bound[st]
	if !ok {
		if t.bound == nil {
			t.bound = make(map[*sql.Stmt]*sql.Stmt, 4)
		}
		b = t.tx.StmtContext(t.ctx, st)
		t.bound[st] = b
	}
	return b.ExecContext(t.ctx, args...)
}

func (t *sqliteTx) Claim(_ context.Context, webhookID string) (bool, error) {
	claimed, err := changedOne(t.exec(t.s.claim, time.Now().UnixMilli(), webhookID))
	if err != nil {
		return false, fmt.Errorf("store: sqlite: claim %q: %w", webhookID, err)
	}
	return claimed, nil
}

func (t *sqliteTx) Advance(_ context.Context, objectID string, seq int64) (bool, error) {
	applied, err := changedOne(t.exec(t.s.advance, objectID, seq))
	if err != nil {
		return false, fmt.Errorf("store: sqlite: advance %q to seq %d: %w", objectID, seq, err)
	}
	return applied, nil
}

func (t *sqliteTx) AddEffect(_ context.Context, e Effect, report bool) error {
	res, err := t.exec(t.s.effect, effectValues(e)...)
	if err != nil {
		return fmt.Errorf("store: sqlite: add effect of %q: %w", e.WebhookID, err)
	}
	if report {
		// The outbox points at the effect's rowid: no index on effect_id is needed to join it.
		seq, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: sqlite: queue effect of %q: %w", e.WebhookID, err)
		}
		if _, err := t.exec(t.s.queue, seq); err != nil {
			return fmt.Errorf("store: sqlite: queue effect of %q: %w", e.WebhookID, err)
		}
	}
	return nil
}

// Outbox implements Store.
func (s *SQLite) Outbox(ctx context.Context, limit int) ([]Queued, error) {
	return queryAll(ctx, s.r, "store: sqlite: outbox", scanQueued, `SELECT o.seq, e.effect_id, e.webhook_id, e.type, e.data, e.applied
		FROM outbox o JOIN effects e ON e.seq = o.effect ORDER BY o.seq LIMIT ?`, limit)
}

// Reported implements Store.
func (s *SQLite) Reported(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := writeTx(ctx, s.w, func(ctx context.Context, tx *sql.Tx) error {
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
	return queryAll(ctx, s.r, "store: sqlite: effects", scanEffect, `SELECT effect_id, webhook_id, type, data, applied FROM effects
		WHERE ? = '' OR webhook_id = ? ORDER BY seq`, webhookID, webhookID)
}

// Stats implements Store.
func (s *SQLite) Stats(ctx context.Context) (Stats, error) {
	return queryStats(ctx, s.r, "store: sqlite: stats", `SELECT
		(SELECT COUNT(*) FROM inbox),
		(SELECT COUNT(*) FROM inbox WHERE processed_ms IS NULL),
		(SELECT COUNT(*) FROM effects),
		(SELECT COUNT(*) FROM outbox)`)
}

// Close implements Store.
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	var errs []error
	for _, st := range []*sql.Stmt{s.insert, s.claim, s.advance, s.effect, s.queue} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.cp != nil {
		// A final TRUNCATE checkpoint leaves a compact file behind; failing it loses nothing.
		_, _ = s.cp.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	for _, db := range []*sql.DB{s.cp, s.r, s.in, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// writeTx runs fn in a write transaction on db. Once begun, the transaction runs to its end,
// whatever ctx does: each is short, and a context the driver need not watch spares it a
// goroutine per statement. ctx is checked before the transaction begins.
func writeTx(ctx context.Context, db *sql.DB, fn func(context.Context, *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	return inTx(ctx, db, func(tx *sql.Tx) error { return fn(ctx, tx) })
}
