package signature

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the verifier's clock in these tests.
var testNow = time.Unix(1_800_000_000, 0)

var sentinels = []error{ErrInvalidSignature, ErrTimestampTooOld, ErrTimestampTooNew,
	ErrMissingHeader, ErrMalformedHeader, ErrBadSecret}

func mustNew(t testing.TB, name, secret string, opts ...Option) Scheme {
	t.Helper()
	s, err := New(name, secret, append([]Option{fixedClock(testNow)}, opts...)...)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	return s
}

func mustSign(t testing.TB, s Scheme, msg Message) http.Header {
	t.Helper()
	h, err := s.Sign(msg)
	if err != nil {
		t.Fatalf("%s Sign: %v", s.Name(), err)
	}
	return h
}

// checkErr fails unless err wraps want (nil: no error), and checks that a rejection always
// wraps exactly one sentinel, so callers can branch on errors.Is.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("err %q wraps %d sentinels, want exactly 1", err, n)
	}
}

// envelope is a body with a top-level id, as hookproof sends.
func envelope(id string) []byte {
	return []byte(`{"id":"` + id + `","type":"order.updated","data":{"object_id":"ord_1","seq":3}}`)
}

func TestNames(t *testing.T) {
	want := []string{"github", "shopify", "slack", "standard", "stripe", "svix"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if _, err := New("paypal", "x"); err == nil || !strings.Contains(err.Error(), "unknown scheme") {
		t.Errorf("New(paypal): err = %v, want unknown scheme", err)
	}
	if _, err := New("github", "x", WithTolerance(-time.Second)); err == nil {
		t.Error("negative tolerance accepted")
	}
}

// TestTraits checks that every scheme signs exactly the headers its Traits name, and that
// Verify reports what was signed.
func TestTraits(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s := mustNew(t, name, testSecret(name), WithTolerance(42*time.Second))
			tr := s.Traits()
			if s.Name() != name {
				t.Errorf("Name() = %q", s.Name())
			}
			if tr.SignatureHeader == "" {
				t.Error("no signature header")
			}
			if tr.Timestamped != (tr.Tolerance == 42*time.Second) || (!tr.Timestamped && tr.Tolerance != 0) {
				t.Errorf("Timestamped %v with tolerance %s", tr.Timestamped, tr.Tolerance)
			}
			at := testNow.Add(-7 * time.Second)
			h := mustSign(t, s, Message{ID: "msg_traits", Timestamp: at, Body: envelope("evt_body")})
			var want []string
			for _, n := range []string{tr.IDHeader, tr.TimestampHeader, tr.SignatureHeader} {
				if n != "" {
					want = append(want, http.CanonicalHeaderKey(n))
				}
			}
			if s.Name() == "github" {
				want = append(want, HeaderGitHubSignatureSHA1) // the legacy sha1 header GitHub still sends
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for k := range h {
					if !yield(k) {
						return
					}
				}
			})
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Sign set headers %v, Traits name %v", got, want)
			}
			vf, err := s.Verify(h, envelope("evt_body"))
			checkErr(t, err, nil)
			wantID := "msg_traits"
			if tr.IDHeader == "" {
				wantID = "evt_body" // stripe and slack: the body's id
			}
			if vf.ID != wantID {
				t.Errorf("Verified.ID = %q, want %q", vf.ID, wantID)
			}
			wantTS := time.Time{}
			if tr.Timestamped {
				wantTS = at
			}
			if !vf.Timestamp.Equal(wantTS) {
				t.Errorf("Verified.Timestamp = %v, want %v", vf.Timestamp, wantTS)
			}
		})
	}
}

func timestamped() []string {
	var out []string
	for _, n := range Names() {
		if s, _ := New(n, testSecret(n)); s.Traits().Timestamped {
			out = append(out, n)
		}
	}
	return out
}

func TestTimestampedSchemes(t *testing.T) {
	if got, want := timestamped(), []string{"slack", "standard", "stripe", "svix"}; !slices.Equal(got, want) {
		t.Fatalf("timestamped schemes %v, want %v", got, want)
	}
}

// TestTolerance: the window is closed (exactly the tolerance away passes) and one second
// beyond fails, in both directions, for the default and for an injected tolerance.
func TestTolerance(t *testing.T) {
	for _, name := range timestamped() {
		for _, tol := range []time.Duration{DefaultTolerance, 10 * time.Second, 0} {
			var opts []Option
			if tol != DefaultTolerance {
				opts = append(opts, WithTolerance(tol))
			}
			s := mustNew(t, name, testSecret(name), opts...)
			for _, tc := range []struct {
				offset time.Duration
				want   error
			}{
				{0, nil},
				{-tol, nil},
				{tol, nil},
				{-tol - time.Second, ErrTimestampTooOld},
				{tol + time.Second, ErrTimestampTooNew},
				{-24 * time.Hour, ErrTimestampTooOld},
				{24 * time.Hour, ErrTimestampTooNew},
			} {
				t.Run(fmt.Sprintf("%s/tol=%s/%s", name, tol, tc.offset), func(t *testing.T) {
					body := envelope("evt_1")
					h := mustSign(t, s, Message{ID: "msg_1", Timestamp: testNow.Add(tc.offset), Body: body})
					_, err := s.Verify(h, body)
					checkErr(t, err, tc.want)
				})
			}
		}
	}
}

// TestSignUsesClock: a zero Message.Timestamp means the injected clock's now.
func TestSignUsesClock(t *testing.T) {
	for _, name := range timestamped() {
		s := mustNew(t, name, testSecret(name))
		h := mustSign(t, s, Message{ID: "msg_1", Body: []byte("x")})
		vf, err := s.Verify(h, []byte("x"))
		checkErr(t, err, nil)
		if !vf.Timestamp.Equal(testNow) {
			t.Errorf("%s: signed at %v, want the clock's %v", name, vf.Timestamp, testNow)
		}
	}
}

// withTimestamp re-signs nothing: it swaps the timestamp text in signed headers, so the check
// under test (parsing) runs before any signature comparison.
func withTimestamp(name string, h http.Header, ts string) http.Header {
	h = h.Clone()
	switch name {
	case "standard":
		h.Set(HeaderWebhookTimestamp, ts)
	case "svix":
		h.Set(HeaderSvixTimestamp, ts)
	case "slack":
		h.Set(HeaderSlackTimestamp, ts)
	case "stripe":
		_, sigs, _ := strings.Cut(h.Get(HeaderStripeSignature), ",")
		h.Set(HeaderStripeSignature, "t="+ts+","+sigs)
	}
	return h
}

func TestTimestampParsing(t *testing.T) {
	now := strconv.FormatInt(testNow.Unix(), 10)
	cases := []struct {
		ts   string
		want error
	}{
		{now, nil},
		{"abc", ErrMalformedHeader},
		{now + ".5", ErrMalformedHeader},
		{"-" + now, ErrMalformedHeader},
		{"+" + now, ErrMalformedHeader},
		{"-5", ErrMalformedHeader},
		{"1.8e9", ErrMalformedHeader},
		{"0x6B49D200", ErrMalformedHeader},
		{"0" + now, ErrMalformedHeader}, // one instant, one spelling
		{"1" + strings.Repeat("0", 12), ErrMalformedHeader},
		{"18446744073709551616", ErrMalformedHeader},
		{strings.Repeat("9", 300), ErrMalformedHeader},
		{"999999999999", ErrTimestampTooNew},
		{"0", ErrTimestampTooOld},
		{"1", ErrTimestampTooOld},
		{now[:5] + " " + now[5:], ErrMalformedHeader},
	}
	for _, name := range timestamped() {
		s := mustNew(t, name, testSecret(name))
		signed := mustSign(t, s, Message{ID: "msg_1", Timestamp: testNow, Body: []byte("{}")})
		for _, tc := range cases {
			t.Run(name+"/"+clip(tc.ts), func(t *testing.T) {
				_, err := s.Verify(withTimestamp(name, signed, tc.ts), []byte("{}"))
				checkErr(t, err, tc.want)
			})
		}
	}
}

// headersOf lists the headers a scheme needs, from its Traits.
func headersOf(s Scheme) []string {
	tr := s.Traits()
	var out []string
	for _, n := range []string{tr.IDHeader, tr.TimestampHeader, tr.SignatureHeader} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

func TestMissingAndRepeatedHeaders(t *testing.T) {
	for _, name := range Names() {
		s := mustNew(t, name, testSecret(name))
		body := envelope("evt_1")
		signed := mustSign(t, s, Message{ID: "msg_1", Timestamp: testNow, Body: body})
		for _, hn := range headersOf(s) {
			for _, tc := range []struct {
				what   string
				mutate func(h http.Header)
				want   error
			}{
				{"absent", func(h http.Header) { h.Del(hn) }, ErrMissingHeader},
				{"empty", func(h http.Header) { h.Set(hn, "") }, ErrMissingHeader},
				{"blank", func(h http.Header) { h.Set(hn, "  \t ") }, ErrMissingHeader},
				{"repeated", func(h http.Header) { h.Add(hn, h.Get(hn)) }, ErrMalformedHeader},
				{"repeated-empty", func(h http.Header) { h.Add(hn, "") }, ErrMalformedHeader},
				{"padded", func(h http.Header) { h.Set(hn, "  "+h.Get(hn)+"\t") }, nil},
				{"non-ascii", func(h http.Header) { h.Set(hn, h.Get(hn)+"é") }, ErrMalformedHeader},
				{"nul", func(h http.Header) { h.Set(hn, "a\x00"+h.Get(hn)) }, ErrMalformedHeader},
				{"del", func(h http.Header) { h.Set(hn, h.Get(hn)+"\x7f") }, ErrMalformedHeader},
				{"inner-tab", func(h http.Header) { h.Set(hn, "a\tb") }, ErrMalformedHeader},
				{"invalid-utf8", func(h http.Header) { h.Set(hn, "\xff\xfe") }, ErrMalformedHeader},
				{"over-long", func(h http.Header) { h.Set(hn, strings.Repeat("a", MaxHeaderLen+1)) }, ErrMalformedHeader},
				{"huge", func(h http.Header) { h.Set(hn, strings.Repeat("v1,", 1<<20)) }, ErrMalformedHeader},
			} {
				t.Run(name+"/"+hn+"/"+tc.what, func(t *testing.T) {
					h := signed.Clone()
					tc.mutate(h)
					_, err := s.Verify(h, body)
					checkErr(t, err, tc.want)
				})
			}
		}
		t.Run(name+"/nil-header", func(t *testing.T) {
			_, err := s.Verify(nil, body)
			checkErr(t, err, ErrMissingHeader)
		})
	}
}

// TestIDLimits: an id of exactly MaxHeaderLen bytes travels; Sign refuses what could not.
func TestIDLimits(t *testing.T) {
	for _, name := range []string{"standard", "github", "shopify"} {
		s := mustNew(t, name, testSecret(name))
		long := strings.Repeat("i", MaxHeaderLen)
		h := mustSign(t, s, Message{ID: long, Timestamp: testNow, Body: []byte("b")})
		if vf, err := s.Verify(h, []byte("b")); err != nil || vf.ID != long {
			t.Errorf("%s: max-length id: %v", name, err)
		}
		for _, id := range []string{"", long + "i", " msg", "msg ", "msg\n", "mség", "a\x00b"} {
			if _, err := s.Sign(Message{ID: id, Timestamp: testNow}); err == nil {
				t.Errorf("%s: Sign accepted id %q", name, id)
			}
		}
	}
	for _, name := range timestamped() {
		s := mustNew(t, name, testSecret(name))
		for _, ts := range []time.Time{time.Unix(-1, 0), time.Unix(maxUnix+1, 0)} {
			if _, err := s.Sign(Message{ID: "m", Timestamp: ts}); err == nil {
				t.Errorf("%s: Sign accepted timestamp %d", name, ts.Unix())
			}
		}
	}
}

// sigCase is one signature header value, built from the genuine one, and the verdict.
type sigCase struct {
	what string
	sig  func(genuine string) string
	want error
}

// runSigCases signs body with s, replaces the signature header per case and verifies.
func runSigCases(t *testing.T, s Scheme, cases []sigCase) { runSigCasesWith(t, s, s, cases) }

// runSigCasesWith signs with signer and verifies with s.
func runSigCasesWith(t *testing.T, signer, s Scheme, cases []sigCase) {
	body := envelope("evt_1")
	signed := mustSign(t, signer, Message{ID: "msg_1", Timestamp: testNow, Body: body})
	hn := s.Traits().SignatureHeader
	for _, tc := range cases {
		t.Run(s.Name()+"/"+tc.what, func(t *testing.T) {
			h := signed.Clone()
			h.Set(hn, tc.sig(signed.Get(hn)))
			_, err := s.Verify(h, body)
			checkErr(t, err, tc.want)
		})
	}
}

func TestStandardEntries(t *testing.T) {
	other := "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	mac := func(g string) string { return strings.TrimPrefix(g, "v1,") }
	runSigCases(t, mustNew(t, "standard", testSecretStd), []sigCase{
		{"genuine", func(g string) string { return g }, nil},
		{"empty-v1", func(string) string { return "v1," }, ErrInvalidSignature},
		{"bare-version", func(string) string { return "v1" }, ErrInvalidSignature},
		{"no-version", func(g string) string { return mac(g) }, ErrInvalidSignature},
		{"truncated", func(g string) string { return g[:len(g)-1] }, ErrInvalidSignature},
		{"truncated-half", func(g string) string { return g[:len(g)/2] }, ErrInvalidSignature},
		{"extended", func(g string) string { return g + "=" }, ErrInvalidSignature},
		{"unknown-version-only", func(g string) string { return "v2," + mac(g) }, ErrInvalidSignature},
		{"unknown-version-skipped", func(g string) string { return "v2,garbage v0,x " + g }, nil},
		{"wrong-version-case", func(g string) string { return "V1," + mac(g) }, ErrInvalidSignature},
		{"hmac-as-v1a", func(g string) string { return "v1a," + mac(g) }, ErrInvalidSignature},
		{"lowercased", func(g string) string { return "v1," + strings.ToLower(mac(g)) }, ErrInvalidSignature},
		{"trailing-field", func(g string) string { return g + ",ignored" }, nil},
		{"double-space", func(g string) string { return other + "  " + g }, nil},
		{"comma-joined", func(g string) string { return other + "," + g }, ErrInvalidSignature},
		{"last-of-many", func(g string) string { return strings.Repeat(other+" ", 100) + g }, nil},
		{"wrong-only", func(string) string { return other }, ErrInvalidSignature},
		{"junk", func(string) string { return ",,, , ,v1 v1a v1a,%%%% ===" }, ErrInvalidSignature},
	})
}

func TestStandardWrongFields(t *testing.T) {
	s := mustNew(t, "standard", testSecretStd)
	body := envelope("evt_1")
	signed := mustSign(t, s, Message{ID: "msg_1", Timestamp: testNow, Body: body})
	for _, tc := range []struct {
		what   string
		mutate func(h http.Header) []byte
	}{
		{"other-id", func(h http.Header) []byte { h.Set(HeaderWebhookID, "msg_2"); return body }},
		{"other-second", func(h http.Header) []byte {
			h.Set(HeaderWebhookTimestamp, strconv.FormatInt(testNow.Unix()+1, 10))
			return body
		}},
		{"empty-body", func(http.Header) []byte { return nil }},
		{"body-plus-newline", func(http.Header) []byte { return append(slices.Clone(body), '\n') }},
		// The separator is part of the signed content: moving it must not keep the signature.
		{"shifted-separator", func(h http.Header) []byte {
			h.Set(HeaderWebhookID, "msg_1.1800000000")
			h.Set(HeaderWebhookTimestamp, "1800000000")
			return body
		}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			h := signed.Clone()
			b := tc.mutate(h)
			_, err := s.Verify(h, b)
			checkErr(t, err, ErrInvalidSignature)
		})
	}
}

// TestStandardEd25519Entries: v1a must be canonical base64 of a signature by a known key.
func TestStandardEd25519Entries(t *testing.T) {
	s := mustNew(t, "standard", testPublicKey)
	signer := mustNew(t, "standard", testSecretKey)
	body := envelope("evt_1")
	signed := mustSign(t, signer, Message{ID: "msg_1", Timestamp: testNow, Body: body})
	g := signed.Get(HeaderWebhookSignature)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(g, "v1a,"))
	if err != nil || len(raw) != ed25519.SignatureSize {
		t.Fatalf("signer produced %q", g)
	}
	// The last data character before "==" carries 4 unused bits; set one to get a
	// non-canonical spelling of the same signature.
	b64 := strings.TrimPrefix(g, "v1a,")
	noncanon := []byte(b64)
	i := len(noncanon) - 3
	noncanon[i] = base64Alphabet[strings.IndexByte(base64Alphabet, noncanon[i])|1]
	if string(noncanon) == b64 {
		noncanon[i] = base64Alphabet[strings.IndexByte(base64Alphabet, noncanon[i])&^1|2]
	}
	flipped := slices.Clone(raw)
	flipped[10] ^= 1
	other := mustSign(t, mustNew(t, "standard", PrefixSecretKey+base64.StdEncoding.EncodeToString(make([]byte, 32))),
		Message{ID: "msg_1", Timestamp: testNow, Body: body}).Get(HeaderWebhookSignature)
	runSigCasesWith(t, signer, s, []sigCase{
		{"genuine", func(string) string { return g }, nil},
		{"after-unknown", func(string) string { return "v2,x v1,abc " + g }, nil},
		{"non-canonical-base64", func(string) string { return "v1a," + string(noncanon) }, ErrInvalidSignature},
		{"unpadded", func(string) string { return strings.TrimRight(g, "=") }, ErrInvalidSignature},
		{"bit-flipped", func(string) string { return "v1a," + base64.StdEncoding.EncodeToString(flipped) }, ErrInvalidSignature},
		{"other-key", func(string) string { return other }, ErrInvalidSignature},
		{"as-v1", func(string) string { return "v1," + b64 }, ErrInvalidSignature},
		{"truncated", func(string) string { return g[:len(g)-4] }, ErrInvalidSignature},
		// 92 characters decode to 69 bytes: once found by FuzzVerifyStandard as a panic.
		{"over-long", func(string) string { return "v1a," + strings.Repeat("0", 92) }, ErrInvalidSignature},
		{"over-long-padded", func(string) string { return g + "AAAA" }, ErrInvalidSignature},
	})
	// An HMAC-only verifier skips v1a entries rather than failing on them.
	_, err = mustNew(t, "standard", testSecretStd).Verify(signed, body)
	checkErr(t, err, ErrInvalidSignature)
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func TestStripeItems(t *testing.T) {
	now := strconv.FormatInt(testNow.Unix(), 10)
	v1 := func(g string) string { _, sig, _ := strings.Cut(g, ",v1="); return sig }
	zero := strings.Repeat("0", 64)
	runSigCases(t, mustNew(t, "stripe", testSecret("stripe")), []sigCase{
		{"genuine", func(g string) string { return g }, nil},
		{"reordered", func(g string) string { return "v1=" + v1(g) + ",t=" + now }, nil},
		{"with-v0", func(g string) string { return g + ",v0=" + zero }, nil},
		{"unknown-key", func(g string) string { return "x=1," + g }, nil},
		{"after-wrong-v1", func(g string) string { return "t=" + now + ",v1=" + zero + ",v1=" + v1(g) }, nil},
		{"uppercase-hex", func(g string) string { return "t=" + now + ",v1=" + strings.ToUpper(v1(g)) }, nil},
		{"spaces", func(g string) string { return "t=" + now + " , v1=" + v1(g) }, nil},
		{"no-v1", func(string) string { return "t=" + now }, ErrInvalidSignature},
		{"empty-v1", func(string) string { return "t=" + now + ",v1=" }, ErrInvalidSignature},
		{"truncated", func(g string) string { return g[:len(g)-1] }, ErrInvalidSignature},
		{"odd-hex", func(g string) string { return "t=" + now + ",v1=" + v1(g)[:63] + "g" }, ErrInvalidSignature},
		{"extended", func(g string) string { return g + "00" }, ErrInvalidSignature},
		{"v0-only", func(g string) string { return "t=" + now + ",v0=" + v1(g) }, ErrInvalidSignature},
		{"no-t", func(g string) string { return "v1=" + v1(g) }, ErrMalformedHeader},
		{"empty-t", func(g string) string { return "t=,v1=" + v1(g) }, ErrMalformedHeader},
		{"t-twice", func(g string) string { return "t=" + now + "," + g }, ErrMalformedHeader},
		{"t-twice-empty-first", func(g string) string { return "t=," + g }, ErrMalformedHeader},
		{"item-without-equals", func(g string) string { return g + ",junk" }, ErrMalformedHeader},
		{"trailing-comma", func(g string) string { return g + "," }, ErrMalformedHeader},
		{"semicolons", func(g string) string { return strings.ReplaceAll(g, ",", ";") }, ErrMalformedHeader},
	})
}

func TestBodyMACHeaders(t *testing.T) {
	hexCases := func(prefix string) []sigCase {
		mac := func(g string) string { return strings.TrimPrefix(g, prefix) }
		return []sigCase{
			{"genuine", func(g string) string { return g }, nil},
			{"uppercase-hex", func(g string) string { return prefix + strings.ToUpper(mac(g)) }, nil},
			{"other-mac", func(string) string { return prefix + strings.Repeat("ab", 32) }, ErrInvalidSignature},
			{"no-prefix", func(g string) string { return mac(g) }, ErrMalformedHeader},
			{"prefix-case", func(g string) string { return strings.ToUpper(prefix) + mac(g) }, ErrMalformedHeader},
			{"prefix-only", func(string) string { return prefix }, ErrMalformedHeader},
			{"truncated", func(g string) string { return g[:len(g)-2] }, ErrMalformedHeader},
			{"odd-length", func(g string) string { return g[:len(g)-1] }, ErrMalformedHeader},
			{"extended", func(g string) string { return g + "00" }, ErrMalformedHeader},
			{"not-hex", func(g string) string { return g[:len(g)-1] + "z" }, ErrMalformedHeader},
			{"two-sigs", func(g string) string { return g + "," + g }, ErrMalformedHeader},
		}
	}
	runSigCases(t, mustNew(t, "github", testSecret("github")), append(hexCases("sha256="),
		sigCase{"sha1", func(g string) string { return "sha1=" + strings.Repeat("0", 40) }, ErrMalformedHeader}))
	runSigCases(t, mustNew(t, "slack", testSecret("slack")), append(hexCases("v0="),
		sigCase{"v1", func(g string) string { return "v1=" + strings.TrimPrefix(g, "v0=") }, ErrMalformedHeader}))
	runSigCases(t, mustNew(t, "shopify", testSecret("shopify")), []sigCase{
		{"genuine", func(g string) string { return g }, nil},
		{"other-mac", func(string) string { return base64.StdEncoding.EncodeToString(make([]byte, 32)) }, ErrInvalidSignature},
		{"unpadded", func(g string) string { return strings.TrimRight(g, "=") }, ErrMalformedHeader},
		{"url-alphabet", func(string) string { return "-_" + base64.StdEncoding.EncodeToString(make([]byte, 32))[2:] }, ErrMalformedHeader},
		{"hex", func(string) string { return hex.EncodeToString(make([]byte, 32)) }, ErrMalformedHeader},
		{"truncated", func(g string) string { return g[:len(g)-4] }, ErrMalformedHeader},
		{"non-canonical", func(g string) string { // 32 bytes end in one char with 2 unused bits
			b := []byte(g)
			i := len(b) - 2
			b[i] = base64Alphabet[strings.IndexByte(base64Alphabet, b[i])^1]
			return string(b)
		}, ErrMalformedHeader},
	})
}

// TestRotation: list schemes sign with every secret and verify with any one of them; the
// single-signature schemes sign with the first and verify with any.
func TestRotation(t *testing.T) {
	secretsFor := func(name string) (a, b, c string) {
		if whsecSchemes[name] {
			return testSecretStd,
				PrefixSecret + base64.StdEncoding.EncodeToString([]byte("another-secret-of-24-bytes!")),
				PrefixSecret + base64.StdEncoding.EncodeToString([]byte("a-third-secret-of-24-byte"))
		}
		return testSecret(name), "previous-" + name, "unrelated-" + name
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			a, b, c := secretsFor(name)
			body := envelope("evt_1")
			signer := mustNew(t, name, a, WithRotatedSecrets(b))
			h := mustSign(t, signer, Message{ID: "msg_1", Timestamp: testNow, Body: body})
			sig := h.Get(signer.Traits().SignatureHeader)
			list := whsecSchemes[name] || name == "stripe"
			entries := map[string]int{"standard": len(strings.Fields(sig)), "svix": len(strings.Fields(sig)), "stripe": strings.Count(sig, ",v1=")}
			if n, ok := entries[name]; ok && n != 2 {
				t.Errorf("signature %q has %d entries, want 2", sig, n)
			}
			_, err := mustNew(t, name, a).Verify(h, body)
			checkErr(t, err, nil)
			_, err = mustNew(t, name, b).Verify(h, body)
			if list {
				checkErr(t, err, nil)
			} else {
				checkErr(t, err, ErrInvalidSignature) // signed with a alone
			}
			_, err = mustNew(t, name, b, WithRotatedSecrets(c, a)).Verify(h, body)
			checkErr(t, err, nil)
			_, err = mustNew(t, name, c).Verify(h, body)
			checkErr(t, err, ErrInvalidSignature)
		})
	}
	t.Run("standard-mixed", func(t *testing.T) {
		s := mustNew(t, "standard", testSecretStd, WithRotatedSecrets(testSecretKey))
		h := mustSign(t, s, Message{ID: "msg_1", Timestamp: testNow, Body: []byte("b")})
		if got := strings.Fields(h.Get(HeaderWebhookSignature)); len(got) != 2 ||
			!strings.HasPrefix(got[0], "v1,") || !strings.HasPrefix(got[1], "v1a,") {
			t.Errorf("signature entries %q, want one v1 and one v1a", got)
		}
		for _, verifier := range []string{testSecretStd, testPublicKey, testSecretKey} {
			_, err := mustNew(t, "standard", verifier).Verify(h, []byte("b"))
			checkErr(t, err, nil)
		}
	})
}

func TestBadSecrets(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n))) }
	cases := []struct {
		what, scheme, secret string
		opts                 []Option
		ok                   bool
	}{
		{"24 bytes", "standard", PrefixSecret + b64(24), nil, true},
		{"64 bytes", "standard", PrefixSecret + b64(64), nil, true},
		{"no prefix", "standard", b64(32), nil, true},
		{"23 bytes", "standard", PrefixSecret + b64(23), nil, false},
		{"65 bytes", "standard", PrefixSecret + b64(65), nil, false},
		{"empty", "standard", "", nil, false},
		{"prefix only", "standard", PrefixSecret, nil, false},
		{"not base64", "standard", PrefixSecret + "s3cr3t!s3cr3t!s3cr3t!s3cr3t!s3cr3t!", nil, false},
		{"url base64", "standard", PrefixSecret + "-_" + b64(32)[2:], nil, false},
		{"unpadded", "standard", PrefixSecret + strings.TrimRight(b64(32), "="), nil, false},
		{"line break", "standard", PrefixSecret + b64(24)[:16] + "\n" + b64(24)[16:], nil, false},
		{"trailing newline", "standard", PrefixSecret + b64(32) + "\n", nil, false},
		{"ed25519 seed", "standard", testSecretKey, nil, true},
		{"ed25519 31 bytes", "standard", PrefixSecretKey + b64(31), nil, false},
		{"ed25519 not base64", "standard", PrefixSecretKey + "@@@@", nil, false},
		{"public key 33 bytes", "standard", PrefixPublicKey + b64(33), nil, false},
		{"rotated empty", "standard", testSecretStd, []Option{WithRotatedSecrets("")}, false},
		{"rotated bad", "standard", testSecretStd, []Option{WithRotatedSecrets(PrefixSecret + b64(8))}, false},
	}
	for _, name := range []string{"stripe", "github", "shopify", "slack"} {
		cases = append(cases,
			struct {
				what, scheme, secret string
				opts                 []Option
				ok                   bool
			}{"empty", name, "", nil, false},
			struct {
				what, scheme, secret string
				opts                 []Option
				ok                   bool
			}{"any string", name, "It's a Secret to Everybody", nil, true},
			struct {
				what, scheme, secret string
				opts                 []Option
				ok                   bool
			}{"rotated empty", name, "x", []Option{WithRotatedSecrets("y", "")}, false},
		)
	}
	for _, tc := range cases {
		t.Run(tc.scheme+"/"+tc.what, func(t *testing.T) {
			_, err := New(tc.scheme, tc.secret, tc.opts...)
			if tc.ok {
				checkErr(t, err, nil)
				return
			}
			checkErr(t, err, ErrBadSecret)
			// The message may name the prefix, never the key material.
			for _, part := range []string{tc.secret, strings.TrimPrefix(strings.TrimPrefix(tc.secret, PrefixSecret), PrefixSecretKey)} {
				if len(part) >= 4 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q shows the secret", err)
				}
				if len(part) >= 12 && strings.Contains(err.Error(), part[:8]) {
					t.Errorf("error %q shows part of the secret", err)
				}
			}
		})
	}
	t.Run("public key cannot sign", func(t *testing.T) {
		_, err := mustNew(t, "standard", testPublicKey).Sign(Message{ID: "m", Timestamp: testNow})
		checkErr(t, err, ErrBadSecret)
	})
}

// TestConcurrentVerify shares one scheme between goroutines, as a receiver does: the pooled
// hashes must never mix two deliveries. Run with -race.
func TestConcurrentVerify(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s := mustNew(t, name, testSecret(name), WithRotatedSecrets("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 24))))
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Go(func() {
					for i := range 100 {
						body := envelope(fmt.Sprintf("evt_%d_%d", g, i))
						h, err := s.Sign(Message{ID: fmt.Sprintf("msg_%d_%d", g, i), Timestamp: testNow, Body: body})
						if err != nil {
							errs <- err
							return
						}
						if _, err := s.Verify(h, body); err != nil {
							errs <- fmt.Errorf("goroutine %d delivery %d: %w", g, i, err)
							return
						}
						body[len(body)-2] ^= 1
						if _, err := s.Verify(h, body); !errors.Is(err, ErrInvalidSignature) {
							errs <- fmt.Errorf("goroutine %d delivery %d: tampered body: %v", g, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
