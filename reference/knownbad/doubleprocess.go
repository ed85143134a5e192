package knownbad

// double-process keeps no record of processed delivery ids: every retry or duplicate of a
// delivery is processed again and causes another effect.
func init() {
	register(flaw{
		name:   "double-process",
		breaks: "processes each delivery id once, however often it is delivered",
		apply: func(b *behaviour, _ flawEnv) error {
			b.dedupe = false
			return nil
		},
	})
}
