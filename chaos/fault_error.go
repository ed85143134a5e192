package chaos

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func init() {
	Register(FaultType{
		Name:    "error",
		Summary: "answer with a synthetic error status without forwarding",
		Kind:    KindErrors,
		Params: map[string]string{
			"status":      "status to answer, 400-599, or a list to pick from per request (500|502|503); default 503",
			"retry-after": "Retry-After to send, in seconds or as a duration; default 1 with 429 and 503, none otherwise",
		},
		New: newError,
	})
}

func newError(c *Config) (Fault, error) {
	e := errorFault{statuses: []int{http.StatusServiceUnavailable}}
	c.Custom("status", func(v string) error {
		var list []int
		for _, s := range strings.Split(v, "|") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 400 || n > 599 {
				return errors.New("want a status from 400 to 599, or several joined with |")
			}
			list = append(list, n)
		}
		e.statuses = list
		return nil
	})
	e.retryAfter = -1
	if d := c.Duration("retry-after", -1); d >= 0 {
		e.retryAfter = int((d + time.Second - 1) / time.Second)
	}
	return e, nil
}

// errorFault answers in the upstream's place with a failure status, as an overloaded or
// broken endpoint would; 429 and 503 carry Retry-After.
type errorFault struct {
	statuses   []int
	retryAfter int // seconds; -1: the default for the status
}

func (e errorFault) Apply(x *Exchange, _ Next) Result {
	status := e.statuses[0]
	if len(e.statuses) > 1 {
		status = e.statuses[x.Rand().IntN(len(e.statuses))]
	}
	h := http.Header{"Content-Type": {"application/json"}}
	ra := e.retryAfter
	if ra < 0 && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		ra = 1
	}
	if ra >= 0 {
		h.Set("Retry-After", strconv.Itoa(ra))
	}
	x.Note("answered %d without forwarding", status)
	return Synthetic(status, h, fmt.Sprintf(`{"error":"chaos: injected %d %s"}`+"\n", status, http.StatusText(status)))
}
