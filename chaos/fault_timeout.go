package chaos

import "time"

func init() {
	Register(FaultType{
		Name:    "timeout",
		Summary: "accept the request and never answer until the client gives up",
		Kind:    KindLosesRequest,
		KindFor: func(p Params) Kind { // forwarded first, it is the answer that is lost
			if newConfig(p).Bool("forward", false) {
				return KindLosesAnswer
			}
			return KindLosesRequest
		},
		Params: map[string]string{
			"max":     "give up on the client after this long and reset (default 0: wait for the client)",
			"forward": "forward the request anyway before hanging: true or false (default)",
		},
		New: func(c *Config) (Fault, error) {
			return timeout{max: c.Duration("max", 0), forward: c.Bool("forward", false)}, nil
		},
	})
}

// timeout is a black hole: the connection stays open and silent.
type timeout struct {
	max     time.Duration
	forward bool
}

func (t timeout) Apply(x *Exchange, next Next) Result {
	if t.forward {
		res := next(x)
		x.Note("forwarded (upstream %d), then silent", res.Status)
		res.Discard()
	} else {
		x.Note("not forwarded, silent")
	}
	return Result{End: EndHang, HangMax: t.max}
}
