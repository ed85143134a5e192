package knownbad

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hookproof/hookproof/reference/signature"
)

// leak-secret rejects a forgery the honest way (401) but "helps" by echoing, in its answer,
// the key the signature should have been made with: never as the whsec_ string itself, but in
// four other encodings a debugging helper might print (hex and HEX of the key bytes, base64 of
// the whole secret, the secret percent-encoded byte by byte).
func init() {
	register(flaw{
		name:   "leak-secret",
		breaks: "answers a forgery without revealing the secret, in any encoding",
		apply: func(b *behaviour, env flawEnv) error {
			key := []byte(env.secret)
			if b64, ok := strings.CutPrefix(env.secret, signature.PrefixSecret); ok {
				if k, err := base64.StdEncoding.DecodeString(b64); err == nil {
					key = k
				}
			}
			var pct strings.Builder
			for i := 0; i < len(env.secret); i++ {
				fmt.Fprintf(&pct, "%%%02X", env.secret[i])
			}
			hint := fmt.Sprintf(" (expected a signature made with key hex=%s HEX=%s; secret b64=%s url=%s)",
				hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)),
				base64.StdEncoding.EncodeToString([]byte(env.secret)), pct.String())
			b.rejectMessage = func(err error) string { return "rejected: " + err.Error() + hint }
			return nil
		},
	})
}
