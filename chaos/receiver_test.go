package chaos

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
)

// TestCorruptRejectedByReferenceReceiver sends signed Standard Webhooks deliveries to the
// reference receiver through corrupt: untouched ones are stored (200), every corrupted one
// is refused (401) and never reaches the receiver's inbox.
func TestCorruptRejectedByReferenceReceiver(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef01234567"))
	scheme, err := signature.New("standard", secret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rcv, err := receiver.Open(ctx, scheme, filepath.Join(t.TempDir(), "inbox.db"))
	if err != nil {
		t.Fatalf("receiver.Open: %v", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rcv.Close(cctx)
	}()
	up := httptest.NewServer(rcv)
	defer up.Close()

	for _, target := range []string{"none", "body", "signature"} {
		t.Run(target, func(t *testing.T) {
			var faults []FaultSpec
			if target != "none" {
				faults = append(faults, spec("corrupt", 1, "target", target))
			}
			p, err := NewProxy(up.URL, WithSeed(9), WithFaults(faults...))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ps := httptest.NewServer(p)
			defer ps.Close()
			before, err := rcv.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			const n = 10
			want := http.StatusUnauthorized
			if target == "none" {
				want = http.StatusOK
			}
			for i := 0; i < n; i++ {
				id := fmt.Sprintf("msg_%s_%d", target, i)
				body := []byte(fmt.Sprintf(`{"id":%q,"type":"order.updated","timestamp":"2026-01-01T00:00:00Z","data":{"object_id":"ord_%s_%d","seq":1}}`, id, target, i))
				h, err := scheme.Sign(signature.Message{ID: id, Body: body})
				if err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest(http.MethodPost, ps.URL+"/webhooks", bytes.NewReader(body))
				for k, vs := range h {
					req.Header[k] = vs
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("delivery %d: receiver answered %d, want %d", i, resp.StatusCode, want)
				}
			}
			after, err := rcv.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stored := after.Inbox - before.Inbox
			if wantStored := int64(map[bool]int{true: n}[target == "none"]); stored != wantStored {
				t.Errorf("inbox grew by %d, want %d", stored, wantStored)
			}
		})
	}
}
