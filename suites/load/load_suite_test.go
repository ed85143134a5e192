package load_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/load"
)

// The load suite runs real, short load runs on loopback: the reference receiver through
// chaos must pass every default threshold, and each known-bad receiver must fail exactly the
// threshold its flaw breaks. Labels select them: reference, knownbad, chaos, engine, slow.
func TestLoadSuite(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "load")
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// testChaos is the chaos mix (drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-2s,
// reorder=0.1) with smaller delays, so that a busy 2-core machine keeps acks well under 5 s.
const testChaos = "drop=0.05,lost-ack=0.05,duplicate=0.1,delay=0-500ms,reorder=0.1"

// endpoint is a receiver under test on loopback, reporting its effects to a fresh sink.
type endpoint struct {
	url  string
	sink *sink.Collector
}

// startSink serves an effect sink for one spec.
func startSink() *sink.Server {
	srv, err := sink.Listen(context.Background(), "")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(srv.Close)
	return srv
}

// startReference serves the durable reference receiver (SQLite in a temporary directory).
func startReference() endpoint {
	s := startSink()
	client, err := sink.NewClient(s.URL())
	Expect(err).NotTo(HaveOccurred())
	scheme, err := signature.New("standard", secret)
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "inbox.db")
	rcv, err := receiver.Open(context.Background(), scheme, path, receiver.WithSink(client))
	Expect(err).NotTo(HaveOccurred())
	ts := httptest.NewServer(rcv)
	DeferCleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		Expect(rcv.Close(ctx)).To(Succeed())
	})
	return endpoint{url: ts.URL + "/webhooks", sink: s.Collector}
}

// startKnownBad serves an in-memory receiver broken by flaw ("" for the flaw-free control).
func startKnownBad(flaw string, opts ...knownbad.Option) endpoint {
	s := startSink()
	rcv, err := knownbad.New(flaw, "standard", secret, append(opts, knownbad.WithSink(s.URL()))...)
	Expect(err).NotTo(HaveOccurred())
	ts := httptest.NewServer(rcv)
	DeferCleanup(ts.Close)
	return endpoint{url: ts.URL + "/webhooks", sink: s.Collector}
}

// short is a run small enough for a busy 2-core machine: 150 deliveries a second for 2 s,
// a short drain, with invalid and duplicate deliveries mixed in.
func short(url string) load.Config {
	return load.Config{
		URL: url, Secret: secret, Rate: load.Rate{Freq: 150, Per: time.Second}, Duration: 2 * time.Second,
		Invalid: 0.05, Duplicate: 0.1, Seed: 20251129,
		Timeout: 8 * time.Second, Drain: 15 * time.Second, SinkWait: 10 * time.Second,
		Backoff: load.Backoff{Base: 100 * time.Millisecond, Cap: time.Second},
	}
}

func run(cfg load.Config, ep endpoint) *reports.Results {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := load.Run(ctx, cfg, load.WithCollector(ep.sink))
	Expect(err).NotTo(HaveOccurred())
	Expect(res.Load).NotTo(BeNil())
	return res
}

// threshold returns the graded threshold expr of res.
func threshold(res *reports.Results, expr string) reports.Threshold {
	for _, th := range res.Load.Thresholds {
		if th.Expr == expr {
			return th
		}
	}
	Fail("no threshold " + expr + " in the results")
	return reports.Threshold{}
}

// failedThresholds lists the expressions of res's failed thresholds.
func failedThresholds(res *reports.Results) []string {
	out := []string{}
	for _, th := range res.Load.Thresholds {
		if !th.Passed {
			out = append(out, th.Expr)
		}
	}
	return out
}

// ledgerCloses checks the arithmetic every run must satisfy.
func ledgerCloses(res *reports.Results) {
	l := res.Load.Ledger
	Expect(l.Void).To(BeFalse(), "ledger void: %s", l.VoidReason)
	Expect(l.Published).To(Equal(l.Acked+l.FailedAfterRetries+l.CutOff), "published = acked + failed + cut off")
	Expect(l.Published).To(BeNumerically(">", 0))
}
