package badsender

// one-id-for-all gives every event the delivery id of the first one, so a receiver that
// deduplicates by id drops every event after the first.
func init() {
	register(flaw{
		name:   "one-id-for-all",
		breaks: "SND-ID-002: two distinct events carry two distinct delivery ids",
		apply:  func(p *policy) { p.oneID = true },
	})
}
