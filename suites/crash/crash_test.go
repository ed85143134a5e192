package crash_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/suites/crash"
)

// The reference receiver as it ships in the image: SQLite on the data volume, effects to the
// drill's sink. {port}, {secret} and {sink} are filled in by the drill.
var receiverArgs = []string{"receiver", "--listen", "127.0.0.1:{port}", "--secret", "{secret}",
	"--db", "/data/receiver.db", "--sink", "{sink}"}

var ackBeforeDurableArgs = []string{"badreceiver", "--flaw", knownbad.AckBeforeDurable,
	"--listen", "127.0.0.1:{port}", "--secret", "{secret}", "--db", "/data/receiver.db", "--sink", "{sink}"}

// A short retry schedule: the drill is about the crash, not about waiting out Standard
// Webhooks' 5-minute second retry. Four attempts in flight keep delivery slow enough that the
// kill lands while messages are still on their way.
var senderArgs = []string{"sender", "--listen", "127.0.0.1:{port}", "--db", "/data/sender.db", "--per-endpoint", "4", "--allow-private",
	"--schedule", "0s,200ms,500ms,1s,1s,2s,2s,2s,2s,2s"}

// logsOnFailure prints the endpoint's output with a failed assertion.
func logsOnFailure(logs string) string {
	if len(logs) > 4000 {
		logs = "..." + logs[len(logs)-4000:]
	}
	return "container output:\n" + logs
}

var _ = Describe("Crash consistency", Label("crash", "docker"), func() {
	drill := []crash.Option{crash.WithLogf(func(f string, a ...any) { GinkgoWriter.Printf(f+"\n", a...) })}

	Describe("a receiver SIGKILLed mid-run and restarted on the same volume", func() {
		It("reference receiver: every acknowledged event has exactly one effect, nothing is lost", func(ctx SpecContext) {
			out, err := crash.ReceiverCrash(ctx, image, receiverArgs, drill...)
			Expect(err).NotTo(HaveOccurred())
			l := out.Results.Load.Ledger
			Expect(out.Violations()).To(BeEmpty(), logsOnFailure(out.Results.TargetLogs))
			Expect(out.Crash.KilledAt).NotTo(BeZero())
			Expect(out.Crash.RestartedAt).To(BeTemporally(">", out.Crash.KilledAt))
			Expect(l.Published).To(BeNumerically(">", 100), "the drill must carry real traffic")
			Expect(l.Effects).To(Equal(l.Acked))
			Expect(l.Retries).To(BeNumerically(">", 0), "the kill must have forced retries")
			Expect(out.Results.TargetLogs).NotTo(ContainSubstring("whsec_"), "secrets never reach the logs")
		}, SpecTimeout(2*time.Minute))

		It("known-bad receiver that acknowledges before its write is durable: fails", func(ctx SpecContext) {
			out, err := crash.ReceiverCrash(ctx, image, ackBeforeDurableArgs, append(drill, crash.WithSinkWait(6*time.Second))...)
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Violations()).NotTo(BeEmpty(), "the drill must catch a receiver that loses acknowledged events")
			Expect(out.Results.Load.Ledger.Lost).To(BeNumerically(">", 0))
			Expect(strings.Join(out.Violations(), "; ")).To(ContainSubstring("lost"))
		}, SpecTimeout(2*time.Minute))
	})

	Describe("a sender SIGKILLed during delivery and restarted on the same volume", func() {
		It("reference sender: every message is delivered and processed exactly once", func(ctx SpecContext) {
			out, err := crash.SenderCrash(ctx, image, senderArgs,
				append(drill, crash.WithMessages(300), crash.WithChaos("duplicate=0.05,lost-ack=0.03,delay=20ms-80ms"))...)
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Violations()).To(BeEmpty(), logsOnFailure(out.Logs))
			Expect(out.Crash.EffectsAtKill).To(BeNumerically("<", out.Messages), "the kill must land mid-delivery")
		}, SpecTimeout(2*time.Minute))
	})
})
