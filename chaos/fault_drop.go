package chaos

import (
	"net/http"
	"time"
)

func init() {
	Register(FaultType{
		Name:    "drop",
		Summary: "the request never reaches the upstream",
		Kind:    KindLosesRequest,
		Params:  map[string]string{"mode": "what the client sees: reset (default), 502, or hang until it gives up"},
		New: func(c *Config) (Fault, error) {
			return drop{mode: c.Enum("mode", "reset", "reset", "502", "hang")}, nil
		},
	})
}

// drop loses the request on its way to the upstream.
type drop struct{ mode string }

func (d drop) Apply(x *Exchange, _ Next) Result {
	x.Note("not forwarded, client sees %s", d.mode)
	return clientSees(d.mode, 0)
}

// clientSees is the Result for a request that gets no real answer, by mode name.
func clientSees(mode string, hangMax time.Duration) Result {
	switch mode {
	case "502":
		return Synthetic(http.StatusBadGateway, nil, "Bad Gateway\n")
	case "504":
		return Synthetic(http.StatusGatewayTimeout, nil, "Gateway Timeout\n")
	case "hang":
		return Result{End: EndHang, HangMax: hangMax}
	default:
		return Ended(EndReset)
	}
}
