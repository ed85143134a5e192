package badsender

// 3xx-is-success takes a redirect for a delivered attempt: it neither follows it nor retries.
func init() {
	register(flaw{
		name:   "3xx-is-success",
		breaks: "SND-STATUS-001: a 3xx is a failed attempt, retried at the event's own URL",
		apply:  func(p *policy) { p.redirectIsAck = true },
	})
}
