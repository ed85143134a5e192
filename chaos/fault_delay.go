package chaos

import "time"

func init() {
	Register(FaultType{
		Name:    "delay",
		Summary: "wait before forwarding and/or before answering",
		Kind:    KindDelays,
		Primary: "duration",
		Params: map[string]string{
			"duration": "how long: 2s (fixed), 100ms-2s (uniform) or 1s~200ms (normal, mean~jitter); default 1s",
			"when":     "request (default: before forwarding), response (before answering) or both",
		},
		New: func(c *Config) (Fault, error) {
			return delay{
				d:    c.Dist("duration", Dist{A: time.Second}),
				when: c.Enum("when", "request", "request", "response", "both"),
			}, nil
		},
	})
}

// delay slows an exchange down, as a congested path or a slow hop would.
type delay struct {
	d    Dist
	when string
}

func (d delay) Apply(x *Exchange, next Next) Result {
	r := x.Rand()
	if d.when != "response" {
		w := d.d.Sample(r)
		x.Note("%s before request", w)
		if err := x.Wait(w); err != nil {
			return Gone(err)
		}
	}
	res := next(x)
	if d.when != "request" {
		w := d.d.Sample(r)
		x.Note("%s before response", w)
		if err := x.Wait(w); err != nil {
			res.Discard()
			return Gone(err)
		}
	}
	return res
}
