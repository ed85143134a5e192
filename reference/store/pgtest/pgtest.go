// Package pgtest is what hookproof's PostgreSQL tests share: the server they may use and a
// database of their own on it. It is imported by tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver
)

// DSNEnv names the PostgreSQL server the tests may use. Each test gets a database of its own
// there, dropped afterwards, so packages testing in parallel never share tables.
const DSNEnv = "HOOKPROOF_TEST_POSTGRES_DSN"

// DSN returns the server's DSN. Without one the PostgreSQL runs of what are skipped loudly
// (it returns ""), or fail under CI=true, where .ci/run starts a server.
func DSN(t testing.TB, what string) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: .ci/run must start PostgreSQL", DSNEnv)
		}
		t.Logf("SKIPPING %s on PostgreSQL: set %s=postgres://… to test it", what, DSNEnv)
	}
	return dsn
}

// FreshDatabase creates an empty database named prefix+random on the server of dsn, drops it
// when t ends, and returns its DSN.
func FreshDatabase(t testing.TB, dsn, prefix string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := prefix + strings.ToLower(rand.Text()[:12])
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
		t.Fatalf("%s: %v", DSNEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}
