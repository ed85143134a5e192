package chaos

import "time"

func init() {
	Register(FaultType{
		Name:    "replay",
		Summary: "forward normally, then send the same captured request again later",
		Kind:    KindRepeats,
		Params: map[string]string{
			"after":  "when to replay: default 6m (past a 5-minute timestamp tolerance); 2s, 1m-10m or 6m~30s",
			"copies": "how many replays, 1 (default) to 100, each after its own delay",
		},
		New: func(c *Config) (Fault, error) {
			return replay{after: c.Dist("after", Dist{A: 6 * time.Minute}), copies: c.Int("copies", 1, 1, 100)}, nil
		},
	})
}

// replay resends a captured request byte for byte once it has been answered, as an
// attacker would: a receiver must refuse it (stale timestamp) or process it only once.
type replay struct {
	after  Dist
	copies int
}

func (p replay) Apply(x *Exchange, next Next) Result {
	res := next(x)
	r := x.Rand()
	for i := 0; i < p.copies; i++ {
		d := p.after.Sample(r)
		x.Note("replay %d after %s", i+1, d)
		x.Resend(d, next)
	}
	return res
}
