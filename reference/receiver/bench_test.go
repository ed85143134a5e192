package receiver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/hookproof/hookproof/reference/h1"
	"github.com/hookproof/hookproof/reference/signature"
)

// The benchmarks attack on loopback with Vegeta, each attack bounded in time. Figures are
// reported with b.ReportMetric and never asserted: the machine is shared and small.
//
//	go test -run '^$' -bench 'Receiver' -benchtime 1x ./reference/receiver

const (
	maxRateWorkers = 256             // concurrent senders in the maximum-rate attacks
	maxRateFor     = 4 * time.Second // each maximum-rate attack
	maxRateRounds  = 3               // each round attacks both sides
	warmUpFor      = time.Second     // before the latency attack: connections, caches
	fixedRate      = 2000            // acks/s of the latency attack
	fixedRateFor   = 5 * time.Second
)

// signingTargeter makes every hit a new delivery: a fresh id, an envelope body, fresh headers.
func signingTargeter(b *testing.B, s signature.Scheme, url string) vegeta.Targeter {
	var n atomic.Int64
	return func(t *vegeta.Target) error {
		i := n.Add(1)
		id := fmt.Sprint("msg_bench_", i)
		body := envelope(id, fmt.Sprint("ord_", i%64), int(i))
		h, err := s.Sign(signature.Message{ID: id, Body: body})
		if err != nil {
			return err
		}
		*t = vegeta.Target{Method: http.MethodPost, URL: url, Body: body, Header: h}
		return nil
	}
}

// newTransport is the attackers' HTTP transport. Vegeta's default dialer binds every new
// connection to 0.0.0.0:0 first, which crawls on a loopback crowded with TIME_WAIT sockets and
// would measure the kernel's port search instead of the server.
func newTransport() *http.Transport {
	return &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512, IdleConnTimeout: 30 * time.Second}
}

// attack runs one bounded Vegeta attack: at rate, or as fast as workers allow when rate is 0.
// It first flushes the page cache and collects garbage, so that no attack pays for the disk
// writes or the garbage of the one before.
func attack(tp *http.Transport, tr vegeta.Targeter, rate vegeta.Rate, workers uint64, d time.Duration) vegeta.Metrics {
	syscall.Sync()
	runtime.GC()
	opts := []func(*vegeta.Attacker){vegeta.Client(&http.Client{Transport: tp, Timeout: 10 * time.Second})}
	if rate.Freq == 0 {
		opts = append(opts, vegeta.Workers(workers), vegeta.MaxWorkers(workers))
	}
	a := vegeta.NewAttacker(opts...)
	var m vegeta.Metrics
	for res := range a.Attack(tr, rate, d, "bench") {
		m.Add(res)
	}
	m.Close()
	return m
}

// loadavg is the machine's 1-minute load average, printed beside the figures: on a shared
// machine it says how much the run had to share.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

// bareServer is the yardstick: a Go handler that reads the body and answers 200.
func bareServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
}

// serveHot serves h as hookproof receiver serves it on plain HTTP: with h1, under the same
// timeouts. The httptest.Server only lends its listener and URL; stop closes both.
func serveHot(h http.Handler) (*httptest.Server, func()) {
	srv := httptest.NewUnstartedServer(nil)
	hs := &h1.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = hs.Serve(srv.Listener) }()
	srv.URL = "http://" + srv.Listener.Addr().String()
	return srv, func() { _ = hs.Close() }
}

// benchReceiver serves a fresh reference receiver (SQLite in a temp dir, default workers
// processing into the local effects table, no sink).
func benchReceiver(b *testing.B) (*httptest.Server, func()) {
	r, err := Open(context.Background(), testScheme(b), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	srv, stop := serveHot(r)
	return srv, func() {
		stop()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			b.Error(err)
		}
	}
}

// BenchmarkReceiverVsBare measures the maximum sustained acks/s of the receiver and of a bare
// 200-OK handler under the same attack (256 senders, as fast as answers come), in rounds that
// alternate which side goes first, so both see the same machine. It reports each side's best
// rate and their ratio, the median of the rounds' ratios, and the CPU time the process spent per
// delivery (attacker included): on a shared machine the rates swing with the neighbours' load,
// while CPU per delivery stays close to what the code costs.
func BenchmarkReceiverVsBare(b *testing.B) {
	s := testScheme(b)
	var best [2]float64 // bare, receiver
	var ratios, cpu [2][]float64
	for round := range maxRateRounds {
		var got [2]float64
		for k := range 2 {
			side := (k + round) % 2 // 0 bare, 1 receiver; the first side alternates
			var srv *httptest.Server
			stop := func() {}
			if side == 0 {
				srv = bareServer()
				stop = srv.Close
			} else {
				srv, stop = benchReceiver(b)
			}
			tp := newTransport()
			c0 := cpuTime()
			m := attack(tp, signingTargeter(b, s, srv.URL+"/webhook"), vegeta.Rate{Freq: 0}, maxRateWorkers, maxRateFor)
			perDelivery := float64((cpuTime() - c0).Microseconds()) / float64(max(m.Requests, 1))
			tp.CloseIdleConnections()
			stop()
			name := [2]string{"bare", "receiver"}[side]
			b.Logf("round %d %-8s %8.0f acks/s  cpu %5.0f µs/delivery  success %5.1f%%  p50 %v  p99 %v  load %s",
				round+1, name, m.Throughput, perDelivery, 100*m.Success, m.Latencies.P50, m.Latencies.P99, loadavg())
			got[side] = m.Throughput
			best[side] = max(best[side], m.Throughput)
			cpu[side] = append(cpu[side], perDelivery)
		}
		ratios[0] = append(ratios[0], 100*got[1]/got[0])
	}
	b.ReportMetric(best[0], "bare_acks/s")
	b.ReportMetric(best[1], "receiver_acks/s")
	b.ReportMetric(100*best[1]/best[0], "best_%_of_bare")
	b.ReportMetric(median(ratios[0]), "median_round_%_of_bare")
	b.ReportMetric(median(cpu[0]), "bare_cpu_µs/delivery")
	b.ReportMetric(median(cpu[1]), "receiver_cpu_µs/delivery")
	b.ReportMetric(100*median(cpu[0])/median(cpu[1]), "cpu_%_of_bare")
	b.Logf("receiver ÷ bare: %.3f (median of %d rounds' ratios; best rounds bare %.0f, receiver %.0f acks/s; target >= 0.60); CPU per delivery bare %.0f µs, receiver %.0f µs, ratio %.3f",
		median(ratios[0])/100, len(ratios[0]), best[0], best[1], median(cpu[0]), median(cpu[1]), median(cpu[0])/median(cpu[1]))
}

func median(xs []float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	if len(ys) == 0 {
		return 0
	}
	return ys[len(ys)/2]
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReceiverAckLatency measures the receiver's ack latency at a fixed 2,000 deliveries/s,
// after a bare 200-OK handler under the same attack: the bare figures are what the machine
// itself adds (scheduling on a busy machine, loopback), the yardstick for the receiver's.
func BenchmarkReceiverAckLatency(b *testing.B) {
	s := testScheme(b)
	rate := vegeta.Rate{Freq: fixedRate, Per: time.Second}
	for side, name := range []string{"bare", "receiver"} {
		var srv *httptest.Server
		stop := func() {}
		if side == 0 {
			srv = bareServer()
			stop = srv.Close
		} else {
			srv, stop = benchReceiver(b)
		}
		tr := signingTargeter(b, s, srv.URL+"/webhook")
		tp := newTransport()
		attack(tp, tr, rate, 0, warmUpFor)
		m := attack(tp, tr, rate, 0, fixedRateFor)
		tp.CloseIdleConnections()
		stop()
		b.Logf("%-8s %d/s for %v: %d requests, success %.1f%%, p50 %v, p90 %v, p99 %v, max %v, codes %v, load %s",
			name, fixedRate, fixedRateFor, m.Requests, 100*m.Success, m.Latencies.P50, m.Latencies.P90, m.Latencies.P99,
			m.Latencies.Max, m.StatusCodes, loadavg())
		b.ReportMetric(float64(m.Latencies.P50.Microseconds())/1000, name+"_p50_ms")
		b.ReportMetric(float64(m.Latencies.P99.Microseconds())/1000, name+"_p99_ms")
		if side == 1 {
			b.ReportMetric(100*m.Success, "receiver_success_%")
			b.ReportMetric(m.Throughput, "receiver_acks/s")
		}
	}
}
