package knownbad

// slow-ack does its work before answering and the work takes longer than a sender waits
// (WithAckDelay, 5.5 s by default), so every new delivery looks failed and is retried; copies
// of a delivery already processed are acknowledged at once.
func init() {
	register(flaw{
		name:   "slow-ack",
		breaks: "acknowledges a delivery within 5 seconds (and should within 1 second)",
		apply: func(b *behaviour, env flawEnv) error {
			b.ackDelay = env.ackDelay
			return nil
		},
	})
}
