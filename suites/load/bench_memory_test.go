package load_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/suites/load"
)

// BenchmarkLoadMemory prints (never asserts) what a long run costs in memory: 1,000
// deliveries/s against a bare 200-OK handler that reports every delivery to the in-process
// sink (a sink.Collector, as a receiver would through --sink), with resident memory (VmRSS),
// the Go heap in use and the live heap (after a GC) at three points of the run, and the
// bytes per event the live heap grows by between the first and the last point: what a
// 1-hour run at 1,000/s needs is about 3.6 million times that, plus the base.
//
// By default it runs 60 s and reports at 12, 30 and 60 s; HOOKPROOF_BENCH_LONG=1 runs the
// 5-minute version (reports at 1, 2.5 and 5 minutes).
func BenchmarkLoadMemory(b *testing.B) {
	dur := 60 * time.Second
	if os.Getenv("HOOKPROOF_BENCH_LONG") == "1" {
		dur = 5 * time.Minute
	}
	const rate = 1000
	points := []time.Duration{dur / 5, dur / 2, dur}
	col := sink.NewCollector()
	var served atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if id := r.Header.Get("webhook-id"); id != "" {
			col.Add(sink.Effect{WebhookID: id, Type: "order.updated", Applied: true})
		}
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer ts.Close()

	type sample struct {
		at                    time.Duration
		events                int64
		rss, inuse, live, sys uint64
	}
	measure := func(at time.Duration) sample {
		s := sample{at: at, events: served.Load(), rss: vmRSS()}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.inuse, s.sys = ms.HeapInuse, ms.Sys
		runtime.GC()
		runtime.ReadMemStats(&ms)
		s.live = ms.HeapAlloc
		return s
	}
	for range b.N {
		runtime.GC()
		base := measure(0)
		samples := make(chan sample, len(points))
		start := time.Now()
		stop := make(chan struct{})
		go func() {
			defer close(samples)
			for _, p := range points {
				select {
				case <-stop:
					return
				case <-time.After(time.Until(start.Add(p - 100*time.Millisecond))):
				}
				samples <- measure(p)
			}
		}()
		res, err := load.Run(context.Background(), load.Config{
			URL: ts.URL + "/webhooks", Secret: secret, Rate: load.Rate{Freq: rate, Per: time.Second},
			Duration: dur, Seed: 1, Drain: 5 * time.Second, SinkQuiet: 100 * time.Millisecond,
		}, load.WithCollector(col))
		close(stop)
		if err != nil {
			b.Fatal(err)
		}
		l := res.Load.Ledger
		b.Logf("%d/s for %v: published %d, acked %d, effects %d, lost %d, doubled %d; base: RSS %.1f MB, live heap %.1f MB",
			rate, dur, l.Published, l.Acked, l.Effects, l.Lost, l.Doubled, mbOf(base.rss), mbOf(base.live))
		var got []sample
		for s := range samples {
			got = append(got, s)
			b.Logf("at %5.1f s: %7d events; RSS %6.1f MB, heap in use %6.1f MB, live heap %6.1f MB (%.0f bytes/event over the base), Go Sys %6.1f MB",
				s.at.Seconds(), s.events, mbOf(s.rss), mbOf(s.inuse), mbOf(s.live), perEvent(s.live-base.live, s.events), mbOf(s.sys))
		}
		if len(got) < 2 {
			continue
		}
		first, last := got[0], got[len(got)-1]
		slope := perEvent(last.live-first.live, last.events-first.events)
		rssSlope := perEvent(last.rss-first.rss, last.events-first.events)
		b.ReportMetric(slope, "live_bytes/event")
		b.ReportMetric(rssSlope, "rss_bytes/event")
		b.ReportMetric(mbOf(last.rss), "rss_MB")
		b.ReportMetric(mbOf(last.live), "live_heap_MB")
		b.Logf("growth from %.0f s to %.0f s: %.0f bytes/event of live heap, %.0f of RSS (sink included); a 1-hour run at 1,000/s: about %.0f MB of live heap",
			first.at.Seconds(), last.at.Seconds(), slope, rssSlope, mbOf(base.live)+slope*3.6e6/(1<<20))
	}
}

func perEvent(bytes uint64, events int64) float64 {
	if events <= 0 || int64(bytes) < 0 {
		return 0
	}
	return float64(bytes) / float64(events)
}

func mbOf(n uint64) float64 { return float64(n) / (1 << 20) }

// vmRSS is this process's resident set size from /proc/self/status (0 where there is none).
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
