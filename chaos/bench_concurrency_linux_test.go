package chaos

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkConcurrency: the chaos proxy (no faults) under 64, 1,000 and 5,000 concurrent
// keep-alive connections, closed loop, two seconds each, with the wrk-like client. It
// prints throughput, errors and the resident memory of the process (load generator, proxy
// and upstream together: they share it), the largest VmRSS sampled during the load and
// the Go runtime's Sys; it asserts nothing. Run it with -benchtime=1x.
//
// Each connection costs four descriptors in this one process (client, the proxy's side,
// the proxy's upstream connection, the upstream's side): the benchmark raises the limit
// if it can and skips, saying why, a level it cannot open.
func BenchmarkConcurrency(b *testing.B) {
	levels := []int{64, 1000, 5000}
	const slot = 2 * time.Second
	fds := func(n int) uint64 { return uint64(4*n + 512) }
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if need := fds(levels[len(levels)-1]); lim.Cur < need {
		raised := syscall.Rlimit{Cur: need, Max: max(lim.Max, need)}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			// A hard limit too low for an unprivileged process: use what it allows.
			raised = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
			if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err2 != nil {
				b.Logf("cannot raise the descriptor limit from %d (%v)", lim.Cur, err)
			}
		}
		defer func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) }()
	}
	var cur syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur)

	b.ResetTimer()
	for _, n := range levels {
		if fds(n) > cur.Cur {
			fit := (int(cur.Cur) - 512) / 4
			b.Logf("%5d conns: skipped, it needs about %d file descriptors and the limit is %d (hard %d, which this process cannot raise); running %d conns, the most that fit, instead",
				n, fds(n), cur.Cur, cur.Max, fit)
			if fit <= levels[0] {
				continue
			}
			n = fit
		}
		concurrencyLevel(b, n, slot)
	}
	b.StopTimer()
}

// concurrencyLevel measures one level on a fresh upstream and proxy, so that what one level
// left behind (connections, remembered delivery keys) does not count in the next.
func concurrencyLevel(b *testing.B, n int, slot time.Duration) {
	up := benchUpstream()
	defer up.Close()
	p, err := NewProxy(up.URL, WithLedgerLimit(10000))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ps := serveHot(b, p)
	defer ps.Close()
	debug.FreeOSMemory()
	before := vmRSS()
	rawLoop(ps.URL, n, 300*time.Millisecond) // open the connections and the proxy's pool
	var wg sync.WaitGroup
	done := make(chan struct{})
	peak := vmRSS()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak = max(peak, vmRSS())
			}
		}
	}()
	ok, bad := rawLoop(ps.URL, n, slot)
	close(done)
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rps := float64(ok) / slot.Seconds()
	b.ReportMetric(rps, fmt.Sprintf("req/s@%d", n))
	b.ReportMetric(float64(peak)/(1<<20), fmt.Sprintf("rss-MiB@%d", n))
	b.Logf("%5d conns: chaos %.0f req/s, %d errors; process VmRSS %.0f MiB before, up to %.0f MiB under load (%.0f KiB per connection), Go Sys %.0f MiB; %d requests' keys remembered",
		n, rps, bad, float64(before)/(1<<20), float64(peak)/(1<<20), float64(peak-min(before, peak))/1024/float64(n), float64(ms.Sys)/(1<<20), p.Stats().Requests)
}

// vmRSS is the process's resident set in bytes (0 when /proc cannot tell).
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
