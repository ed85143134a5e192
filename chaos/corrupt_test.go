package chaos

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hookproof/hookproof/reference/signature"
)

// verifier is an upstream that checks signatures as a receiver must, over the raw bytes,
// and answers 401 to a delivery that does not verify.
type verifier struct {
	scheme signature.Scheme
	mu     sync.Mutex
	ok     int
	bad    int
	last   error
}

func (v *verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, err := v.scheme.Verify(r.Header, body)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.bad++
		v.last = err
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	v.ok++
}

// TestCorruptIsRejected checks, for every scheme, that a delivery that verifies when
// passed through unchanged fails verification once corrupt has flipped a body bit or
// changed a signature character.
//
// It verifies with reference/signature directly; the reference receiver is not in the
// tree yet, and its own test of this belongs with it.
func TestCorruptIsRejected(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))
	for _, name := range signature.Names() {
		for _, target := range []string{"none", "body", "signature"} {
			t.Run(name+"/"+target, func(t *testing.T) {
				s, err := signature.New(name, secret)
				if err != nil {
					t.Fatalf("signature.New: %v", err)
				}
				v := &verifier{scheme: s}
				up := httptest.NewServer(v)
				defer up.Close()
				var faults []FaultSpec
				if target != "none" {
					faults = append(faults, spec("corrupt", 1, "target", target))
				}
				p, err := NewProxy(up.URL, WithSeed(5), WithFaults(faults...))
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				ps := httptest.NewServer(p)
				defer ps.Close()

				const n = 20
				for i := 0; i < n; i++ {
					body := []byte(`{"id":"evt_` + strings.Repeat("x", i) + `","type":"order.updated","data":{"seq":1}}`)
					h, err := s.Sign(signature.Message{ID: "evt_" + strings.Repeat("x", i), Body: body})
					if err != nil {
						t.Fatalf("Sign: %v", err)
					}
					req, _ := http.NewRequest(http.MethodPost, ps.URL+"/hook", bytes.NewReader(body))
					for k, vs := range h {
						req.Header[k] = vs
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
				wantOK, wantBad := 0, n
				if target == "none" {
					wantOK, wantBad = n, 0
				}
				if v.ok != wantOK || v.bad != wantBad {
					t.Errorf("verified %d, rejected %d; want %d and %d (last error: %v)", v.ok, v.bad, wantOK, wantBad, v.last)
				}
			})
		}
	}
}

func TestChangeChar(t *testing.T) {
	for _, v := range []string{"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=", "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd", "sha256=abc123", "v0=ff"} {
		for k := 0; k < 50; k++ {
			got, pos, ok := changeChar(v, func(n int) int { return (k * 7) % n })
			if !ok || got == v || len(got) != len(v) {
				t.Fatalf("changeChar(%q) = %q, %v", v, got, ok)
			}
			if !isAlnum(got[pos]) || got[:pos] != v[:pos] || got[pos+1:] != v[pos+1:] {
				t.Errorf("changeChar(%q) = %q: want one alphanumeric changed at %d", v, got, pos)
			}
			isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
			if isHex(v[pos]) && !isHex(got[pos]) {
				t.Errorf("hex digit %q became %q", v[pos], got[pos])
			}
		}
	}
}
