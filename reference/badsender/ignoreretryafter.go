package badsender

// ignores-retry-after retries on its schedule whatever Retry-After says.
func init() {
	register(flaw{
		name:   "ignores-retry-after",
		breaks: "SND-STATUS-003: Retry-After on a 429 or 503 delays the next attempt",
		apply:  func(p *policy) { p.honourRetryAfter = false },
	})
}
