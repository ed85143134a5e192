package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	refreceiver "github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
)

func TestBuiltinCloseIsBoundedWhenTheSinkIsGone(t *testing.T) {
	// The built-in reference receiver reports to a sink that is gone: closing the target must
	// stop at the drain bound with one plain line saying what is left, not retry for ever.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	const secret = "hookproof-builtin-close-test-secret"
	tgt, err := StartBuiltin(context.Background(), BuiltinReference, "slack", secret, gone.URL, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tgt.(*builtinTarget).drain = 500 * time.Millisecond
	scheme, err := signature.New("slack", secret)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := range n {
		id := fmt.Sprint("msg_close_", i)
		body := fmt.Appendf(nil, `{"id":%q,"type":"t","data":{}}`, id)
		hdr, err := scheme.Sign(signature.Message{ID: id, Body: body, Timestamp: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, tgt.URL(), bytes.NewReader(body))
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery %s: status %d", id, resp.StatusCode)
		}
	}
	// A cancelled ctx, as after Ctrl-C: the drain still gets its bound, and no more.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err = tgt.Close(ctx)
	took := time.Since(start)
	t.Logf("Close after %s: %v", took.Round(time.Millisecond), err)
	if took > 5*time.Second {
		t.Errorf("Close took %s with a 500ms drain bound", took)
	}
	var d *refreceiver.DrainError
	switch {
	case err == nil:
		t.Fatal("Close returned nil with effects it could not report")
	case !errors.As(err, &d):
		t.Errorf("Close: %v, want a *DrainError within", err)
	}
	// Usually all n are processed by then and wait in the outbox; on a slow machine some may
	// still be in the inbox, and the line says so.
	if msg := err.Error(); !strings.HasPrefix(msg, "receiver did not drain in 500ms: ") || !strings.Contains(msg, "effects left in its outbox") {
		t.Errorf("Close: %q, want \"receiver did not drain in 500ms: N effects left in its outbox\"", msg)
	}
	if d != nil && d.Pending+d.Outbox != n {
		t.Errorf("DrainError %+v: want %d deliveries or effects left in all", *d, n)
	}
}
