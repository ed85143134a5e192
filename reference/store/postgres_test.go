package store

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hookproof/hookproof/reference/store/pgtest"
)

// PostgresDSNEnv names the PostgreSQL server the tests may use. Each test gets a database of
// its own there, dropped afterwards, so packages testing in parallel never share tables.
const PostgresDSNEnv = pgtest.DSNEnv

// addPostgres adds PostgreSQL to the backends when the DSN is set. Without it the PostgreSQL
// runs are skipped loudly, or fail under CI=true, where .ci/run starts a server.
func addPostgres(t testing.TB, b map[string]func(t testing.TB) Store) {
	dsn := pgtest.DSN(t, "the store")
	if dsn == "" {
		return
	}
	b["postgres"] = func(t testing.TB) Store {
		s, err := OpenPostgres(context.Background(), freshDatabase(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// freshDatabase is pgtest.FreshDatabase for the store's tests.
func freshDatabase(t testing.TB, dsn string) string {
	return pgtest.FreshDatabase(t, dsn, "hookproof_test_")
}

func TestPostgresTwoReplicasShareOneStore(t *testing.T) {
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		b := map[string]func(testing.TB) Store{}
		addPostgres(t, b) // skips loudly, or fails under CI
		t.Skip("no PostgreSQL")
	}
	ctx := context.Background()
	db := freshDatabase(t, dsn)
	a, err := OpenPostgres(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgres(ctx, db) // a second replica: the schema step must not trip on the first
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Insert(ctx, []Delivery{{ID: "shared", Body: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Insert(ctx, []Delivery{{ID: "shared", Body: []byte("{}")}}); err != nil || got[0] {
		t.Errorf("the second replica inserted a duplicate: %v %v", got, err)
	}
	claims := make(chan bool, 2)
	for _, s := range []*Postgres{a, b} {
		go func() {
			var won bool
			err := s.Process(ctx, func(tx Tx) error {
				c, err := tx.Claim(ctx, "shared")
				if err != nil || !c {
					return err
				}
				won = true
				return tx.AddEffect(ctx, Effect{EffectID: fmt.Sprintf("e%p", s), WebhookID: "shared", Applied: true}, true)
			})
			if err != nil {
				t.Error(err)
			}
			claims <- won
		}()
	}
	if w1, w2 := <-claims, <-claims; w1 == w2 {
		t.Errorf("claims %v and %v: want exactly one replica to win", w1, w2)
	}
}
