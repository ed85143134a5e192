package load_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/load"
)

// scripted is a target whose answer depends on how often it has seen a delivery id. It
// verifies every request's signature, so a retry that is not freshly and correctly signed
// shows up as a bad signature.
type scripted struct {
	mu      sync.Mutex
	seen    map[string]int
	ids     []string
	badSigs int
	answer  func(attempt int) int // status for the n-th request (from 1) of an id
	hold    time.Duration
}

func newScripted(answer func(attempt int) int) *scripted {
	return &scripted{seen: map[string]int{}, answer: answer}
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(r.Body)
	scheme, _ := signature.New("standard", secret)
	_, err := scheme.Verify(r.Header, body)
	id := r.Header.Get("webhook-id")
	s.mu.Lock()
	if err != nil {
		s.badSigs++
	}
	s.seen[id]++
	n := s.seen[id]
	if n == 1 {
		s.ids = append(s.ids, id)
	}
	s.mu.Unlock()
	if s.hold > 0 {
		select {
		case <-time.After(s.hold):
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(s.answer(n))
}

func (s *scripted) serve() string {
	ts := httptest.NewServer(s)
	DeferCleanup(ts.Close)
	return ts.URL + "/hook"
}

// bare is a run without a sink, invalid or duplicate deliveries: the ledger's own arithmetic.
func bare(url string) load.Config {
	return load.Config{
		URL: url, Secret: secret, Rate: load.Rate{Freq: 100, Per: time.Second}, Duration: time.Second,
		Seed: 1, Timeout: 5 * time.Second, Drain: 10 * time.Second,
		Backoff: load.Backoff{Base: 5 * time.Millisecond, Cap: 20 * time.Millisecond},
	}
}

func runBare(ctx context.Context, cfg load.Config) *reports.Results {
	res, err := load.Run(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	return res
}

var _ = Describe("the load engine", Label("engine"), func() {
	It("sends one signed attempt per tick and books each in the ledger, the series and the histogram", func() {
		target := newScripted(func(int) int { return http.StatusOK })
		res := runBare(context.Background(), bare(target.serve()))
		ledgerCloses(res)
		l := res.Load
		Expect(l.Ledger.Attempts).To(Equal(l.Ledger.Published))
		Expect(l.Ledger.Acked).To(Equal(l.Ledger.Published))
		Expect(l.Ledger.Retries).To(BeZero())
		Expect(l.Ledger.Effects).To(Equal(-1), "no sink: effects not observed")
		Expect(l.StatusCodes).To(Equal(map[string]int{"200": l.Ledger.Attempts}))
		Expect(target.badSigs).To(BeZero())
		Expect(target.ids).To(HaveLen(l.Ledger.Published), "every event has its own id")
		sent, hist := 0, 0
		for _, p := range l.Series {
			sent += p.Sent
		}
		for _, b := range l.Histogram {
			hist += b.Count
		}
		Expect(sent).To(Equal(l.Ledger.Attempts))
		Expect(hist).To(Equal(l.Ledger.Acked))
		Expect(l.Latency.P50).To(BeNumerically("<=", l.Latency.P99))
		Expect(l.Latency.P99).To(BeNumerically("<=", l.Latency.Max))
		Expect(res.Run.Versions).To(HaveKey("go"))
		Expect(res.Run.Shard.RunID).NotTo(BeEmpty())
	})

	It("retries a failed delivery with the same id and a fresh, valid signature until it is acked", func() {
		target := newScripted(func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		})
		res := runBare(context.Background(), bare(target.serve()))
		ledgerCloses(res)
		l := res.Load.Ledger
		Expect(l.Acked).To(Equal(l.Published))
		Expect(l.Retries).To(Equal(2 * l.Published))
		Expect(target.badSigs).To(BeZero(), "every retry is signed afresh")
		for _, id := range target.ids {
			Expect(target.seen[id]).To(Equal(3), "id %s", id)
		}
		Expect(res.Load.StatusCodes).To(HaveKeyWithValue("503", 2*l.Published))
	})

	It("gives up after the last attempt, and a target that never acks fails ack_p99 for want of acks", func() {
		target := newScripted(func(int) int { return http.StatusInternalServerError })
		cfg := bare(target.serve())
		cfg.MaxAttempts = 3
		res := runBare(context.Background(), cfg)
		ledgerCloses(res)
		l := res.Load.Ledger
		Expect(l.FailedAfterRetries).To(Equal(l.Published))
		Expect(l.Acked).To(BeZero())
		Expect(l.Attempts).To(Equal(3 * l.Published))
		th := threshold(res, "ack_p99<5s")
		Expect(th.Passed).To(BeFalse())
		Expect(th.Display).To(ContainSubstring("no acks"))
	})

	It("cuts off what is still pending when the drain ends, and the ledger still closes", func() {
		target := newScripted(func(int) int { return http.StatusBadGateway })
		cfg := bare(target.serve())
		cfg.Duration = 500 * time.Millisecond
		cfg.MaxAttempts = 100
		cfg.Backoff = load.Backoff{Base: 100 * time.Millisecond, Cap: 100 * time.Millisecond}
		cfg.Drain = 300 * time.Millisecond
		start := time.Now()
		res := runBare(context.Background(), cfg)
		Expect(time.Since(start)).To(BeNumerically("<", 20*time.Second), "the drain is bounded")
		ledgerCloses(res)
		l := res.Load.Ledger
		Expect(l.CutOff).To(Equal(l.Published))
		Expect(l.FailedAfterRetries).To(BeZero())
		Expect(l.Retries).To(BeNumerically(">", 0))
	})

	It("counts an attempt that times out as an ack at least as slow as the timeout", func() {
		target := newScripted(func(int) int { return http.StatusOK })
		target.hold = time.Minute
		cfg := bare(target.serve())
		cfg.Rate.Freq = 20
		cfg.Duration = 500 * time.Millisecond
		cfg.Timeout = 300 * time.Millisecond
		cfg.MaxAttempts = 2
		cfg.Thresholds = []string{"timeouts==0"}
		res := runBare(context.Background(), cfg)
		ledgerCloses(res)
		l := res.Load
		Expect(l.Ledger.FailedAfterRetries).To(Equal(l.Ledger.Published))
		Expect(l.Latency.P50).To(BeNumerically(">=", 300), "a timeout is a slow ack, never a missing one")
		Expect(l.Errors).To(HaveKey(ContainSubstring("timeout")))
		Expect(threshold(res, "timeouts==0").Passed).To(BeFalse())
	})

	It("measures latency from the scheduled send time, so a generator held back by a slow target does not hide it", func() {
		target := newScripted(func(int) int { return http.StatusOK })
		target.hold = 200 * time.Millisecond
		cfg := bare(target.serve())
		cfg.Rate.Freq = 50
		cfg.Duration = time.Second
		cfg.Workers, cfg.MaxWorkers = 1, 1
		res := runBare(context.Background(), cfg)
		ledgerCloses(res)
		// One worker sends one attempt every 200 ms where the schedule asked for one every
		// 20 ms: the later attempts were due long before they could be sent.
		Expect(res.Load.Latency.Max).To(BeNumerically(">", 2*200))
	})

	It("sends shards of one run at rate/n with ids that never collide", func() {
		target := newScripted(func(int) int { return http.StatusOK })
		url := target.serve()
		var runs []*reports.Results
		for i := 1; i <= 2; i++ {
			cfg := bare(url)
			cfg.Duration = 500 * time.Millisecond
			cfg.Shard = load.Shard{Index: i, Count: 2}
			cfg.RunID = "load-shared"
			runs = append(runs, runBare(context.Background(), cfg))
		}
		for _, r := range runs {
			Expect(r.Load.Rate).To(BeNumerically("~", 50, 0.001))
			Expect(r.Run.Shard.RunID).To(Equal("load-shared"))
		}
		total := runs[0].Load.Ledger.Published + runs[1].Load.Ledger.Published
		Expect(target.ids).To(HaveLen(total), "no id was sent by both shards")
		merged, err := reports.Merge(runs...)
		Expect(err).NotTo(HaveOccurred())
		Expect(merged).To(HaveLen(1))
		Expect(merged[0].Load.Ledger.Published).To(Equal(total))
	})

	It("retries what a chaos proxy failed and records the proxy's counters", Label("chaos"), func() {
		target := newScripted(func(int) int { return http.StatusOK })
		cfg := bare(target.serve())
		cfg.Chaos = "error=1(status=503,attempts=1)"
		res := runBare(context.Background(), cfg)
		ledgerCloses(res)
		l := res.Load.Ledger
		Expect(l.Retries).To(Equal(l.Published), "each first attempt failed at the proxy")
		Expect(l.Acked).To(Equal(l.Published))
		Expect(res.Chaos).NotTo(BeNil())
		Expect(res.Chaos.Seed).To(Equal(cfg.Seed))
		Expect(res.Chaos.Counters).To(HaveKeyWithValue("error", int64(l.Published)))
		Expect(res.Chaos.Ledger).NotTo(BeEmpty())
		for _, id := range target.ids {
			Expect(target.seen[id]).To(Equal(1), "the proxy answered the first attempts itself")
		}
	})

	It("fails lost==0 for a receiver that reports its effects under ids of its own, and says why", func() {
		s := startSink()
		client, err := sink.NewClient(s.URL())
		Expect(err).NotTo(HaveOccurred())
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			e := sink.Effect{WebhookID: "internal-" + r.Header.Get("webhook-id"), Type: load.EventType, Applied: true}
			if client.Report(r.Context(), e) != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		DeferCleanup(target.Close)
		cfg := bare(target.URL + "/hook")
		cfg.Duration = 500 * time.Millisecond
		cfg.SinkWait, cfg.SinkQuiet = time.Second, 100*time.Millisecond // the effects never come
		res, err := load.Run(context.Background(), cfg, load.WithCollector(s.Collector))
		Expect(err).NotTo(HaveOccurred())
		ledgerCloses(res)
		th := threshold(res, "lost==0")
		Expect(th.Passed).To(BeFalse())
		Expect(th.Display).To(ContainSubstring("is webhook_id the delivery id?"))
		Expect(res.Load.Ledger.Lost).To(Equal(res.Load.Ledger.Acked))
	})

	It("stops when its context ends and returns what it has, the ledger closed", func() {
		target := newScripted(func(int) int { return http.StatusOK })
		cfg := bare(target.serve())
		cfg.Duration = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := load.Run(ctx, cfg)
		Expect(err).To(MatchError(context.DeadlineExceeded))
		Expect(time.Since(start)).To(BeNumerically("<", 20*time.Second))
		Expect(res).NotTo(BeNil())
		ledgerCloses(res)
	})

	It("probes the target first and refuses to attack one that does not answer", func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := ln.Addr().String()
		ln.Close()
		_, err = load.Run(context.Background(), bare("http://"+addr+"/hook"))
		Expect(errors.Is(err, load.ErrUnreachable)).To(BeTrue(), "%v", err)
	})

	DescribeTable("refuses a configuration that cannot run, saying why",
		func(mutate func(*load.Config), want string) {
			cfg := bare("http://127.0.0.1:9/hook")
			mutate(&cfg)
			_, err := load.Run(context.Background(), cfg)
			Expect(errors.Is(err, load.ErrConfig)).To(BeTrue(), "%v", err)
			Expect(err.Error()).To(ContainSubstring(want))
			Expect(err.Error()).NotTo(ContainSubstring(strings.TrimPrefix(secret, "whsec_")))
		},
		Entry("no URL", func(c *load.Config) { c.URL = "" }, "no target URL"),
		Entry("relative URL", func(c *load.Config) { c.URL = "/hook" }, "absolute"),
		Entry("no secret", func(c *load.Config) { c.Secret = "" }, "no secret"),
		Entry("bad secret", func(c *load.Config) { c.Secret = "whsec_tooshort" }, "secret"),
		Entry("unknown scheme", func(c *load.Config) { c.Scheme = "morse" }, "unknown scheme"),
		Entry("no duration", func(c *load.Config) { c.Duration = 0 }, "duration"),
		Entry("too long", func(c *load.Config) { c.Duration = 2 * time.Hour }, "over the limit"),
		Entry("too many deliveries", func(c *load.Config) { c.Rate = load.Rate{Freq: 100000, Per: time.Second}; c.Duration = time.Hour }, "deliveries"),
		Entry("fractions over 1", func(c *load.Config) { c.Invalid, c.Duplicate = 0.6, 0.6 }, "more than 1"),
		Entry("bad threshold", func(c *load.Config) { c.Thresholds = []string{"ack_p99<soon"} }, `"ack_p99<soon"`),
		Entry("sink threshold without a sink", func(c *load.Config) { c.Thresholds = []string{"lost==0"} }, "effect sink"),
		Entry("bad chaos spec", func(c *load.Config) { c.Chaos = "teleport=1" }, "chaos"),
		Entry("bad shard", func(c *load.Config) { c.Shard = load.Shard{Index: 3, Count: 2} }, "shard"),
	)
})
