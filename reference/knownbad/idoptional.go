package knownbad

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/hookproof/hookproof/reference/signature"
)

// id-optional verifies the signature but does not need the provider's delivery-id header where
// the signature does not cover it (github's X-GitHub-Delivery, shopify's X-Shopify-Webhook-Id):
// a delivery without one gets an id of its own, so a sender's retry of it can never be
// deduplicated. Where the id is signed (standard) it behaves honestly.
func init() {
	register(flaw{
		name:   "id-optional",
		breaks: "rejects a validly signed delivery that lacks the provider's unsigned delivery-id header",
		apply: func(b *behaviour, env flawEnv) error {
			tr := env.strict.Traits()
			if tr.IDHeader == "" || tr.IDSigned {
				return nil
			}
			b.verify = func(h http.Header, body []byte) (signature.Verified, error) {
				if h.Get(tr.IDHeader) == "" {
					var r [8]byte
					_, _ = rand.Read(r[:])
					h = h.Clone()
					h.Set(tr.IDHeader, "made-up-"+hex.EncodeToString(r[:]))
				}
				return env.strict.Verify(h, body)
			}
			return nil
		},
	})
}
