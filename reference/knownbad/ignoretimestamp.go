package knownbad

import (
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// laxTolerance is wide enough that no timestamp is ever out of it.
const laxTolerance = 100 * 365 * 24 * time.Hour

// ignore-timestamp checks the signature but not the signed timestamp, so stale deliveries and
// replays of captured ones are accepted.
func init() {
	register(flaw{
		name:   "ignore-timestamp",
		breaks: "rejects deliveries whose timestamp is outside the tolerance, and replays",
		apply: func(b *behaviour, env flawEnv) error {
			lax, err := signature.New(env.scheme, env.secret, signature.WithClock(env.now), signature.WithTolerance(laxTolerance))
			if err != nil {
				return err
			}
			b.verify = lax.Verify
			return nil
		},
	})
}
