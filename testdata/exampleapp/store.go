package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

type dialect int

const (
	postgres dialect = iota
	mariadb          // MySQL or MariaDB
	sqlite
)

func (d dialect) String() string {
	return [...]string{"postgres", "mysql", "sqlite"}[d]
}

// store is the app's database: the inbox, the objects' seq and processed_events.
type store struct {
	db     *sql.DB
	d      dialect
	prefix string
	double bool // -flaw double: no unique webhook_id in the inbox
}

// openStore connects to dsn and creates the tables if they are absent.
func openStore(ctx context.Context, dsn, prefix string, double bool) (*store, error) {
	s := &store{prefix: prefix, double: double}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.d = postgres
		s.db, err = sql.Open("pgx", dsn)
		if err == nil {
			s.db.SetMaxOpenConns(16)
		}
	case strings.HasPrefix(dsn, "mysql://"):
		s.d = mariadb
		var c *mysql.Config
		if c, err = mysqlConfig(dsn); err == nil {
			var conn driver.Connector
			if conn, err = mysql.NewConnector(c); err == nil {
				s.db = sql.OpenDB(conn)
				s.db.SetMaxOpenConns(16)
				s.db.SetConnMaxLifetime(5 * time.Minute)
			}
		}
	case strings.HasPrefix(dsn, "sqlite:"):
		s.d = sqlite
		path := strings.TrimPrefix(dsn, "sqlite:")
		if strings.HasPrefix(path, "///") {
			path = path[2:] // sqlite:///abs/path
		}
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("database %q: want sqlite:PATH with a plain file path", dsn)
		}
		// WAL, every commit synced, a writer waits for the lock instead of failing, and every
		// transaction takes the write lock at BEGIN (so read-then-write never deadlocks).
		s.db, err = sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
			"&_pragma=synchronous(FULL)&_txlock=immediate")
		if err == nil {
			s.db.SetMaxOpenConns(4)
		}
	default:
		return nil, errors.New("database: want postgres://…, mysql://user:pass@host:port/db or sqlite:PATH")
	}
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("database (%s): %w", s.d, err)
	}
	if err := s.migrate(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("database (%s): create tables: %w", s.d, err)
	}
	return s, nil
}

// mysqlConfig turns mysql://user:pass@host:port/db?opts into the driver's configuration.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	c, err := mysql.ParseDSN("/?" + u.RawQuery) // the driver's own options (tls=…, timeout=…)
	if err != nil {
		return nil, fmt.Errorf("database: options: %w", err)
	}
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net = "tcp"
	c.Addr = u.Host
	if u.Port() == "" {
		c.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	c.DBName = strings.TrimPrefix(u.Path, "/")
	if c.DBName == "" {
		return nil, errors.New("database: mysql://user:pass@host:port/db: no database name")
	}
	c.ParseTime = true
	c.Loc = time.UTC
	if _, ok := c.Params["time_zone"]; !ok {
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		c.Params["time_zone"] = "'+00:00'" // TIMESTAMP values read back in UTC, as Loc says
	}
	return c, nil
}

func (s *store) Close() error { return s.db.Close() }

// t is a table's (or index's) name with the prefix.
func (s *store) t(name string) string { return s.prefix + name }

// q fills in the table prefix ({inbox} → prefix+inbox) and, for PostgreSQL, numbers the
// placeholders.
func (s *store) q(query string) string {
	for _, n := range []string{"inbox", "objects", "processed_events"} {
		query = strings.ReplaceAll(query, "{"+n+"}", s.t(n))
	}
	if s.d != postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// schema is the DDL for the dialect, one statement per entry, with {names} still to fill in.
func (s *store) schema() []string {
	switch s.d {
	case postgres:
		return append([]string{
			`CREATE TABLE IF NOT EXISTS {inbox} (
	id           BIGSERIAL PRIMARY KEY,
	webhook_id   TEXT NOT NULL,
	body         BYTEA NOT NULL,
	received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
	done         BOOLEAN NOT NULL DEFAULT false,
	processed_at TIMESTAMPTZ
)`,
			`CREATE INDEX IF NOT EXISTS {inbox}_pending ON {inbox} (id) WHERE NOT done`,
			`CREATE TABLE IF NOT EXISTS {objects} (
	object_id TEXT PRIMARY KEY,
	seq       BIGINT NOT NULL
)`,
			`CREATE TABLE IF NOT EXISTS {processed_events} (
	id           BIGSERIAL PRIMARY KEY,
	webhook_id   TEXT NOT NULL,
	object_id    TEXT,
	seq          BIGINT,
	applied      BOOLEAN NOT NULL,
	processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
			`CREATE INDEX IF NOT EXISTS {processed_events}_webhook_id ON {processed_events} (webhook_id)`,
		}, s.uniqueInbox()...)
	case mariadb:
		unique := ""
		if !s.double {
			unique = "\n\tUNIQUE KEY {inbox}_webhook_id (webhook_id),"
		}
		const table = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
		return []string{
			`CREATE TABLE IF NOT EXISTS {inbox} (
	id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	webhook_id   VARCHAR(255) NOT NULL,
	body         LONGBLOB NOT NULL,
	received_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	done         BOOLEAN NOT NULL DEFAULT FALSE,
	processed_at TIMESTAMP(6) NULL DEFAULT NULL,` + unique + `
	KEY {inbox}_pending (done, id)
` + table,
			`CREATE TABLE IF NOT EXISTS {objects} (
	object_id VARCHAR(255) NOT NULL PRIMARY KEY,
	seq       BIGINT NOT NULL
` + table,
			`CREATE TABLE IF NOT EXISTS {processed_events} (
	id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	webhook_id   VARCHAR(255) NOT NULL,
	object_id    VARCHAR(255) NULL,
	seq          BIGINT NULL,
	applied      BOOLEAN NOT NULL,
	processed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
	KEY {processed_events}_webhook_id (webhook_id)
` + table,
		}
	default:
		const now = `(strftime('%Y-%m-%d %H:%M:%f', 'now'))`
		return append([]string{
			`CREATE TABLE IF NOT EXISTS {inbox} (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id   TEXT NOT NULL,
	body         BLOB NOT NULL,
	received_at  TIMESTAMP NOT NULL DEFAULT ` + now + `,
	done         BOOLEAN NOT NULL DEFAULT 0,
	processed_at TIMESTAMP
)`,
			`CREATE INDEX IF NOT EXISTS {inbox}_pending ON {inbox} (id) WHERE NOT done`,
			`CREATE TABLE IF NOT EXISTS {objects} (
	object_id TEXT PRIMARY KEY,
	seq       INTEGER NOT NULL
)`,
			`CREATE TABLE IF NOT EXISTS {processed_events} (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id   TEXT NOT NULL,
	object_id    TEXT,
	seq          INTEGER,
	applied      BOOLEAN NOT NULL,
	processed_at TIMESTAMP NOT NULL DEFAULT ` + now + `
)`,
			`CREATE INDEX IF NOT EXISTS {processed_events}_webhook_id ON {processed_events} (webhook_id)`,
		}, s.uniqueInbox()...)
	}
}

// uniqueInbox is the deduplication (PostgreSQL, SQLite): one inbox row per webhook_id. The
// -flaw double variant does not have it.
func (s *store) uniqueInbox() []string {
	if s.double {
		return nil
	}
	return []string{`CREATE UNIQUE INDEX IF NOT EXISTS {inbox}_webhook_id ON {inbox} (webhook_id)`}
}

func (s *store) migrate(ctx context.Context) error {
	for _, stmt := range s.schema() {
		if _, err := s.db.ExecContext(ctx, s.q(stmt)); err != nil {
			return err
		}
	}
	return nil
}

// receive stores one delivery in the inbox, in one transaction. A redelivery (same webhook_id)
// changes nothing, except in the -flaw double variant, where it is a second inbox row.
func (s *store) receive(ctx context.Context, webhookID string, body []byte) error {
	insert := `INSERT INTO {inbox} (webhook_id, body) VALUES (?, ?)`
	if !s.double {
		if s.d == mariadb {
			insert += ` ON DUPLICATE KEY UPDATE webhook_id = webhook_id`
		} else {
			insert += ` ON CONFLICT (webhook_id) DO NOTHING`
		}
	}
	for try := 1; ; try++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, s.q(insert), webhookID, body)
			return err
		})
		if err == nil || try == 3 || !isDeadlock(err) {
			return err
		}
	}
}

func (s *store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// isDeadlock is whether err is the database giving up a transaction to break a deadlock (or a
// serialization failure): nothing was written, and trying again is the documented remedy.
func isDeadlock(err error) bool {
	var my *mysql.MySQLError
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &my):
		return my.Number == 1213 || my.Number == 1205 // deadlock, lock wait timeout
	case errors.As(err, &pg):
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	return false
}

type inboxRow struct {
	id        int64
	webhookID string
	body      []byte
}

// pending is up to limit unprocessed inbox rows after id, in arrival order.
func (s *store) pending(ctx context.Context, after int64, limit int) ([]inboxRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, webhook_id, body FROM {inbox} WHERE NOT done AND id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inboxRow
	for rows.Next() {
		var r inboxRow
		if err := rows.Scan(&r.id, &r.webhookID, &r.body); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// result is what processing one delivery did.
type result struct {
	webhookID string
	objectID  sql.NullString
	seq       sql.NullInt64
	applied   bool
}

// process processes one inbox row in one transaction: it claims the row (skipping it if it is
// already done), advances the object's seq if the event is newer, records the processed event
// and marks the row done. done is false when the row had already been processed.
func (s *store) process(ctx context.Context, r inboxRow, ev event) (res result, done bool, err error) {
	lock := " FOR UPDATE"
	now := "CURRENT_TIMESTAMP(6)"
	switch s.d {
	case sqlite:
		lock = "" // the transaction holds the database's write lock from BEGIN
		now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
	case postgres:
		now = "now()"
	}
	var opts *sql.TxOptions
	if s.d == mariadb {
		// Under InnoDB's default REPEATABLE READ, locking a not yet existing object row takes a
		// gap lock, and two workers inserting new objects into one gap deadlock. The locking
		// reads below need no more than READ COMMITTED (PostgreSQL's default).
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return res, false, err
	}
	defer tx.Rollback()

	var already bool
	if err := tx.QueryRowContext(ctx, s.q(`SELECT done FROM {inbox} WHERE id = ?`+lock), r.id).Scan(&already); err != nil {
		return res, false, fmt.Errorf("claim inbox row %d: %w", r.id, err)
	}
	if already {
		return res, false, nil
	}

	res = result{webhookID: r.webhookID, objectID: ev.objectID, seq: ev.seq, applied: true}
	if ev.objectID.Valid && ev.seq.Valid {
		var cur int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT seq FROM {objects} WHERE object_id = ?`+lock), ev.objectID.String).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO {objects} (object_id, seq) VALUES (?, ?)`), ev.objectID.String, ev.seq.Int64)
		case err != nil:
		case ev.seq.Int64 > cur:
			_, err = tx.ExecContext(ctx, s.q(`UPDATE {objects} SET seq = ? WHERE object_id = ?`), ev.seq.Int64, ev.objectID.String)
		default:
			res.applied = false // stale: not newer than what the object has
		}
		if err != nil {
			return res, false, fmt.Errorf("object %q: %w", ev.objectID.String, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO {processed_events} (webhook_id, object_id, seq, applied) VALUES (?, ?, ?, ?)`),
		r.webhookID, ev.objectID, ev.seq, res.applied); err != nil {
		return res, false, fmt.Errorf("record processed event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE {inbox} SET done = TRUE, processed_at = `+now+` WHERE id = ?`), r.id); err != nil {
		return res, false, fmt.Errorf("mark inbox row %d done: %w", r.id, err)
	}
	if err := tx.Commit(); err != nil {
		return res, false, fmt.Errorf("commit: %w", err)
	}
	return res, true, nil
}
