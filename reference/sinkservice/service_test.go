package sinkservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reference/store/pgtest"
	"github.com/hookproof/hookproof/reports"
)

// PostgresDSNEnv names the PostgreSQL server the tests may use; each test gets a database of
// its own there, dropped afterwards.
const PostgresDSNEnv = pgtest.DSNEnv

// backends are the stores every test runs on: SQLite always; PostgreSQL when PostgresDSNEnv
// is set (skipped loudly without it, a failure under CI=true, where .ci/run starts a server).
// Each returns the db string to Open, so a test can reopen it.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	b := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "sink.db") },
	}
	dsn := pgtest.DSN(t, "the sink store")
	if dsn == "" {
		return b
	}
	b["postgres"] = func(t *testing.T) string { return pgtest.FreshDatabase(t, dsn, "hookproof_sinktest_") }
	return b
}

// each runs fn on every backend, with a served service over a fresh store.
func each(t *testing.T, fn func(t *testing.T, db string, st *Store, base string)) {
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db := mk(t)
			st, svc := open(t, db)
			ts := httptest.NewServer(svc)
			t.Cleanup(ts.Close)
			fn(t, db, st, ts.URL)
		})
	}
}

func open(t *testing.T, db string, opts ...Option) (*Store, *Service) {
	t.Helper()
	st, err := Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st, svc
}

func call(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func effect(id, eid string, applied bool) string {
	b, _ := json.Marshal(sink.Effect{WebhookID: id, EffectID: eid, Type: "t", Data: json.RawMessage(`{"object_id":"o","seq":1}`), Applied: applied})
	return string(b)
}

func post(t *testing.T, base, run string, body string) {
	t.Helper()
	path := "/effects"
	if run != "" {
		path = "/runs/" + run + "/effects"
	}
	if code, msg := call(t, http.MethodPost, base+path, body); code != http.StatusNoContent {
		t.Fatalf("POST %s: %d %s", path, code, msg)
	}
}

func counts(t *testing.T, c *Client, run, prefix string) map[string]int {
	t.Helper()
	m, _, err := c.Counts(context.Background(), run, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEffectsAreKeyedByRunAndDedupedByEffectID(t *testing.T) {
	each(t, func(t *testing.T, _ string, _ *Store, base string) {
		c, _ := NewClient(base)
		post(t, base, "a", effect("w1", "e1", true))
		post(t, base, "a", effect("w1", "e1", true)) // a re-report: counts once
		post(t, base, "a", effect("w1", "e2", true)) // a second processing: doubled
		post(t, base, "a", effect("w2", "", true))   // no effect_id: each report counts
		post(t, base, "a", effect("w2", "", true))
		post(t, base, "b", effect("w1", "e1", true)) // another run: its own count
		post(t, base, "", effect("w9", "e9", true))  // /effects: the default run
		got := counts(t, c, "a", "")
		if got["w1"] != 2 || got["w2"] != 2 || len(got) != 2 {
			t.Errorf("run a: %v, want w1:2 w2:2", got)
		}
		if got := counts(t, c, "b", ""); got["w1"] != 1 || len(got) != 1 {
			t.Errorf("run b: %v, want w1:1", got)
		}
		if got := counts(t, c, DefaultRun, ""); got["w9"] != 1 || len(got) != 1 {
			t.Errorf("default run: %v, want w9:1", got)
		}
		st, err := c.Status(context.Background(), "a")
		if err != nil || st.Reports != 5 {
			t.Errorf("run a status %+v %v: want 5 reports, re-reports included", st, err)
		}
	})
}

func TestDefaultRunIsConfigurable(t *testing.T) {
	_, svc := open(t, filepath.Join(t.TempDir(), "sink.db"), WithDefaultRun("nightly-42"))
	ts := httptest.NewServer(svc)
	defer ts.Close()
	post(t, ts.URL, "", effect("w", "e", true))
	c, _ := NewClient(ts.URL)
	if got := counts(t, c, "nightly-42", ""); got["w"] != 1 {
		t.Errorf("an effect POSTed to /effects did not land in the --run run: %v", got)
	}
	if _, err := New(nil, WithDefaultRun("bad run/")); err == nil {
		t.Error("a default run that is no run name was accepted")
	}
}

func TestShardReconcileCounts(t *testing.T) {
	each(t, func(t *testing.T, _ string, _ *Store, base string) {
		ctx := context.Background()
		c, _ := NewClient(base)
		// Shard 1's ids, shard 2's ids, shard 10's (a prefix of shard 1's must not catch it),
		// and one id no shard sent.
		post(t, base, "r", effect("msg_abcd_1_0", "x", true))
		post(t, base, "r", effect("msg_abcd_1_1", "x", true))
		post(t, base, "r", effect("msg_abcd_1_1", "y", false)) // doubled, the second one stale
		post(t, base, "r", effect("msg_abcd_2_0", "x", true))
		post(t, base, "r", effect("msg_abcd_10_0", "x", true))
		post(t, base, "r", effect("internal-42", "x", true))
		got, stale, err := c.Counts(ctx, "r", "msg_abcd_1_")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"msg_abcd_1_0": 1, "msg_abcd_1_1": 2}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("shard 1 counts %v, want %v", got, want)
		}
		if len(stale) != 1 || stale["msg_abcd_1_1"] != 1 {
			t.Errorf("stale %v, want msg_abcd_1_1:1", stale)
		}
		st, err := c.Stats(ctx, "r", "msg_abcd_1_", "msg_abcd")
		if err != nil {
			t.Fatal(err)
		}
		if st.IDs != 2 || st.Effects != 3 || st.Outside == nil || st.Outside.IDs != 1 || st.Reports != 6 {
			t.Errorf("stats %+v (outside %+v): want 2 ids, 3 effects, 1 outside, 6 reports", st, st.Outside)
		}
		counts, foreign, err := c.ForRun("r").Effects(ctx, "msg_abcd_2_", "msg_abcd")
		if err != nil || len(counts) != 1 || counts["msg_abcd_2_0"] != 1 || foreign != 1 {
			t.Errorf("shard 2: %v foreign %d %v", counts, foreign, err)
		}
		// A non-ASCII prefix takes the other path of the query.
		post(t, base, "r", effect("é_1", "x", true))
		if got := counts2(t, c, "r", "é_"); got["é_1"] != 1 || len(got) != 1 {
			t.Errorf("non-ASCII prefix: %v", got)
		}
	})
}

func counts2(t *testing.T, c *Client, run, prefix string) map[string]int {
	return counts(t, c, run, prefix)
}

func loadResults(run string, index, count int) *reports.Results {
	return &reports.Results{Schema: reports.Schema, Kind: reports.KindLoad,
		Run:  reports.RunMeta{Target: "t", Shard: &reports.Shard{Index: index, Count: count, RunID: run}},
		Load: &reports.Load{Rate: 10, Ledger: reports.Ledger{Published: 10 * index, Acked: 10 * index}}}
}

func encode(r *reports.Results) string {
	var b bytes.Buffer
	_ = r.Write(&b)
	return b.String()
}

func TestDeposits(t *testing.T) {
	each(t, func(t *testing.T, _ string, _ *Store, base string) {
		ctx := context.Background()
		c, _ := NewClient(base)
		if err := c.Declare(ctx, "run1", 3); err != nil {
			t.Fatal(err)
		}
		if err := c.Declare(ctx, "run1", 2); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "409") {
			t.Errorf("declaring another count: %v, want a 409", err)
		}
		code, _ := call(t, http.MethodPut, base+"/runs/run1/shards/1", encode(loadResults("run1", 1, 3)))
		if code != http.StatusCreated {
			t.Errorf("first deposit: %d, want 201", code)
		}
		code, _ = call(t, http.MethodPut, base+"/runs/run1/shards/1", encode(loadResults("run1", 1, 3)))
		if code != http.StatusOK {
			t.Errorf("re-deposit: %d, want 200", code)
		}
		if err := c.Deposit(ctx, "run1", loadResults("run1", 3, 3)); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(ctx, "run1")
		if err != nil {
			t.Fatal(err)
		}
		if st.Shards != 3 || fmt.Sprint(st.Deposited) != "[1 3]" || fmt.Sprint(st.Missing) != "[2]" {
			t.Errorf("status %+v: want 3 shards, 1 and 3 deposited, 2 missing", st)
		}
		r, err := c.Results(ctx, "run1", 3)
		if err != nil || r.Load.Ledger.Published != 30 {
			t.Errorf("shard 3's results: %+v %v", r, err)
		}
		if _, err := c.Results(ctx, "run1", 2); err == nil {
			t.Error("a missing shard's results were served")
		}
		// Without a declaration, the first deposit records the count; an unsharded run is 1/1.
		unsharded := loadResults("solo", 1, 1)
		if err := c.Deposit(ctx, "solo", unsharded); err != nil {
			t.Fatal(err)
		}
		if st, err := c.Status(ctx, "solo"); err != nil || st.Shards != 1 || len(st.Missing) != 0 {
			t.Errorf("solo: %+v %v", st, err)
		}
		for _, tc := range []struct {
			name, path, body string
			code             int
		}{
			{"other count", "/runs/run1/shards/2", encode(loadResults("run1", 2, 4)), http.StatusConflict},
			{"other run", "/runs/run1/shards/2", encode(loadResults("run9", 2, 3)), http.StatusBadRequest},
			{"other index", "/runs/run1/shards/2", encode(loadResults("run1", 3, 3)), http.StatusBadRequest},
			{"not json", "/runs/run1/shards/2", "not json", http.StatusBadRequest},
			{"not results", "/runs/run1/shards/2", `{"schema":"x"}`, http.StatusBadRequest},
			{"not load", "/runs/run1/shards/2", encode(&reports.Results{Schema: reports.Schema, Kind: reports.KindConformReceiver}), http.StatusBadRequest},
			{"index 0", "/runs/run1/shards/0", encode(loadResults("run1", 2, 3)), http.StatusBadRequest},
			{"index word", "/runs/run1/shards/two", encode(loadResults("run1", 2, 3)), http.StatusBadRequest},
		} {
			if code, msg := call(t, http.MethodPut, base+tc.path, tc.body); code != tc.code {
				t.Errorf("%s: %d %s, want %d", tc.name, code, msg, tc.code)
			}
		}
		if st, _ := c.Status(ctx, "run1"); fmt.Sprint(st.Missing) != "[2]" {
			t.Errorf("a refused deposit changed the run: %+v", st)
		}
	})
}

func TestBadInputIs4xx(t *testing.T) {
	each(t, func(t *testing.T, _ string, _ *Store, base string) {
		big := `{"webhook_id":"w","applied":true,"data":"` + strings.Repeat("x", sink.MaxEffectBytes) + `"}`
		for _, tc := range []struct {
			name, method, path, body string
			code                     int
			want                     string
		}{
			{"no webhook_id", "POST", "/runs/r/effects", `{"applied":true}`, 400, "webhook_id"},
			{"no applied", "POST", "/runs/r/effects", `{"webhook_id":"w"}`, 400, "applied"},
			{"not json", "POST", "/effects", `{`, 400, "bad effect"},
			{"trailing", "POST", "/effects", `{"webhook_id":"w","applied":true} {}`, 400, "after"},
			{"too big", "POST", "/effects", big, 413, "over"},
			{"bad run", "POST", "/runs/bad%20run/effects", effect("w", "e", true), 400, "run"},
			{"long run", "POST", "/runs/" + strings.Repeat("r", 200) + "/effects", effect("w", "e", true), 400, "run"},
			{"GET effects", "GET", "/runs/r/effects", "", 405, ""},
			{"unknown path", "GET", "/nowhere", "", 404, "not found"},
			{"unknown run", "GET", "/runs/nobody", "", 404, "not recorded"},
			{"declare garbage", "PUT", "/runs/r", `{"shards":"x"}`, 400, "shards"},
			{"declare unknown field", "PUT", "/runs/r", `{"shards":2,"x":1}`, 400, "shards"},
			{"declare zero", "PUT", "/runs/r", `{"shards":0}`, 400, "1 to"},
			{"declare too many", "PUT", "/runs/r", `{"shards":100000}`, 400, "1 to"},
		} {
			code, msg := call(t, tc.method, base+tc.path, tc.body)
			if code != tc.code || !strings.Contains(msg, tc.want) {
				t.Errorf("%s: %d %q, want %d with %q", tc.name, code, clip(msg), tc.code, tc.want)
			}
		}
		if code, _ := call(t, "GET", base+"/runs/r/counts?prefix=", ""); code != 200 {
			t.Errorf("counts of an unknown run: %d, want 200 (nothing reported yet)", code)
		}
	})
}

// TestRestartKeepsEverything: effects, counts, declarations and deposits survive closing and
// reopening the store, as a restarted (or replaced) sink service finds them.
func TestRestartKeepsEverything(t *testing.T) {
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db := mk(t)
			ctx := context.Background()
			st, svc := open(t, db)
			ts := httptest.NewServer(svc)
			post(t, ts.URL, "r", effect("w1", "e1", true))
			post(t, ts.URL, "r", effect("w1", "e2", true))
			c, _ := NewClient(ts.URL)
			if err := c.Deposit(ctx, "r", loadResults("r", 2, 2)); err != nil {
				t.Fatal(err)
			}
			ts.Close()
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			_, svc2 := open(t, db)
			ts2 := httptest.NewServer(svc2)
			defer ts2.Close()
			c2, _ := NewClient(ts2.URL)
			post(t, ts2.URL, "r", effect("w1", "e1", true)) // a re-report after the restart still dedupes
			if got := counts(t, c2, "r", ""); got["w1"] != 2 {
				t.Errorf("after restart: %v, want w1:2", got)
			}
			s, err := c2.Status(ctx, "r")
			if err != nil || s.Shards != 2 || fmt.Sprint(s.Deposited) != "[2]" || s.Reports != 3 {
				t.Errorf("after restart: %+v %v", s, err)
			}
		})
	}
}

func TestConcurrentReportsAllDurable(t *testing.T) {
	each(t, func(t *testing.T, _ string, _ *Store, base string) {
		const workers, per = 16, 50
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					body := effect(fmt.Sprintf("w%d_%d", w, i), "e", true)
					resp, err := http.Post(base+"/runs/c/effects", "application/json", strings.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 204 {
						t.Errorf("status %d", resp.StatusCode)
					}
				}
			}()
		}
		wg.Wait()
		c, _ := NewClient(base)
		if got := counts(t, c, "c", "w"); len(got) != workers*per {
			t.Errorf("%d ids stored, want %d", len(got), workers*per)
		}
	})
}

func TestMetrics(t *testing.T) {
	_, svc := open(t, filepath.Join(t.TempDir(), "sink.db"))
	ts := httptest.NewServer(svc)
	defer ts.Close()
	post(t, ts.URL, "r", effect("w", "e", true))
	post(t, ts.URL, "r", effect("w", "e", true))
	call(t, "POST", ts.URL+"/effects", "{")
	call(t, "GET", ts.URL+"/runs/r/effects", "")
	code, body := call(t, "GET", ts.URL+"/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"hookproof_sink_effects_total 1",
		`hookproof_sink_effect_reports_total{result="duplicate"} 1`,
		`hookproof_sink_effect_reports_total{result="new"} 1`,
		"hookproof_sink_runs 1",
		`hookproof_sink_requests_total{code="204",route="effects"} 2`,
		`hookproof_sink_requests_total{code="400",route="effects"} 1`,
		"hookproof_sink_shard_deposits_total 0",
		`hookproof_sink_requests_total{code="405",route="other"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

func TestClientURLs(t *testing.T) {
	for _, bad := range []string{"", "ftp://x", "http://", "http://h:1/path", "http://h:1/?q=1"} {
		if _, err := NewClient(bad); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
	c, err := NewClient("http://127.0.0.1:9300/")
	if err != nil || c.EffectsURL("r-1") != "http://127.0.0.1:9300/runs/r-1/effects" {
		t.Errorf("%v %v", c, err)
	}
}

func TestOpenRefusesNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=memory"} {
		if _, err := Open(context.Background(), p); err == nil {
			t.Errorf("Open(%q) accepted", p)
		}
	}
}
