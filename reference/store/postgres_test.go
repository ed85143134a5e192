package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
)

// PostgresDSNEnv names the PostgreSQL server the tests may use. Each test gets a database of
// its own there, dropped afterwards, so packages testing in parallel never share tables.
const PostgresDSNEnv = "HOOKPROOF_TEST_POSTGRES_DSN"

// addPostgres adds PostgreSQL to the backends when the DSN is set. Without it the PostgreSQL
// runs are skipped loudly, or fail under CI=true, where .ci/run starts a server.
func addPostgres(t testing.TB, b map[string]func(t testing.TB) Store) {
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: .ci/run must start PostgreSQL", PostgresDSNEnv)
		}
		t.Logf("SKIPPING the PostgreSQL store: set %s=postgres://… to test it", PostgresDSNEnv)
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

// freshDatabase creates an empty database on the server of dsn, drops it when t ends, and
// returns its DSN.
func freshDatabase(t testing.TB, dsn string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := "hookproof_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", PostgresDSNEnv, err)
	}
	u.Path = "/" + name
	return u.String()
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
