package chaos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// AdminHandler returns the admin API, to serve on a separate, loopback-only listener:
//
//	GET    /faults          the active instances, outermost first (JSON array of FaultSpec)
//	POST   /faults          add one (FaultSpec JSON; ?at=N inserts at position N); 201
//	PUT    /faults/{name}   replace it (position kept); an omitted probability is 1
//	PATCH  /faults/{name}   change the fields given (JSON merge onto the current spec)
//	DELETE /faults/{name}   remove it; 204
//	POST   /reset           clear ledger, counters and attempt counts; ?faults=true also
//	                        removes every fault; 204
//	GET    /ledger          the ledger as JSON lines, oldest first (?since=SEQ, ?limit=N)
//	GET    /stats           counters (JSON)
//
// Errors are JSON {"error": "..."} with 400 (bad spec), 404 (no such fault) or 409 (name taken).
func (p *Proxy) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Faults())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		spec := FaultSpec{Probability: 1}
		if !readJSON(w, r, &spec) {
			return
		}
		at := -1
		if v := r.URL.Query().Get("at"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Errorf("at %q: want a position from 0", v))
				return
			}
			at = n
		}
		got, err := p.AddFault(spec, at)
		if err != nil {
			writeError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusCreated, got)
	})
	update := func(merge bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("name")
			spec := FaultSpec{Probability: 1}
			if merge {
				cur, ok := p.fault(name)
				if !ok {
					writeError(w, http.StatusNotFound, fmt.Errorf("fault %s: %w", name, ErrNoSuchFault))
					return
				}
				spec = cur
			}
			if !readJSON(w, r, &spec) {
				return
			}
			got, err := p.UpdateFault(name, spec)
			if err != nil {
				writeError(w, statusFor(err), err)
				return
			}
			writeJSON(w, http.StatusOK, got)
		}
	}
	mux.HandleFunc("PUT /faults/{name}", update(false))
	mux.HandleFunc("PATCH /faults/{name}", update(true))
	mux.HandleFunc("DELETE /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := p.RemoveFault(r.PathValue("name")); err != nil {
			writeError(w, statusFor(err), err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("faults"); v == "true" || v == "1" {
			if err := p.SetFaults(); err != nil {
				writeError(w, http.StatusInternalServerError, err)
				return
			}
		}
		p.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, limit := uint64(0), -1
		if v := q.Get("since"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Errorf("since %q: want a sequence number", v))
				return
			}
			since = n
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: want a count", v))
				return
			}
			limit = n
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		n := 0
		for _, e := range p.Ledger() {
			if e.Seq <= since {
				continue
			}
			if limit >= 0 && n >= limit {
				break
			}
			if err := enc.Encode(e); err != nil {
				return // the client went away
			}
			n++
		}
		_ = bw.Flush()
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Stats())
	})
	mux.HandleFunc("GET /types", func(w http.ResponseWriter, r *http.Request) {
		type typeDoc struct {
			Name    string            `json:"name"`
			Summary string            `json:"summary"`
			Kind    Kind              `json:"kind"`
			Does    string            `json:"does"`              // the kind in words
			Primary string            `json:"primary,omitempty"` // the param an inline value sets
			Params  map[string]string `json:"params,omitempty"`
		}
		var out []typeDoc
		for _, t := range Types() {
			out = append(out, typeDoc{t.Name, t.Summary, t.Kind, t.Kind.Doc(), t.Primary, t.Params})
		}
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

// fault returns the spec of the instance called name.
func (p *Proxy) fault(name string) (FaultSpec, bool) {
	for _, in := range *p.chain.Load() {
		if in.spec.Name == name {
			s := in.spec
			s.Params = cloneParams(s.Params)
			s.Match.Header = cloneParams(s.Match.Header)
			return s, true
		}
	}
	return FaultSpec{}, false
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrNoSuchFault):
		return http.StatusNotFound
	case errors.Is(err, ErrDuplicateName):
		return http.StatusConflict
	default:
		return http.StatusBadRequest
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("fault spec JSON: %w", err))
		return false
	}
	// One object per body: anything after it (a second object) is refused, not ignored.
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, errors.New("fault spec JSON: want one JSON object, found more after it"))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client may be gone; nothing else to tell it
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
