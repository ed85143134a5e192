package chaos

func init() {
	Register(FaultType{
		Name:    "duplicate",
		Summary: "forwarded 1+N times; the client gets the first answer",
		Kind:    KindRepeats,
		Params: map[string]string{
			"copies": "extra copies to send, 1 (default) to 100",
			"after":  "delay of each copy: 0 (default, at once), 2s, 1s-5s or 2s~500ms",
		},
		New: func(c *Config) (Fault, error) {
			return duplicate{copies: c.Int("copies", 1, 1, 100), after: c.Dist("after", Dist{})}, nil
		},
	})
}

// duplicate sends extra copies of a request, as a sender that retried too eagerly or a
// network that delivered twice would. Copies run through the faults declared after this one.
type duplicate struct {
	copies int
	after  Dist
}

func (d duplicate) Apply(x *Exchange, next Next) Result {
	r := x.Rand()
	for i := 0; i < d.copies; i++ {
		delay := d.after.Sample(r)
		x.Note("copy %d after %s", i+1, delay)
		x.Resend(delay, next)
	}
	return next(x)
}
