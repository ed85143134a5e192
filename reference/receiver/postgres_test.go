package receiver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
)

const postgresDSNEnv = "HOOKPROOF_TEST_POSTGRES_DSN"

// postgresDB returns the DSN of a fresh database on the test server, dropped when t ends. Without
// HOOKPROOF_TEST_POSTGRES_DSN the test is skipped loudly, or fails under CI=true.
func postgresDB(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: .ci/run must start PostgreSQL", postgresDSNEnv)
		}
		t.Skipf("SKIPPING PostgreSQL: set %s=postgres://… to run the shared-store tests", postgresDSNEnv)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := "hookproof_rcv_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func TestPostgresReplicasProcessEachDeliveryOnce(t *testing.T) {
	db := postgresDB(t)
	col := sink.NewCollector()
	sinkSrv := httptest.NewServer(col)
	defer sinkSrv.Close()
	scheme := testScheme(t)

	// Two replicas on one database, each delivery sent to both of them at once.
	var replicas []*harness
	for range 2 {
		h := &harness{t: t, db: db, scheme: scheme, col: col, sinkSrv: sinkSrv}
		h.start()
		defer h.stop()
		replicas = append(replicas, h)
	}
	const n, objects = 60, 4
	for i := range n {
		id := fmt.Sprint("msg_pg_", i)
		body := envelope(id, fmt.Sprint("ord_pg_", i%objects), i)
		var wg sync.WaitGroup
		for _, h := range replicas {
			wg.Go(func() {
				if got := h.send(nil, id, body); got != http.StatusOK {
					t.Errorf("%s: status %d", id, got)
				}
			})
		}
		wg.Wait()
	}
	for i := range n {
		replicas[0].waitDistinct(fmt.Sprint("msg_pg_", i), 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := col.WaitQuiet(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for id, c := range col.Counts() {
		if c != 1 {
			t.Errorf("%s: %d distinct effects, want 1", id, c)
		}
	}
	for o := range objects {
		seqs := col.AppliedSeq(fmt.Sprint("ord_pg_", o))
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Errorf("ord_pg_%d applied out of order: %v", o, seqs)
				break
			}
		}
	}
	if st := replicas[1].stats(); st.Inbox != n || st.Effects != n || st.Pending != 0 {
		t.Errorf("shared store: %+v, want %d deliveries and effects, none pending", st, n)
	}
}

func TestPostgresReplicaResumesAnother(t *testing.T) {
	db := postgresDB(t)
	h := &harness{t: t, db: db, scheme: testScheme(t), col: sink.NewCollector()}
	h.sinkSrv = httptest.NewServer(h.col)
	defer h.sinkSrv.Close()
	// A replica that acknowledges and dies before processing...
	h.start(WithWorkers(0))
	for i := range 10 {
		id := fmt.Sprint("msg_orphan_", i)
		if got := h.send(nil, id, envelope(id, "ord_orphan", i)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	h.stop()
	// ...and the replica that picks its rows up.
	h.start()
	defer h.stop()
	for i := range 10 {
		h.waitDistinct(fmt.Sprint("msg_orphan_", i), 1)
	}
	if got := h.col.AppliedSeq("ord_orphan"); len(got) != 10 {
		t.Errorf("applied %v, want seq 0..9 in order", got)
	}
}
