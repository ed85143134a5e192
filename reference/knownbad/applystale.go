package knownbad

// apply-stale applies every event as it arrives, so an older event delivered late overwrites
// a newer one.
func init() {
	register(flaw{
		name:   "apply-stale",
		breaks: "applies the events of one object in increasing seq, skipping stale ones",
		apply: func(b *behaviour, _ flawEnv) error {
			b.skipStale = false
			return nil
		},
	})
}
