package sinkservice

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the pure-Go "sqlite" driver

	"github.com/hookproof/hookproof/reference/sink"
)

// ErrConflict is wrapped when a run is declared or deposited with a shard count other than
// the one it already has.
var ErrConflict = errors.New("conflicts with the run as recorded")

// ErrNotFound is wrapped when a run or a shard's results are not recorded.
var ErrNotFound = errors.New("not recorded")

// Store keeps the effects and the shards' results of every run, durably: SQLite (one file,
// synchronous=FULL) by default, PostgreSQL to share one store between several sink services.
// An effect is one row per (run, webhook_id, effect_id): a re-reported effect_id is counted
// once; a report without effect_id is always a row of its own.
type Store struct {
	w, r     *sql.DB // writer and readers (the same pool on PostgreSQL)
	postgres bool
	name     string // for errors: "sqlite FILE" or "postgres"

	// Effects are written by one goroutine in group commits: a report is answered once the
	// transaction holding it has committed (fsynced), and many reports share one fsync.
	queue     chan *pending
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type pending struct {
	run   string
	e     sink.Effect
	fresh bool
	err   chan error
}

// maxBatch bounds one group commit.
const maxBatch = 512

const schemaSQLite = `
CREATE TABLE IF NOT EXISTS sink_runs (
	run            TEXT PRIMARY KEY,
	shards         INTEGER NOT NULL DEFAULT 0,   -- expected shard count; 0 until declared
	reports        INTEGER NOT NULL DEFAULT 0,   -- effect reports received, re-reports included
	last_report_ms INTEGER NOT NULL DEFAULT 0,
	created_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sink_effects (
	run        TEXT NOT NULL,
	webhook_id TEXT NOT NULL,
	effect_key TEXT NOT NULL,                    -- "e:" + effect_id, or "r:" + random for none
	type       TEXT NOT NULL,
	data       TEXT NOT NULL,
	applied    INTEGER NOT NULL,
	created_ms INTEGER NOT NULL,
	PRIMARY KEY (run, webhook_id, effect_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sink_shards (
	run          TEXT NOT NULL,
	shard        INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	results      BLOB NOT NULL,
	deposited_ms INTEGER NOT NULL,
	PRIMARY KEY (run, shard)
);`

// The PostgreSQL schema compares ids bytewise (COLLATE "C"), so that a prefix is a range of
// the primary key as in SQLite.
const schemaPostgres = `
CREATE TABLE IF NOT EXISTS sink_runs (
	run            TEXT COLLATE "C" PRIMARY KEY,
	shards         INTEGER NOT NULL DEFAULT 0,
	reports        BIGINT NOT NULL DEFAULT 0,
	last_report_ms BIGINT NOT NULL DEFAULT 0,
	created_ms     BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sink_effects (
	run        TEXT COLLATE "C" NOT NULL,
	webhook_id TEXT COLLATE "C" NOT NULL,
	effect_key TEXT COLLATE "C" NOT NULL,
	type       TEXT NOT NULL,
	data       TEXT NOT NULL,
	applied    BOOLEAN NOT NULL,
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (run, webhook_id, effect_key)
);
CREATE TABLE IF NOT EXISTS sink_shards (
	run          TEXT COLLATE "C" NOT NULL,
	shard        INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	results      BYTEA NOT NULL,
	deposited_ms BIGINT NOT NULL,
	PRIMARY KEY (run, shard)
);`

// schemaLock serialises schema creation when several services start at once on PostgreSQL.
const schemaLock = 0x686f6f6b73696e6b // "hooksink"

// IsPostgres reports whether db names a PostgreSQL database rather than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens or creates the store: a postgres:// DSN, else a SQLite file path.
func Open(ctx context.Context, db string) (*Store, error) {
	var s *Store
	var err error
	if IsPostgres(db) {
		s, err = openPostgres(ctx, db)
	} else {
		s, err = openSQLite(ctx, db)
	}
	if err != nil {
		return nil, err
	}
	s.queue = make(chan *pending, 4*maxBatch)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.writer()
	return s, nil
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sinkservice: sqlite: %q: want a plain file path", path)
	}
	s := &Store{name: "sqlite " + path}
	w, err := sql.Open("sqlite", path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sinkservice: sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if _, err := w.ExecContext(ctx, schemaSQLite); err != nil {
		w.Close()
		return nil, fmt.Errorf("sinkservice: sqlite: schema of %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sinkservice: sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.w, s.r = w, r
	return s, nil
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sinkservice: postgres: open: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	tx, err := db.BeginTx(ctx, nil)
	if err == nil {
		if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err == nil {
			_, err = tx.ExecContext(ctx, schemaPostgres)
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sinkservice: postgres: create schema: %w", err)
	}
	return &Store{w: db, r: db, postgres: true, name: "postgres"}, nil
}

// q rewrites ? placeholders as $1, $2, ... for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Close stops the writer (reports in its queue are still committed) and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.closeErr = errors.Join(s.w.Close(), func() error {
			if s.r != s.w {
				return s.r.Close()
			}
			return nil
		}())
	})
	return s.closeErr
}

// ErrClosed is returned by AddEffect once the store is closing.
var ErrClosed = errors.New("sinkservice: store closed")

// AddEffect stores one report of run and returns once it is durable; fresh says whether it
// was a new distinct effect (false: its effect_id was already counted).
func (s *Store) AddEffect(ctx context.Context, run string, e sink.Effect) (fresh bool, err error) {
	p := &pending{run: run, e: e, err: make(chan error, 1)}
	select {
	case s.queue <- p:
	case <-s.stop:
		return false, ErrClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case err := <-p.err:
		return p.fresh, err
	case <-ctx.Done():
		// The report may still commit; the receiver retries and the effect_id dedupes it.
		return false, ctx.Err()
	}
}

// writer commits queued reports in groups until Close, then commits what is left.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*pending, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case p := <-s.queue:
			batch = append(batch, p)
		case <-s.stop:
			for {
				select {
				case p := <-s.queue:
					batch = append(batch, p)
					if len(batch) == maxBatch {
						s.commit(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						s.commit(batch)
					}
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UnixMilli()
		perRun := map[string]int{}
		for _, p := range batch {
			key := "e:" + p.e.EffectID
			if p.e.EffectID == "" {
				key = "r:" + rand.Text()
			}
			data := string(p.e.Data)
			if data == "" {
				data = "null"
			}
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO sink_effects(run, webhook_id, effect_key, type, data, applied, created_ms)
				VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), p.run, p.e.WebhookID, key, p.e.Type, data, p.e.Applied, now)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			p.fresh = n == 1
			perRun[p.run]++
		}
		for run, n := range perRun {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sink_runs(run, reports, last_report_ms, created_ms) VALUES(?, ?, ?, ?)
				ON CONFLICT(run) DO UPDATE SET reports = sink_runs.reports + excluded.reports, last_report_ms = excluded.last_report_ms`),
				run, n, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("sinkservice: %s: store %d reports: %w", s.name, len(batch), err)
	}
	for _, p := range batch {
		p.err <- err
	}
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// RunInfo is what the store knows of one run.
type RunInfo struct {
	Run string `json:"run"`
	// Shards is the expected shard count (declared by a shard, or by the first deposit); 0 when
	// nobody has said yet.
	Shards     int       `json:"shards"`
	Reports    int64     `json:"reports"` // effect reports received, re-reports included
	LastReport time.Time `json:"last_report,omitzero"`
	Created    time.Time `json:"created"`
	Deposited  []int     `json:"deposited"` // shard indexes whose results are deposited, ascending
}

// Missing lists the shards (1..Shards) with no deposit.
func (ri RunInfo) Missing() []int {
	have := map[int]bool{}
	for _, i := range ri.Deposited {
		have[i] = true
	}
	out := []int{}
	for i := 1; i <= ri.Shards; i++ {
		if !have[i] {
			out = append(out, i)
		}
	}
	return out
}

// Run returns what is known of run; ErrNotFound when nothing is.
func (s *Store) Run(ctx context.Context, run string) (RunInfo, error) {
	ri := RunInfo{Run: run, Deposited: []int{}}
	var last, created int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT shards, reports, last_report_ms, created_ms FROM sink_runs WHERE run = ?`), run).
		Scan(&ri.Shards, &ri.Reports, &last, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ri, fmt.Errorf("run %q: %w", run, ErrNotFound)
	}
	if err != nil {
		return ri, fmt.Errorf("sinkservice: %s: run %q: %w", s.name, run, err)
	}
	if last > 0 {
		ri.LastReport = time.UnixMilli(last).UTC()
	}
	ri.Created = time.UnixMilli(created).UTC()
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT shard FROM sink_shards WHERE run = ? ORDER BY shard`), run)
	if err != nil {
		return ri, fmt.Errorf("sinkservice: %s: shards of %q: %w", s.name, run, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return ri, err
		}
		ri.Deposited = append(ri.Deposited, i)
	}
	return ri, rows.Err()
}

// Runs lists every run, by name (at most limit).
func (s *Store) Runs(ctx context.Context, limit int) ([]RunInfo, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT r.run, r.shards, r.reports, r.last_report_ms, r.created_ms,
		(SELECT COUNT(*) FROM sink_shards d WHERE d.run = r.run) FROM sink_runs r ORDER BY r.run LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("sinkservice: %s: runs: %w", s.name, err)
	}
	defer rows.Close()
	out := []RunInfo{}
	for rows.Next() {
		var ri RunInfo
		var last, created int64
		var deposited int
		if err := rows.Scan(&ri.Run, &ri.Shards, &ri.Reports, &last, &created, &deposited); err != nil {
			return nil, err
		}
		if last > 0 {
			ri.LastReport = time.UnixMilli(last).UTC()
		}
		ri.Created = time.UnixMilli(created).UTC()
		ri.Deposited = nil // not listed here: GET /runs/{run} has them
		out = append(out, ri)
	}
	return out, rows.Err()
}

// CountRuns is the number of runs recorded.
func (s *Store) CountRuns(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sink_runs`).Scan(&n)
	return n, err
}

// Declare records that run has shards shards (creating the run). A run that already has
// another count is ErrConflict.
func (s *Store) Declare(ctx context.Context, run string, shards int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.declareTx(ctx, tx, run, shards) })
}

func (s *Store) declareTx(ctx context.Context, tx *sql.Tx, run string, shards int) error {
	now := time.Now().UnixMilli()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sink_runs(run, shards, created_ms) VALUES(?, ?, ?)
		ON CONFLICT(run) DO UPDATE SET shards = excluded.shards WHERE sink_runs.shards = 0`), run, shards, now); err != nil {
		return fmt.Errorf("sinkservice: %s: declare %q: %w", s.name, run, err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT shards FROM sink_runs WHERE run = ?`), run).Scan(&have); err != nil {
		return fmt.Errorf("sinkservice: %s: declare %q: %w", s.name, run, err)
	}
	if have != shards {
		return fmt.Errorf("run %q has %d shards, not %d: %w", run, have, shards, ErrConflict)
	}
	return nil
}

// Deposit stores shard index's results of run (replacing an earlier deposit of the same
// shard: a shard run again) and records the run's shard count. replaced says whether there
// was one.
func (s *Store) Deposit(ctx context.Context, run string, index, count int, results []byte) (replaced bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.declareTx(ctx, tx, run, count); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sink_shards WHERE run = ? AND shard = ?`), run, index).Scan(&n); err != nil {
			return err
		}
		replaced = n > 0
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sink_shards(run, shard, count, results, deposited_ms) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(run, shard) DO UPDATE SET count = excluded.count, results = excluded.results, deposited_ms = excluded.deposited_ms`),
			run, index, count, results, time.Now().UnixMilli())
		return err
	})
	if err != nil && !errors.Is(err, ErrConflict) {
		err = fmt.Errorf("sinkservice: %s: deposit %q shard %d: %w", s.name, run, index, err)
	}
	return replaced, err
}

// Results returns the deposited results of shard index of run; ErrNotFound when none.
func (s *Store) Results(ctx context.Context, run string, index int) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, s.q(`SELECT results FROM sink_shards WHERE run = ? AND shard = ?`), run, index).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %q shard %d: %w", run, index, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sinkservice: %s: results of %q shard %d: %w", s.name, run, index, err)
	}
	return b, nil
}

// IDCount is the distinct effects of one webhook id: all of them, and those not applied (the
// receiver skipped the change as stale).
type IDCount struct {
	Distinct int
	Stale    int
}

// prefixWhere is the condition "webhook_id starts with prefix" as a range of the primary key
// when it can be (an ASCII prefix), else a substr comparison. It returns SQL and its args.
func prefixWhere(prefix string) (string, []any) {
	if prefix == "" {
		return "1 = 1", nil
	}
	last := prefix[len(prefix)-1]
	if last < 0x7f && isASCII(prefix) {
		upper := prefix[:len(prefix)-1] + string(rune(last+1))
		return "webhook_id >= ? AND webhook_id < ?", []any{prefix, upper}
	}
	return "substr(webhook_id, 1, ?) = ?", []any{len([]rune(prefix)), prefix}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Counts calls fn for every webhook id of run that starts with prefix, in id order, with its
// distinct effects.
func (s *Store) Counts(ctx context.Context, run, prefix string, fn func(id string, c IDCount) error) error {
	cond, args := prefixWhere(prefix)
	notApplied := "SUM(CASE WHEN applied = 0 THEN 1 ELSE 0 END)"
	if s.postgres {
		notApplied = "SUM(CASE WHEN applied THEN 0 ELSE 1 END)"
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT webhook_id, COUNT(*), `+notApplied+` FROM sink_effects
		WHERE run = ? AND `+cond+` GROUP BY webhook_id ORDER BY webhook_id`), append([]any{run}, args...)...)
	if err != nil {
		return fmt.Errorf("sinkservice: %s: counts of %q: %w", s.name, run, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c IDCount
		if err := rows.Scan(&id, &c.Distinct, &c.Stale); err != nil {
			return err
		}
		if err := fn(id, c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Stats is a cheap summary of the effects of run under a prefix.
type Stats struct {
	IDs     int `json:"ids"`     // webhook ids with at least one effect
	Effects int `json:"effects"` // distinct effects
}

// PrefixStats counts the ids and distinct effects of run whose webhook id starts with prefix
// (inside is true) or does not (inside false).
func (s *Store) PrefixStats(ctx context.Context, run, prefix string, inside bool) (Stats, error) {
	cond, args := prefixWhere(prefix)
	if !inside {
		cond = "NOT (" + cond + ")"
	}
	var st Stats
	err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT webhook_id), COUNT(*) FROM sink_effects WHERE run = ? AND `+cond),
		append([]any{run}, args...)...).Scan(&st.IDs, &st.Effects)
	if err != nil {
		return st, fmt.Errorf("sinkservice: %s: stats of %q: %w", s.name, run, err)
	}
	return st, nil
}
