package chaos

func init() {
	Register(FaultType{
		Name:    "lost-ack",
		Summary: "forwarded and answered upstream, but the client gets an error instead of the answer",
		Kind:    KindLosesAnswer,
		Params:  map[string]string{"mode": "what the client sees: reset (default), 502, 504, or hang until it gives up"},
		New: func(c *Config) (Fault, error) {
			return lostAck{mode: c.Enum("mode", "reset", "reset", "502", "504", "hang")}, nil
		},
	})
}

// lostAck delivers the request but loses the answer: the upstream processed it and the
// client, seeing a failure, will send it again. This is where duplicates come from.
type lostAck struct{ mode string }

func (l lostAck) Apply(x *Exchange, next Next) Result {
	res := next(x)
	if res.Err != nil {
		x.Note("upstream failed (%v), client sees %s", res.Err, l.mode)
	} else {
		x.Note("upstream answered %d, client sees %s", res.Status, l.mode)
	}
	res.Discard()
	return clientSees(l.mode, 0)
}
