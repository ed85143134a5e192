package harness

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/suites/catalog"
)

func headerBytes(h map[string][]string) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// Response headers are cut like bodies: each value and their total in the evidence, and the
// client reads at most MaxResponseHeaderBytes of them.
func TestResponseHeadersAreBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/huge": // one 4 MB header
			w.Header().Set("X-Huge", strings.Repeat("h", 4<<20))
		case "/many": // 40 headers of 1,000 bytes: under the read bound, over the evidence's
			for i := range 40 {
				w.Header().Set(fmt.Sprintf("X-Many-%02d", i), strings.Repeat("m", 1000))
			}
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	c := NewClient()

	chk := newCheck(catalog.Requirement{})
	resp := c.Do(context.Background(), chk, Request{URL: srv.URL + "/many"})
	ex, _, _, _ := chk.snapshot()
	if resp.Status != http.StatusUnauthorized {
		t.Fatalf("/many: %s", resp.Describe())
	}
	if n := headerBytes(ex[0].ResponseHeaders); n > MaxEvidenceHeaderBytes+1024 {
		t.Errorf("/many: %d bytes of response headers kept as evidence, want about %d at most", n, MaxEvidenceHeaderBytes)
	}
	for k, vs := range ex[0].ResponseHeaders {
		for _, v := range vs {
			if len(v) > MaxEvidenceHeaderValue+64 {
				t.Errorf("/many: %s kept with %d bytes", k, len(v))
			}
		}
	}

	chk = newCheck(catalog.Requirement{})
	resp = c.Do(context.Background(), chk, Request{URL: srv.URL + "/huge"})
	ex, _, _, _ = chk.snapshot()
	if resp.Err == nil {
		t.Errorf("/huge: %s, want an error (headers over %d bytes)", resp.Describe(), MaxResponseHeaderBytes)
	}
	if n := headerBytes(resp.Header) + headerBytes(ex[0].ResponseHeaders); n > 64<<10 {
		t.Errorf("/huge: %d bytes of response headers kept", n)
	}
}
