package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// backends returns the stores to run the contract tests on: SQLite always, PostgreSQL when
// HOOKPROOF_TEST_POSTGRES_DSN names a database (its tables are emptied first).
func backends(t testing.TB) map[string]func(t testing.TB) Store {
	b := map[string]func(t testing.TB) Store{
		"sqlite": func(t testing.TB) Store {
			s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "store.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	addPostgres(t, b)
	return b
}

func TestContract(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)

			// Insert: duplicates (earlier and within the batch) are ignored.
			got, err := s.Insert(ctx, []Delivery{{ID: "a", Body: []byte(`{"n":1}`)}, {ID: "b", Body: []byte("x")}, {ID: "a", Body: []byte("dup")}})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[true true false]" {
				t.Errorf("inserted = %v, want [true true false]", got)
			}
			got, err = s.Insert(ctx, []Delivery{{ID: "b"}, {ID: "c", Body: []byte("{}")}})
			if err != nil || fmt.Sprint(got) != "[false true]" {
				t.Errorf("second insert = %v %v, want [false true]", got, err)
			}

			// Pending: in order, paged by seq, bodies intact.
			rows, err := s.Pending(ctx, 0, 10)
			if err != nil || len(rows) != 3 || rows[0].ID != "a" || string(rows[0].Body) != `{"n":1}` || rows[2].ID != "c" {
				t.Fatalf("pending = %+v %v", rows, err)
			}
			page, _ := s.Pending(ctx, rows[0].Seq, 1)
			if len(page) != 1 || page[0].ID != "b" {
				t.Errorf("pending after a, limit 1 = %+v, want b", page)
			}

			// Process: claim once; advance only forward; effects and outbox commit with it.
			err = s.Process(ctx, func(tx Tx) error {
				for _, want := range []struct {
					id      string
					claimed bool
				}{{"a", true}, {"a", false}, {"missing", false}} {
					c, err := tx.Claim(ctx, want.id)
					if err != nil || c != want.claimed {
						t.Errorf("Claim(%s) = %v %v, want %v", want.id, c, err, want.claimed)
					}
				}
				for _, step := range []struct {
					seq  int64
					want bool
				}{{2, true}, {1, false}, {2, false}, {5, true}} {
					a, err := tx.Advance(ctx, "o", step.seq)
					if err != nil || a != step.want {
						t.Errorf("Advance(o, %d) = %v %v, want %v", step.seq, a, err, step.want)
					}
				}
				if a, err := tx.Advance(ctx, "p", 0); err != nil || !a {
					t.Errorf("first Advance of another object = %v %v, want true", a, err)
				}
				if err := tx.AddEffect(ctx, Effect{EffectID: "e1", WebhookID: "a", Type: "t", Data: json.RawMessage(`{"k":1}`), Applied: true}, true); err != nil {
					return err
				}
				return tx.AddEffect(ctx, Effect{EffectID: "e0", WebhookID: "x", Applied: false}, false)
			})
			if err != nil {
				t.Fatal(err)
			}

			// A failed transaction leaves nothing behind.
			boom := fmt.Errorf("boom")
			err = s.Process(ctx, func(tx Tx) error {
				if _, err := tx.Claim(ctx, "b"); err != nil {
					return err
				}
				if err := tx.AddEffect(ctx, Effect{EffectID: "e2", WebhookID: "b", Applied: true}, true); err != nil {
					return err
				}
				return boom
			})
			if err != boom {
				t.Fatalf("Process = %v, want the callback's error", err)
			}
			// One effect per delivery, enforced by the database too.
			err = s.Process(ctx, func(tx Tx) error {
				return tx.AddEffect(ctx, Effect{EffectID: "e3", WebhookID: "a", Applied: true}, false)
			})
			if err == nil {
				t.Error("a second effect for one webhook id was accepted")
			}

			st, err := s.Stats(ctx)
			if err != nil || st != (Stats{Inbox: 3, Pending: 2, Effects: 2, Outbox: 1}) {
				t.Errorf("stats = %+v %v, want inbox 3 pending 2 effects 2 outbox 1", st, err)
			}
			rows, _ = s.Pending(ctx, 0, 10)
			if len(rows) != 2 || rows[0].ID != "b" {
				t.Errorf("pending after processing a = %+v, want b and c", rows)
			}

			q, err := s.Outbox(ctx, 10)
			if err != nil || len(q) != 1 || q[0].EffectID != "e1" || string(q[0].Data) != `{"k":1}` || !q[0].Applied || q[0].Type != "t" {
				t.Fatalf("outbox = %+v %v", q, err)
			}
			if err := s.Reported(ctx, []int64{q[0].Seq}); err != nil {
				t.Fatal(err)
			}
			if q, _ := s.Outbox(ctx, 10); len(q) != 0 {
				t.Errorf("outbox after Reported = %+v, want empty", q)
			}
			es, err := s.Effects(ctx, "")
			if err != nil || len(es) != 2 {
				t.Errorf("effects = %+v %v", es, err)
			}
			es, _ = s.Effects(ctx, "x")
			if len(es) != 1 || es[0].EffectID != "e0" || string(es[0].Data) != "null" {
				t.Errorf("effects of x = %+v, want e0 with null data", es)
			}
		})
	}
}

func TestConcurrentClaims(t *testing.T) {
	// However many transactions race to claim one delivery, one wins.
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			if _, err := s.Insert(ctx, []Delivery{{ID: "only", Body: []byte("{}")}}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := range 8 {
				wg.Go(func() {
					err := s.Process(ctx, func(tx Tx) error {
						c, err := tx.Claim(ctx, "only")
						if err != nil || !c {
							return err
						}
						if err := tx.AddEffect(ctx, Effect{EffectID: fmt.Sprint("e", i), WebhookID: "only", Applied: true}, true); err != nil {
							return err
						}
						mu.Lock()
						wins++
						mu.Unlock()
						return nil
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if es, _ := s.Effects(ctx, "only"); wins != 1 || len(es) != 1 {
				t.Errorf("%d claims won, %d effects; want 1 and 1", wins, len(es))
			}
		})
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=memory"} {
		if s, err := Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
	if !IsPostgres("postgres://u@h/db") || !IsPostgres("postgresql://h/db") || IsPostgres("pg.db") {
		t.Error("IsPostgres misclassifies")
	}
	// A file survives a reopen.
	path := filepath.Join(t.TempDir(), "re.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Insert(context.Background(), []Delivery{{ID: "k", Body: []byte("{}")}})
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := s.Stats(context.Background()); st.Inbox != 1 {
		t.Errorf("after reopen: %+v, want the row kept", st)
	}
}

// The store's share of one delivery: an insert in a group commit, then processing in a batch.
func BenchmarkSQLiteInsert64(b *testing.B) {
	s := backends(b)["sqlite"](b)
	ctx := context.Background()
	body := []byte(`{"id":"x","type":"order.updated","timestamp":"2026-01-02T03:04:05Z","data":{"object_id":"ord_1","seq":1,"note":"x"}}`)
	n := 0
	for b.Loop() {
		ds := make([]Delivery, 64)
		for i := range ds {
			n++
			ds[i] = Delivery{ID: fmt.Sprint("msg_", n), Body: body}
		}
		if _, err := s.Insert(ctx, ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/delivery")
}

func BenchmarkSQLiteProcess32(b *testing.B) {
	s := backends(b)["sqlite"](b)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		b.StopTimer()
		ids := make([]Delivery, 32)
		for i := range ids {
			ids[i] = Delivery{ID: "msg_" + rand.Text(), Body: []byte("{}")} // random, as senders make them
		}
		if _, err := s.Insert(ctx, ids); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		err := s.Process(ctx, func(tx Tx) error {
			for _, d := range ids {
				n++
				if _, err := tx.Claim(ctx, d.ID); err != nil {
					return err
				}
				if _, err := tx.Advance(ctx, fmt.Sprint("o", n%64), int64(n)); err != nil {
					return err
				}
				if err := tx.AddEffect(ctx, Effect{EffectID: "eff_" + rand.Text(), WebhookID: d.ID, Data: json.RawMessage(`{"object_id":"o","seq":1}`), Applied: true}, true); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/delivery")
}

// BenchmarkSQLiteCommitLatency times one-delivery inbox commits: the fsync a durable ack cannot
// avoid, and so the floor under the receiver's ack latency on this disk.
func BenchmarkSQLiteCommitLatency(b *testing.B) {
	s := backends(b)["sqlite"](b)
	ctx := context.Background()
	var ds []time.Duration
	for i := range max(b.N, 200) {
		t0 := time.Now()
		if _, err := s.Insert(ctx, []Delivery{{ID: fmt.Sprint("msg_", i), Body: []byte("{}")}}); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99_ms")
}

func TestSQLiteRefusesAnotherSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := OpenSQLite(context.Background(), path); err == nil || !strings.Contains(err.Error(), "schema version 99") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("OpenSQLite on a version-99 file = %v, want a schema version error", err)
	}
}

// TestBatchTxMatchesTx: a backend's set-based BatchTx answers exactly what Claim, Advance and
// AddEffect answer one element at a time, on the same inputs (repeated ids, repeated objects,
// stale and equal seqs, objects seen before and new ones), and leaves the same effects.
func TestBatchTxMatchesTx(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			var batched bool
			if err := s.Process(ctx, func(tx Tx) error { _, batched = tx.(BatchTx); return nil }); err != nil {
				t.Fatal(err)
			}
			if !batched {
				t.Skipf("%s: its Tx is no BatchTx", name)
			}
			var ds []Delivery
			for i := range 8 {
				for _, side := range []string{"a", "b"} {
					ds = append(ds, Delivery{ID: fmt.Sprint(side, i), Body: []byte("{}")})
				}
			}
			if _, err := s.Insert(ctx, ds); err != nil {
				t.Fatal(err)
			}
			// Objects "old" exist before the batch, at seq 5.
			err := s.Process(ctx, func(tx Tx) error {
				for _, side := range []string{"a", "b"} {
					if _, err := tx.Advance(ctx, side+"_old", 5); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{"%s0", "%s1", "%s1", "%s2", "%s3", "%s4", "%s5", "%s6", "nope"}
			objs := []string{"%s_old", "%s_old", "%s_new", "%s_new", "%s_old", "%s_new", "%s_new", "%s_old"}
			seqs := []int64{4, 6, 3, 3, 7, 9, 1, 6}
			var want, got struct {
				claimed, applied []bool
			}
			err = s.Process(ctx, func(tx Tx) error {
				for _, id := range ids {
					c, err := tx.Claim(ctx, fmt.Sprintf(id, "a"))
					if err != nil {
						return err
					}
					want.claimed = append(want.claimed, c)
				}
				for i, o := range objs {
					a, err := tx.Advance(ctx, fmt.Sprintf(o, "a"), seqs[i])
					if err != nil {
						return err
					}
					want.applied = append(want.applied, a)
				}
				return tx.AddEffect(ctx, Effect{EffectID: "ea", WebhookID: "a0", Type: "t", Applied: true}, true)
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Process(ctx, func(tx Tx) error {
				bt := tx.(BatchTx)
				var bids, bobjs []string
				for _, id := range ids {
					bids = append(bids, fmt.Sprintf(id, "b"))
				}
				for _, o := range objs {
					bobjs = append(bobjs, fmt.Sprintf(o, "b"))
				}
				var err error
				if got.claimed, err = bt.ClaimAll(ctx, bids); err != nil {
					return err
				}
				if got.applied, err = bt.AdvanceAll(ctx, bobjs, seqs); err != nil {
					return err
				}
				return bt.AddEffects(ctx, []Effect{{EffectID: "eb0", WebhookID: "b0", Type: "t", Applied: true},
					{EffectID: "eb1", WebhookID: "b1", Type: "t", Data: []byte(`{"x":1}`)}}, true)
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("BatchTx answered %v, Tx %v", got, want)
			}
			es, err := s.Effects(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, e := range es {
				order = append(order, fmt.Sprint(e.EffectID, ":", e.WebhookID, ":", e.Applied, ":", string(e.Data)))
			}
			if fmt.Sprint(order) != "[ea:a0:true:null eb0:b0:true:null eb1:b1:false:{\"x\":1}]" {
				t.Errorf("effects %v", order)
			}
			qs, err := s.Outbox(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != 3 || qs[1].EffectID != "eb0" || qs[2].EffectID != "eb1" {
				t.Errorf("outbox %+v, want ea, eb0, eb1", qs)
			}
		})
	}
}
