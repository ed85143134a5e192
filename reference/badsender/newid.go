package badsender

// new-id-per-retry gives every retry a fresh delivery id, so the receiver cannot tell it is the same event.
func init() {
	register(flaw{
		name:   "new-id-per-retry",
		breaks: "SND-ID-001: a retry of one event keeps its delivery id",
		apply:  func(p *policy) { p.freshID = true },
	})
}
