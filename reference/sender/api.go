package sender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRequestBody bounds an API request body.
const maxRequestBody = 1 << 20

// Handler returns the JSON API. Errors are {"error": "..."} with a 4xx (or 5xx) status.
//
//	POST /endpoints                  register (Idempotency-Key honoured) → 201, or 200 when replayed
//	GET  /endpoints/{id}             an endpoint, without its secrets
//	POST /endpoints/{id}/enable      re-enable a disabled endpoint
//	POST /endpoints/{id}/rotate      new secret; the old one is still signed with for previous_ttl
//	POST /messages                   send an event (Idempotency-Key honoured) → 202, or 200 when replayed
//	GET  /messages/{id}              a message and its payload
//	GET  /messages/{id}/attempts     its attempts
//	POST /messages/{id}/replay       send it again
//	POST /replay?since=RFC3339       replay every dead letter created since then [&endpoint_id=]
//	GET  /dead-letters               dead letters, latest first [?endpoint_id=&limit=]
//	GET  /healthz                    liveness
//
// Request bodies must be valid UTF-8 JSON; URLs with credentials, and URLs naming an address
// the SSRF guard refuses, are 400.
func (s *Sender) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /endpoints", s.apiCreateEndpoint)
	mux.HandleFunc("GET /endpoints/{id}", func(w http.ResponseWriter, r *http.Request) {
		e, err := s.Endpoint(r.Context(), r.PathValue("id"))
		reply(w, http.StatusOK, e, err)
	})
	mux.HandleFunc("POST /endpoints/{id}/enable", func(w http.ResponseWriter, r *http.Request) {
		e, err := s.EnableEndpoint(r.Context(), r.PathValue("id"))
		reply(w, http.StatusOK, e, err)
	})
	mux.HandleFunc("POST /endpoints/{id}/rotate", func(w http.ResponseWriter, r *http.Request) {
		var rot Rotation
		if err := decode(w, r, &rot); err != nil {
			reply(w, 0, nil, err)
			return
		}
		e, err := s.RotateSecret(r.Context(), r.PathValue("id"), rot)
		reply(w, http.StatusOK, e, err)
	})
	mux.HandleFunc("POST /messages", s.apiSend)
	mux.HandleFunc("GET /messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		m, err := s.Message(r.Context(), r.PathValue("id"))
		reply(w, http.StatusOK, m, err)
	})
	mux.HandleFunc("GET /messages/{id}/attempts", func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Attempts(r.Context(), r.PathValue("id"))
		reply(w, http.StatusOK, map[string]any{"attempts": a}, err)
	})
	mux.HandleFunc("POST /messages/{id}/replay", func(w http.ResponseWriter, r *http.Request) {
		m, err := s.Replay(r.Context(), r.PathValue("id"))
		reply(w, http.StatusAccepted, m, err)
	})
	mux.HandleFunc("POST /replay", func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("since")
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			reply(w, 0, nil, errBadRequest("since: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", truncate(v, 40)))
			return
		}
		res, err := s.ReplayFailedSince(r.Context(), since, r.URL.Query().Get("endpoint_id"))
		reply(w, http.StatusAccepted, res, err)
	})
	mux.HandleFunc("GET /dead-letters", func(w http.ResponseWriter, r *http.Request) {
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				reply(w, 0, nil, errBadRequest("limit: %q is not a number from 1 to 1000", truncate(v, 20)))
				return
			}
			limit = n
		}
		d, err := s.DeadLetters(r.Context(), r.URL.Query().Get("endpoint_id"), limit)
		reply(w, http.StatusOK, map[string]any{"dead_letters": d}, err)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.closed.Load() {
			reply(w, 0, nil, ErrClosed)
			return
		}
		reply(w, http.StatusOK, map[string]any{"ok": true}, nil)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 0, nil, fmt.Errorf("no route %s %s: %w", r.Method, truncate(r.URL.Path, 100), ErrNotFound))
	})
	return mux
}

func (s *Sender) apiCreateEndpoint(w http.ResponseWriter, r *http.Request) {
	var spec EndpointSpec
	if err := decode(w, r, &spec); err != nil {
		reply(w, 0, nil, err)
		return
	}
	spec.IdempotencyKey = r.Header.Get("Idempotency-Key")
	e, created, err := s.CreateEndpoint(r.Context(), spec)
	code := http.StatusCreated
	if err == nil && !created {
		code = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	reply(w, code, e, err)
}

func (s *Sender) apiSend(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := decode(w, r, &req); err != nil {
		reply(w, 0, nil, err)
		return
	}
	req.IdempotencyKey = r.Header.Get("Idempotency-Key")
	m, created, err := s.Send(r.Context(), req)
	code := http.StatusAccepted
	if err == nil && !created {
		code = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	reply(w, code, m, err)
}

// decode reads one JSON object, strictly (unknown fields are errors), at most maxRequestBody.
// The body must be valid UTF-8 JSON text (checkJSONText): a byte that is not would be turned
// into U+FFFD by the decoder, and the sender would sign and deliver what nobody sent.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("request body over %d bytes: %w", maxRequestBody, ErrTooLarge)
	} else if err != nil {
		return errBadRequest("body: cannot be read")
	}
	if err := checkJSONText(body); err != nil {
		return errBadRequest("body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.Is(err, ErrInvalid):
			return err
		case errors.As(err, &ute):
			return errBadRequest("body: field %q has the wrong type", ute.Field)
		case errors.Is(err, io.EOF):
			return errBadRequest("body: empty, want a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errBadRequest("body: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return errBadRequest("body: not valid JSON")
	}
	if dec.More() {
		return errBadRequest("body: more than one JSON value")
	}
	return nil
}

// reply writes v as JSON with code, or err as {"error": ...} with the status it maps to.
func reply(w http.ResponseWriter, code int, v any, err error) {
	if err != nil {
		code = http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrInvalid):
			code = http.StatusBadRequest
		case errors.Is(err, ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, ErrConflict), errors.Is(err, ErrDisabled):
			code = http.StatusConflict
		case errors.Is(err, ErrTooLarge):
			code = http.StatusRequestEntityTooLarge
		case errors.Is(err, ErrClosed):
			code = http.StatusServiceUnavailable
		}
		msg := strings.TrimPrefix(err.Error(), "sender: ")
		if code == http.StatusInternalServerError {
			msg = "internal error: " + msg
		}
		v = map[string]string{"error": msg}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}
