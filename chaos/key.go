package chaos

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
)

// KeyFunc names the delivery a request belongs to, so the proxy can count its attempts.
// It returns "" when the request carries no id; the proxy then uses a request counter.
// body is the whole request body; KeyFunc must not keep or change it.
type KeyFunc func(r *http.Request, body []byte) string

// idHeaders are the delivery-id headers DefaultKey reads, in order, in canonical form.
var idHeaders = []string{
	"Webhook-Id",           // Standard Webhooks
	"X-Github-Delivery",    // GitHub
	"X-Shopify-Webhook-Id", // Shopify
}

// DefaultKey returns the first present of the webhook-id, X-GitHub-Delivery and
// X-Shopify-Webhook-Id headers, else the top-level "id" of a JSON object body (Stripe and
// Slack carry the id in the body), else "".
func DefaultKey(r *http.Request, body []byte) string {
	for _, h := range idHeaders {
		if v := r.Header[h]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return bodyID(body)
}

// bodyID returns the top-level "id" of a JSON object, as a string or a number's text.
func bodyID(body []byte) string {
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 || body[0] != '{' {
		return ""
	}
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.ID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		return s
	}
	if v.ID[0] == '-' || (v.ID[0] >= '0' && v.ID[0] <= '9') {
		return string(v.ID)
	}
	return ""
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
