package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The tests run on SQLite always, and on PostgreSQL and MySQL/MariaDB when these name a
// database (postgres://…, mysql://user:pass@host:port/db). Each test uses its own table prefix
// and drops its tables afterwards, so the database can be shared.
const (
	envPostgres = "HOOKPROOF_TEST_POSTGRES_DSN"
	envMySQL    = "HOOKPROOF_TEST_MYSQL_DSN"
)

func forEachDB(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, "sqlite:"+filepath.Join(t.TempDir(), "app.db"))
	})
	for _, db := range []struct{ name, env string }{{"postgres", envPostgres}, {"mysql", envMySQL}} {
		t.Run(db.name, func(t *testing.T) {
			dsn := os.Getenv(db.env)
			if dsn == "" {
				t.Skipf("%s is not set", db.env)
			}
			fn(t, dsn)
		})
	}
}

func newSecret(t *testing.T) string {
	key := make([]byte, 24)
	rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func newPrefix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "t" + hex.EncodeToString(b) + "_"
}

// syncBuffer is the app's stdout.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testApp is the app's handler on a loopback listener, with or without its workers.
type testApp struct {
	t       *testing.T
	st      *store
	srv     *httptest.Server
	url     string
	stdout  *syncBuffer
	logPath string
	signer  *standardwebhooks.Webhook
	stop    func()
}

type appOptions struct {
	dsn, prefix, secret, logPath string
	double                       bool
	workers                      int // 0: receive only
}

func startApp(t *testing.T, o appOptions) *testApp {
	t.Helper()
	st, err := openStore(t.Context(), o.dsn, o.prefix, o.double)
	if err != nil {
		t.Fatal(err)
	}
	stdout := &syncBuffer{}
	out, err := newLineLog(stdout, o.logPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(st, o.secret, out, log.New(&testWriter{t}, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := standardwebhooks.NewWebhook(o.secret)
	ta := &testApp{t: t, st: st, stdout: stdout, logPath: o.logPath, signer: signer}
	ta.srv = httptest.NewServer(a)
	ta.url = ta.srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if o.workers > 0 {
			a.runWorkers(ctx, o.workers)
		}
	}()
	var once sync.Once
	ta.stop = func() {
		once.Do(func() {
			ta.srv.Close()
			cancel()
			<-done
			out.Close()
			st.Close()
		})
	}
	t.Cleanup(ta.stop)
	return ta
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// dropTables removes a test's tables from a shared database.
func dropTables(t *testing.T, dsn, prefix string) {
	t.Cleanup(func() {
		st, err := openStore(context.Background(), dsn, prefix, true)
		if err != nil {
			t.Log(err)
			return
		}
		defer st.Close()
		for _, n := range []string{"inbox", "objects", "processed_events"} {
			if _, err := st.db.Exec("DROP TABLE IF EXISTS " + st.t(n)); err != nil {
				t.Log(err)
			}
		}
	})
}

func envelope(id string, data string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"order.updated","timestamp":%q,"data":%s}`,
		id, time.Now().UTC().Format(time.RFC3339Nano), data)
}

// send posts a delivery signed as a Standard Webhooks sender signs it and returns the status.
func (ta *testApp) send(id string, body []byte) int {
	ta.t.Helper()
	now := time.Now()
	sig, err := ta.signer.Sign(id, now, body)
	if err != nil {
		ta.t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	return ta.post(h, body).StatusCode
}

func (ta *testApp) post(h http.Header, body []byte) *http.Response {
	ta.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ta.url+"/webhooks/orders", bytes.NewReader(body))
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ta.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func (ta *testApp) mustAck(id string, body []byte) {
	ta.t.Helper()
	if code := ta.send(id, body); code != http.StatusNoContent {
		ta.t.Fatalf("delivery %s: status %d, want 204", id, code)
	}
}

type processedRow struct {
	WebhookID string
	ObjectID  sql.NullString
	Seq       sql.NullInt64
	Applied   bool
}

func (ta *testApp) processed() []processedRow {
	ta.t.Helper()
	rows, err := ta.st.db.Query(ta.st.q(`SELECT webhook_id, object_id, seq, applied, processed_at FROM {processed_events} ORDER BY id`))
	if err != nil {
		ta.t.Fatal(err)
	}
	defer rows.Close()
	var out []processedRow
	for rows.Next() {
		var r processedRow
		var at time.Time
		if err := rows.Scan(&r.WebhookID, &r.ObjectID, &r.Seq, &r.Applied, &at); err != nil {
			ta.t.Fatal(err)
		}
		if d := time.Since(at); d < -time.Minute || d > time.Hour {
			ta.t.Errorf("processed_at %s is not about now", at)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		ta.t.Fatal(err)
	}
	return out
}

func (ta *testApp) count(table, where string) int {
	ta.t.Helper()
	var n int
	if err := ta.st.db.QueryRow(ta.st.q(`SELECT COUNT(*) FROM {` + table + `} ` + where)).Scan(&n); err != nil {
		ta.t.Fatal(err)
	}
	return n
}

func (ta *testApp) objectSeqs() map[string]int64 {
	ta.t.Helper()
	rows, err := ta.st.db.Query(ta.st.q(`SELECT object_id, seq FROM {objects}`))
	if err != nil {
		ta.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			ta.t.Fatal(err)
		}
		out[id] = seq
	}
	return out
}

// waitProcessed waits until processed_events has n rows, and a moment more to catch extras.
func (ta *testApp) waitProcessed(n int) []processedRow {
	ta.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for ta.count("processed_events", "") < n {
		if time.Now().After(deadline) {
			ta.t.Fatalf("%d processed events after 20s, want %d", ta.count("processed_events", ""), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return ta.processed()
}

func (ta *testApp) logLines() []string {
	var out []string
	for l := range strings.Lines(ta.stdout.String()) {
		if strings.HasPrefix(l, "processed ") {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}

func row(id, obj string, seq int64, applied bool) processedRow {
	r := processedRow{WebhookID: id, Applied: applied}
	if obj != "" {
		r.ObjectID = sql.NullString{String: obj, Valid: true}
		r.Seq = sql.NullInt64{Int64: seq, Valid: true}
	}
	return r
}

func line(r processedRow) string {
	obj, seq := "-", "-"
	if r.ObjectID.Valid {
		obj = r.ObjectID.String
	}
	if r.Seq.Valid {
		seq = strconv.FormatInt(r.Seq.Int64, 10)
	}
	return fmt.Sprintf("processed webhook_id=%s object=%s seq=%s applied=%t", r.WebhookID, obj, seq, r.Applied)
}

// TestDeliveries sends a delivery, its duplicate, one object's seqs out of order and an event
// without an object, then checks the tables and the log, for the correct app and -flaw double.
func TestDeliveries(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		for _, double := range []bool{false, true} {
			name := map[bool]string{false: "correct", true: "flaw-double"}[double]
			t.Run(name, func(t *testing.T) {
				prefix := newPrefix()
				dropTables(t, dsn, prefix)
				logPath := filepath.Join(t.TempDir(), "app.log")
				os.WriteFile(logPath, []byte("earlier line\n"), 0o644) // -log appends
				ta := startApp(t, appOptions{dsn: dsn, prefix: prefix, secret: newSecret(t), logPath: logPath, double: double, workers: 1})

				start := time.Now()
				ta.mustAck("msg_a1", envelope("msg_a1", `{"object_id":"ord_a","seq":1,"status":"updated"}`))
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("ack took %s", d)
				}
				ta.waitProcessed(1) // the duplicate comes after the first was processed
				ta.mustAck("msg_a1", envelope("msg_a1", `{"object_id":"ord_a","seq":1,"status":"updated"}`))
				ta.mustAck("msg_b3", envelope("msg_b3", `{"object_id":"ord_b","seq":3}`))
				ta.mustAck("msg_b1", envelope("msg_b1", `{"object_id":"ord_b","seq":1}`))
				ta.mustAck("msg_b2", envelope("msg_b2", `{"object_id":"ord_b","seq":2}`))
				ta.mustAck("msg_b3x", envelope("msg_b3x", `{"object_id":"ord_b","seq":3}`)) // same seq, other delivery: stale
				ta.mustAck("msg_n", envelope("msg_n", `{"note":"no object"}`))
				ta.mustAck("msg_c", envelope("msg_c", `{"object_id":12,"seq":"7"}`))

				want := []processedRow{row("msg_a1", "ord_a", 1, true)}
				if double {
					want = append(want, row("msg_a1", "ord_a", 1, false)) // processed again: stale the second time
				}
				want = append(want,
					row("msg_b3", "ord_b", 3, true),
					row("msg_b1", "ord_b", 1, false),
					row("msg_b2", "ord_b", 2, false),
					row("msg_b3x", "ord_b", 3, false),
					row("msg_n", "", 0, true),
					row("msg_c", "12", 7, true),
				)
				got := ta.waitProcessed(len(want))
				if !reflect.DeepEqual(got, want) {
					t.Errorf("processed_events:\n got %+v\nwant %+v", got, want)
				}
				if got, want := ta.objectSeqs(), map[string]int64{"ord_a": 1, "ord_b": 3, "12": 7}; !reflect.DeepEqual(got, want) {
					t.Errorf("objects: got %v, want %v", got, want)
				}
				if n, want := ta.count("inbox", ""), len(want); n != want {
					t.Errorf("inbox rows: %d, want %d", n, want)
				}
				if n := ta.count("inbox", "WHERE NOT done"); n != 0 {
					t.Errorf("inbox rows not done: %d", n)
				}
				var wantLines []string
				for _, r := range want {
					wantLines = append(wantLines, line(r))
				}
				if got := ta.logLines(); !slices.Equal(got, wantLines) {
					t.Errorf("stdout lines:\n got %q\nwant %q", got, wantLines)
				}
				ta.stop()
				file, _ := os.ReadFile(logPath)
				if got, want := string(file), "earlier line\n"+strings.Join(wantLines, "\n")+"\n"; got != want {
					t.Errorf("-log file:\n got %q\nwant %q", got, want)
				}
			})
		}
	})
}

// TestRestart: deliveries acknowledged while nothing processes are processed after a restart.
func TestRestart(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		prefix, secret := newPrefix(), newSecret(t)
		dropTables(t, dsn, prefix)
		o := appOptions{dsn: dsn, prefix: prefix, secret: secret}
		first := startApp(t, o) // receive only: a crash before processing
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("msg_%d", i)
			first.mustAck(id, envelope(id, fmt.Sprintf(`{"object_id":"ord_r","seq":%d}`, i)))
		}
		first.mustAck("msg_1", envelope("msg_1", `{"object_id":"ord_r","seq":1}`))
		if n := first.count("inbox", "WHERE NOT done"); n != 3 {
			t.Fatalf("pending inbox rows: %d, want 3", n)
		}
		first.stop()

		o.workers = 2
		second := startApp(t, o)
		got := second.waitProcessed(3)
		want := []processedRow{row("msg_1", "ord_r", 1, true), row("msg_2", "ord_r", 2, true), row("msg_3", "ord_r", 3, true)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("processed_events:\n got %+v\nwant %+v", got, want)
		}
	})
}

// TestWorkersKeepOrder: with several workers and concurrent, shuffled, duplicated deliveries,
// every delivery is processed once and each object's applied seqs only go up.
func TestWorkersKeepOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		prefix := newPrefix()
		dropTables(t, dsn, prefix)
		ta := startApp(t, appOptions{dsn: dsn, prefix: prefix, secret: newSecret(t), workers: 4})
		const objects, seqs = 8, 10
		type d struct {
			id   string
			body []byte
		}
		var ds []d
		for o := range objects {
			for s := 1; s <= seqs; s++ {
				id := fmt.Sprintf("msg_%d_%d", o, s)
				ds = append(ds, d{id, envelope(id, fmt.Sprintf(`{"object_id":"ord_%d","seq":%d}`, o, s))})
			}
		}
		unique := len(ds)
		ds = append(ds, ds[:20]...) // redeliveries
		for i := len(ds) - 1; i > 0; i-- {
			j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
			ds[i], ds[j.Int64()] = ds[j.Int64()], ds[i]
		}
		work := make(chan d)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for x := range work {
					if code := ta.send(x.id, x.body); code != http.StatusNoContent {
						t.Errorf("%s: status %d", x.id, code)
					}
				}
			})
		}
		for _, x := range ds {
			work <- x
		}
		close(work)
		wg.Wait()

		got := ta.waitProcessed(unique)
		if len(got) != unique {
			t.Fatalf("%d processed events, want %d", len(got), unique)
		}
		seen := map[string]bool{}
		top := map[string]int64{}
		for _, r := range got {
			if seen[r.WebhookID] {
				t.Errorf("%s processed twice", r.WebhookID)
			}
			seen[r.WebhookID] = true
			o := r.ObjectID.String
			switch {
			case r.Applied && r.Seq.Int64 <= top[o]:
				t.Errorf("%s: seq %d applied after seq %d", o, r.Seq.Int64, top[o])
			case !r.Applied && r.Seq.Int64 > top[o]:
				t.Errorf("%s: seq %d stale, but the object was at %d", o, r.Seq.Int64, top[o])
			}
			if r.Applied {
				top[o] = r.Seq.Int64
			}
		}
		objs := ta.objectSeqs()
		for o := range objects {
			if s := objs[fmt.Sprintf("ord_%d", o)]; s != seqs {
				t.Errorf("ord_%d: seq %d, want %d", o, s, seqs)
			}
		}
		if n := len(ta.logLines()); n != unique {
			t.Errorf("%d log lines, want %d", n, unique)
		}
	})
}

// TestRejections: forgeries and other requests are refused, store nothing and reveal nothing.
func TestRejections(t *testing.T) {
	secret := newSecret(t)
	ta := startApp(t, appOptions{dsn: "sqlite:" + filepath.Join(t.TempDir(), "app.db"), secret: secret, workers: 1})
	body := envelope("msg_x", `{"object_id":"ord_x","seq":1,"status":"updated"}`)
	now := time.Now()
	valid, _ := ta.signer.Sign("msg_x", now, body)
	headers := func(id, ts, sig string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		return h
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	other, _ := standardwebhooks.NewWebhook(newSecret(t))
	otherSig, _ := other.Sign("msg_x", now, body)
	old := now.Add(-10 * time.Minute)
	oldSig, _ := ta.signer.Sign("msg_x", old, body)
	for _, c := range []struct {
		name string
		h    http.Header
		body []byte
		want int
	}{
		{"no signature", headers("msg_x", ts, ""), body, 400},
		{"no id", headers("", ts, valid), body, 400},
		{"non-integer timestamp", headers("msg_x", ts+".5", valid), body, 400},
		{"other secret", headers("msg_x", ts, otherSig), body, 401},
		{"body changed", headers("msg_x", ts, valid), bytes.Replace(body, []byte("updated"), []byte("refunded"), 1), 401},
		{"truncated", headers("msg_x", ts, valid[:len(valid)/2]), body, 401},
		{"stale timestamp", headers("msg_x", strconv.FormatInt(old.Unix(), 10), oldSig), body, 401},
		{"too large", headers("msg_x", ts, valid), bytes.Repeat([]byte("x"), maxBody+1), 413},
	} {
		resp := ta.post(c.h, c.body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
		for _, s := range []string{valid[3:], secret, strings.TrimPrefix(secret, "whsec_")} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s: the answer %q reveals a secret", c.name, b)
			}
		}
	}
	notJSON := []byte("not json")
	if code := ta.send("msg_bad", notJSON); code != 400 {
		t.Errorf("signed non-JSON body: status %d, want 400", code)
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
		req, _ := http.NewRequest(m, ta.srv.URL+"/webhooks/orders", nil)
		resp, err := ta.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", m, resp.StatusCode)
		}
	}
	if n := ta.count("inbox", ""); n != 0 {
		t.Errorf("%d inbox rows after rejections, want 0", n)
	}
}

// TestRun runs the program as main does: flags, env fallbacks, "listening on", a delivery,
// a graceful stop.
func TestRun(t *testing.T) {
	secret := newSecret(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	env := map[string]string{"WEBHOOK_SECRET": secret, "DATABASE_URL": "sqlite:" + filepath.Join(dir, "app.db")}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-listen", "127.0.0.1:0", "-log", logPath, "-workers", "3"},
			func(k string) string { return env[k] }, pw, &testWriter{t})
		pw.CloseWithError(err)
		ran <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening on ") {
		t.Fatalf("first line %q, want listening on ADDR (%v)", lines.Text(), lines.Err())
	}
	addr := strings.TrimPrefix(lines.Text(), "listening on ")
	ta := &testApp{t: t, url: "http://" + addr}
	ta.signer, _ = standardwebhooks.NewWebhook(secret)
	ta.mustAck("msg_run", envelope("msg_run", `{"object_id":"ord_run","seq":5}`))
	if !lines.Scan() || lines.Text() != "processed webhook_id=msg_run object=ord_run seq=5 applied=true" {
		t.Fatalf("second line %q", lines.Text())
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	file, _ := os.ReadFile(logPath)
	if got := string(file); got != "processed webhook_id=msg_run object=ord_run seq=5 applied=true\n" {
		t.Errorf("-log file %q", got)
	}
}

func TestFlags(t *testing.T) {
	none := func(string) string { return "" }
	for _, args := range [][]string{
		{"-db", "sqlite:x.db"},    // no secret
		{"-secret", "whsec_AAAA"}, // no database
		{"-secret", "whsec_AAAA", "-db", "sqlite:x", "-flaw", "triple"},
		{"-secret", "whsec_AAAA", "-db", "sqlite:x", "-workers", "0"},
		{"-secret", "whsec_AAAA", "-db", "sqlite:x", "-table-prefix", "a;drop"},
	} {
		if _, err := parseFlags(args, none, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	c, err := parseFlags([]string{"-flaw", "double", "-workers", "4", "-table-prefix", "app1_"},
		envMap{"WEBHOOK_SECRET": "whsec_AAAA", "DATABASE_URL": "sqlite:x.db"}.get, io.Discard)
	if err != nil || c.secret != "whsec_AAAA" || c.dsn != "sqlite:x.db" || c.flaw != "double" || c.workers != 4 || c.prefix != "app1_" {
		t.Errorf("parseFlags: %+v, %v", c, err)
	}
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

func TestMySQLConfig(t *testing.T) {
	c, err := mysqlConfig("mysql://app:p%40ss%3Aw%2Frd@db.example:3307/shop?timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "app" || c.Passwd != "p@ss:w/rd" || c.Addr != "db.example:3307" || c.DBName != "shop" ||
		c.Timeout != 5*time.Second || !c.ParseTime || c.Net != "tcp" {
		t.Errorf("mysqlConfig: %+v", c)
	}
	if c, err := mysqlConfig("mysql://root@127.0.0.1/hookproof"); err != nil || c.Addr != "127.0.0.1:3306" || c.User != "root" {
		t.Errorf("default port: %+v, %v", c, err)
	}
}
