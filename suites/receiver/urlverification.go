package receiver

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

// urlVerification is Slack's handshake: before it sends any event to a new Request URL, Slack
// posts a signed {"type":"url_verification","challenge":…} and sends nothing more unless the
// endpoint answers 200 with the challenge.
func (e *env) urlVerification() {
	Describe("url verification", Label("url-verification"), func() {
		harness.Case("RCV-URLV-001", func(ctx SpecContext, c *harness.Check) {
			challenge := "hookproof-challenge-" + e.hexID(16)
			body, _ := json.Marshal(map[string]string{"token": "hookproof-verification-token", "challenge": challenge, "type": "url_verification"})
			resp := e.deliver(ctx, c, viaChaos, wantAccept, func(int) harness.Request {
				return e.request("url_verification challenge", e.signWith(e.scheme, "", body, time.Time{}), body)
			})
			var asJSON struct {
				Challenge string `json:"challenge"`
			}
			echoed := bytes.Equal(bytes.TrimSpace(resp.Body), []byte(challenge)) ||
				(json.Unmarshal(resp.Body, &asJSON) == nil && asJSON.Challenge == challenge)
			c.Assert(resp.Status == 200 && resp.Err == nil && echoed, "200 with the challenge "+challenge,
				resp.Describe()+": "+string(resp.Body))
		})
	})
}
