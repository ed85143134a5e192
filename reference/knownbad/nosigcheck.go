package knownbad

import (
	"net/http"

	"github.com/hookproof/hookproof/reference/signature"
)

// no-signature-check trusts every delivery: it reads the id and never checks the signature,
// so forged, re-signed and tampered deliveries are all processed.
func init() {
	register(flaw{
		name:   "no-signature-check",
		breaks: "rejects deliveries whose signature is wrong, missing or made with another secret",
		apply: func(b *behaviour, env flawEnv) error {
			b.verify = func(h http.Header, body []byte) (signature.Verified, error) {
				return signature.Verified{ID: signature.DeliveryID(env.scheme, h, body)}, nil
			}
			return nil
		},
	})
}
