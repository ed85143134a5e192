package inspect

import "net/http"

// NewUI serves the live page of the deliveries h holds (hookproof listen --ui).
//
// This is a placeholder until the live page is merged: it answers 501.
func NewUI(h *Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "hookproof listen: the live page is not built yet", http.StatusNotImplemented)
	})
}
