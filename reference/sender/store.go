package sender

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// store is the outbox: endpoints, messages and attempts in one SQLite database (WAL,
// synchronous=FULL, so a committed row survives kill -9 and power loss). It is used by one
// Sender; its methods are safe for concurrent use.
type store struct {
	db   *sqlDB
	lock *os.File // nil for ":memory:" and PostgreSQL
	path string   // for messages: a PostgreSQL DSN is shown without its password
	pg   bool     // PostgreSQL (postgres.go): several replicas share the database

	replica string        // PostgreSQL: this process's id in claimed_by
	lease   time.Duration // PostgreSQL: how long a claim holds a message
}

const schema = `
CREATE TABLE IF NOT EXISTS endpoints (
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
	disabled_at              INTEGER NOT NULL DEFAULT 0,
	failing_since            INTEGER NOT NULL DEFAULT 0,
	notify_id                TEXT NOT NULL DEFAULT '',
	notify_state             TEXT NOT NULL DEFAULT '',
	notify_attempts          INTEGER NOT NULL DEFAULT 0,
	notify_next_at           INTEGER NOT NULL DEFAULT 0,
	notify_error             TEXT NOT NULL DEFAULT '',
	created_at               INTEGER NOT NULL,
	breaker_failures         INTEGER NOT NULL DEFAULT 0,
	breaker_open_until       INTEGER NOT NULL DEFAULT 0,
	breaker_cooldown_ms      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
	id              TEXT PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES endpoints(id),
	event_type      TEXT NOT NULL,
	body            BLOB NOT NULL,
	idempotency_key TEXT UNIQUE,
	request_hash    TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	failures        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	delivered_at    INTEGER NOT NULL DEFAULT 0,
	dead_at         INTEGER NOT NULL DEFAULT 0,
	dead_reason     TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS messages_due ON messages(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS messages_endpoint ON messages(endpoint_id, status);
CREATE INDEX IF NOT EXISTS messages_dead ON messages(status, dead_at);
CREATE TABLE IF NOT EXISTS attempts (
	message_id       TEXT NOT NULL REFERENCES messages(id),
	n                INTEGER NOT NULL,
	started_at       INTEGER NOT NULL,
	signed_timestamp INTEGER NOT NULL,
	url              TEXT NOT NULL,
	duration_ms      REAL NOT NULL DEFAULT 0,
	status_code      INTEGER NOT NULL DEFAULT 0,
	outcome          TEXT NOT NULL,
	error            TEXT NOT NULL DEFAULT '',
	retry_after_ms   INTEGER NOT NULL DEFAULT 0,
	response         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, n)
);
`

// openStore opens (creating if needed) the database at path, or an in-memory one for
// ":memory:". A file database is locked for this process (see lockFile).
func openStore(ctx context.Context, path string) (*store, error) {
	if path == "" {
		return nil, fmt.Errorf("sender: empty database path: %w", ErrInvalid)
	}
	if isPostgres(path) {
		return openPostgres(ctx, path)
	}
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sender: database path %q: give a plain file path (no URI, no '?'): %w", path, ErrInvalid)
	}
	s := &store{path: path}
	dsn := path
	if path != ":memory:" {
		lock, err := lockFile(path + ".lock")
		if err != nil {
			return nil, err
		}
		s.lock = lock
		// Create the file 0600 before SQLite does (0644): it holds endpoint secrets.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			s.unlock()
			return nil, fmt.Errorf("sender: create database %s: %w", path, err)
		}
		f.Close()
	}
	dsn += "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("sender: open database %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and ":memory:" lives in its connection.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s.db = &sqlDB{DB: db}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		s.close()
		return nil, fmt.Errorf("sender: create schema in %s: %w", path, err)
	}
	if err := migrateSQLite(ctx, db); err != nil {
		s.close()
		return nil, fmt.Errorf("sender: upgrade schema in %s: %w", path, err)
	}
	return s, nil
}

func (s *store) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func (s *store) close() error {
	var err error
	if s.db != nil {
		err = s.db.Close()
	}
	s.unlock()
	if err != nil {
		return fmt.Errorf("sender: close database %s: %w", s.path, err)
	}
	return nil
}

// tx runs fn in one transaction (IMMEDIATE on SQLite) and commits it. On PostgreSQL a
// transaction that lost a race to another replica (deadlock, unique key taken) runs again.
func (s *store) tx(ctx context.Context, fn func(*sqlTx) error) error {
	for try := 1; ; try++ {
		err := s.tx1(ctx, fn)
		if err == nil || !s.pg || try == 3 || !retryable(err) {
			return err
		}
	}
}

func (s *store) tx1(ctx context.Context, fn func(*sqlTx) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sender: begin transaction: %w", err)
	}
	tx := &sqlTx{Tx: t, pg: s.pg}
	if err := fn(tx); err != nil {
		t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("sender: commit: %w", err)
	}
	return nil
}

// ms and fromMS convert times to the stored unix milliseconds; 0 stands for "never".
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// recoverInFlight marks the attempts a previous process left without an answer as
// interrupted. Their messages are still pending and due, so they are attempted again.
func (s *store) recoverInFlight(ctx context.Context, now time.Time) (int64, error) {
	q, args := `UPDATE attempts SET outcome = ?, error = 'the sender stopped before an answer came' WHERE outcome = ?`,
		[]any{Interrupted, InFlight}
	if s.pg { // only those of messages no live replica holds
		q += ` AND message_id IN (SELECT id FROM messages WHERE claimed_until <= ?)`
		args = append(args, ms(now))
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("sender: recover in-flight attempts: %w", err)
	}
	return res.RowsAffected()
}

const endpointCols = `id, url, scheme, secret, previous_secrets, failure_notification_url, disabled,
	disabled_reason, disabled_at, failing_since, notify_state, created_at`

// scanEndpoint reads the endpointCols of row, then extra columns into extra.
func scanEndpoint(row interface{ Scan(...any) error }, extra ...any) (Endpoint, error) {
	var e Endpoint
	var prev string
	var disabled int
	var disabledAt, failingSince, created int64
	dst := append([]any{&e.ID, &e.URL, &e.Scheme, &e.secret, &prev, &e.FailureNotificationURL, &disabled,
		&e.DisabledReason, &disabledAt, &failingSince, &e.Notification, &created}, extra...)
	if err := row.Scan(dst...); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(prev), &e.previous); err != nil {
		return e, fmt.Errorf("sender: endpoint %s: previous secrets unreadable: %w", e.ID, err)
	}
	e.Disabled = disabled != 0
	e.DisabledAt, e.FailingSince, e.CreatedAt = fromMS(disabledAt), fromMS(failingSince), fromMS(created)
	return e, nil
}

func (s *store) endpoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (Endpoint, error) {
	e, err := scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("sender: endpoint %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("sender: read endpoint %q: %w", id, err)
	}
	return e, nil
}

// insertEndpoint stores e unless its idempotency key is already known: then the endpoint
// stored for it is returned with created=false (or ErrConflict if the request differed).
func (s *store) insertEndpoint(ctx context.Context, e Endpoint, key, hash string) (Endpoint, bool, error) {
	prev, err := json.Marshal(e.previous)
	if err != nil {
		return e, false, fmt.Errorf("sender: encode previous secrets: %w", err)
	}
	created := true
	err = s.tx(ctx, func(tx *sqlTx) error {
		if key != "" {
			var id, h string
			err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM endpoints WHERE idempotency_key = ?`, key).Scan(&id, &h)
			switch {
			case err == nil && h != hash:
				return fmt.Errorf("sender: Idempotency-Key already used for a different endpoint request: %w", ErrConflict)
			case err == nil:
				created = false
				e, err = s.endpoint(ctx, tx, id)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sender: look up idempotency key: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO endpoints (id, url, scheme, secret, previous_secrets,
			failure_notification_url, idempotency_key, request_hash, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
			e.ID, e.URL, e.Scheme, e.secret, string(prev), e.FailureNotificationURL, nullable(key), hash, ms(e.CreatedAt))
		if err != nil {
			return fmt.Errorf("sender: insert endpoint: %w", err)
		}
		return nil
	})
	return e, created, err
}

// rotate makes secret the endpoint's secret and keeps the old one until expires.
func (s *store) rotate(ctx context.Context, id, secret string, expires time.Time, now time.Time) (Endpoint, error) {
	var out Endpoint
	err := s.tx(ctx, func(tx *sqlTx) error {
		e, err := s.endpoint(ctx, tx, id)
		if err != nil {
			return err
		}
		var keep []previousSecret
		for _, p := range e.previous {
			if p.ExpiresAt > ms(now) && p.Secret != secret {
				keep = append(keep, p)
			}
		}
		if e.secret != secret {
			keep = append(keep, previousSecret{Secret: e.secret, ExpiresAt: ms(expires)})
		}
		prev, err := json.Marshal(keep)
		if err != nil {
			return fmt.Errorf("sender: encode previous secrets: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET secret = ?, previous_secrets = ? WHERE id = ?`,
			secret, string(prev), id); err != nil {
			return fmt.Errorf("sender: rotate secret of %s: %w", id, err)
		}
		out, err = s.endpoint(ctx, tx, id)
		return err
	})
	return out, err
}

// enable re-enables an endpoint and forgets its failure run. Dead letters stay dead: replay them.
func (s *store) enable(ctx context.Context, id string) (Endpoint, error) {
	var out Endpoint
	err := s.tx(ctx, func(tx *sqlTx) error {
		if _, err := s.endpoint(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled = 0, disabled_reason = '', disabled_at = 0,
			failing_since = 0, breaker_failures = 0, breaker_open_until = 0, breaker_cooldown_ms = 0 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sender: enable %s: %w", id, err)
		}
		var err error
		out, err = s.endpoint(ctx, tx, id)
		return err
	})
	return out, err
}

const messageCols = `id, endpoint_id, event_type, status, attempts, failures, next_attempt_at, created_at,
	delivered_at, dead_at, dead_reason, last_error, COALESCE(idempotency_key, '')`

func scanMessage(row interface{ Scan(...any) error }, withBody bool) (Message, error) {
	var m Message
	var next, created, delivered, dead int64
	dst := []any{&m.ID, &m.EndpointID, &m.Type, &m.Status, &m.Attempts, &m.Failures, &next, &created,
		&delivered, &dead, &m.DeadReason, &m.LastError, &m.IdempotencyKey}
	var body []byte
	if withBody {
		dst = append(dst, &body)
	}
	if err := row.Scan(dst...); err != nil {
		return m, err
	}
	if m.Status == Pending {
		m.NextAttemptAt = fromMS(next)
	}
	m.CreatedAt, m.DeliveredAt, m.DeadAt = fromMS(created), fromMS(delivered), fromMS(dead)
	if withBody {
		m.Payload = json.RawMessage(body)
	}
	return m, nil
}

func (s *store) message(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageCols+`, body FROM messages WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("sender: message %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("sender: read message %q: %w", id, err)
	}
	return m, nil
}

// insertMessage stores a new message for an existing endpoint; build makes its id and body.
// A known idempotency key returns the stored message with created=false (ErrConflict when the
// request differed). A message for a disabled endpoint is stored straight into dead letters,
// so it can be replayed once the endpoint is enabled again.
func (s *store) insertMessage(ctx context.Context, endpointID, eventType, key, hash string, now time.Time,
	build func() (id string, body []byte, err error)) (Message, bool, error) {
	var out Message
	created := true
	err := s.tx(ctx, func(tx *sqlTx) error {
		if key != "" {
			var id, h string
			err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM messages WHERE idempotency_key = ?`, key).Scan(&id, &h)
			switch {
			case err == nil && h != hash:
				return fmt.Errorf("sender: Idempotency-Key already used for a different message: %w", ErrConflict)
			case err == nil:
				created = false
				var err error
				out, err = s.message(ctx, tx, id)
				return err
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sender: look up idempotency key: %w", err)
			}
		}
		e, err := s.endpoint(ctx, tx, endpointID)
		if err != nil {
			return err
		}
		id, body, err := build()
		if err != nil {
			return err
		}
		status, deadAt, reason := Pending, int64(0), ""
		if e.Disabled {
			status, deadAt, reason = Dead, ms(now), "endpoint disabled: "+e.DisabledReason
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, endpoint_id, event_type, body, idempotency_key,
			request_hash, status, next_attempt_at, created_at, dead_at, dead_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			id, endpointID, eventType, body, nullable(key), hash, status, ms(now), ms(now), deadAt, reason); err != nil {
			return fmt.Errorf("sender: insert message: %w", err)
		}
		out, err = s.message(ctx, tx, id)
		return err
	})
	return out, created, err
}

func (s *store) attempts(ctx context.Context, msgID string) ([]Attempt, error) {
	if _, err := s.message(ctx, s.db, msgID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT message_id, n, started_at, signed_timestamp, url, duration_ms,
		status_code, outcome, error, retry_after_ms, response FROM attempts WHERE message_id = ? ORDER BY n`, msgID)
	if err != nil {
		return nil, fmt.Errorf("sender: list attempts of %s: %w", msgID, err)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var started int64
		if err := rows.Scan(&a.MessageID, &a.N, &started, &a.SignedTimestamp, &a.URL, &a.DurationMS,
			&a.StatusCode, &a.Outcome, &a.Error, &a.RetryAfterMS, &a.Response); err != nil {
			return nil, fmt.Errorf("sender: read attempt of %s: %w", msgID, err)
		}
		a.StartedAt = fromMS(started)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sender: list attempts of %s: %w", msgID, err)
	}
	return out, nil
}

// job is a due message with what an attempt needs.
type job struct {
	msgID      string
	endpointID string
	attempts   int
	body       []byte
	probe      bool // the half-open probe of its endpoint's breaker
}

// due lists up to limit pending messages whose next attempt is due at now, oldest first,
// skipping those for which skip returns true (in flight, endpoint held by its breaker).
// The jobs returned with an error were taken by skip: release them.
func (s *store) due(ctx context.Context, now time.Time, limit int, skip func(msgID, endpointID string) bool) ([]job, error) {
	if s.pg {
		return s.claimDue(ctx, now, limit, skip)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, endpoint_id, attempts FROM messages
		WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`,
		Pending, ms(now), limit*4+64)
	if err != nil {
		return nil, fmt.Errorf("sender: list due messages: %w", err)
	}
	var out []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.msgID, &j.endpointID, &j.attempts); err != nil {
			rows.Close()
			return out, fmt.Errorf("sender: read due message: %w", err)
		}
		if skip(j.msgID, j.endpointID) {
			continue
		}
		out = append(out, j)
		if len(out) == limit {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("sender: list due messages: %w", err)
	}
	for i := range out {
		if err := s.db.QueryRowContext(ctx, `SELECT body FROM messages WHERE id = ?`, out[i].msgID).Scan(&out[i].body); err != nil {
			return out, fmt.Errorf("sender: read body of %s: %w", out[i].msgID, err)
		}
	}
	return out, nil
}

// nextDue is the earliest time anything (a message or a notification) is due; ok is false
// when nothing is pending.
func (s *store) nextDue(ctx context.Context) (time.Time, bool, error) {
	var m, n sql.NullInt64
	q := `SELECT MIN(next_attempt_at) FROM messages WHERE status = ?`
	if s.pg { // a message another replica holds is due when its lease ends, at the earliest
		q = `SELECT MIN(GREATEST(next_attempt_at, claimed_until)) FROM messages WHERE status = ?`
	}
	if err := s.db.QueryRowContext(ctx, q, Pending).Scan(&m); err != nil {
		return time.Time{}, false, fmt.Errorf("sender: next due message: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(notify_next_at) FROM endpoints WHERE notify_state = 'pending'`).Scan(&n); err != nil {
		return time.Time{}, false, fmt.Errorf("sender: next due notification: %w", err)
	}
	switch {
	case m.Valid && n.Valid:
		return time.UnixMilli(min(m.Int64, n.Int64)), true, nil
	case m.Valid:
		return time.UnixMilli(m.Int64), true, nil
	case n.Valid:
		return time.UnixMilli(n.Int64), true, nil
	}
	return time.Time{}, false, nil
}

// beginAttempt records attempt n as in flight before the request leaves, so a crash leaves a
// trace (recoverInFlight turns it into "interrupted").
func (s *store) beginAttempt(ctx context.Context, msgID string, n int, started time.Time, signedTS int64, url string) error {
	return s.tx(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (message_id, n, started_at, signed_timestamp, url, outcome)
			VALUES (?,?,?,?,?,?)`, msgID, n, ms(started), signedTS, url, InFlight); err != nil {
			return fmt.Errorf("sender: record attempt %d of %s: %w", n, msgID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET attempts = ? WHERE id = ?`, n, msgID); err != nil {
			return fmt.Errorf("sender: count attempt %d of %s: %w", n, msgID, err)
		}
		return nil
	})
}

// msgState is what the retry policy reads about a message and its endpoint.
type msgState struct {
	status       Status
	failures     int
	nextAt       time.Time
	deadReason   string
	failingSince time.Time
	endpointID   string
}

// change is what the retry policy decided, written by finishAttempt.
type change struct {
	status       Status
	failures     int
	nextAt       time.Time
	deadReason   string
	failingSince time.Time // new value; zero clears it
	disable      string    // non-empty: disable the endpoint for this reason
}

// finishAttempt records an attempt's answer and applies decide's verdict, in one transaction.
// It reports whether the endpoint was disabled by this attempt.
func (s *store) finishAttempt(ctx context.Context, a Attempt, now time.Time, notifyID string,
	decide func(msgState) change) (change, error) {
	var ch change
	err := s.tx(ctx, func(tx *sqlTx) error {
		if s.pg {
			// Lock the endpoint first: replicas finishing attempts to one endpoint (and
			// maybe disabling it) take their locks in one order.
			if _, err := tx.ExecContext(ctx, `SELECT id FROM endpoints WHERE id = (SELECT endpoint_id FROM messages
				WHERE id = ?) FOR UPDATE`, a.MessageID); err != nil {
				return fmt.Errorf("sender: lock endpoint of %s: %w", a.MessageID, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET claimed_by = '', claimed_until = 0
				WHERE id = ? AND claimed_by = ?`, a.MessageID, s.replica); err != nil {
				return fmt.Errorf("sender: release claim on %s: %w", a.MessageID, err)
			}
		}
		var st msgState
		var fs, next int64
		if err := tx.QueryRowContext(ctx, `SELECT m.status, m.failures, m.next_attempt_at, m.dead_reason,
			e.failing_since, e.id FROM messages m JOIN endpoints e ON e.id = m.endpoint_id WHERE m.id = ?`, a.MessageID).
			Scan(&st.status, &st.failures, &next, &st.deadReason, &fs, &st.endpointID); err != nil {
			return fmt.Errorf("sender: read state of %s: %w", a.MessageID, err)
		}
		st.failingSince, st.nextAt = fromMS(fs), fromMS(next)
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET duration_ms = ?, status_code = ?, outcome = ?, error = ?,
			retry_after_ms = ?, response = ? WHERE message_id = ? AND n = ?`,
			a.DurationMS, a.StatusCode, a.Outcome, a.Error, a.RetryAfterMS, a.Response, a.MessageID, a.N); err != nil {
			return fmt.Errorf("sender: record answer of attempt %d of %s: %w", a.N, a.MessageID, err)
		}
		ch = decide(st)
		// SQLite evaluates every SET expression on the row as it was: status is the old one.
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET
			delivered_at = CASE WHEN ?1 = 'delivered' AND status != 'delivered' THEN ?2 ELSE delivered_at END,
			dead_at = CASE WHEN ?1 != 'dead' THEN 0 WHEN status = 'dead' THEN dead_at ELSE ?2 END,
			status = ?1, failures = ?3, next_attempt_at = ?4, dead_reason = ?5,
			last_error = CASE WHEN ?6 != '' THEN ?6 ELSE last_error END
			WHERE id = ?7`,
			ch.status, ms(now), ch.failures, ms(ch.nextAt), ch.deadReason, a.Error, a.MessageID); err != nil {
			return fmt.Errorf("sender: update message %s: %w", a.MessageID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET failing_since = ? WHERE id = ?`,
			ms(ch.failingSince), st.endpointID); err != nil {
			return fmt.Errorf("sender: update endpoint %s: %w", st.endpointID, err)
		}
		if ch.disable != "" {
			return disableTx(ctx, tx, st.endpointID, ch.disable, now, notifyID)
		}
		return nil
	})
	return ch, err
}

// disableTx disables an endpoint, dead-letters its pending messages and, when it has a
// failure notification URL, queues the notification.
func disableTx(ctx context.Context, tx *sqlTx, endpointID, reason string, now time.Time, notifyID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled = 1, disabled_reason = ?, disabled_at = ?,
		notify_id = ?, notify_attempts = 0, notify_next_at = ?, notify_error = '',
		breaker_failures = 0, breaker_open_until = 0, breaker_cooldown_ms = 0,
		notify_state = CASE WHEN failure_notification_url != '' THEN 'pending' ELSE '' END
		WHERE id = ? AND disabled = 0`, reason, ms(now), notifyID, ms(now), endpointID); err != nil {
		return fmt.Errorf("sender: disable endpoint %s: %w", endpointID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, dead_at = ?, dead_reason = ?
		WHERE endpoint_id = ? AND status = ?`, Dead, ms(now), "endpoint disabled: "+reason, endpointID, Pending); err != nil {
		return fmt.Errorf("sender: dead-letter messages of %s: %w", endpointID, err)
	}
	return nil
}

// deferEndpoint pushes every pending message of an endpoint to at least until (its circuit
// breaker opened).
func (s *store) deferEndpoint(ctx context.Context, endpointID string, until time.Time) error {
	q := `UPDATE messages SET next_attempt_at = MAX(next_attempt_at, ?) WHERE endpoint_id = ? AND status = ?`
	if s.pg {
		q = `UPDATE messages SET next_attempt_at = GREATEST(next_attempt_at, ?) WHERE endpoint_id = ? AND status = ?`
	}
	if _, err := s.db.ExecContext(ctx, q, ms(until), endpointID, Pending); err != nil {
		return fmt.Errorf("sender: defer messages of %s: %w", endpointID, err)
	}
	return nil
}

// replay makes one message pending again, due now, with a fresh failure budget.
func (s *store) replay(ctx context.Context, id string, now time.Time) (Message, error) {
	var out Message
	err := s.tx(ctx, func(tx *sqlTx) error {
		m, err := s.message(ctx, tx, id)
		if err != nil {
			return err
		}
		e, err := s.endpoint(ctx, tx, m.EndpointID)
		if err != nil {
			return err
		}
		if e.Disabled {
			return fmt.Errorf("sender: replay %s: endpoint %s (%s): enable it first: %w", id, e.ID, e.DisabledReason, ErrDisabled)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, failures = 0, next_attempt_at = ?,
			dead_at = 0, dead_reason = '' WHERE id = ?`, Pending, ms(now), id); err != nil {
			return fmt.Errorf("sender: replay %s: %w", id, err)
		}
		out, err = s.message(ctx, tx, id)
		return err
	})
	return out, err
}

// replaySince makes every dead letter created at or after since pending again (those of
// enabled endpoints; those of disabled ones are counted in skipped).
func (s *store) replaySince(ctx context.Context, since time.Time, endpointID string, now time.Time) (replayed, skipped int64, err error) {
	err = s.tx(ctx, func(tx *sqlTx) error {
		q := `UPDATE messages SET status = ?, failures = 0, next_attempt_at = ?, dead_at = 0, dead_reason = ''
			WHERE status = ? AND created_at >= ? AND endpoint_id IN (SELECT id FROM endpoints WHERE disabled = 0)`
		args := []any{Pending, ms(now), Dead, ms(since)}
		if endpointID != "" {
			if _, err := s.endpoint(ctx, tx, endpointID); err != nil {
				return err
			}
			q += ` AND endpoint_id = ?`
			args = append(args, endpointID)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("sender: replay dead letters since %s: %w", since.Format(time.RFC3339), err)
		}
		replayed, _ = res.RowsAffected()
		q = `SELECT COUNT(*) FROM messages WHERE status = ? AND created_at >= ?`
		args = []any{Dead, ms(since)}
		if endpointID != "" {
			q += ` AND endpoint_id = ?`
			args = append(args, endpointID)
		}
		if err := tx.QueryRowContext(ctx, q, args...).Scan(&skipped); err != nil {
			return fmt.Errorf("sender: count dead letters left: %w", err)
		}
		return nil
	})
	return replayed, skipped, err
}

// deadLetters lists dead messages, latest first.
func (s *store) deadLetters(ctx context.Context, endpointID string, limit int) ([]Message, error) {
	q := `SELECT ` + messageCols + ` FROM messages WHERE status = ?`
	args := []any{Dead}
	if endpointID != "" {
		q += ` AND endpoint_id = ?`
		args = append(args, endpointID)
	}
	q += ` ORDER BY dead_at DESC, id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sender: list dead letters: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows, false)
		if err != nil {
			return nil, fmt.Errorf("sender: read dead letter: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sender: list dead letters: %w", err)
	}
	return out, nil
}

// notice is a failure notification to send.
type notice struct {
	endpoint Endpoint
	id       string
	attempts int
}

// On PostgreSQL the notifications listed are claimed: not due again, for other replicas,
// before the lease ends (finishNotice sets their next time).
func (s *store) dueNotices(ctx context.Context, now time.Time) ([]notice, error) {
	q, args := `SELECT `+endpointCols+`, notify_id, notify_attempts FROM endpoints
		WHERE notify_state = 'pending' AND notify_next_at <= ? LIMIT 64`, []any{ms(now)}
	if s.pg {
		q, args = `UPDATE endpoints SET notify_next_at = ? WHERE id IN (SELECT id FROM endpoints
			WHERE notify_state = 'pending' AND notify_next_at <= ? LIMIT 64 FOR UPDATE SKIP LOCKED)
			RETURNING `+endpointCols+`, notify_id, notify_attempts`, []any{ms(now.Add(s.lease)), ms(now)}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sender: list due notifications: %w", err)
	}
	defer rows.Close()
	var out []notice
	for rows.Next() {
		var n notice
		e, err := scanEndpoint(rows, &n.id, &n.attempts)
		if err != nil {
			return nil, fmt.Errorf("sender: read due notification: %w", err)
		}
		n.endpoint = e
		out = append(out, n)
	}
	return out, rows.Err()
}

// finishNotice records a notification attempt: sent, retried at next, or given up.
func (s *store) finishNotice(ctx context.Context, endpointID, state string, attempts int, next time.Time, errText string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE endpoints SET notify_state = ?, notify_attempts = ?, notify_next_at = ?,
		notify_error = ? WHERE id = ?`, state, attempts, ms(next), errText, endpointID); err != nil {
		return fmt.Errorf("sender: record notification of %s: %w", endpointID, err)
	}
	return nil
}

// migrateSQLite adds the columns later versions brought to an outbox an older one created.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	for _, c := range []struct{ table, column, def string }{
		{"endpoints", "breaker_failures", "INTEGER NOT NULL DEFAULT 0"},
		{"endpoints", "breaker_open_until", "INTEGER NOT NULL DEFAULT 0"},
		{"endpoints", "breaker_cooldown_ms", "INTEGER NOT NULL DEFAULT 0"},
	} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.def); err != nil {
				return err
			}
		}
	}
	return nil
}

// claimDue is due on PostgreSQL: it claims the messages it returns (see postgres.go).
func (s *store) claimDue(ctx context.Context, now time.Time, limit int, skip func(msgID, endpointID string) bool) ([]job, error) {
	var out []job
	err := s.tx1(ctx, func(tx *sqlTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, endpoint_id, attempts FROM messages
			WHERE status = ? AND next_attempt_at <= ? AND claimed_until <= ?
			ORDER BY next_attempt_at, created_at LIMIT ? FOR UPDATE SKIP LOCKED`,
			Pending, ms(now), ms(now), limit*4+64)
		if err != nil {
			return fmt.Errorf("sender: claim due messages: %w", err)
		}
		for rows.Next() {
			var j job
			if err := rows.Scan(&j.msgID, &j.endpointID, &j.attempts); err != nil {
				rows.Close()
				return fmt.Errorf("sender: read due message: %w", err)
			}
			if len(out) == limit || skip(j.msgID, j.endpointID) {
				continue // read on: rows.Close on a partly read result would cost a round trip anyway
			}
			out = append(out, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sender: claim due messages: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]string, len(out))
		for i, j := range out {
			ids[i] = j.msgID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET claimed_by = ?, claimed_until = ? WHERE id = ANY(?)`,
			s.replica, ms(now.Add(s.lease)), ids); err != nil {
			return fmt.Errorf("sender: claim %d messages: %w", len(ids), err)
		}
		// An attempt still in flight on a message nobody held was a replica's that died.
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET outcome = ?, error = 'the sender replica stopped before an answer came'
			WHERE message_id = ANY(?) AND outcome = ?`, Interrupted, ids, InFlight); err != nil {
			return fmt.Errorf("sender: recover attempts of claimed messages: %w", err)
		}
		body := map[string][]byte{}
		brows, err := tx.QueryContext(ctx, `SELECT id, body FROM messages WHERE id = ANY(?)`, ids)
		if err != nil {
			return fmt.Errorf("sender: read bodies: %w", err)
		}
		defer brows.Close()
		for brows.Next() {
			var id string
			var b []byte
			if err := brows.Scan(&id, &b); err != nil {
				return fmt.Errorf("sender: read body: %w", err)
			}
			body[id] = b
		}
		if err := brows.Err(); err != nil {
			return fmt.Errorf("sender: read bodies: %w", err)
		}
		for i := range out {
			out[i].body = body[out[i].msgID]
		}
		return nil
	})
	return out, err
}

// unclaim gives up the claim on a message this process will not attempt after all
// (PostgreSQL; SQLite has no claims).
func (s *store) unclaim(ctx context.Context, msgID string) {
	if s.pg {
		s.db.ExecContext(ctx, `UPDATE messages SET claimed_by = '', claimed_until = 0 WHERE id = ? AND claimed_by = ?`, msgID, s.replica)
	}
}

// breakerRow is the persisted state of an endpoint's circuit breaker.
type breakerRow struct {
	failures  int
	openUntil time.Time
	cooldown  time.Duration
}

// saveBreaker persists an endpoint's breaker (opened, or closed again), so a restart keeps
// holding an endpoint that was failing.
func (s *store) saveBreaker(ctx context.Context, endpointID string, b breakerRow) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE endpoints SET breaker_failures = ?, breaker_open_until = ?,
		breaker_cooldown_ms = ? WHERE id = ?`, b.failures, ms(b.openUntil), b.cooldown.Milliseconds(), endpointID); err != nil {
		return fmt.Errorf("sender: save breaker of %s: %w", endpointID, err)
	}
	return nil
}

// breakers reads the persisted breakers that are not closed and clean.
func (s *store) breakers(ctx context.Context) (map[string]breakerRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, breaker_failures, breaker_open_until, breaker_cooldown_ms FROM endpoints
		WHERE disabled = 0 AND (breaker_failures > 0 OR breaker_open_until > 0)`)
	if err != nil {
		return nil, fmt.Errorf("sender: read breakers: %w", err)
	}
	defer rows.Close()
	out := map[string]breakerRow{}
	for rows.Next() {
		var id string
		var b breakerRow
		var until, cool int64
		if err := rows.Scan(&id, &b.failures, &until, &cool); err != nil {
			return nil, fmt.Errorf("sender: read breaker: %w", err)
		}
		b.openUntil, b.cooldown = fromMS(until), time.Duration(cool)*time.Millisecond
		out[id] = b
	}
	return out, rows.Err()
}
