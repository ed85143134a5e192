package load_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reports"
)

var _ = Describe("a load run against the reference receiver", Label("reference", "chaos"), func() {
	It("passes every default threshold through the issue's chaos (LOAD-EXACTLY-ONCE, LOAD-SIG-REJECT, LOAD-ACK-LATENCY)", func() {
		ep := startReference()
		cfg := short(ep.url)
		cfg.Chaos = testChaos
		res := run(cfg, ep)
		ledgerCloses(res)
		l := res.Load.Ledger
		GinkgoWriter.Printf("latency %+v\nerrors %v\nstatus codes %v\n", res.Load.Latency, res.Load.Errors, res.Load.StatusCodes)
		Expect(failedThresholds(res)).To(BeEmpty(), "every threshold passes")
		Expect(l.Acked).To(Equal(l.Published), "every valid event is acked in the end")
		Expect(l.Retries).To(BeNumerically(">", 0), "chaos made some attempts fail and be retried")
		Expect(l.InvalidSent).To(BeNumerically(">", 0))
		Expect(l.Observed).To(BeTrue())
		Expect(l.Effects).To(Equal(l.Published), "one effect per event, however often it was delivered")
		Expect(res.Chaos).NotTo(BeNil())
		for _, fault := range []string{"drop", "lost-ack", "duplicate", "delay", "reorder"} {
			Expect(res.Chaos.Counters).To(HaveKeyWithValue(fault, BeNumerically(">", 0)), "the %s fault fired", fault)
		}
		Expect(res.Load.Series).NotTo(BeEmpty())
		Expect(res.Load.Histogram).NotTo(BeEmpty())
	})
})

// correctOtherwise checks that the correctness thresholds other than the one a flaw breaks
// pass: the run blames the right flaw. (Ack latency is left to its own spec: on a machine
// busy enough, any run can be slow.)
func correctOtherwise(res *reports.Results, exprs ...string) {
	for _, e := range exprs {
		th := threshold(res, e)
		Expect(th.Passed).To(BeTrue(), "%s: observed %s", e, th.Display)
	}
}

var _ = Describe("a load run against known-bad receivers", Label("knownbad"), func() {
	It("passes against the flaw-free control", func() {
		ep := startKnownBad(knownbad.None)
		res := run(short(ep.url), ep)
		ledgerCloses(res)
		Expect(failedThresholds(res)).To(BeEmpty())
	})

	It("fails doubled==0 against a receiver that processes duplicates again", func() {
		ep := startKnownBad("double-process")
		cfg := short(ep.url)
		cfg.Chaos = "lost-ack=0.05"
		res := run(cfg, ep)
		ledgerCloses(res)
		Expect(threshold(res, "doubled==0").Passed).To(BeFalse())
		correctOtherwise(res, "lost==0", "invalid_accepted==0")
		Expect(res.Load.Ledger.Doubled).To(BeNumerically(">", 0))
		Expect(res.ThresholdsPassed()).To(BeFalse())
	})

	It("fails invalid_accepted==0 against a receiver that checks no signature", func() {
		ep := startKnownBad("no-signature-check")
		cfg := short(ep.url)
		cfg.Invalid = 0.2
		res := run(cfg, ep)
		ledgerCloses(res)
		Expect(threshold(res, "invalid_accepted==0").Passed).To(BeFalse())
		correctOtherwise(res, "lost==0", "doubled==0")
		l := res.Load.Ledger
		Expect(l.InvalidAccepted).To(Equal(l.InvalidSent), "every forged delivery got through")
		// Every kind of invalid signature was tried and accepted.
		Expect(threshold(res, "invalid_accepted==0").Display).To(SatisfyAll(
			ContainSubstring("wrong-secret"), ContainSubstring("flipped-signature"), ContainSubstring("tampered-body"),
			ContainSubstring("stale-timestamp"), ContainSubstring("missing-signature")))
	})

	It("fails ack_p99<5s against a receiver that acks too slowly", Label("slow"), func() {
		ep := startKnownBad("slow-ack")
		cfg := short(ep.url)
		cfg.Rate.Freq = 100
		cfg.Duration = time.Second
		res := run(cfg, ep)
		ledgerCloses(res)
		Expect(threshold(res, "ack_p99<5s").Passed).To(BeFalse())
		correctOtherwise(res, "lost==0", "doubled==0", "invalid_accepted==0")
		Expect(res.Load.Latency.P99).To(BeNumerically(">=", 5000))
		Expect(res.Load.Ledger.Acked).To(Equal(res.Load.Ledger.Published), "slow, but every event acked")
	})
})
