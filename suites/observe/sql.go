package observe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/hookproof/hookproof/reference/sink"
)

// ErrConfig is wrapped by every setup error of a source: a DSN of no accepted form, a database
// that cannot be reached, an effects query that fails or lacks webhook_id at the first check,
// a log pattern without an id group, a log file that does not exist, a command that cannot
// start. The caller maps it to a usage error (exit code 2).
var ErrConfig = errors.New("observe: bad configuration")

// EffectTypeSQL and EffectTypeLog are the Type of the effects the sources feed.
const (
	EffectTypeSQL = "sql"
	EffectTypeLog = "log"
)

// Query tokens replaced by the driver's placeholder (see the package doc).
const (
	TokenSince     = "{since}"
	TokenSinceUnix = "{since_unix}"
)

// SQLiteTimeFormat is how {since} is bound for SQLite: the format of CURRENT_TIMESTAMP, in UTC.
const SQLiteTimeFormat = "2006-01-02 15:04:05"

const dsnForms = "postgres://user:pass@host:port/db, postgresql://…, mysql://user:pass@host:port/db?params or sqlite:PATH"

// SQL is an effects source that polls a query on the receiver's database. Its methods are safe
// for concurrent use.
type SQL struct {
	db       *sql.DB
	kind     string // "postgres", "mysql", "sqlite"
	redacted string // the DSN as shown
	secrets  []string
	query    string // with the tokens replaced
	args     []any
	tx       *sql.TxOptions // nil: SQLite, read-only by its open mode

	pollMu sync.Mutex // one poll at a time; guards the fields below it
	into   *sink.Collector
	fed    int    // rows already fed
	prefix uint64 // hash of those rows

	mu      sync.Mutex
	last    error // the latest poll's failure, nil after a good poll
	sticky  error // the first problem that can have changed what was fed
	skipped int
	started bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	cancel    context.CancelFunc // of the polls' context
	pollCtx   context.Context
}

// OpenSQL connects to the database of dsn, prepares query and runs it once. since is the run's
// start, bound to {since} and {since_unix}. Every error it returns wraps ErrConfig and says what
// is wrong; none shows the DSN's password.
func OpenSQL(ctx context.Context, dsn, query string, since time.Time) (*SQL, error) {
	s := &SQL{redacted: RedactDSN(dsn), secrets: dsnSecrets(dsn), stop: make(chan struct{}), done: make(chan struct{})}
	s.pollCtx, s.cancel = context.WithCancel(context.Background())
	if strings.TrimSpace(query) == "" {
		return nil, s.configErr("the effects query is empty")
	}
	placeholder, err := s.open(dsn)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.query, s.args = bindTokens(query, placeholder, since, s.kind)
	if err := s.firstCheck(ctx); err != nil {
		s.cancel()
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// open picks the driver for dsn and opens the pool; it returns the placeholder style ("$" for
// numbered $1, "?" otherwise).
func (s *SQL) open(dsn string) (string, error) {
	scheme, rest, _ := strings.Cut(dsn, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return "", s.configErr("parsing the PostgreSQL DSN: %s", err)
		}
		s.kind = "postgres"
		s.tx = &sql.TxOptions{ReadOnly: true}
		s.db = stdlib.OpenDB(*cfg)
		s.pool()
		return "$", nil
	case "mysql":
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return "", s.configErr("%s", err)
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return "", s.configErr("the MySQL DSN: %s", err)
		}
		s.kind = "mysql"
		s.tx = &sql.TxOptions{ReadOnly: true}
		s.db = sql.OpenDB(conn)
		s.pool()
		return "?", nil
	case "sqlite":
		name, err := sqliteName(rest)
		if err != nil {
			return "", s.configErr("%s", err)
		}
		db, err := sql.Open("sqlite", name)
		if err != nil {
			return "", s.configErr("opening the SQLite file: %s", err)
		}
		s.kind = "sqlite"
		s.db = db
		s.pool()
		return "?", nil
	}
	return "", s.configErr("unsupported DSN: want %s", dsnForms)
}

func (s *SQL) pool() {
	// One poll runs at a time: one connection is enough, and keeping it saves a reconnect a poll.
	s.db.SetMaxOpenConns(1)
	s.db.SetMaxIdleConns(1)
	s.db.SetConnMaxIdleTime(5 * time.Minute)
}

// mysqlConfig turns mysql://user:pass@host:port/db?params into the driver's config: TCP,
// parseTime=true, no multi-statements.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the MySQL DSN: %s", err)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("the MySQL DSN needs a host: want mysql://user:pass@host:port/db?params")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if strings.Contains(db, "/") {
		return nil, fmt.Errorf("the MySQL DSN's path %q is not one database name", u.Path)
	}
	// The driver parses its params itself (tls, loc, timeouts, system variables); user and
	// password are set afterwards, so no character of theirs can upset its parser.
	tail := "tcp(" + addr + ")/" + url.PathEscape(db)
	if u.RawQuery != "" {
		tail += "?" + u.RawQuery
	}
	cfg, err := mysql.ParseDSN(tail)
	if err != nil {
		return nil, fmt.Errorf("the MySQL DSN's parameters: %s", err)
	}
	cfg.DBName = db
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.ParseTime = true
	cfg.MultiStatements = false
	return cfg, nil
}

// sqliteName turns PATH into a read-only URI name for modernc.org/sqlite: mode=ro (writes fail
// with SQLITE_READONLY, a missing file is not created) plus the query_only pragma.
func sqliteName(path string) (string, error) {
	if path == "" {
		return "", errors.New("sqlite: needs a file path: want sqlite:PATH")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %s: %s", path, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("sqlite: %s does not exist", abs)
	case err != nil:
		return "", fmt.Errorf("sqlite: %s", err)
	case st.IsDir():
		return "", fmt.Errorf("sqlite: %s is a directory, not a database file", abs)
	}
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?mode=ro&_query_only=1&_busy_timeout=5000", nil
}

// bindTokens replaces {since} and {since_unix} by placeholders and returns their arguments.
func bindTokens(query, placeholder string, since time.Time, kind string) (string, []any) {
	sinceArg := any(since.UTC())
	if kind == "sqlite" {
		sinceArg = since.UTC().Format(SQLiteTimeFormat)
	}
	unixArg := since.Unix()
	var b strings.Builder
	var args []any
	numbered := map[string]int{} // for $n: one parameter per token, however often it appears
	for {
		i := strings.Index(query, "{since")
		if i < 0 {
			break
		}
		var tok string
		var arg any
		switch {
		case strings.HasPrefix(query[i:], TokenSince):
			tok, arg = TokenSince, sinceArg
		case strings.HasPrefix(query[i:], TokenSinceUnix):
			tok, arg = TokenSinceUnix, unixArg
		default:
			b.WriteString(query[:i+1])
			query = query[i+1:]
			continue
		}
		b.WriteString(query[:i])
		if placeholder == "$" {
			n, ok := numbered[tok]
			if !ok {
				args = append(args, arg)
				n = len(args)
				numbered[tok] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
		} else {
			args = append(args, arg)
			b.WriteString("?")
		}
		query = query[i+len(tok):]
	}
	b.WriteString(query)
	return b.String(), args
}

// String names the source with its DSN redacted.
func (s *SQL) String() string { return "sql source " + s.redacted }

// columns finds webhook_id, effect_id and applied among names (-1: absent).
type columns struct{ id, effect, applied int }

func (s *SQL) columns(names []string) (columns, error) {
	c := columns{-1, -1, -1}
	for i, n := range names {
		var at *int
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "webhook_id":
			at = &c.id
		case "effect_id":
			at = &c.effect
		case "applied":
			at = &c.applied
		default:
			continue
		}
		if *at >= 0 {
			return c, fmt.Errorf("effects query returns two columns named %s (%s and %s): keep one", strings.ToLower(n), names[*at], n)
		}
		*at = i
	}
	if c.id < 0 {
		shown := strings.Join(names, ", ")
		if shown == "" {
			shown = "no columns"
		} else {
			shown = "columns " + shown
		}
		return c, fmt.Errorf("effects query returns %s: it needs a column named webhook_id (the delivery id)", shown)
	}
	return c, nil
}

// firstCheck runs the query once: it must run, read-only, and return webhook_id, and the
// values it returns must read as ids and applied flags.
func (s *SQL) firstCheck(ctx context.Context) error {
	_, err := s.read(ctx, -1, func(int, row) error { return nil })
	if err != nil {
		return s.configErr("%s", err)
	}
	return nil
}

// row is one result row as fed, or why it cannot be.
type row struct {
	effect sink.Effect
	bad    error // the row is skipped
}

type discard struct{}

func (discard) Scan(any) error { return nil }

// read runs the query in a read-only transaction, rolls it back, and calls each(i, r) for every
// row. With strict (fed < 0) a bad row is an error. It returns the number of rows and, for the
// first fed of them, their hash in h.
func (s *SQL) read(ctx context.Context, fed int, each func(int, row) error) (result, error) {
	var res result
	tx, err := s.db.BeginTx(ctx, s.tx)
	if err != nil {
		return res, fmt.Errorf("starting a read-only transaction: %s", s.scrub(err))
	}
	defer tx.Rollback() // read-only anyway; nothing to keep
	rows, err := tx.QueryContext(ctx, s.query, s.args...)
	if err != nil {
		return res, fmt.Errorf("effects query failed: %s", s.scrub(err))
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return res, fmt.Errorf("effects query: %s", s.scrub(err))
	}
	cols, err := s.columns(names)
	if err != nil {
		return res, err
	}
	var id, effect, applied any
	dest := make([]any, len(names))
	for i := range dest {
		dest[i] = discard{}
	}
	dest[cols.id] = &id
	if cols.effect >= 0 {
		dest[cols.effect] = &effect
	}
	if cols.applied >= 0 {
		dest[cols.applied] = &applied
	}
	h := fnv.New64a()
	for rows.Next() {
		id, effect, applied = nil, nil, nil
		if err := rows.Scan(dest...); err != nil {
			return res, fmt.Errorf("effects query row %d: %s", res.n+1, s.scrub(err))
		}
		r := toRow(id, effect, applied, cols.applied >= 0)
		if r.bad != nil {
			r.bad = fmt.Errorf("effects query row %d: %w", res.n+1, r.bad)
			if fed < 0 {
				return res, r.bad
			}
		}
		hashRow(h, r)
		if res.n < fed {
			if res.n == fed-1 {
				res.prefix = h.Sum64()
			}
		} else if err := each(res.n, r); err != nil {
			return res, err
		}
		res.n++
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("effects query: %s", s.scrub(err))
	}
	res.all = h.Sum64()
	return res, nil
}

type result struct {
	n           int
	prefix, all uint64 // hash of the first fed rows, of all rows
}

func hashRow(h hash.Hash64, r row) {
	var n [8]byte
	for _, f := range []string{r.effect.WebhookID, r.effect.EffectID} {
		binary.LittleEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	if r.effect.Applied {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
}

func toRow(id, effect, applied any, hasApplied bool) row {
	r := row{effect: sink.Effect{Type: EffectTypeSQL, Applied: true}}
	if id == nil {
		r.bad = errors.New("webhook_id is NULL")
		return r
	}
	r.effect.WebhookID = text(id)
	if r.effect.WebhookID == "" {
		r.bad = errors.New("webhook_id is empty")
		return r
	}
	if effect != nil {
		r.effect.EffectID = text(effect)
	}
	if hasApplied {
		ok, err := boolValue(applied)
		if err != nil {
			r.bad = err
			return r
		}
		r.effect.Applied = ok
	}
	return r
}

// text renders a column value as a string: bytes as text, numbers in decimal, times in RFC 3339.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case [16]byte: // pgx reads a uuid it has no Go type for as its bytes
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case fmt.Stringer:
		return x.String()
	case driver.Valuer:
		if v, err := x.Value(); err == nil && v != x {
			return text(v)
		}
	}
	return fmt.Sprint(v)
}

// boolValue reads applied: a boolean, 1/0, or the text true/false, t/f, 1/0.
func boolValue(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, errors.New("applied is NULL: want true/false, 1/0 or t/f")
	case bool:
		return x, nil
	case int64:
		switch x {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
	case []byte:
		if len(x) == 1 && x[0] <= 1 { // a MySQL BIT(1)
			return x[0] == 1, nil
		}
		return boolValue(string(x))
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "t", "1":
			return true, nil
		case "false", "f", "0":
			return false, nil
		}
		return false, fmt.Errorf("applied is %q: want true/false, 1/0 or t/f", x)
	}
	return false, fmt.Errorf("applied is %v (%T): want true/false, 1/0 or t/f", v, v)
}

// Start feeds into, polling every every in a background goroutine until ctx ends or Close; it
// polls at once first. With every <= 0 it polls only on Sync. Only the first call does anything.
func (s *SQL) Start(ctx context.Context, into *sink.Collector, every time.Duration) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return
	}
	s.started = true
	s.mu.Unlock()
	s.pollMu.Lock()
	s.into = into
	s.pollMu.Unlock()
	if every <= 0 {
		close(s.done)
		return
	}
	go func() {
		defer close(s.done)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { // Close cancels a poll in flight
			select {
			case <-s.pollCtx.Done():
				cancel()
			case <-ctx.Done():
			}
		}()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			_ = s.poll(ctx) // kept for Err; the next poll retries
			select {
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Sync polls once now and returns when the rows it read are fed, with the poll's error.
func (s *SQL) Sync(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.pollCtx, cancel)
	defer stop()
	return s.poll(ctx)
}

func (s *SQL) poll(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if s.into == nil {
		return errors.New("observe: Sync before Start: Start names the collector to feed")
	}
	if err := s.pollCtx.Err(); err != nil {
		return fmt.Errorf("%s is closed", s)
	}
	var fresh []row
	res, err := s.read(ctx, s.fed, func(_ int, r row) error {
		fresh = append(fresh, r)
		return nil
	})
	if err == nil {
		switch {
		case res.n < s.fed:
			err = fmt.Errorf("effects query returned %d rows after %d: rows must only be appended; order by an increasing column", res.n, s.fed)
		case s.fed > 0 && res.prefix != s.prefix:
			err = fmt.Errorf("effects query's first %d rows changed since they were fed: rows must only be appended, never updated or reordered; order by an increasing column", s.fed)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", s, err)
			s.note(err, true)
			return err
		}
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", s, err)
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		s.note(err, false)
		return err
	}
	var bad error
	skipped := 0
	for _, r := range fresh {
		if r.bad != nil {
			skipped++
			if bad == nil {
				bad = fmt.Errorf("%s: skipped: %w", s, r.bad)
			}
			continue
		}
		s.into.Add(r.effect)
	}
	s.fed, s.prefix = res.n, res.all
	s.mu.Lock()
	s.last = nil
	s.skipped += skipped
	if bad != nil && s.sticky == nil {
		s.sticky = bad
	}
	s.mu.Unlock()
	return bad
}

func (s *SQL) note(err error, sticky bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = err
	if sticky && s.sticky == nil {
		s.sticky = err
	}
}

// Err reports a problem of the polls: first one that can have changed what was fed (rows that
// shrank or changed, a skipped row), which stays; otherwise the latest poll's failure, cleared
// by the next good poll (a poll re-reads every row, so a failed one loses nothing).
func (s *SQL) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sticky != nil {
		return s.sticky
	}
	return s.last
}

// Rows returns how many rows have been read past and fed (skipped ones included).
func (s *SQL) Rows() int {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	return s.fed
}

// Skipped returns how many rows were skipped: NULL or empty webhook_id, unreadable applied.
func (s *SQL) Skipped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped
}

// Close stops the polls, waits for one in flight to end (bounded by CloseTimeout), and closes
// the connection pool.
func (s *SQL) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		s.cancel()
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if started {
			select {
			case <-s.done:
			case <-time.After(CloseTimeout):
				err = fmt.Errorf("%s: a poll did not stop within %s", s, CloseTimeout)
			}
		}
		if cerr := s.db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: closing: %s", s, s.scrub(cerr))
		}
	})
	return err
}

// configError is a setup error: its text is already redacted, and it wraps ErrConfig.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }
func (e *configError) Unwrap() error { return ErrConfig }

func (s *SQL) configErr(format string, args ...any) error {
	return &configError{msg: s.scrubText(fmt.Sprintf("sql source %s: "+format, append([]any{s.redacted}, args...)...))}
}

// scrub returns err's text with every secret of the DSN replaced by ***. The driver's error
// itself is not kept (errors.As could reach its text), only its message.
func (s *SQL) scrub(err error) string { return s.scrubText(err.Error()) }

func (s *SQL) scrubText(t string) string {
	for _, p := range s.secrets {
		t = strings.ReplaceAll(t, p, "***")
	}
	return t
}

// dsnSecrets returns the password texts of dsn, raw and escaped, longest first.
// DSNSecrets returns what dsn holds that must never be shown (its password, in any of the
// forms a DSN carries one), for callers that redact their own output.
func DSNSecrets(dsn string) []string { return dsnSecrets(dsn) }

func dsnSecrets(dsn string) []string {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p), url.UserPassword("", p).String()[1:])
	}
	if u, err := url.Parse(dsn); err == nil {
		if u.User != nil {
			p, _ := u.User.Password()
			add(p)
		}
		for k, vs := range u.Query() {
			if isSecretKey(k) {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	for _, m := range userinfoRe.FindAllStringSubmatch(dsn, -1) {
		add(m[1])
		if p, err := url.PathUnescape(m[1]); err == nil {
			add(p)
		}
	}
	for _, m := range keyValueRe.FindAllStringSubmatch(dsn, -1) {
		add(strings.Trim(m[2], `'"`))
	}
	// Longest first, so a secret containing another is replaced whole.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

var (
	// userinfoRe finds the password of scheme://user:PASSWORD@ when the DSN is no valid URL.
	userinfoRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:(.*)@`)
	// keyValueRe finds password=… in a query string or a key=value connection string.
	keyValueRe = regexp.MustCompile(`(?i)(^|[?&\s;])(?:password|passwd|pass|pwd|sslpassword)=('[^']*'|"[^"]*"|[^&\s;]*)`)
)

func isSecretKey(k string) bool {
	switch strings.ToLower(k) {
	case "password", "passwd", "pass", "pwd", "sslpassword":
		return true
	}
	return false
}

// RedactDSN returns dsn with its password replaced by ***: the userinfo password of a URL and
// any password=… parameter. A DSN without a password is returned as it is.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Opaque == "" {
		changed := false
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "***")
				changed = true
			}
		}
		if q := redactQuery(u.RawQuery); q != u.RawQuery {
			u.RawQuery = q
			changed = true
		}
		if changed {
			return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
		}
		return dsn
	}
	out := dsn
	if m := userinfoRe.FindStringSubmatchIndex(out); m != nil {
		out = out[:m[2]] + "***" + out[m[3]:]
	}
	return redactQuery(out)
}

// redactQuery replaces the value of every password=… in t by ***.
func redactQuery(t string) string {
	return keyValueRe.ReplaceAllStringFunc(t, func(m string) string {
		k, _, _ := strings.Cut(m, "=")
		return k + "=***"
	})
}
