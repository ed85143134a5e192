package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// What both backends do the same way over database/sql. Each backend keeps its own SQL (its
// placeholders and table names) and its own way of running transactions; these helpers turn
// deliveries and effects into column values and turn statement results back into Go values.

// inboxValues are the columns of d's inbox row: id, body, received_ms. An empty body stays a
// body: a nil slice would be stored as NULL.
func inboxValues(d Delivery) []any {
	body := d.Body
	if body == nil {
		body = []byte{}
	}
	return []any{d.ID, body, unixMilli(d.ReceivedAt)}
}

// effectValues are the columns of e's effects row, created now: effect_id, webhook_id, type,
// data, applied, created_ms. Data is stored as JSON text, "null" when there is none.
func effectValues(e Effect) []any {
	data := string(e.Data)
	if data == "" {
		data = "null"
	}
	return []any{e.EffectID, e.WebhookID, e.Type, data, e.Applied, time.Now().UnixMilli()}
}

// changedOne reports whether a statement changed exactly one row (a delivery inserted or
// claimed, an object advanced). It takes the statement's results as they are:
// changedOne(st.ExecContext(ctx, ...)).
func changedOne(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// queryAll runs a read on db and scans each row into a T with scan. Its errors start with what.
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(*sql.Rows, *T) error, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// The scanners of queryAll, one per read of Store; each backend's query selects these columns in
// this order.

// scanRow scans seq, id, body, received_ms.
func scanRow(rows *sql.Rows, r *Row) error {
	var received int64
	if err := rows.Scan(&r.Seq, &r.ID, &r.Body, &received); err != nil {
		return err
	}
	r.ReceivedAt = time.UnixMilli(received)
	return nil
}

// scanQueued scans the outbox seq, then the effect as scanEffect does.
func scanQueued(rows *sql.Rows, q *Queued) error { return scanEffectAfter(rows, &q.Effect, &q.Seq) }

// scanEffect scans effect_id, webhook_id, type, data, applied.
func scanEffect(rows *sql.Rows, e *Effect) error { return scanEffectAfter(rows, e) }

// scanEffectAfter scans the columns of lead first, then those of scanEffect.
func scanEffectAfter(rows *sql.Rows, e *Effect, lead ...any) error {
	var data string // stored as text
	if err := rows.Scan(append(lead, &e.EffectID, &e.WebhookID, &e.Type, &data, &e.Applied)...); err != nil {
		return err
	}
	e.Data = []byte(data)
	return nil
}

// queryStats runs a query that selects the four counts of Stats, in the order of its fields.
// Its error starts with what.
func queryStats(ctx context.Context, db *sql.DB, what, query string) (Stats, error) {
	var st Stats
	if err := db.QueryRowContext(ctx, query).Scan(&st.Inbox, &st.Pending, &st.Effects, &st.Outbox); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", what, err)
	}
	return st, nil
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

// markFirst sets marks[i] for the first i whose key(i) is one of got (each of got marks one
// place): which elements of its input a statement that returns the keys it changed changed.
func markFirst(marks []bool, got []string, key func(int) string) {
	if len(got) == 0 {
		return
	}
	left := make(map[string]int, len(got))
	for _, g := range got {
		left[g]++
	}
	for i := range marks {
		if k := key(i); left[k] > 0 {
			marks[i] = true
			left[k]--
		}
	}
}

// queryStrings runs a query in tx that returns one text column, and returns its values.
func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
