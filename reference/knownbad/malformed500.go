package knownbad

import (
	"errors"
	"net/http"

	"github.com/hookproof/hookproof/reference/signature"
)

// 500-on-malformed crashes (answers 500) on a header it cannot parse, instead of rejecting it
// with 4xx; a sender then retries a delivery that can never succeed.
func init() {
	register(flaw{
		name:   "500-on-malformed",
		breaks: "answers a malformed, oversized or non-ASCII header with 4xx, never 5xx",
		apply: func(b *behaviour, _ flawEnv) error {
			b.rejectStatus = func(err error) int {
				if errors.Is(err, signature.ErrMalformedHeader) {
					return http.StatusInternalServerError
				}
				return honestStatus(err)
			}
			return nil
		},
	})
}
