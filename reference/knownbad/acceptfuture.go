package knownbad

import (
	"fmt"
	"net/http"

	"github.com/hookproof/hookproof/reference/signature"
)

// accept-future rejects old timestamps but lets any future one through: a one-sided window
// that accepts deliveries pre-signed for later replay.
func init() {
	register(flaw{
		name:   "accept-future",
		breaks: "rejects deliveries timestamped further in the future than the tolerance",
		apply: func(b *behaviour, env flawEnv) error {
			lax, err := signature.New(env.scheme, env.secret, signature.WithClock(env.now), signature.WithTolerance(laxTolerance))
			if err != nil {
				return err
			}
			tolerance := env.strict.Traits().Tolerance
			b.verify = func(h http.Header, body []byte) (signature.Verified, error) {
				v, err := lax.Verify(h, body)
				if err != nil {
					return v, err
				}
				if age := env.now().Sub(v.Timestamp); !v.Timestamp.IsZero() && age > tolerance {
					return signature.Verified{}, fmt.Errorf("%s old: %w", age, signature.ErrTimestampTooOld)
				}
				return v, nil
			}
			return nil
		},
	})
}
