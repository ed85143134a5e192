package chaos

import "errors"

func init() {
	Register(FaultType{
		Name:    "reset",
		Summary: "forward, then reset the connection part-way through the response",
		Kind:    KindLosesAnswer,
		Params:  map[string]string{"at": "fraction of the response bytes sent before the reset, in (0,1); default 0.5"},
		New: func(c *Config) (Fault, error) {
			at := 0.5
			c.Custom("at", func(v string) error {
				f, err := parseFraction(v)
				if err != nil {
					return err
				}
				if f <= 0 || f >= 1 {
					return errors.New("want a fraction strictly between 0 and 1")
				}
				at = f
				return nil
			})
			return reset{at: at}, nil
		},
	})
}

// reset breaks the connection while the answer is on the wire: the upstream processed
// the request, the client got a truncated response.
type reset struct{ at float64 }

func (r reset) Apply(x *Exchange, next Next) Result {
	res := next(x)
	x.Note("reset after %.0f%% of the response", r.at*100)
	res.End, res.Cut = EndResetPartway, r.at
	return res
}
