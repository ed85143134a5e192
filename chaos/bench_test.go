package chaos

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/h1"
)

// The benchmarks below measure the proxy against direct access and against a plain
// httputil.ReverseProxy, all on loopback in the same run, interleaved so that a noisy
// neighbour hurts every contender alike. Each runs a fixed, bounded amount of load
// whatever b.N is: run them with -benchtime=1x.

const benchBody = `{"id":"evt_0001","type":"order.updated","timestamp":"2026-01-01T00:00:00Z","data":{"object_id":"ord_1","seq":3,"amount":1200,"currency":"eur"}}`

// benchUpstream is a webhook receiver at its simplest: read the body, answer 200.
func benchUpstream() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
}

type contender struct {
	name string
	url  string
}

// serveHot serves the proxy as hookproof chaos does on plain HTTP: with h1.
func serveHot(b *testing.B, h http.Handler) *hotServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &hotServer{Server: &h1.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, URL: "http://" + ln.Addr().String()}
	go func() { _ = s.Serve(ln) }()
	return s
}

type hotServer struct {
	*h1.Server
	URL string
}

// benchContenders starts the upstream and the three proxies in front of it: the chaos proxy, a
// plain httputil.ReverseProxy and a TCP splice (the ceiling).
func benchContenders(b *testing.B) ([]contender, func()) {
	up := benchUpstream()
	p, err := NewProxy(up.URL, WithLedgerLimit(10000))
	if err != nil {
		b.Fatal(err)
	}
	ps := serveHot(b, p)
	u, _ := url.Parse(up.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	// The plain ReverseProxy with the default transport's settings, but its own pool, so
	// that it does not share connections with anything else in the process.
	rp.Transport = http.DefaultTransport.(*http.Transport).Clone()
	rp.ErrorLog = log.New(io.Discard, "", 0) // "context canceled" as each load slot ends
	rs := httptest.NewServer(rp)
	sp, stopSplice := spliceProxy(b, u.Host)
	return []contender{{"direct", up.URL}, {"chaos", ps.URL}, {"reverseproxy", rs.URL}, {"splice", sp}}, func() {
		stopSplice()
		rs.Close()
		ps.Close()
		p.Close()
		up.Close()
	}
}

// spliceProxy is the ceiling of any proxy here: a TCP proxy that copies bytes both ways with
// io.Copy and parses nothing. A proxy that reads HTTP cannot beat it; the closer the chaos
// proxy gets, the less it distorts the latency it is there to add on purpose.
func spliceProxy(b *testing.B, upstream string) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{})
				go func() { _, _ = io.Copy(u, c); _ = u.(*net.TCPConn).CloseWrite(); close(done) }()
				_, _ = io.Copy(c, u)
				<-done
			}()
		}
	}()
	return "http://" + ln.Addr().String(), func() { ln.Close() }
}

// rawLoop runs a closed loop against target for d with a wrk-like client: conns raw TCP connections, each sending a
// pre-built request (only the delivery id changes) and parsing just the status line and
// Content-Length of the answer, so that the load generator's own cost, shared with the
// contenders on a 2-core machine, stays small.
func rawLoop(target string, conns int, d time.Duration) (ok, failed int64) {
	u, err := url.Parse(target)
	if err != nil {
		return 0, 1
	}
	var okN, failN atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			head := "POST /hook HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: " +
				strconv.Itoa(len(benchBody)) + "\r\nWebhook-Id: msg_" + fmt.Sprintf("%03d", c) + "_"
			req := []byte(head + "0000000000\r\n\r\n" + benchBody)
			idAt := len(head)
			var conn net.Conn
			var br *bufio.Reader
			var err error // this goroutine's own: the load goroutines dial at the same time
			for i := 0; time.Now().Before(deadline); i++ {
				if conn == nil {
					if conn, err = net.DialTimeout("tcp", u.Host, time.Second); err != nil {
						failN.Add(1)
						conn = nil
						continue
					}
					br = bufio.NewReaderSize(conn, 16<<10)
				}
				for j, n := idAt+9, i; j >= idAt; j-- {
					req[j] = byte('0' + n%10)
					n /= 10
				}
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				status, err := rawExchange(conn, br, req)
				if err != nil {
					failN.Add(1)
					conn.Close()
					conn = nil
					continue
				}
				if status == http.StatusOK {
					okN.Add(1)
				} else {
					failN.Add(1)
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	return okN.Load(), failN.Load()
}

// rawExchange writes req and reads one answer with a Content-Length body.
func rawExchange(conn net.Conn, br *bufio.Reader, req []byte) (int, error) {
	if _, err := conn.Write(req); err != nil {
		return 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil || len(line) < 12 {
		return 0, fmt.Errorf("status line %q: %v", line, err)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && strings.EqualFold(string(line[:15]), "content-length:") {
			length, err = strconv.Atoi(strings.TrimSpace(string(line[15:])))
			if err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, errors.New("answer without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}

// BenchmarkThroughput: 64 connections, closed loop (wrk-like client), direct vs chaos
// proxy (no faults) vs plain ReverseProxy, eight interleaved rounds of 0.5 s each, the
// order rotating every round.
func BenchmarkThroughput(b *testing.B) {
	const conns, rounds = 64, 8
	const slot = 500 * time.Millisecond
	cs, stop := benchContenders(b)
	defer stop()
	total := map[string]int64{}
	failed := map[string]int64{}
	cpu := map[string]time.Duration{}
	for _, c := range cs {
		rawLoop(c.url, conns, 200*time.Millisecond) // open the connections and pools
	}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for i := range cs {
			c := cs[(i+r)%len(cs)]
			c0 := processCPU()
			ok, bad := rawLoop(c.url, conns, slot)
			cpu[c.name] += processCPU() - c0
			total[c.name] += ok
			failed[c.name] += bad
		}
	}
	b.StopTimer()
	secs := (rounds * slot).Seconds()
	direct, chaos, rp := float64(total["direct"])/secs, float64(total["chaos"])/secs, float64(total["reverseproxy"])/secs
	splice := float64(total["splice"]) / secs
	b.ReportMetric(direct, "direct-req/s")
	b.ReportMetric(chaos, "chaos-req/s")
	b.ReportMetric(rp, "reverseproxy-req/s")
	b.ReportMetric(splice, "splice-req/s")
	b.ReportMetric(chaos/direct, "chaos/direct")
	b.ReportMetric(rp/direct, "reverseproxy/direct")
	b.ReportMetric(chaos/rp, "chaos/reverseproxy")
	b.ReportMetric(chaos/splice, "chaos/splice")
	// CPU per request of the whole process (load generator, upstream and the contender): on
	// a machine shared with other work it is steadier than throughput. Its ratio is the
	// throughput ratio the contenders would have if CPU were all that limited them.
	perReq := func(name string) float64 {
		if total[name] == 0 {
			return 0
		}
		return float64(cpu[name].Microseconds()) / float64(total[name])
	}
	for _, c := range cs {
		b.ReportMetric(perReq(c.name), c.name+"-cpu-us/req")
	}
	if perReq("chaos") > 0 {
		b.ReportMetric(perReq("splice")/perReq("chaos"), "chaos/splice-cpu")
		b.ReportMetric(perReq("reverseproxy")/perReq("chaos"), "chaos/reverseproxy-cpu")
		b.Logf("CPU per request (whole process): direct %.1f µs, chaos %.1f µs, ReverseProxy %.1f µs, splice %.1f µs; by CPU chaos/splice %.2f, chaos/ReverseProxy %.2fx",
			perReq("direct"), perReq("chaos"), perReq("reverseproxy"), perReq("splice"), perReq("splice")/perReq("chaos"), perReq("reverseproxy")/perReq("chaos"))
	}
	b.Logf("%d conns, %d x %s interleaved: direct %.0f req/s; chaos %.0f req/s (%.2f of direct); ReverseProxy %.0f req/s (%.2f of direct); TCP splice %.0f req/s; chaos/ReverseProxy %.2fx (target >= 2.5x); chaos/splice %.2f (target >= 0.80); errors %v",
		conns, rounds, slot, direct, chaos, chaos/direct, rp, rp/direct, splice, chaos/rp, chaos/splice, failed)
}

// BenchmarkAddedLatency: open loop at a fixed 2,000 requests/s, direct vs chaos
// proxy, six interleaved rounds of one second each. It reports the medians over rounds of
// each side's p50 and p99, and of what the proxy adds to them within a round; medians
// keep one round that a busy neighbour spoilt from deciding the figure.
func BenchmarkAddedLatency(b *testing.B) {
	const rate, rounds = 2000, 6
	const slot = time.Second
	cs, stop := benchContenders(b)
	defer stop()
	cs = cs[:2] // direct, chaos
	for _, c := range cs {
		paced(c.url, rate, 300*time.Millisecond) // open the connections before measuring
	}
	quantile := func(l []time.Duration, q float64) float64 {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return ms(l[int(q*float64(len(l)-1))])
	}
	var p50, p99 = map[string][]float64{}, map[string][]float64{}
	var add50, add99 []float64
	errs := map[string]int{}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		got := map[string][]time.Duration{}
		for i := range cs {
			c := cs[(i+r)%len(cs)]
			l, e := paced(c.url, rate, slot)
			got[c.name] = l
			errs[c.name] += e
		}
		for _, name := range []string{"direct", "chaos"} {
			p50[name] = append(p50[name], quantile(got[name], .5))
			p99[name] = append(p99[name], quantile(got[name], .99))
		}
		add50 = append(add50, p50["chaos"][r]-p50["direct"][r])
		add99 = append(add99, p99["chaos"][r]-p99["direct"][r])
	}
	b.StopTimer()
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	dp50, dp99, cp50, cp99 := median(p50["direct"]), median(p99["direct"]), median(p50["chaos"]), median(p99["chaos"])
	a50, a99 := median(add50), median(add99)
	b.ReportMetric(dp50, "direct-p50-ms")
	b.ReportMetric(dp99, "direct-p99-ms")
	b.ReportMetric(cp50, "chaos-p50-ms")
	b.ReportMetric(cp99, "chaos-p99-ms")
	b.ReportMetric(a50, "added-p50-ms")
	b.ReportMetric(a99, "added-p99-ms")
	b.Logf("%d req/s, %d x %s interleaved, medians over rounds: direct p50 %.3f ms p99 %.3f ms; chaos p50 %.3f ms p99 %.3f ms; added p50 %.3f ms (target < 0.5), added p99 %.3f ms; errors %v",
		rate, rounds, slot, dp50, dp99, cp50, cp99, a50, a99, errs)
}

// paced sends rate requests per second to target for d, open loop, with the wrk-like
// client over up to 128 connections, and returns each answer's latency counted from the
// moment its request was due (so a stall shows up as queueing, not as fewer requests:
// no coordinated omission), and the number of failures.
func paced(target string, rate int, d time.Duration) ([]time.Duration, int) {
	const workers = 128
	u, err := url.Parse(target)
	if err != nil {
		return nil, 1
	}
	n := int(d.Seconds() * float64(rate))
	due := make(chan time.Time, n)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var bad atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			head := "POST /hook HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: " +
				strconv.Itoa(len(benchBody)) + "\r\nWebhook-Id: lat_" + fmt.Sprintf("%03d", w) + "_"
			req := []byte(head + "0000000000\r\n\r\n" + benchBody)
			var conn net.Conn
			var br *bufio.Reader
			var err error // this goroutine's own: the workers dial at the same time
			i := 0
			for at := range due {
				i++
				for j, k := len(head)+9, i; j >= len(head); j-- {
					req[j] = byte('0' + k%10)
					k /= 10
				}
				if conn == nil {
					if conn, err = net.DialTimeout("tcp", u.Host, time.Second); err != nil {
						bad.Add(1)
						conn = nil
						continue
					}
					br = bufio.NewReaderSize(conn, 16<<10)
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				status, err := rawExchange(conn, br, req)
				if err != nil || status != http.StatusOK {
					bad.Add(1)
					if err != nil {
						conn.Close()
						conn = nil
					}
					continue
				}
				took := time.Since(at)
				mu.Lock()
				lat = append(lat, took)
				mu.Unlock()
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	return lat, int(bad.Load())
}

// stubTransport answers every request in memory, so BenchmarkServeHTTP measures the
// proxy's own work per request.
type stubTransport struct{}

func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: 17,
		Body: io.NopCloser(strings.NewReader(`{"received":true}`)), Request: r,
	}, nil
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeHTTP is the proxy's per-request cost without the network: allocations
// and CPU of key, attempt, chain, forward and ledger, with and without faults that do not
// match. It runs at least 20,000 requests whatever b.N (make bench uses -benchtime 1x) and
// reports per-request figures of its own.
func BenchmarkServeHTTP(b *testing.B) {
	idle := []FaultSpec{
		{Type: "drop", Probability: 1, Match: Match{Path: "/other/*"}},
		{Type: "delay", Probability: 1, Match: Match{Method: "PUT"}},
	}
	for _, tc := range []struct {
		name   string
		faults []FaultSpec
		sync   bool // the proxy's own transport, to an in-memory upstream, instead of stubTransport
	}{
		{"no-faults", nil, false},
		{"idle-faults", idle, false},
		{"sync-no-faults", nil, true},
		{"sync-idle-faults", idle, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var rt http.RoundTripper = stubTransport{}
			if tc.sync {
				st := newSyncTransport()
				st.dial = pipeUpstream
				rt = st
			}
			p, err := NewProxy("http://upstream.invalid", WithTransport(rt), WithFaults(tc.faults...))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			body := []byte(benchBody)
			req := httptest.NewRequest(http.MethodPost, "/hook", nil)
			req.Header.Set("Content-Type", "application/json")
			w := &discardWriter{h: http.Header{}}
			n := max(b.N, 20000)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			b.ResetTimer()
			for i := 0; i < n; i++ {
				req.Header["Webhook-Id"] = []string{"msg_" + strconv.Itoa(i&1023)}
				req.Body = io.NopCloser(bytes.NewReader(body))
				req.ContentLength = int64(len(body))
				clear(w.h)
				p.ServeHTTP(w, req)
			}
			b.StopTimer()
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(took.Nanoseconds())/float64(n), "ns/req")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/req")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "B/req")
		})
	}
}

// pipeUpstream is an in-memory upstream for the synchronous transport: over a net.Pipe it
// reads each request (headers, then Content-Length bytes of body) and answers 200 with a
// small JSON body, allocating nothing per request, so that BenchmarkServeHTTP counts the
// proxy's own allocations.
func pipeUpstream(context.Context, string, string) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		br := bufio.NewReader(server)
		answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"received\":true}")
		for {
			length := 0
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
				if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
					for _, c := range bytes.TrimSpace(v) {
						length = length*10 + int(c-'0')
					}
				}
			}
			if _, err := br.Discard(length); err != nil {
				return
			}
			if _, err := server.Write(answer); err != nil {
				return
			}
		}
	}()
	return client, nil
}
