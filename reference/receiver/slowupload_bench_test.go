package receiver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// The slow-upload attack: slowUploaders connections each send almost MaxBody, unsigned (a
// bogus signature header, so that the body has to be read before it can be judged), in
// slowChunks pieces slowGap apart; half declare their length, half are chunked. Meanwhile one
// valid delivery goes out every validGap. Every connection has a deadline, every loop a count.
const (
	slowUploaders = 2000
	slowChunks    = 16
	slowGap       = 250 * time.Millisecond // 16 × 64 KiB over 4 s
	validGap      = 20 * time.Millisecond
	validCount    = 300 // 6 s of valid deliveries
	attackBound   = 30 * time.Second
)

// BenchmarkReceiverSlowUploads measures the receiver's memory (heap and stacks in use, peak,
// sampled every 20 ms, attackers included: they share the process) and the valid deliveries'
// ack latency during the attack.
//
//	go test -run '^$' -bench SlowUploads -benchtime 1x ./reference/receiver
func BenchmarkReceiverSlowUploads(b *testing.B) {
	for range b.N {
		slowUploadAttack(b)
	}
}

func slowUploadAttack(b *testing.B) {
	s := testScheme(b)
	rcv, err := Open(context.Background(), s, filepath.Join(b.TempDir(), "receiver.db"))
	if err != nil {
		b.Fatal(err)
	}
	// As hookproof receiver serves it (cmd/hookproof/receiver.go).
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, ReadTimeout: 21 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	addr := ln.Addr().String()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		rcv.Close(ctx)
	}()

	// One delivery before the attack: the store's first commit is not what is measured.
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(id string, seq int) (*http.Response, error) {
		body := envelope(id, "ord_valid", seq)
		hdr, err := s.Sign(signature.Message{ID: id, Body: body})
		if err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", strings.NewReader(string(body)))
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		return client.Do(req)
	}
	if resp, err := post("msg_warm", 0); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("warm-up delivery: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse + ms.StackInuse
	var peak, peakSys atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if v := m.HeapInuse + m.StackInuse; v > peak.Load() {
				peak.Store(v)
			}
			peakSys.Store(max(peakSys.Load(), m.Sys))
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()

	chunk := []byte(strings.Repeat("x", (MaxBody-1)/slowChunks))
	var codes sync.Map // status line → *atomic.Int64
	count := func(k string) {
		v, _ := codes.LoadOrStore(k, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var wg sync.WaitGroup
	var sentHead atomic.Int64
	start := time.Now()
	for i := range slowUploaders {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				count("dial error")
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(attackBound))
			chunked := i%2 == 1
			length := "Content-Length: " + fmt.Sprint(len(chunk)*slowChunks)
			if chunked {
				length = "Transfer-Encoding: chunked"
			}
			fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: x\r\nWebhook-Id: msg_slow_%d\r\nWebhook-Timestamp: %d\r\nWebhook-Signature: v1,AAAA\r\n%s\r\n\r\n",
				i, time.Now().Unix(), length)
			sentHead.Add(1)
			answered := make(chan string, 1)
			go func() {
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					line = "no answer"
				}
				answered <- strings.TrimSpace(line)
			}()
			for range slowChunks {
				select {
				case line := <-answered:
					count(line)
					return
				case <-time.After(slowGap):
				}
				var err error
				if chunked {
					if _, err = fmt.Fprintf(c, "%x\r\n", len(chunk)); err == nil {
						if _, err = c.Write(chunk); err == nil {
							_, err = c.Write([]byte("\r\n"))
						}
					}
				} else {
					_, err = c.Write(chunk)
				}
				if err != nil {
					break
				}
			}
			if chunked {
				fmt.Fprint(c, "0\r\n\r\n")
			}
			count(<-answered)
		})
	}

	// Valid deliveries during the attack, one at a time.
	var lat []time.Duration
	var worst time.Duration
	worstAt := -1
	failed := map[string]int{}
	// The latency is measured once every attacker is connected and has sent its headers: the
	// connection storm itself (2,000 dials and accepts in this one process) is timed apart.
	t0 := time.Now()
	if resp, err := post("msg_storm", 0); err == nil {
		resp.Body.Close()
	}
	storm := time.Since(t0)
	for deadline := time.Now().Add(10 * time.Second); sentHead.Load() < slowUploaders && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	connected := time.Since(start)
	for i := range validCount {
		t0 := time.Now()
		resp, err := post(fmt.Sprint("msg_valid_", i), i+1)
		d := time.Since(t0)
		switch {
		case err != nil:
			failed["error"]++
		case resp.StatusCode != http.StatusOK:
			failed[resp.Status]++
			resp.Body.Close()
		default:
			resp.Body.Close()
			lat = append(lat, d)
			if d > worst {
				worst, worstAt = d, i
			}
		}
		time.Sleep(validGap)
	}
	wg.Wait()
	attackFor := time.Since(start)
	close(stopSampling)
	<-sampled
	client.CloseIdleConnections()
	time.Sleep(time.Second)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	after := ms.HeapInuse + ms.StackInuse

	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	var answers []string
	codes.Range(func(k, v any) bool {
		answers = append(answers, fmt.Sprintf("%q×%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(answers)
	const mb = 1 << 20
	b.Logf("%d slow uploads in %v: answers %s", slowUploaders, attackFor.Round(time.Millisecond), strings.Join(answers, ", "))
	b.Logf("memory (heap+stacks in use): base %d MB, peak %d MB, after GC %d MB; runtime Sys peak %d MB",
		base/mb, peak.Load()/mb, after/mb, peakSys.Load()/mb)
	b.Logf("valid deliveries (from %v, when all attackers were connected): %d acked, failures %v; p50 %v, p99 %v, max %v (delivery %d); one sent in the connection storm: %v",
		connected.Round(time.Millisecond), len(lat), failed, pct(0.5), pct(0.99), pct(1), worstAt, storm.Round(time.Millisecond))
	b.ReportMetric(float64(peak.Load())/mb, "peak_MB")
	b.ReportMetric(float64(peakSys.Load())/mb, "sys_MB")
	b.ReportMetric(float64(after)/mb, "after_gc_MB")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "valid_p99_ms")
	b.ReportMetric(float64(pct(1).Microseconds())/1000, "valid_max_ms")
	b.ReportMetric(float64(len(lat)), "valid_acked")
}
