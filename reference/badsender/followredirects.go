package badsender

// follows-redirects follows redirects like a browser, delivering the event wherever a 3xx points.
func init() {
	register(flaw{
		name:   "follows-redirects",
		breaks: "SND-STATUS-001: a 3xx is a failed attempt, not a redirect to follow",
		apply:  func(p *policy) { p.followRedirects = true },
	})
}
