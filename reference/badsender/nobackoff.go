package badsender

// no-backoff retries at a fixed interval instead of backing off.
func init() {
	register(flaw{
		name:   "no-backoff",
		breaks: "SND-RETRY-004: the delays between retries grow",
		apply:  func(p *policy) { p.backoff = false },
	})
}
