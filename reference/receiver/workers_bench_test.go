package receiver

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/hookproof/hookproof/reference/store"
)

// workersFor is each maximum-rate attack of BenchmarkReceiverWorkers; drainFor bounds the
// processing of what it acknowledged.
const (
	workersFor = 2 * time.Second
	drainFor   = 30 * time.Second
)

// BenchmarkReceiverWorkers prints, for 1, 2, 4 and 8 workers on SQLite and on PostgreSQL
// (HOOKPROOF_TEST_POSTGRES_DSN; that half is skipped loudly without it), the acks/s of a
// maximum-rate attack (256 senders, unique signed deliveries) and the processing lag, from
// each delivery's ack to the commit of its effect (received_ms to created_ms in the store,
// millisecond precision), p50 and p99 over every delivery of the attack, the backlog it left
// included. Nothing is asserted.
//
//	go test -run '^$' -bench ReceiverWorkers -benchtime 1x ./reference/receiver
func BenchmarkReceiverWorkers(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			if backend == "postgres" && os.Getenv(postgresDSNEnv) == "" {
				b.Skipf("SKIPPING the PostgreSQL half: set %s=postgres://…", postgresDSNEnv)
			}
			for _, workers := range []int{1, 2, 4, 8} {
				var dsn string
				if backend == "sqlite" {
					dsn = filepath.Join(b.TempDir(), "workers.db")
				} else {
					dsn = postgresDB(b)
				}
				acks, p50, p99, n := workersRun(b, dsn, workers)
				b.Logf("%-8s %d workers: %6.0f acks/s, processing lag p50 %4d ms p99 %5d ms (%d deliveries), load %s",
					backend, workers, acks, p50, p99, n, loadavg())
				b.ReportMetric(acks, fmt.Sprintf("w%d_acks/s", workers))
				b.ReportMetric(float64(p99), fmt.Sprintf("w%d_lag_p99_ms", workers))
			}
		})
	}
}

// workersRun attacks a fresh receiver on dsn with workers workers, drains it, and reads the
// lag of every delivery back from the store.
func workersRun(b *testing.B, dsn string, workers int) (acks float64, p50, p99 int64, n int) {
	s := testScheme(b)
	r, err := Open(context.Background(), s, dsn, WithWorkers(workers))
	if err != nil {
		b.Fatal(err)
	}
	srv, stop := serveHot(r)
	tp := newTransport()
	m := attack(tp, signingTargeter(b, s, srv.URL+"/webhook"), vegeta.Rate{Freq: 0}, maxRateWorkers, workersFor)
	tp.CloseIdleConnections()
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), drainFor)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		b.Fatal(err)
	}
	driver, query := "sqlite", `SELECT e.created_ms - i.received_ms FROM effects e JOIN inbox i ON i.id = e.webhook_id`
	if store.IsPostgres(dsn) {
		driver, query = "pgx", `SELECT e.created_ms - i.received_ms FROM receiver_effects e JOIN receiver_inbox i ON i.id = e.webhook_id`
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var lags []int64
	for rows.Next() {
		var l int64
		if err := rows.Scan(&l); err != nil {
			b.Fatal(err)
		}
		lags = append(lags, l)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if len(lags) == 0 {
		return m.Throughput, 0, 0, 0
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	return m.Throughput, lags[len(lags)/2], lags[len(lags)*99/100], len(lags)
}
