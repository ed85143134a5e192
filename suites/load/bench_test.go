package load_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/hookproof/hookproof/suites/load"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// benchWorkers bounds concurrency on both sides: the same for plain Vegeta and for hookproof.
const benchWorkers = 32

// benchBody is an envelope like the ones hookproof sends, for plain Vegeta's unsigned requests.
var benchBody = []byte(`{"id":"msg_0123456789abcdef_1_12345","type":"order.updated","timestamp":"2025-11-29T10:05:00.123456789Z","data":{"object_id":"ord_0123456789abcdef_7","seq":42,"amount":12345}}`)

// BenchmarkLoadVsVegeta compares, in one run and on one bare 200-OK handler on loopback, the
// rate plain Vegeta reaches with unsigned requests and the rate hookproof load reaches with
// signed deliveries, the retry queue armed and every attempt booked in the ledger, both as
// fast as benchWorkers workers go. Thirty short rounds each run both sides, the side that goes
// first alternating and garbage collected before each, so that a machine busy for a while
// slows both alike and neither inherits the other's teardown; the ratio reported is the median
// of the rounds' ratios, which a neighbour's burst during one round does not move (the log
// line gives the rounds' spread too: half-second rounds swing by ±15% here); the target is
// at least 0.97. On a shared machine the rates swing with the neighbours' load, so it also
// reports the CPU time each side spends per request.
func BenchmarkLoadVsVegeta(b *testing.B) {
	ts := httptest.NewServer(benchHandler)
	defer ts.Close()
	compareWithVegeta(b, ts.URL+"/webhooks", nil, "")
}

// BenchmarkLoadVsVegetaHTTPS is BenchmarkLoadVsVegeta over HTTPS: the same handler behind
// TLS (a certificate of a CA made in the test), both sides verifying it and keeping their
// connections alive (HTTP/1.1 over TLS, as Vegeta's library speaks it with a TLS
// configuration of its own). What TLS costs, it costs both; the ratio printed is load over
// HTTPS ÷ Vegeta over HTTPS, with the same target of at least 0.97.
func BenchmarkLoadVsVegetaHTTPS(b *testing.B) {
	ca, err := tlsconf.NewCA("bench CA")
	if err != nil {
		b.Fatal(err)
	}
	leaf, err := ca.Server("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(benchHandler)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	ts.StartTLS()
	defer ts.Close()
	compareWithVegeta(b, ts.URL+"/webhooks", &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}, " over HTTPS")
}

// benchHandler is the bare 200-OK handler both sides attack.
var benchHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusOK)
})

// compareWithVegeta runs the interleaved rounds of BenchmarkLoadVsVegeta against url, with tc
// on both sides when it is set, and reports the rates, the median ratio and the CPU per request.
func compareWithVegeta(b *testing.B, url string, tc *tls.Config, over string) {
	const (
		rounds = 30
		round  = 500 * time.Millisecond
	)
	var tcs []*tls.Config
	if tc != nil {
		tcs = []*tls.Config{tc}
	}
	var vegetaN, ourN float64
	var vegetaT, ourT, vegetaCPU, ourCPU time.Duration
	var pairs []float64
	for range b.N {
		for r := range rounds {
			var vn, on float64
			var vd, od time.Duration
			var vc, oc time.Duration
			vegetaSide := func() {
				runtime.GC() // neither side pays for the other's garbage
				c0 := processCPU()
				pprof.Do(context.Background(), pprof.Labels("side", "vegeta"), func(context.Context) { vn, vd = plainVegeta(url, round, tcs...) })
				vc = processCPU() - c0
			}
			ourSide := func() {
				runtime.GC()
				c0 := processCPU()
				pprof.Do(context.Background(), pprof.Labels("side", "hookproof"), func(context.Context) { on, od = hookproofLoad(b, url, round, tcs...) })
				oc = processCPU() - c0
			}
			// The side that goes first alternates, so that neither always follows the other
			// (and inherits its connections' teardown or its place in the neighbours' load).
			if r%2 == 0 {
				vegetaSide()
				ourSide()
			} else {
				ourSide()
				vegetaSide()
			}
			vegetaN, vegetaT, vegetaCPU = vegetaN+vn, vegetaT+vd, vegetaCPU+vc
			ourN, ourT, ourCPU = ourN+on, ourT+od, ourCPU+oc
			if vn > 0 {
				pairs = append(pairs, (on/od.Seconds())/(vn/vd.Seconds()))
			}
		}
	}
	vr, or := vegetaN/vegetaT.Seconds(), ourN/ourT.Seconds()
	slices.Sort(pairs)
	median := pairs[len(pairs)/2]
	b.ReportMetric(vr, "vegeta_req/s")
	b.ReportMetric(or, "hookproof_req/s")
	b.ReportMetric(median, "ratio")
	b.Logf("plain Vegeta%s %.0f req/s, hookproof load%s %.0f req/s; ratio %.3f (median of %d rounds; %.3f overall; target >= 0.97); rounds' ratios from %.3f to %.3f",
		over, vr, over, or, median, len(pairs), or/vr, pairs[0], pairs[len(pairs)-1])
	if vegetaCPU > 0 && ourCPU > 0 {
		// CPU per request (both sides of the loopback: client and handler) does not depend on
		// what else the machine runs: it is the rate each would reach on the same idle cores.
		vc, oc := float64(vegetaCPU.Microseconds())/vegetaN, float64(ourCPU.Microseconds())/ourN
		b.ReportMetric(vc, "vegeta_cpu_µs/req")
		b.ReportMetric(oc, "hookproof_cpu_µs/req")
		b.ReportMetric(vc/oc, "cpu_ratio")
		b.Logf("CPU per request%s (client and handler): plain Vegeta %.1f µs, hookproof load %.1f µs, ratio %.3f", over, vc, oc, vc/oc)
	}
}

// plainVegeta attacks url with unsigned POSTs for d and returns the requests answered 200 and
// the time they took.
func plainVegeta(url string, d time.Duration, tc ...*tls.Config) (float64, time.Duration) {
	opts := []func(*vegeta.Attacker){vegeta.Workers(benchWorkers), vegeta.MaxWorkers(benchWorkers), vegeta.MaxBody(64 << 10),
		vegeta.Timeout(10 * time.Second), vegeta.Redirects(vegeta.NoFollow)}
	if len(tc) > 0 {
		opts = append(opts, vegeta.TLSConfig(tc[0]))
	}
	atk := vegeta.NewAttacker(opts...)
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: url, Body: benchBody,
		Header: http.Header{"Content-Type": {"application/json"}}})
	start := time.Now()
	ok := 0
	for res := range atk.Attack(tr, vegeta.ConstantPacer{}, d, "") {
		if res.Code == http.StatusOK {
			ok++
		}
	}
	return float64(ok), time.Since(start)
}

// hookproofLoad runs the load engine for d and returns the attempts acked and the time the
// attack took (the drain and the ledger's reconciliation included).
func hookproofLoad(b *testing.B, url string, d time.Duration, tc ...*tls.Config) (float64, time.Duration) {
	cfg := load.Config{
		URL: url, Secret: secret, Duration: d, Seed: 1,
		Workers: benchWorkers, MaxWorkers: benchWorkers, RetryWorkers: benchWorkers,
		Timeout: 10 * time.Second, Drain: 5 * time.Second, Thresholds: []string{"error_rate<0.01"},
	}
	if len(tc) > 0 {
		cfg.TLS = tc[0]
	}
	start := time.Now()
	res, err := load.Run(context.Background(), cfg)
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if l := res.Load.Ledger; l.Void || l.Acked != l.Published {
		b.Fatalf("ledger %+v", l)
	}
	return float64(res.Load.StatusCodes["200"]), took
}
