package receiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/store"
)

// MaxIDLen bounds a delivery id; longer ids are refused with 400.
const MaxIDLen = 255

// ServeHTTP routes: POST on any path is a delivery, GET /healthz is the health check, OPTIONS
// is the webhook handshake; anything else is 405.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodPost:
		r.deliver(w, req)
	case req.Method == http.MethodOptions:
		r.handshake(w, req)
	case (req.Method == http.MethodGet || req.Method == http.MethodHead) && req.URL.Path == "/healthz":
		r.health(w, req)
	default:
		allow := "OPTIONS, POST"
		if req.URL.Path == "/healthz" {
			allow = "GET, HEAD, OPTIONS, POST"
		}
		w.Header().Set("Allow", allow)
		http.Error(w, "method not allowed: deliveries are POSTed", http.StatusMethodNotAllowed)
	}
}

// deliver is the acknowledgement path: verify, commit to the inbox, answer. No business logic
// runs here, so the answer is fast and means exactly "stored durably".
func (r *Receiver) deliver(w http.ResponseWriter, req *http.Request) {
	// Everything that can be judged without the body is judged first, so that nothing is read
	// (and no 100 Continue sent) for a request that will be refused.
	if req.ContentLength > MaxBody {
		w.Header().Set("Connection", "close")
		r.rejectDelivery(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBody))
		return
	}
	// A missing signature header is an unsigned request: 401, like a wrong signature.
	if sh := r.scheme.Traits().SignatureHeader; len(req.Header.Values(sh)) == 0 {
		r.rejectDelivery(w, http.StatusUnauthorized, "missing "+sh+" header")
		return
	}
	body, rd, err := r.readBody(w, req)
	defer rd.release() // the body counts against the budget until it is committed or refused
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			w.Header().Set("Connection", "close")
			r.rejectDelivery(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxBody))
		case errors.Is(err, errBudget):
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", RetryAfterBusy)
			r.rejectDelivery(w, http.StatusServiceUnavailable, "too many bodies being received, retry later")
		case errors.Is(err, errBodyTimeout):
			w.Header().Set("Connection", "close")
			r.rejectDelivery(w, http.StatusRequestTimeout, fmt.Sprintf("body not received within %s", r.cfg.bodyTimeout))
		case req.Context().Err() != nil:
			r.m.answers[ansAbandoned].Inc() // the sender hung up mid-body; the 400 reaches no one
			r.reject(w, http.StatusBadRequest, "reading body: "+err.Error())
		default:
			r.rejectDelivery(w, http.StatusBadRequest, "reading body: "+err.Error())
		}
		return
	}

	v, err := r.scheme.Verify(req.Header, body)
	if err != nil {
		r.rejectDelivery(w, verifyStatus(err), err.Error())
		return
	}
	if challenge, ok := urlVerification(r.scheme, body); ok {
		// Slack checks a new Request URL with a signed challenge before it sends any event: it
		// is answered, not stored (it is no event).
		r.m.answers[ansChallenge].Inc()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(challenge))
		return
	}
	if err := checkID(v.ID); err != nil {
		r.rejectDelivery(w, http.StatusBadRequest, err.Error())
		return
	}

	inserted, err := r.commit(req, store.Delivery{ID: v.ID, Body: body, ReceivedAt: time.Now()})
	switch {
	case errors.Is(err, errClosing):
		r.m.answers[ans503].Inc()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "shutting down, retry later", http.StatusServiceUnavailable)
		return
	case req.Context().Err() != nil:
		r.m.answers[ansAbandoned].Inc()
		return // the sender hung up; it will retry, and a duplicate is harmless
	case err != nil:
		r.m.answers[ans503].Inc()
		r.log.Error("inbox commit failed", "webhook_id", v.ID, "err", err)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "could not store the delivery, retry later", http.StatusServiceUnavailable)
		return
	}
	status := `","status":"accepted"}` + "\n"
	if inserted {
		r.m.answers[ansAccepted].Inc()
	} else {
		r.m.answers[ansDuplicate].Inc()
		status = `","status":"duplicate"}` + "\n" // an id already stored: acknowledged, not processed again
	}
	w.Header()["Content-Type"] = jsonContentType
	ans := appendJSONASCII(append(make([]byte, 0, len(`{"id":"`)+2*len(v.ID)+len(status)), `{"id":"`...), v.ID)
	ans = append(ans, status...)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ans)
}

// jsonContentType is the Content-Type of JSON answers, one slice for all of them (net/http
// only reads it).
var jsonContentType = []string{"application/json"}

// appendJSONASCII appends s, printable ASCII (checkID), as the inside of a JSON string: only
// the quote and the backslash need escaping.
func appendJSONASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\', c)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// verifyStatus maps a verification failure to a status: a signature that does not verify is
// 401; everything else wrong with the request (malformed or missing id/timestamp headers, a
// timestamp outside the tolerance) is 400.
func verifyStatus(err error) int {
	if errors.Is(err, signature.ErrInvalidSignature) {
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// checkID accepts 1 to MaxIDLen bytes of printable ASCII without spaces: the id is a database
// key and appears in logs, so nothing else gets that far.
func checkID(id string) error {
	if id == "" {
		return errors.New("no delivery id (the scheme's id header, or the body's top-level \"id\")")
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("delivery id is %d bytes, over %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] > 0x7e {
			return fmt.Errorf("delivery id: byte 0x%02x at %d is not printable ASCII", id[i], i)
		}
	}
	return nil
}

// rejectDelivery is reject for a delivery, counted in hookproof_receiver_deliveries_total.
func (r *Receiver) rejectDelivery(w http.ResponseWriter, status int, reason string) {
	r.m.answers[rejectAnswer(status)].Inc()
	r.reject(w, status, reason)
}

func (r *Receiver) reject(w http.ResponseWriter, status int, reason string) {
	r.log.Debug("delivery rejected", "status", status, "reason", reason)
	http.Error(w, reason, status)
}

// health answers 200 with the store's counts, or 503 when the store cannot answer or the
// receiver is shutting down.
func (r *Receiver) health(w http.ResponseWriter, req *http.Request) {
	r.mu.RLock()
	closing := r.closing
	r.mu.RUnlock()
	if closing {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	st, err := r.store.Stats(req.Context())
	if err != nil {
		r.log.Error("health check: store", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Status string `json:"status"`
		Scheme string `json:"scheme"`
		store.Stats
	}{"ok", r.scheme.Name(), st})
}

// handshake answers the CloudEvents webhook abuse-protection request (OPTIONS with
// WebHook-Request-Origin): this endpoint agrees to receive from any origin at the rate asked.
// A plain OPTIONS gets the allowed methods only.
func (r *Receiver) handshake(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Allow", "OPTIONS, POST")
	origin := req.Header.Get("WebHook-Request-Origin")
	if origin == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !printable(origin) || len(origin) > 1024 {
		r.reject(w, http.StatusBadRequest, "WebHook-Request-Origin is not printable ASCII")
		return
	}
	if rate := req.Header.Get("WebHook-Request-Rate"); rate != "" {
		if n, err := strconv.ParseUint(rate, 10, 32); err != nil || n == 0 {
			r.reject(w, http.StatusBadRequest, "WebHook-Request-Rate is not a positive integer")
			return
		}
		w.Header().Set("WebHook-Allowed-Rate", rate)
	}
	w.Header().Set("WebHook-Allowed-Origin", origin)
	w.WriteHeader(http.StatusOK)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// urlVerification returns the challenge of a verified url_verification request, for schemes
// whose provider sends one (signature.Traits.URLVerification).
func urlVerification(s signature.Scheme, body []byte) (string, bool) {
	if !s.Traits().URLVerification {
		return "", false
	}
	var m struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(body, &m) != nil || m.Type != "url_verification" || m.Challenge == "" {
		return "", false
	}
	return m.Challenge, true
}
