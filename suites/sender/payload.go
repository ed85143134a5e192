package sender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	"github.com/onsi/ginkgo/v2"
)

// MaxPayloadBytes is the size under which Standard Webhooks recommends keeping a payload
// ("usually smaller than 20kb"), read as 20 KiB.
const MaxPayloadBytes = 20 << 10

// envelopeProblems lists how a body departs from the envelope {id, type, timestamp, data}.
func (e *env) envelopeProblems(a Attempt) []string {
	var p []string
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	if err := dec.Decode(&m); err != nil || m == nil {
		return []string{"the body is not a JSON object"}
	}
	str := func(k string) (string, bool) {
		var s string
		raw, ok := m[k]
		if !ok {
			p = append(p, fmt.Sprintf("no %q", k))
			return "", false
		}
		if json.Unmarshal(raw, &s) != nil || s == "" {
			p = append(p, fmt.Sprintf("%q is %s, not a non-empty string", k, excerpt(string(raw), 60)))
			return "", false
		}
		return s, true
	}
	str("type")
	if ts, ok := str("timestamp"); ok {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			p = append(p, fmt.Sprintf("timestamp %q is not RFC 3339", excerpt(ts, 60)))
		}
	}
	if raw, ok := m["data"]; ok && !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		p = append(p, fmt.Sprintf("data is %s, not an object", excerpt(string(raw), 60)))
	}
	_, hasID := m["id"]
	switch {
	case e.traits.IDHeader == "" && !hasID:
		p = append(p, fmt.Sprintf("no \"id\": the %s scheme has no id header, so the body must carry the delivery id", e.o.Scheme))
	case hasID && e.traits.IDHeader != "":
		if id, _ := str("id"); id != "" && id != a.Header.Get(e.traits.IDHeader) {
			p = append(p, fmt.Sprintf("id %q differs from %s %q", id, e.traits.IDHeader, a.Header.Get(e.traits.IDHeader)))
		}
	}
	return p
}

func (e *env) payload() {
	ginkgo.Describe("payload", func() {
		e.spec("SND-PAYLOAD-001", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-PAYLOAD-001", Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			p := e.envelopeProblems(as[0])
			c.Assert(len(p) == 0, `a JSON object {"id", "type", "timestamp" (RFC 3339), "data": {...}}`, strings.Join(p, "; "))
		}, 0)

		e.spec("SND-PAYLOAD-002", func(ctx ginkgo.SpecContext, c *harness.Check) {
			s := e.start(ctx, c, "SND-PAYLOAD-002", Answer{})
			defer e.evidence(c, s)
			as := e.expectAttempts(ctx, c, s, 1, e.o.RetryWait, "the event delivered")
			n := as[0].BodySize
			c.Assert(n < MaxPayloadBytes, fmt.Sprintf("a body under %d bytes", MaxPayloadBytes), fmt.Sprintf("%d bytes", n))
		}, 0)
	})
}
