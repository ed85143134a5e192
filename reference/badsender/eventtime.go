package badsender

// event-time-timestamp signs the event's creation time into every attempt instead of the attempt's own time.
func init() {
	register(flaw{
		name:   "event-time-timestamp",
		breaks: "SND-TS-001: each attempt is signed with the time of that attempt",
		apply:  func(p *policy) { p.eventTimestamp = true },
	})
}
