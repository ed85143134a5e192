package receiver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

// CloudEvents "HTTP 1.1 Web Hooks for Event Delivery" §4 (abuse protection) headers.
const (
	headerRequestOrigin = "WebHook-Request-Origin"
	headerRequestRate   = "WebHook-Request-Rate"
	headerAllowedOrigin = "WebHook-Allowed-Origin"
	headerAllowedRate   = "WebHook-Allowed-Rate"
	handshakeOrigin     = "hookproof.example"
)

// CloudEvents validation handshake: optional; a target opts in with --opt-in cloudevents, and
// the cases are skipped (never failed) otherwise.
func (e *env) cloudEvents() {
	Describe("CloudEvents handshake", Label("cloudevents"), func() {
		harness.Case("RCV-CE-001", func(ctx SpecContext, c *harness.Check) {
			resp := e.handshake(ctx, c, "validation request", "")
			got := resp.Header.Get(headerAllowedOrigin)
			c.Assert(resp.OK() && (got == handshakeOrigin || got == "*"),
				"2xx with "+headerAllowedOrigin+": "+handshakeOrigin+" (or *)",
				resp.Describe()+", "+headerAllowedOrigin+": "+quoteOrAbsent(got))
		})

		harness.Case("RCV-CE-002", func(ctx SpecContext, c *harness.Check) {
			resp := e.handshake(ctx, c, "validation request asking for 120 requests per minute", "120")
			if !resp.OK() {
				// Refused: because of the rate asked (this case fails), or is every handshake
				// refused (RCV-CE-001's failure; this one has no answer to look at)?
				plain := e.handshake(ctx, c, "control: the same validation request without "+headerRequestRate, "")
				if !plain.OK() {
					harness.NotObservable("no handshake granted; see RCV-CE-001 (with the rate: %s; without: %s)", resp.Describe(), plain.Describe())
				}
				c.Fail("2xx with "+headerAllowedRate+": * or a positive integer",
					resp.Describe()+" to a request with "+headerRequestRate+", though the same request without it was answered "+plain.Describe())
			}
			got := strings.TrimSpace(resp.Header.Get(headerAllowedRate))
			n, err := strconv.Atoi(got)
			c.Assert(resp.OK() && (got == "*" || (err == nil && n > 0)),
				"2xx with "+headerAllowedRate+": * or a positive integer",
				resp.Describe()+", "+headerAllowedRate+": "+quoteOrAbsent(got))
		})

		harness.Case("RCV-CE-003", func(ctx SpecContext, c *harness.Check) {
			resp := e.handshake(ctx, c, "validation request", "")
			if !resp.OK() {
				// No granted handshake, no answer to look at (a 405's Allow is not one).
				harness.NotObservable("no handshake granted; see RCV-CE-001 (no answer to look at: %s)", resp.Describe())
			}
			allow := resp.Header.Values("Allow")
			ok := false
			for _, v := range allow {
				for _, m := range strings.Split(v, ",") {
					ok = ok || strings.EqualFold(strings.TrimSpace(m), http.MethodPost)
				}
			}
			c.Assert(resp.OK() && ok, "2xx with an Allow header listing POST",
				resp.Describe()+", Allow: "+quoteOrAbsent(strings.Join(allow, ", ")))
		})
	})
}

func (e *env) handshake(ctx SpecContext, c *harness.Check, note, rate string) harness.Response {
	return e.deliver(ctx, c, viaChaos, wantAccept, func(int) harness.Request {
		h := http.Header{headerRequestOrigin: {handshakeOrigin}, "User-Agent": {"hookproof-conform"}}
		if rate != "" {
			h.Set(headerRequestRate, rate)
		}
		return harness.Request{Note: note, Method: http.MethodOptions, URL: e.url, Header: h}
	})
}

func quoteOrAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return strconv.Quote(s)
}
