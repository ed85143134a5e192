package chaos

import (
	"net/http"
	"sync"

	"github.com/hookproof/hookproof/reference/signature"
)

// KeyFunc names the delivery a request belongs to, so the proxy can count its attempts.
// It returns "" when the request carries no id; the proxy then uses a request counter.
// body is the whole request body; KeyFunc must not keep or change it.
type KeyFunc func(r *http.Request, body []byte) string

// DefaultKey keys a request by the delivery id signature.DeliveryID reads, the one rule all
// of hookproof follows: the first present of the schemes' id headers (webhook-id,
// X-GitHub-Delivery, X-Shopify-Webhook-Id; the proxy does not know the scheme), else the
// top-level "id" string of a JSON object body (Stripe and Slack carry the id in the body),
// else "".
func DefaultKey(r *http.Request, body []byte) string {
	return signature.DeliveryID("", r.Header, body)
}

// attempts counts requests per key, remembering at most about limit keys: when the current
// generation fills up it becomes the previous one and the oldest keys are forgotten, so a
// long load run cannot grow the map without bound.
type attempts struct {
	mu    sync.Mutex
	cur   map[string]int
	prev  map[string]int
	limit int
}

func newAttempts(limit int) *attempts {
	return &attempts{cur: map[string]int{}, limit: max(limit/2, 1)}
}

func (a *attempts) next(key string) int {
	a.mu.Lock()
	n, ok := a.cur[key]
	if !ok {
		n = a.prev[key]
		if len(a.cur) >= a.limit {
			a.prev, a.cur = a.cur, make(map[string]int, a.limit)
		}
	}
	n++
	a.cur[key] = n
	a.mu.Unlock()
	return n
}

func (a *attempts) reset() {
	a.mu.Lock()
	a.cur, a.prev = map[string]int{}, nil
	a.mu.Unlock()
}
