package sender

import "time"

// breaker is the circuit breaker of one endpoint. Closed, it counts consecutive failed
// attempts; at the threshold it opens and holds the endpoint's messages for a cooldown; then
// it is half-open and lets one probe through: success closes it, failure opens it again
// for twice the cooldown (up to a maximum). It is guarded by Sender.mu.
type breaker struct {
	failures  int           // consecutive failed attempts
	openUntil time.Time     // zero while closed
	cooldown  time.Duration // the current one, while open
	probing   bool          // the half-open probe is under way
}

// allow reports whether an attempt may start now, and whether it is the half-open probe.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	switch {
	case b.openUntil.IsZero():
		return true, false
	case now.Before(b.openUntil) || b.probing:
		return false, false
	}
	b.probing = true
	return true, true
}

// record counts an attempt's outcome (probe: it was the half-open probe) and reports whether
// the breaker (re)opened, and until when.
func (b *breaker) record(success, probe bool, now time.Time, threshold int, cooldown, max time.Duration) (bool, time.Time) {
	if threshold <= 0 {
		return false, time.Time{}
	}
	if success {
		*b = breaker{}
		return false, time.Time{}
	}
	b.failures++
	switch {
	case probe: // the half-open probe failed
		b.probing = false
		b.cooldown = min(2*b.cooldown, max)
	case b.openUntil.IsZero() && b.failures >= threshold:
		b.cooldown = cooldown
	default:
		return false, time.Time{}
	}
	b.openUntil = now.Add(b.cooldown)
	return true, b.openUntil
}

// state names the breaker's state at now, for the API.
func (b *breaker) state(now time.Time) string {
	switch {
	case b.openUntil.IsZero():
		return "closed"
	case now.Before(b.openUntil):
		return "open"
	}
	return "half-open"
}

// restoreBreakers rebuilds the breakers a previous process saved. One that was probing is
// half-open again: its probe was interrupted with the process.
func restoreBreakers(saved map[string]breakerRow) map[string]*breaker {
	out := make(map[string]*breaker, len(saved))
	for id, r := range saved {
		out[id] = &breaker{failures: r.failures, openUntil: r.openUntil, cooldown: r.cooldown}
	}
	return out
}
