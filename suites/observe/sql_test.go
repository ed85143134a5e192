package observe

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the tests' writable handle

	"github.com/hookproof/hookproof/reference/sink"
)

// The servers the tests may use. Each test gets a table of its own there (in a schema of its
// own on PostgreSQL), dropped afterwards.
const (
	PostgresDSNEnv = "HOOKPROOF_TEST_POSTGRES_DSN"
	MySQLDSNEnv    = "HOOKPROOF_TEST_MYSQL_DSN"
)

// backend is one database under test: a table processed_events made for the test, a writable
// handle on it, and the DSN OpenSQL gets.
type backend struct {
	name  string
	dsn   string  // for OpenSQL
	w     *sql.DB // the receiver's side: writes rows
	table string  // qualified name of the test's processed_events
	ph    func(i int) string
	ts    func(time.Time) any // a processed_at value as the writer binds it
}

func (b *backend) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := b.w.Exec(strings.ReplaceAll(q, "{t}", b.table), args...); err != nil {
		t.Fatalf("%s: %s: %v", b.name, q, err)
	}
}

// insert writes one processing of webhook id (effect "" stores NULL) processed at at.
func (b *backend) insert(t testing.TB, id, effect string, applied bool, at time.Time) {
	t.Helper()
	var e any
	if effect != "" {
		e = effect
	}
	q := fmt.Sprintf("INSERT INTO %s(webhook_id, effect_id, applied, processed_at, processed_unix) VALUES(%s, %s, %s, %s, %s)",
		b.table, b.ph(1), b.ph(2), b.ph(3), b.ph(4), b.ph(5))
	if _, err := b.w.Exec(q, id, e, applied, b.ts(at), at.Unix()); err != nil {
		t.Fatalf("%s: insert: %v", b.name, err)
	}
}

func (b *backend) count(t testing.TB) int {
	t.Helper()
	var n int
	if err := b.w.QueryRow("SELECT COUNT(*) FROM " + b.table).Scan(&n); err != nil {
		t.Fatalf("%s: count: %v", b.name, err)
	}
	return n
}

// q expands {t} in a query to the test's table.
func (b *backend) q(query string) string { return strings.ReplaceAll(query, "{t}", b.table) }

func uniqueName() string { return "hp_obs_" + strings.ToLower(rand.Text()[:10]) }

// backends returns every database the tests can reach: SQLite always, PostgreSQL and MariaDB
// when their DSN is set (skipped loudly without it, or failing under CI=true, where .ci/run
// starts both).
func backends(t *testing.T) []func(t *testing.T) *backend {
	out := []func(t *testing.T) *backend{sqliteBackend}
	for _, env := range []struct {
		name, env string
		mk        func(t *testing.T, dsn string) *backend
	}{{"PostgreSQL", PostgresDSNEnv, postgresBackend}, {"MariaDB/MySQL", MySQLDSNEnv, mysqlBackend}} {
		dsn := os.Getenv(env.env)
		if dsn == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true but %s is not set: .ci/run must start %s", env.env, env.name)
			}
			t.Logf("SKIPPING %s: set %s to test it", env.name, env.env)
			continue
		}
		out = append(out, func(t *testing.T) *backend { return env.mk(t, dsn) })
	}
	return out
}

// forEach runs fn on every backend, as subtests named after it.
func forEach(t *testing.T, fn func(t *testing.T, b *backend)) {
	for _, mk := range backends(t) {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func sqliteBackend(t *testing.T) *backend {
	path := filepath.Join(t.TempDir(), "receiver.db")
	// The receiver's handle: WAL, as a receiver beside readers runs it.
	w, err := sql.Open("sqlite", path+"?_journal_mode=WAL&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	t.Cleanup(func() { w.Close() })
	b := &backend{name: "sqlite", dsn: "sqlite:" + path, w: w, table: "processed_events",
		ph: func(int) string { return "?" },
		ts: func(at time.Time) any { return at.UTC().Format("2006-01-02 15:04:05.000000") }}
	b.exec(t, `CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id TEXT, effect_id TEXT,
		applied BOOLEAN, processed_at TEXT DEFAULT CURRENT_TIMESTAMP, processed_unix INTEGER)`)
	return b
}

func postgresBackend(t *testing.T, dsn string) *backend {
	w, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := uniqueName()
	if _, err := w.Exec("CREATE SCHEMA " + schema); err != nil {
		w.Close()
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := w.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); err != nil {
			t.Errorf("postgres: drop schema %s: %v", schema, err)
		}
		w.Close()
	})
	b := &backend{name: "postgres", dsn: dsn, w: w, table: schema + ".processed_events",
		ph: func(i int) string { return fmt.Sprintf("$%d", i) },
		ts: func(at time.Time) any { return at }}
	b.exec(t, `CREATE TABLE {t} (id BIGSERIAL PRIMARY KEY, webhook_id TEXT, effect_id TEXT, applied BOOLEAN,
		processed_at TIMESTAMPTZ DEFAULT now(), processed_unix BIGINT)`)
	return b
}

func mysqlBackend(t *testing.T, dsn string) *backend {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		t.Fatalf("%s: %v", MySQLDSNEnv, err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := sql.OpenDB(conn)
	table := uniqueName()
	t.Cleanup(func() {
		if _, err := w.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			t.Errorf("mysql: drop table %s: %v", table, err)
		}
		w.Close()
	})
	b := &backend{name: "mysql", dsn: dsn, w: w, table: table,
		ph: func(int) string { return "?" },
		ts: func(at time.Time) any { return at.UTC() }}
	b.exec(t, `CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, webhook_id VARCHAR(200), effect_id VARCHAR(200),
		applied BOOLEAN, processed_at DATETIME(6), processed_unix BIGINT)`)
	return b
}

func openSQL(t *testing.T, b *backend, query string, since time.Time) *SQL {
	t.Helper()
	s, err := OpenSQL(context.Background(), b.dsn, b.q(query), since)
	if err != nil {
		t.Fatalf("OpenSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func syncNow(t *testing.T, s *SQL) {
	t.Helper()
	if err := s.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

const allRows = "SELECT webhook_id, effect_id, applied FROM {t} ORDER BY id"

func TestSQLMissingWebhookID(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		_, err := OpenSQL(context.Background(), b.dsn, b.q("SELECT id, webhook_id AS event_id FROM {t}"), time.Now())
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("want ErrConfig, got %v", err)
		}
		if want := "returns columns id, event_id: it needs a column named webhook_id"; !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
		// A query that fails is a setup error too, with the database's reason.
		_, err = OpenSQL(context.Background(), b.dsn, "SELECT webhook_id FROM no_such_table_here", time.Now())
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no_such_table_here") {
			t.Fatalf("want an ErrConfig naming the table, got %v", err)
		}
	})
}

func TestSQLDedupeAppliedAndTypes(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		now := time.Now()
		s := openSQL(t, b, "SELECT id AS ignored, WEBHOOK_ID, Effect_Id, applied FROM {t} ORDER BY id", now)
		col := sink.NewCollector()
		s.Start(context.Background(), col, 0)
		b.insert(t, "wh_1", "eff_a", true, now)
		b.insert(t, "wh_1", "eff_a", true, now) // a redelivery re-reporting the same effect
		b.insert(t, "wh_1", "eff_b", true, now) // a second, distinct effect: a duplicate
		b.insert(t, "wh_2", "", false, now)     // stale: no effect id, not applied
		syncNow(t, s)
		if got := col.Distinct("wh_1"); got != 2 {
			t.Errorf("wh_1: %d distinct effects, want 2 (eff_a once, eff_b)", got)
		}
		if got := col.Total(); got != 4 {
			t.Errorf("%d reports, want 4", got)
		}
		r := col.Reports("wh_2")
		if len(r) != 1 || r[0].Applied || r[0].EffectID != "" || r[0].Type != "sql" || string(r[0].Data) != "null" {
			t.Errorf("wh_2: %+v, want one unapplied sql effect without effect_id", r)
		}
		if r := col.Reports("wh_1"); len(r) != 3 || !r[0].Applied || r[0].EffectID != "eff_a" {
			t.Errorf("wh_1: %+v", r)
		}

		// Without an applied column every row is applied; an integer webhook_id reads as text.
		s2 := openSQL(t, b, "SELECT id AS webhook_id FROM {t} ORDER BY id", now)
		col2 := sink.NewCollector()
		s2.Start(context.Background(), col2, 0)
		syncNow(t, s2)
		for _, id := range []string{"1", "2", "3", "4"} {
			if r := col2.Reports(id); len(r) != 1 || !r[0].Applied {
				t.Errorf("id %s: %+v, want one applied effect", id, r)
			}
		}
	})
}

func TestSQLSince(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		since := time.Now().Add(-time.Minute)
		b.insert(t, "old_1", "", true, since.Add(-time.Hour))
		b.insert(t, "old_2", "", true, since.Add(-2*time.Second))
		b.insert(t, "new_1", "", true, since.Add(time.Second))
		b.insert(t, "new_2", "", true, since.Add(30*time.Second))
		for _, q := range []string{
			"SELECT webhook_id FROM {t} WHERE processed_at >= {since} ORDER BY id",
			"SELECT webhook_id FROM {t} WHERE processed_unix >= {since_unix} ORDER BY id",
			// Both tokens, one twice: each gets its argument (PostgreSQL numbers them once).
			"SELECT webhook_id FROM {t} WHERE processed_at >= {since} AND processed_unix >= {since_unix} AND processed_at >= {since} ORDER BY id",
		} {
			s := openSQL(t, b, q, since)
			col := sink.NewCollector()
			s.Start(context.Background(), col, 0)
			syncNow(t, s)
			got := col.Counts()
			if len(got) != 2 || got["new_1"] != 1 || got["new_2"] != 1 {
				t.Errorf("%s: fed %v, want new_1 and new_2 only", q, got)
			}
		}
	})
}

func TestSQLIncremental(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		now := time.Now()
		s := openSQL(t, b, allRows, now)
		col := sink.NewCollector()
		s.Start(context.Background(), col, 0)
		syncNow(t, s)
		if col.Total() != 0 || s.Rows() != 0 {
			t.Fatalf("empty table fed %d", col.Total())
		}
		for round := 1; round <= 3; round++ {
			for i := range round {
				b.insert(t, fmt.Sprintf("wh_%d_%d", round, i), "", true, now)
			}
			syncNow(t, s)
			syncNow(t, s) // nothing new: nothing fed twice
			want := round * (round + 1) / 2
			if col.Total() != want || s.Rows() != want {
				t.Fatalf("round %d: fed %d, rows %d, want %d", round, col.Total(), s.Rows(), want)
			}
		}
		for id, n := range col.Counts() {
			if n != 1 {
				t.Errorf("%s fed %d times", id, n)
			}
		}
		if err := s.Err(); err != nil {
			t.Errorf("Err: %v", err)
		}
	})
}

func TestSQLBackgroundPolling(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		s := openSQL(t, b, allRows, time.Now())
		col := sink.NewCollector()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.Start(ctx, col, 20*time.Millisecond)
		for i := range 5 {
			b.insert(t, fmt.Sprintf("bg_%d", i), "", true, time.Now())
		}
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if err := col.WaitDistinct(wctx, "bg_4", 1); err != nil {
			t.Fatal(err)
		}
		syncNow(t, s) // a Sync beside the poller feeds nothing twice
		if col.Total() != 5 {
			t.Errorf("fed %d, want 5", col.Total())
		}
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > CloseTimeout+time.Second {
			t.Errorf("Close took %s", d)
		}
		if err := s.Sync(context.Background()); err == nil {
			t.Error("Sync after Close: no error")
		}
	})
}

func TestSQLShrinkingResult(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		now := time.Now()
		for i := range 12 {
			b.insert(t, fmt.Sprintf("wh_%d", i), "", true, now)
		}
		s := openSQL(t, b, allRows, now)
		col := sink.NewCollector()
		s.Start(context.Background(), col, 0)
		syncNow(t, s)
		b.exec(t, "DELETE FROM {t} WHERE webhook_id IN ('wh_3', 'wh_7')")
		err := s.Sync(context.Background())
		want := "effects query returned 10 rows after 12: rows must only be appended; order by an increasing column"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Sync: %v, want %q", err, want)
		}
		// Rows appended after the shrink are not fed by position either: the first rows changed.
		b.insert(t, "late_1", "", true, now)
		b.insert(t, "late_2", "", true, now)
		b.insert(t, "late_3", "", true, now)
		if err := s.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "changed") {
			t.Fatalf("Sync after the shrink and 3 appends: %v, want the first rows changed", err)
		}
		if col.Total() != 12 {
			t.Errorf("fed %d, want the first 12 only", col.Total())
		}
		if err := s.Err(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Err: %v, want the shrink kept", err)
		}
	})
}

func TestSQLChangedRows(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		now := time.Now()
		b.insert(t, "wh_1", "", true, now)
		b.insert(t, "wh_2", "", true, now)
		s := openSQL(t, b, allRows, now)
		col := sink.NewCollector()
		s.Start(context.Background(), col, 0)
		syncNow(t, s)
		b.exec(t, "UPDATE {t} SET applied = false WHERE webhook_id = 'wh_1'")
		b.insert(t, "wh_3", "", true, now)
		if err := s.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "first 2 rows changed") {
			t.Fatalf("Sync: %v, want the changed rows reported", err)
		}
		if col.Total() != 2 {
			t.Errorf("fed %d, want 2", col.Total())
		}
	})
}

func TestSQLReadOnly(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		b.insert(t, "before", "", true, time.Now())
		var writes []string
		switch b.name {
		case "postgres":
			writes = []string{
				"INSERT INTO {t}(webhook_id) VALUES('written') RETURNING webhook_id",
				"WITH w AS (INSERT INTO {t}(webhook_id) VALUES('written') RETURNING webhook_id) SELECT webhook_id FROM w",
				"SELECT webhook_id FROM {t}; INSERT INTO {t}(webhook_id) VALUES('written')",
			}
		case "sqlite":
			writes = []string{
				"INSERT INTO {t}(webhook_id) VALUES('written') RETURNING webhook_id",
				"SELECT webhook_id FROM {t}; INSERT INTO {t}(webhook_id) VALUES('written')",
			}
		case "mysql":
			writes = []string{
				"INSERT INTO {t}(webhook_id) VALUES('written')",
				"SELECT webhook_id FROM {t}; INSERT INTO {t}(webhook_id) VALUES('written')",
				"SELECT webhook_id FROM {t} WHERE {since} IS NOT NULL; INSERT INTO {t}(webhook_id) VALUES('written')",
			}
		}
		for _, q := range writes {
			s, err := OpenSQL(context.Background(), b.dsn, b.q(q), time.Now())
			if err == nil {
				// It may pass the first check only by not writing; a poll must not write either.
				col := sink.NewCollector()
				s.Start(context.Background(), col, 0)
				_ = s.Sync(context.Background())
				s.Close()
			} else if !errors.Is(err, ErrConfig) {
				t.Errorf("%s: error %v does not wrap ErrConfig", q, err)
			}
			if n := b.count(t); n != 1 {
				t.Fatalf("%s: the table has %d rows, want 1: the query wrote (open error: %v)", q, n, err)
			}
		}
		// The plain INSERT fails outright, for being in a read-only transaction or file.
		_, err := OpenSQL(context.Background(), b.dsn, b.q(writes[0]), time.Now())
		if err == nil || !readOnlyRe.MatchString(err.Error()) {
			t.Errorf("%s: %v, want a read-only error", writes[0], err)
		}
	})
}

var readOnlyRe = regexp.MustCompile(`(?i)read[- ]?only`)

func TestSQLSkipsBadRows(t *testing.T) {
	forEach(t, func(t *testing.T, b *backend) {
		now := time.Now()
		s := openSQL(t, b, allRows, now)
		col := sink.NewCollector()
		s.Start(context.Background(), col, 0)
		b.insert(t, "wh_1", "", true, now)
		b.exec(t, "INSERT INTO {t}(webhook_id, applied) VALUES(NULL, true)")
		b.exec(t, "INSERT INTO {t}(webhook_id, applied) VALUES('wh_nullapplied', NULL)")
		b.insert(t, "wh_2", "", true, now)
		err := s.Sync(context.Background())
		if err == nil || !strings.Contains(err.Error(), "row 2: webhook_id is NULL") {
			t.Fatalf("Sync: %v, want row 2 reported", err)
		}
		if col.Total() != 2 || s.Skipped() != 2 || s.Rows() != 4 {
			t.Errorf("fed %d, skipped %d, rows %d; want 2, 2, 4", col.Total(), s.Skipped(), s.Rows())
		}
		if err := s.Err(); err == nil {
			t.Error("Err: nil after skipped rows")
		}
		// The first check refuses a query whose rows cannot be read at all.
		if _, err := OpenSQL(context.Background(), b.dsn, b.q(allRows), now); !errors.Is(err, ErrConfig) {
			t.Errorf("OpenSQL over bad rows: %v, want ErrConfig", err)
		}
	})
}

func TestSQLiteAppliedForms(t *testing.T) {
	b := sqliteBackend(t)
	b.exec(t, `INSERT INTO {t}(webhook_id, applied) VALUES ('a', 't'), ('b', 'f'), ('c', 'TRUE'), ('d', 'false'),
		('e', 1), ('f', 0), ('g', '1'), ('h', '0'), (42, 1)`)
	s := openSQL(t, b, allRows, time.Now())
	col := sink.NewCollector()
	s.Start(context.Background(), col, 0)
	syncNow(t, s)
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": false, "e": true, "f": false, "g": true, "h": false, "42": true} {
		if r := col.Reports(id); len(r) != 1 || r[0].Applied != want {
			t.Errorf("%s: %+v, want applied=%v", id, r, want)
		}
	}
	b.exec(t, `INSERT INTO {t}(webhook_id, applied) VALUES ('x', 'maybe')`)
	if err := s.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), `applied is "maybe"`) {
		t.Errorf("Sync: %v, want the bad applied named", err)
	}
}

func TestSQLiteOpenedReadOnly(t *testing.T) {
	b := sqliteBackend(t)
	b.insert(t, "wh_1", "", true, time.Now())
	s := openSQL(t, b, allRows, time.Now())
	// Even a statement the source would never run cannot write through its handle.
	for _, q := range []string{"PRAGMA query_only = 0", "INSERT INTO processed_events(webhook_id) VALUES('x')"} {
		_, _ = s.db.Exec(q)
	}
	if _, err := s.db.Exec("INSERT INTO processed_events(webhook_id) VALUES('x')"); err == nil {
		t.Error("an INSERT through the source's handle succeeded")
	}
	if n := b.count(t); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

func TestSQLitePathErrors(t *testing.T) {
	dir := t.TempDir()
	for dsn, want := range map[string]string{
		"sqlite:" + filepath.Join(dir, "missing.db"): "does not exist",
		"sqlite:" + dir: "is a directory",
		"sqlite:":       "needs a file path",
	} {
		_, err := OpenSQL(context.Background(), dsn, "SELECT 1 AS webhook_id", time.Now())
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrConfig saying %q", dsn, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("opening a missing SQLite file created it")
	}
	// A path with URI characters is a path, not parameters.
	odd := filepath.Join(dir, "a ?b#c%20.db")
	plain := filepath.Join(dir, "plain.db")
	w, err := sql.Open("sqlite", plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec("CREATE TABLE e(webhook_id TEXT); INSERT INTO e VALUES('x')"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := os.Rename(plain, odd); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQL(context.Background(), "sqlite:"+odd, "SELECT webhook_id FROM e", time.Now())
	if err != nil {
		t.Fatalf("odd path: %v", err)
	}
	s.Close()
}

func TestBadDSNForms(t *testing.T) {
	for _, dsn := range []string{"", "mongodb://x/y", "host=localhost user=postgres", "/tmp/x.db", "mysql:/nohost", "mysql://"} {
		_, err := OpenSQL(context.Background(), dsn, "SELECT 1 AS webhook_id", time.Now())
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", dsn, err)
			continue
		}
		if !strings.HasPrefix(dsn, "mysql") && !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("%q: %q does not name the accepted forms", dsn, err)
		}
	}
	if _, err := OpenSQL(context.Background(), "sqlite:/x", "  ", time.Now()); !errors.Is(err, ErrConfig) {
		t.Errorf("empty query: %v", err)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cr%40t@h:5432/db?sslmode=disable":   "postgres://u:***@h:5432/db?sslmode=disable",
		"postgresql://u@h/db":                               "postgresql://u@h/db",
		"postgres://h/db?user=u&password=s3cret&x=1":        "postgres://h/db?user=u&password=***&x=1",
		"mysql://root:hunter2@127.0.0.1:3306/app?tls=false": "mysql://root:***@127.0.0.1:3306/app?tls=false",
		"sqlite:/var/app/db.sqlite3":                        "sqlite:/var/app/db.sqlite3",
		"host=h user=u password=s3cret dbname=x":            "host=h user=u password=*** dbname=x",
		"mysql://u:p%zz@h/db":                               "mysql://u:***@h/db",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPasswordNeverShown makes every kind of error with a password in the DSN and looks for the
// password in what the source shows.
func TestPasswordNeverShown(t *testing.T) {
	const pw = "Sup3r-s3cret-pw"
	check := func(what, text string) {
		t.Helper()
		for _, form := range []string{pw, url.QueryEscape(pw), "s3cret"} {
			if strings.Contains(text, form) {
				t.Errorf("%s shows the password: %s", what, text)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Nothing listens on port 1: connecting fails.
	for _, dsn := range []string{
		"postgres://app:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5",
		"postgres://app@127.0.0.1:1/db?sslmode=disable&password=" + pw,
		"mysql://app:" + pw + "@127.0.0.1:1/db?timeout=5s",
		"mysql://app:" + pw + "@/db",
		"redis://app:" + pw + "@127.0.0.1:1",
	} {
		_, err := OpenSQL(ctx, dsn, "SELECT 1 AS webhook_id -- "+pw, time.Now())
		if err == nil {
			t.Fatalf("%s: no error", RedactDSN(dsn))
		}
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", RedactDSN(dsn), err)
		}
		check("OpenSQL error", err.Error())
		check("RedactDSN", RedactDSN(dsn))
		if !strings.Contains(err.Error(), "***") {
			t.Errorf("%v: the DSN is not shown redacted", err)
		}
	}
	// A server that refuses the password, or ignores it (trust) and fails the query, which
	// carries the password's text too.
	if dsn := os.Getenv(MySQLDSNEnv); dsn != "" {
		u, _ := url.Parse(dsn)
		u.User = url.UserPassword("nobody_here", pw)
		_, err := OpenSQL(ctx, u.String(), "SELECT 1 AS webhook_id", time.Now())
		if err == nil || !strings.Contains(err.Error(), "Access denied") {
			t.Errorf("MySQL with a wrong password: %v", err)
		} else {
			check("MySQL access denied", err.Error())
		}
	}
	if dsn := os.Getenv(PostgresDSNEnv); dsn != "" {
		u, _ := url.Parse(dsn)
		u.User = url.UserPassword(u.User.Username(), pw) // trust auth ignores it
		// PostgreSQL quotes the value it cannot read: the password's text, in the driver's message.
		_, err := OpenSQL(ctx, u.String(), "SELECT CAST('"+pw+"' AS integer) AS webhook_id", time.Now())
		if err == nil || !strings.Contains(err.Error(), "invalid input syntax") {
			t.Errorf("PostgreSQL query error: %v", err)
		} else {
			check("PostgreSQL query error", err.Error())
		}
	}
	// String and the errors of a running source.
	b := sqliteBackend(t)
	s := openSQL(t, b, allRows, time.Now())
	check("String", s.String())
	pgLike := &SQL{redacted: RedactDSN("postgres://u:" + pw + "@h/db"), secrets: dsnSecrets("postgres://u:" + pw + "@h/db")}
	check("String", pgLike.String())
	check("scrubbed driver error", pgLike.scrub(errors.New("driver said: password "+pw+" is wrong")))
}

func TestBindTokens(t *testing.T) {
	since := time.Date(2026, 3, 4, 5, 6, 7, 800, time.FixedZone("X", 3600))
	q, args := bindTokens("a >= {since} AND b >= {since_unix} AND c >= {since} AND '{sincere}'", "$", since, "postgres")
	if q != "a >= $1 AND b >= $2 AND c >= $1 AND '{sincere}'" || len(args) != 2 {
		t.Fatalf("postgres: %q %v", q, args)
	}
	if tm, ok := args[0].(time.Time); !ok || tm.Location() != time.UTC || !tm.Equal(since) || args[1] != since.Unix() {
		t.Errorf("postgres args: %#v", args)
	}
	q, args = bindTokens("a >= {since} AND b >= {since_unix} AND c >= {since}", "?", since, "sqlite")
	if q != "a >= ? AND b >= ? AND c >= ?" || len(args) != 3 || args[0] != "2026-03-04 04:06:07" || args[2] != args[0] {
		t.Errorf("sqlite: %q %#v", q, args)
	}
}

// TestSQLiteWALWithoutWriter reads a WAL database whose writer has closed (its -wal and -shm
// files gone), as between two runs of the receiver.
func TestSQLiteWALWithoutWriter(t *testing.T) {
	b := sqliteBackend(t)
	b.insert(t, "wh_1", "", true, time.Now())
	b.w.Close()
	s := openSQL(t, b, allRows, time.Now())
	col := sink.NewCollector()
	s.Start(context.Background(), col, 0)
	syncNow(t, s)
	if col.Distinct("wh_1") != 1 {
		t.Fatalf("fed %v", col.Counts())
	}
}
