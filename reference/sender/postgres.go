package sender

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// The PostgreSQL outbox (Open with a postgres:// DSN) holds the same tables as the SQLite
// one, named sender_*, so one database can also hold the reference receiver's receiver_*
// tables. Several sender replicas may share it: each claims due messages with
//
//	SELECT … FROM sender_messages WHERE status = 'pending' AND next_attempt_at <= now
//	    AND claimed_until <= now ORDER BY next_attempt_at, created_at LIMIT n
//	    FOR UPDATE SKIP LOCKED
//
// then, in the same transaction, stamps the rows it takes with claimed_by (its replica id) and
// claimed_until (now + request timeout + 1 min, the lease). Rows another replica is claiming
// are skipped, not waited for; rows it holds are not due until their lease ends. An attempt's
// answer clears the claim in the transaction that records it. A replica that dies keeps its
// claims until their lease ends; then another replica takes the messages, marks the dead
// replica's in-flight attempts interrupted and attempts them again: at least once, never two
// attempts of one message at the same time (as long as the replicas' clocks agree to within
// the minute of margin). Durability is PostgreSQL's: every commit is synchronous
// (synchronous_commit=on, the default).

const pgSchema = `
CREATE TABLE IF NOT EXISTS sender_endpoints (
	id                       TEXT PRIMARY KEY,
	url                      TEXT NOT NULL,
	scheme                   TEXT NOT NULL,
	secret                   TEXT NOT NULL,
	previous_secrets         TEXT NOT NULL DEFAULT '[]',
	failure_notification_url TEXT NOT NULL DEFAULT '',
	idempotency_key          TEXT UNIQUE,
	request_hash             TEXT NOT NULL DEFAULT '',
	disabled                 INTEGER NOT NULL DEFAULT 0,
	disabled_reason          TEXT NOT NULL DEFAULT '',
	disabled_at              BIGINT NOT NULL DEFAULT 0,
	failing_since            BIGINT NOT NULL DEFAULT 0,
	notify_id                TEXT NOT NULL DEFAULT '',
	notify_state             TEXT NOT NULL DEFAULT '',
	notify_attempts          INTEGER NOT NULL DEFAULT 0,
	notify_next_at           BIGINT NOT NULL DEFAULT 0,
	notify_error             TEXT NOT NULL DEFAULT '',
	created_at               BIGINT NOT NULL,
	breaker_failures         INTEGER NOT NULL DEFAULT 0,
	breaker_open_until       BIGINT NOT NULL DEFAULT 0,
	breaker_cooldown_ms      BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sender_messages (
	id              TEXT PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES sender_endpoints(id),
	event_type      TEXT NOT NULL,
	body            BYTEA NOT NULL,
	idempotency_key TEXT UNIQUE,
	request_hash    TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	failures        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	delivered_at    BIGINT NOT NULL DEFAULT 0,
	dead_at         BIGINT NOT NULL DEFAULT 0,
	dead_reason     TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	claimed_by      TEXT NOT NULL DEFAULT '',
	claimed_until   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sender_messages_due ON sender_messages(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS sender_messages_endpoint ON sender_messages(endpoint_id, status);
CREATE INDEX IF NOT EXISTS sender_messages_dead ON sender_messages(status, dead_at);
CREATE TABLE IF NOT EXISTS sender_attempts (
	message_id       TEXT NOT NULL REFERENCES sender_messages(id),
	n                INTEGER NOT NULL,
	started_at       BIGINT NOT NULL,
	signed_timestamp BIGINT NOT NULL,
	url              TEXT NOT NULL,
	duration_ms      DOUBLE PRECISION NOT NULL DEFAULT 0,
	status_code      INTEGER NOT NULL DEFAULT 0,
	outcome          TEXT NOT NULL,
	error            TEXT NOT NULL DEFAULT '',
	retry_after_ms   BIGINT NOT NULL DEFAULT 0,
	response         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, n)
);
`

// pgSchemaLock serialises schema creation when several replicas start at once.
const pgSchemaLock = 0x686f6f6b73656e64 // "hooksend"

func isPostgres(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

// RedactDSN shows a database DSN without its password, for logs.
func RedactDSN(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable DSN)"
	}
	return u.Redacted()
}

func openPostgres(ctx context.Context, dsn string) (*store, error) {
	shown := RedactDSN(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sender: open database %s: %w", shown, err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	s := &store{db: &sqlDB{DB: db, pg: true}, path: shown, pg: true, replica: newID("snd_")}
	err = s.tx1(ctx, func(tx *sqlTx) error {
		if _, err := tx.Tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgSchemaLock)); err != nil {
			return err
		}
		_, err := tx.Tx.ExecContext(ctx, pgSchema)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sender: create schema in %s: %w", shown, err)
	}
	return s, nil
}

// retryable reports whether a PostgreSQL transaction lost a race another replica won and
// can simply run again: a deadlock, a serialization failure, or a unique key (an
// Idempotency-Key) inserted at the same moment, which the next run finds and returns.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01", "23505":
		return true
	}
	return false
}

// sqlDB and sqlTx run the store's SQLite-dialect statements on either database: on
// PostgreSQL the ?/?N placeholders become $N and the tables get their sender_ prefix.
type sqlDB struct {
	*sql.DB
	pg bool
}

type sqlTx struct {
	*sql.Tx
	pg bool
}

func (d *sqlDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, dialect(d.pg, q), args...)
}

func (d *sqlDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, dialect(d.pg, q), args...)
}

func (d *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, dialect(d.pg, q), args...)
}

func (t *sqlTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, dialect(t.pg, q), args...)
}

func (t *sqlTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, dialect(t.pg, q), args...)
}

func (t *sqlTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, dialect(t.pg, q), args...)
}

var (
	tableRef = regexp.MustCompile(`\b(FROM|JOIN|INTO|UPDATE|REFERENCES)(\s+)(endpoints|messages|attempts)\b`)
	pgCache  sync.Map // SQLite statement → PostgreSQL statement
)

// dialect rewrites a statement for PostgreSQL (pg) or returns it unchanged.
func dialect(pg bool, q string) string {
	if !pg {
		return q
	}
	if v, ok := pgCache.Load(q); ok {
		return v.(string)
	}
	r := tableRef.ReplaceAllString(q, "${1}${2}sender_${3}")
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c == '\'' {
			quoted = !quoted
		}
		if c != '?' || quoted {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(r) && r[j] >= '0' && r[j] <= '9' {
			j++
		}
		if j > i+1 {
			b.WriteString("$" + r[i+1:j])
			i = j - 1
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	pgCache.Store(q, b.String())
	return b.String()
}
