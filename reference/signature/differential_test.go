package signature

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	stripewebhook "github.com/stripe/stripe-go/v82/webhook"
)

// The differential tests hold our schemes against the providers' own libraries on a few
// thousand random deliveries each. The seed is fixed so a failure replays; it is printed with
// every failure.
const (
	diffSeed  = 20261129
	diffCases = 3000
)

func newDiffRand() *rand.Rand { return rand.New(rand.NewPCG(diffSeed, diffSeed^0x5eed)) }

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// randBody is empty, JSON-ish text, or arbitrary bytes (not UTF-8), up to 2 KiB.
func randBody(r *rand.Rand) []byte {
	switch r.IntN(4) {
	case 0:
		return []byte{}
	case 1:
		return envelope("evt_" + strconv.FormatUint(r.Uint64(), 36))
	default:
		return randBytes(r, r.IntN(2048))
	}
}

// randToken is printable ASCII with no space at either end, as a header value arrives.
func randToken(r *rand.Rand, min, max int) string {
	b := make([]byte, min+r.IntN(max-min+1))
	for i := range b {
		b[i] = byte(0x21 + r.IntN(0x7e-0x21+1))
		if i > 0 && i < len(b)-1 && r.IntN(10) == 0 {
			b[i] = ' '
		}
	}
	return string(b)
}

// tamper changes body in one of several ways, always to different bytes.
func tamper(r *rand.Rand, body []byte) []byte {
	b := append([]byte(nil), body...)
	switch {
	case len(b) == 0 || r.IntN(3) == 0:
		return append(b, byte(r.UintN(256)))
	case r.IntN(2) == 0:
		return b[:len(b)-1]
	default:
		b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		return b
	}
}

// TestDifferentialStandard: ours and standard-webhooks/libraries/go sign identically and agree
// on verify. Confined to what that library implements and reads the same way: v1 only (it
// has no v1a), no leading or trailing spaces in headers (it does not trim), canonical
// timestamps (it accepts "+5" and leading zeros), one value per header (it reads the first).
func TestDifferentialStandard(t *testing.T) {
	r := newDiffRand()
	for i := range diffCases {
		fail := func(format string, a ...any) {
			t.Helper()
			t.Fatalf("case %d (seed %d): "+format, append([]any{i, diffSeed}, a...)...)
		}
		secret := PrefixSecret + base64.StdEncoding.EncodeToString(randBytes(r, MinSecretBytes+r.IntN(MaxSecretBytes-MinSecretBytes+1)))
		id := randToken(r, 1, 64)
		ts := time.Unix(r.Int64N(maxUnix+1), 0)
		body := randBody(r)

		ours, err := New("standard", secret, fixedClock(ts))
		if err != nil {
			fail("New: %v", err)
		}
		theirs, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			fail("NewWebhook: %v", err)
		}
		h, err := ours.Sign(Message{ID: id, Timestamp: ts, Body: body})
		if err != nil {
			fail("Sign: %v", err)
		}
		want, err := theirs.Sign(id, ts, body)
		if err != nil {
			fail("their Sign: %v", err)
		}
		if got := h.Get(HeaderWebhookSignature); got != want {
			fail("signature %q, theirs %q", got, want)
		}

		other := PrefixSecret + base64.StdEncoding.EncodeToString(randBytes(r, 32))
		otherSig, _ := mustNew(t, "standard", other).Sign(Message{ID: id, Timestamp: ts, Body: body})
		junk := "v1," + base64.StdEncoding.EncodeToString(randBytes(r, 32))
		variants := []struct {
			what string
			h    http.Header
			body []byte
		}{
			{"genuine", h, body},
			{"tampered body", h, tamper(r, body)},
			{"other secret", otherSig, body},
			{"other id", withHeader(h, HeaderWebhookID, id+"x"), body},
			{"other timestamp", withHeader(h, HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix()+1, 10)), body},
			{"in a list", withHeader(h, HeaderWebhookSignature, junk+" v2,"+want[3:]+" "+want), body},
			{"unknown version", withHeader(h, HeaderWebhookSignature, "v2,"+want[3:]), body},
			{"truncated", withHeader(h, HeaderWebhookSignature, want[:len(want)-1-r.IntN(10)]), body},
			{"other only", withHeader(h, HeaderWebhookSignature, junk), body},
		}
		for _, v := range variants {
			// Their Verify reads the real clock; compare signatures with the timestamp left out
			// on their side and our clock at the signed time (the tolerance has its own test).
			_, errOurs := ours.Verify(v.h, v.body)
			errTheirs := theirs.VerifyIgnoringTimestamp(v.body, v.h)
			if (errOurs == nil) != (errTheirs == nil) {
				fail("%s: ours %v, theirs %v", v.what, errOurs, errTheirs)
			}
		}
		if _, err := ours.Verify(h, body); err != nil {
			fail("genuine rejected: %v", err)
		}
	}
}

// TestDifferentialStandardTolerance: both read the real clock here, with timestamps kept 10 s
// away from the window's edges so that a slow machine cannot flip a verdict.
func TestDifferentialStandardTolerance(t *testing.T) {
	r := newDiffRand()
	secret := testSecretStd
	ours, err := New("standard", secret) // the real clock, like theirs
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for i := range diffCases / 3 {
		offset := time.Duration(r.Int64N(int64(40*time.Minute))) - 20*time.Minute
		if d := offset.Abs() - DefaultTolerance; d > -10*time.Second && d < 10*time.Second {
			continue
		}
		body := randBody(r)
		h := mustSign(t, ours, Message{ID: "msg_" + strconv.Itoa(i), Timestamp: time.Now().Add(offset), Body: body})
		_, errOurs := ours.Verify(h, body)
		errTheirs := theirs.Verify(body, h)
		if (errOurs == nil) != (errTheirs == nil) {
			t.Fatalf("case %d (seed %d), offset %s: ours %v, theirs %v", i, diffSeed, offset, errOurs, errTheirs)
		}
		if errOurs == nil {
			accepted++
		}
	}
	if accepted == 0 || accepted == diffCases/3 {
		t.Fatalf("accepted %d of %d: the offsets do not straddle the window", accepted, diffCases/3)
	}
}

// withHeader returns a copy of h (nil: empty) with name set to value.
func withHeader(h http.Header, name, value string) http.Header {
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(name, value)
	return h
}

// TestDifferentialStripe: ours and stripe-go's webhook package sign identically and agree on
// verify. Confined to headers both read the same way: no spaces around items (stripe-go does
// not trim), exactly one t (stripe-go lets a later t win and signs a missing one as year 1),
// values without '=' (stripe-go rejects the whole header on one).
func TestDifferentialStripe(t *testing.T) {
	r := newDiffRand()
	for i := range diffCases {
		fail := func(format string, a ...any) {
			t.Helper()
			t.Fatalf("case %d (seed %d): "+format, append([]any{i, diffSeed}, a...)...)
		}
		secret := "whsec_" + strings.ReplaceAll(randToken(r, 8, 48), " ", "_")
		ts := time.Unix(1+r.Int64N(maxUnix), 0)
		body := randBody(r)
		ours, err := New("stripe", secret, fixedClock(ts))
		if err != nil {
			fail("New: %v", err)
		}
		h := mustSign(t, ours, Message{Timestamp: ts, Body: body})
		got := h.Get(HeaderStripeSignature)
		want := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts}).Header
		if got != want {
			fail("header %q, stripe-go %q", got, want)
		}

		tv := strconv.FormatInt(ts.Unix(), 10)
		mac := strings.TrimPrefix(got, "t="+tv+",v1=")
		otherMAC := hex.EncodeToString(refMAC([]byte(secret+"x"), tv, ".", string(body)))
		variants := []struct {
			what, header string
			body         []byte
		}{
			{"genuine", got, body},
			{"tampered body", got, tamper(r, body)},
			{"other secret", "t=" + tv + ",v1=" + otherMAC, body},
			{"other t", "t=" + strconv.FormatInt(ts.Unix()-1, 10) + ",v1=" + mac, body},
			{"rotation list", "t=" + tv + ",v1=" + otherMAC + ",v1=" + mac, body},
			{"v1 first", "v1=" + mac + ",t=" + tv, body},
			{"with v0", got + ",v0=" + otherMAC, body},
			{"v0 only", "t=" + tv + ",v0=" + mac, body},
			{"uppercase", "t=" + tv + ",v1=" + strings.ToUpper(mac), body},
			{"truncated", got[:len(got)-1-r.IntN(20)], body},
			{"no v1", "t=" + tv, body},
		}
		for _, v := range variants {
			_, errOurs := ours.Verify(withHeader(nil, HeaderStripeSignature, v.header), v.body)
			errTheirs := stripewebhook.ValidatePayloadIgnoringTolerance(v.body, v.header, secret)
			if (errOurs == nil) != (errTheirs == nil) {
				fail("%s (%q): ours %v, stripe-go %v", v.what, v.header, errOurs, errTheirs)
			}
		}
	}
}

// TestDifferentialStripeTolerance: stripe-go only rejects timestamps that are too old, while we
// also reject those too far in the future; so the future side is confined to the window, where
// both accept. Timestamps stay 10 s away from the window's edges.
func TestDifferentialStripeTolerance(t *testing.T) {
	r := newDiffRand()
	secret := testSecret("stripe")
	ours, err := New("stripe", secret) // the real clock, like stripe-go
	if err != nil {
		t.Fatal(err)
	}
	accepted, n := 0, 0
	for i := range diffCases / 3 {
		offset := time.Duration(r.Int64N(int64(25*time.Minute))) - 20*time.Minute // [-20m, +5m)
		if d := offset.Abs() - DefaultTolerance; (d > -10*time.Second && d < 10*time.Second) || offset > DefaultTolerance {
			continue // near an edge of the window, or beyond its future edge
		}
		body := randBody(r)
		h := mustSign(t, ours, Message{Timestamp: time.Now().Add(offset), Body: body})
		_, errOurs := ours.Verify(h, body)
		errTheirs := stripewebhook.ValidatePayloadWithTolerance(body, h.Get(HeaderStripeSignature), secret, DefaultTolerance)
		if (errOurs == nil) != (errTheirs == nil) {
			t.Fatalf("case %d (seed %d), offset %s: ours %v, stripe-go %v", i, diffSeed, offset, errOurs, errTheirs)
		}
		n++
		if errOurs == nil {
			accepted++
		}
	}
	if accepted == 0 || accepted == n {
		t.Fatalf("accepted %d of %d: the offsets do not straddle the window", accepted, n)
	}
}
