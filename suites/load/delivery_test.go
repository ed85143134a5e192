package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

// schemeSecrets are usable secrets for every scheme.
var schemeSecrets = map[string]string{
	"standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"svix":     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"stripe":   "whsec_stripe_test_secret",
	"github":   "github-test-secret",
	"shopify":  "shopify-test-secret",
	"slack":    "slack-test-secret",
}

func TestEnvelopeIsTheEventEnvelope(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 5, 0, 123000000, time.UTC)
	e := loadEvent{id: "msg_abc_1_42", at: at, object: 7, seq: 3, amount: 1234}
	b := e.envelope(nil, "tag", 0)
	// The bytes the engine wrote before it used reference/event: they must not change.
	const golden = `{"id":"msg_abc_1_42","type":"order.updated","timestamp":"2025-11-29T10:05:00.123Z","data":{"object_id":"ord_tag_7","seq":3,"amount":1234}}`
	if string(b) != golden {
		t.Errorf("envelope\n%s\nwant\n%s", b, golden)
	}
	buf := make([]byte, 0, envelopeCap)
	if n := testing.AllocsPerRun(100, func() { buf = e.envelope(buf[:0], "tag", 0) }); n != 0 {
		t.Errorf("rendering an envelope into a buffer with room allocates %.0f times", n)
	}
	var v struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			ObjectID string `json:"object_id"`
			Seq      int64  `json:"seq"`
			Amount   int64  `json:"amount"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if v.ID != e.id || v.Type != EventType || v.Timestamp != "2025-11-29T10:05:00.123Z" ||
		v.Data.ObjectID != "ord_tag_7" || v.Data.Seq != 3 || v.Data.Amount != 1234 {
		t.Errorf("envelope %s", b)
	}
	if signature.BodyID(b) != e.id {
		t.Errorf("BodyID = %q", signature.BodyID(b))
	}
	if tampered := e.envelope(nil, "tag", 1); string(tampered) == string(b) || !strings.Contains(string(tampered), `"amount":1235`) {
		t.Errorf("tampered body %s", tampered)
	}
}

// TestInvalidKindsFailVerification checks every invalid kind against the reference verifier
// of every scheme, and that the valid delivery passes: an invalid delivery that verified would
// make invalid_accepted blame an honest receiver.
func TestInvalidKindsFailVerification(t *testing.T) {
	now := time.Now()
	for _, name := range signature.Names() {
		secret := schemeSecrets[name]
		sg, err := newSigner(name, secret, wrongSecretFor(name, 1, secret), "tag", nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		verifier, err := signature.New(name, secret)
		if err != nil {
			t.Fatal(err)
		}
		e := loadEvent{id: "msg_tag_1_9", at: now, object: 1, seq: 1, amount: 500}
		h, body, err := sg.sign(&e, "", now)
		if err != nil {
			t.Fatalf("%s valid: %v", name, err)
		}
		v, err := verifier.Verify(h, body)
		if err != nil || v.ID != e.id {
			t.Errorf("%s: a valid delivery does not verify: %+v %v", name, v, err)
		}
		if h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: content type %q", name, h.Get("Content-Type"))
		}
		for _, kind := range sg.kinds {
			h, body, err := sg.sign(&e, kind, now)
			if err != nil {
				t.Errorf("%s %s: %v", name, kind, err)
				continue
			}
			if _, err := verifier.Verify(h, body); err == nil {
				t.Errorf("%s %s: the invalid delivery verifies", name, kind)
			}
			if id := signature.DeliveryID(name, h, body); id != e.id {
				t.Errorf("%s %s: carries id %q, want %q", name, kind, id, e.id)
			}
		}
		timestamped := sg.traits.Timestamped
		hasStale := false
		for _, k := range sg.kinds {
			hasStale = hasStale || k == InvalidStaleTimestamp
		}
		if hasStale != timestamped {
			t.Errorf("%s: stale-timestamp offered %v, timestamped %v", name, hasStale, timestamped)
		}
	}
}

func TestFlipOne(t *testing.T) {
	tests := []struct {
		v   string
		hex bool // the MAC is hex: the flipped character must stay a hex digit
	}{
		{"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", false},
		{"t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd", true},
		{"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", true},
		{"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", true},
		{"9v2zbIuBlTvErJvC/9fNJnQSjOBuRFl0HtMwBDTSWkQ=", false},
	}
	for _, tt := range tests {
		got, err := flipOne(tt.v)
		if err != nil {
			t.Fatalf("%q: %v", tt.v, err)
		}
		diff := 0
		for i := range tt.v {
			if tt.v[i] == got[i] {
				continue
			}
			diff++
			if tt.hex && !isHex(got[i]) {
				t.Errorf("%q: hex digit %q became %q", tt.v, tt.v[i], got[i])
			}
			if i == len(tt.v)-1 || got[i] == '=' {
				t.Errorf("%q: flipped the padding or the last character", tt.v)
			}
		}
		if diff != 1 || len(got) != len(tt.v) {
			t.Errorf("flipOne(%q) = %q: want exactly one character changed", tt.v, got)
		}
	}
	if _, err := flipOne("v1,"); err == nil {
		t.Error("a value too short to flip must be an error")
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func TestAttemptSlots(t *testing.T) {
	var s attemptSlots
	toks := []token{
		{kind: tokFirst, n: 0, attempt: 1, sched: 0},
		{kind: tokRetry, n: 123456789, attempt: 7, sched: int64(42 * time.Second), at: int64(41 * time.Second), seq: 9, object: 63},
		{kind: tokDup, n: 5, attempt: 1, sched: -3, at: 7, seq: 1 << 40, object: 1},
		{kind: tokInvalid, n: 1 << 40, attempt: 1, sched: 1, at: 1, seq: 2, object: 3, inv: 5},
	}
	const base = "http://127.0.0.1:1/hook"
	fragment := func(u string) string {
		_, f, ok := strings.Cut(u, "#")
		if !ok || !strings.HasPrefix(u, base+"#") {
			t.Fatalf("slot URL %q is not %s#...", u, base)
		}
		return f
	}
	var urls []string
	for i, tok := range toks {
		u, ok := s.parkLocked(base, tok)
		if !ok {
			t.Fatal("no slot")
		}
		got, ok := s.taken(fragment(u))
		tok.slot = uint32(i)
		if !ok || got != tok {
			t.Errorf("slot of %+v holds %+v, %v", tok, got, ok)
		}
		urls = append(urls, u)
	}
	if len(slices.Compact(slices.Clone(urls))) != len(urls) {
		t.Errorf("slots share a URL: %q", urls)
	}
	// A freed slot is the next one taken, with its URL, and holds the new token.
	s.releaseLocked(2)
	tok := token{kind: tokRetry, n: 77, attempt: 2, sched: 5, at: 4, seq: 3, object: 2}
	u, _ := s.parkLocked(base, tok)
	if u != urls[2] {
		t.Errorf("freed slot 2 (%q) not reused: got %q", urls[2], u)
	}
	if got, _ := s.taken(fragment(u)); got.n != 77 || got.slot != 2 {
		t.Errorf("reused slot holds %+v", got)
	}
	if u, _ := s.parkLocked(base, tok); u == urls[0] || u == urls[1] || u == urls[2] || u == urls[3] {
		t.Errorf("a held slot was handed out again: %q", u)
	}
	for _, bad := range []string{"", "x", slotPrefix, slotPrefix + "9999", slotPrefix + "1x", slotPrefix + "-1",
		slotPrefix + "99999999999999999999999", "v1.1.1", "hookproof-attempt1"} {
		if _, ok := s.taken(bad); ok {
			t.Errorf("taken(%q) found a slot", bad)
		}
	}
}

func TestNewSignerRejectsBadSecrets(t *testing.T) {
	_, err := newSigner("standard", "whsec_short", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "t", nil)
	if !errors.Is(err, ErrConfig) || !errors.Is(err, signature.ErrBadSecret) {
		t.Errorf("error %v, want ErrConfig wrapping ErrBadSecret", err)
	}
	if _, err := newSigner("carrier-pigeon", "x", "y", "t", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown scheme: %v", err)
	}
}

// TestAttemptCtx checks the shared deadline contexts: never sooner than Timeout after an
// attempt starts, at most slotWidth later, shared within a slot, and cut off by the run.
func TestAttemptCtx(t *testing.T) {
	r := &run{cfg: Config{Timeout: time.Second}}
	cancelSends := r.initSends()
	start := time.Now()
	tests := []struct {
		name  string
		at    time.Duration // after start
		share bool          // the same context as the attempt at start
	}{
		{"same instant", 0, true},
		{"within the slot", r.slotWidth / 2, true},
		{"past the slot", 2 * r.slotWidth, false},
	}
	first := r.attemptCtx(3, start)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start.Add(tt.at)
			ctx := r.attemptCtx(3, now)
			dl, ok := ctx.Deadline()
			if !ok || dl.Before(now.Add(time.Second)) || dl.After(now.Add(time.Second+r.slotWidth)) {
				t.Fatalf("deadline %v for an attempt at %v (timeout 1s, slot %v)", dl.Sub(start), tt.at, r.slotWidth)
			}
			if got := ctx == first; got != tt.share {
				t.Fatalf("shared with the first attempt: %v, want %v", got, tt.share)
			}
		})
	}
	if r.slotWidth != 10*time.Millisecond {
		t.Fatalf("slot width %v for a 1s timeout, want 10ms", r.slotWidth)
	}
	other := r.attemptCtx(4, start)
	cancelSends()
	for _, ctx := range []context.Context{first, other} {
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("after the cut-off: %v, want canceled", ctx.Err())
		}
	}
}

func TestSignerOnTemplates(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sg, err := newSigner("stripe", secret, wrongSecretFor("stripe", 1, secret), "tag",
		[]string{filepath.Join("..", "..", "testdata", "events", "stripe-invoice-paid.json")})
	if err != nil {
		t.Fatal(err)
	}
	e := &loadEvent{id: "evt_tag_1", object: 3, seq: 2}
	h, body, err := sg.sign(e, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"id": "evt_tag_1"`)) || !bytes.Contains(body, []byte(`"type": "invoice.paid"`)) ||
		!bytes.Contains(body, []byte(`"created": 1686089972`)) {
		t.Fatalf("body is not the template filled in:\n%s", body)
	}
	if _, err := sg.scheme.Verify(h, body); err != nil {
		t.Fatalf("copy does not verify: %v", err)
	}
	_, tampered, _ := sg.sign(e, InvalidTamperedBody, time.Now())
	if bytes.Equal(tampered, body) || !json.Valid(tampered) {
		t.Fatalf("tampered body: %s", tampered)
	}
}
