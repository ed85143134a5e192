package sender

import (
	"fmt"
	"mime"
	"strings"

	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"

	"github.com/hookproof/hookproof/reference/signature"
)

// headerProblems lists what is wrong with an attempt's method and headers under the scheme.
func (e *env) headerProblems(a Attempt) []string {
	var p []string
	if a.Method != "POST" {
		p = append(p, "method "+a.Method+", not POST")
	}
	if mt, _, err := mime.ParseMediaType(a.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		p = append(p, fmt.Sprintf("Content-Type %q, not application/json", a.Header.Get("Content-Type")))
	}
	one := func(name string) (string, bool) {
		vs := a.Header.Values(name)
		switch {
		case len(vs) == 0 || strings.TrimSpace(vs[0]) == "":
			p = append(p, name+" missing")
			return "", false
		case len(vs) > 1:
			p = append(p, fmt.Sprintf("%s sent %d times", name, len(vs)))
			return "", false
		}
		return vs[0], true
	}
	if h := e.traits.IDHeader; h != "" {
		if v, ok := one(h); ok && (len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' })) {
			p = append(p, fmt.Sprintf("%s %q is not up to 256 printable characters", h, v))
		} else if ok && signature.StandardFamily(e.o.Scheme) && strings.Contains(v, ".") {
			p = append(p, fmt.Sprintf("%s %q contains '.', which the signed content uses as its separator", h, v))
		}
	}
	if h := e.traits.TimestampHeader; h != "" {
		if v, ok := one(h); ok {
			if _, ok := e.timestampOf(a); !ok {
				p = append(p, fmt.Sprintf("%s %q is not integer unix seconds", h, v))
			}
		}
	}
	if v, ok := one(e.traits.SignatureHeader); ok {
		if !signature.AnatomyOf(e.scheme).WellFormed(v) {
			p = append(p, fmt.Sprintf("%s %q is not in the %s format", e.traits.SignatureHeader, excerpt(v, 120), e.o.Scheme))
		}
	}
	return p
}

func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (e *env) headers() {
	ginkgo.Describe("headers and signatures", func() {
		e.spec("SND-HDR-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-HDR-001", Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			p := e.headerProblems(as[0])
			c.Assert(len(p) == 0, fmt.Sprintf("a POST with Content-Type application/json and well-formed %s headers", e.o.Scheme),
				strings.Join(p, "; "))
		}, 0)

		e.spec("SND-SIG-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-SIG-001", Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			err := e.verifyAt(as[0], e.o.Secret)
			c.Assert(err == nil, "a signature that verifies with --secret over the raw body, within the tolerance",
				fmt.Sprint(err))
		}, 0)

		e.spec("SND-SIG-002", func(ctx ginkgo.SpecContext, c *harness.Check) {
			if e.o.PreviousSecret == "" {
				harness.Skipped("optional: give --previous-secret when the sender is rotating its secret")
			}
			s := e.start(ctx, c, "SND-SIG-002", Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			a := as[0]
			newErr, oldErr := e.verifyAt(a, e.o.Secret), e.verifyAt(a, e.o.PreviousSecret)
			n := e.signatureCount(a.Header.Get(e.traits.SignatureHeader))
			c.Assert(newErr == nil && oldErr == nil && n >= 2,
				"two signatures or more: one valid with --secret, one with --previous-secret",
				fmt.Sprintf("%d signature(s); with --secret: %v; with --previous-secret: %v", n, verdict(newErr), verdict(oldErr)))
		}, 0)
	})
}

func verdict(err error) string {
	if err == nil {
		return "valid"
	}
	return err.Error()
}

// signatureCount counts the signatures in a scheme's signature header.
func (e *env) signatureCount(v string) int { return signature.AnatomyOf(e.scheme).SignatureCount(v) }
