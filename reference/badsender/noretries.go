package badsender

// no-retries makes one attempt and gives up whatever the answer.
func init() {
	register(flaw{
		name:   "no-retries",
		breaks: "SND-RETRY-001 to 004, SND-STATUS-001 and 003: failed attempts are retried",
		apply:  func(p *policy) { p.retries = false },
	})
}
