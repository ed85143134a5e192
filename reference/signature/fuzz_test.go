package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fuzz targets share three invariants, checked against an independent computation of the
// genuine signature with crypto/hmac and crypto/ed25519:
//
//   - Verify never panics, and every rejection wraps exactly one sentinel error;
//   - an accepted delivery carries, in its headers, the genuine signature for exactly the id,
//     timestamp and body that Verify reports (a forgery never passes);
//   - a well-formed delivery that carries the genuine signature is accepted, whatever else
//     the fuzzer put beside it in a signature list.

// refMAC is HMAC-SHA256(key, parts...), computed without the package's helpers.
func refMAC(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// oneSentinel fails unless err wraps exactly one of the package's sentinel errors.
func oneSentinel(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("rejection %q wraps %d sentinels, want 1", err, n)
	}
}

// wellFormed reports whether v, as sent, arrives as a usable header value: non-empty after
// trimming, printable ASCII, not over-long.
func wellFormed(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && checkHeaderValue(v) == nil
}

// canonicalUnix reports whether v is a timestamp Verify must parse: canonical decimal seconds.
func canonicalUnix(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0 && n <= maxUnix && strconv.FormatInt(n, 10) == v
}

func withinTolerance(n int64, now time.Time) bool {
	d := now.Sub(time.Unix(n, 0))
	return d <= DefaultTolerance && d >= -DefaultTolerance
}

// hasEntry reports whether a space-separated "version,value[,…]" list has the entry.
func hasEntry(list, version, value string) bool {
	for _, e := range strings.Split(list, " ") {
		parts := strings.Split(e, ",")
		if len(parts) >= 2 && parts[0] == version && parts[1] == value {
			return true
		}
	}
	return false
}

func vectorByID(t testing.TB, scheme, id string) vector {
	t.Helper()
	for _, v := range loadVectors(t)[scheme] {
		if v.ID == id {
			return v
		}
	}
	t.Fatalf("vector %s/%s not found", scheme, id)
	return vector{}
}

func FuzzVerifyStandard(f *testing.F) {
	sw1 := vectorByID(f, "standard", "SW-1")
	sw2 := vectorByID(f, "standard", "SW-2")
	multi := vectorByID(f, "standard", "SW-MULTI")
	ts1 := strings.Trim(string(sw1.Timestamp), `"`)
	now := time.Unix(sw1.mustUnix(), 0)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sw1.Secret, PrefixSecret))
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := base64.StdEncoding.DecodeString(sw2.Seed)
	priv := ed25519.NewKeyFromSeed(seed)
	s, err := New("standard", sw1.Secret, WithRotatedSecrets(sw2.PublicKey), fixedClock(now))
	if err != nil {
		f.Fatal(err)
	}

	f.Add(sw1.MsgID, ts1, sw1.Expected, []byte(sw1.Payload), uint8(0))
	f.Add(sw2.MsgID, ts1, sw2.Expected, []byte(sw2.Payload), uint8(0))
	f.Add(sw1.MsgID, ts1, strings.Replace(multi.HeaderTemplate, "{VALID}", sw1.Expected, 1), []byte(sw1.Payload), uint8(0))
	f.Add(sw1.MsgID, ts1, strings.Replace(multi.HeaderTemplate, " {VALID}", "", 1), []byte(sw1.Payload), uint8(1))
	f.Add("msg_x", ts1, "v1,", []byte{}, uint8(3))
	f.Add("msg_ü", "0"+ts1, "v2,x v1a,AAAA", []byte{0xff, 0x00, 0xfe}, uint8(2))
	f.Add(" msg_1 ", " "+ts1+" ", "", []byte("{}"), uint8(1))

	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, insert uint8) {
		tid, tts := strings.TrimSpace(id), strings.TrimSpace(ts)
		content := tid + "." + tts + "." + string(body)
		if insert&1 != 0 {
			sig += " v1," + base64.StdEncoding.EncodeToString(refMAC(key, content))
		}
		if insert&2 != 0 {
			sig += " v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(content)))
		}
		h := http.Header{}
		h.Set(HeaderWebhookID, id)
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, sig)
		vf, err := s.Verify(h, body)
		if err != nil {
			oneSentinel(t, err)
			n, canon := canonicalUnix(tts)
			if insert&3 != 0 && wellFormed(id) && wellFormed(ts) && wellFormed(sig) && canon && withinTolerance(n, now) {
				t.Fatalf("genuine delivery rejected: %v", err)
			}
			return
		}
		if vf.ID != tid || strconv.FormatInt(vf.Timestamp.Unix(), 10) != tts {
			t.Fatalf("accepted as id %q ts %d, headers say %q %q", vf.ID, vf.Timestamp.Unix(), tid, tts)
		}
		if !withinTolerance(vf.Timestamp.Unix(), now) {
			t.Fatalf("accepted timestamp %d outside the tolerance", vf.Timestamp.Unix())
		}
		sv := strings.TrimSpace(sig)
		mac := base64.StdEncoding.EncodeToString(refMAC(key, content))
		ed := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(content)))
		if !hasEntry(sv, "v1", mac) && !hasEntry(sv, "v1a", ed) {
			t.Fatalf("accepted %q without the genuine signature for %q", sv, content)
		}
	})
}

// mustUnix is vector.unix for callers without a *testing.T (fuzz setup).
func (v vector) mustUnix() int64 {
	n, err := strconv.ParseInt(strings.Trim(string(v.Timestamp), `"`), 10, 64)
	if err != nil {
		panic("vector " + v.ID + ": bad timestamp")
	}
	return n
}

func FuzzVerifyStripe(f *testing.F) {
	st := vectorByID(f, "stripe", "ST-1")
	now := time.Unix(st.T, 0)
	tnow := strconv.FormatInt(st.T, 10)
	s, err := New("stripe", st.Secret, fixedClock(now))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("t="+tnow+",v1="+st.ExpectedV1, []byte(st.Payload), false)
	f.Add("v1="+strings.ToUpper(st.ExpectedV1)+",t="+tnow+",v0=00", []byte(st.Payload), false)
	f.Add("t="+tnow+",v1="+st.ExpectedV1+",t="+tnow, []byte(st.Payload), false)
	f.Add("t="+tnow+",v1=", []byte(st.Payload), true)
	f.Add("x=1, v0=ff", []byte(`{"id":"evt_1"}`), true)
	f.Add("", []byte{}, true)
	f.Add("t=0"+tnow+",v1=00", []byte{0x80}, false)

	f.Fuzz(func(t *testing.T, sig string, body []byte, insert bool) {
		if insert {
			// Append "t=now,v1=genuine" items to whatever the fuzzer wrote.
			g := "t=" + tnow + ",v1=" + hex.EncodeToString(refMAC([]byte(st.Secret), tnow, ".", string(body)))
			if sig != "" {
				g = sig + "," + g
			}
			sig = g
		}
		h := http.Header{}
		h.Set(HeaderStripeSignature, sig)
		vf, err := s.Verify(h, body)
		if err != nil {
			oneSentinel(t, err)
			if insert && wellFormed(sig) && stripeItemsClean(strings.TrimSpace(sig)) {
				t.Fatalf("genuine delivery rejected: %v (header %q)", err, sig)
			}
			return
		}
		tv := strconv.FormatInt(vf.Timestamp.Unix(), 10)
		if !withinTolerance(vf.Timestamp.Unix(), now) {
			t.Fatalf("accepted timestamp %s outside the tolerance", tv)
		}
		want := hex.EncodeToString(refMAC([]byte(st.Secret), tv, ".", string(body)))
		var gotT, gotSig bool
		for _, item := range strings.Split(strings.TrimSpace(sig), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
			gotT = gotT || (k == "t" && v == tv)
			gotSig = gotSig || (k == "v1" && strings.ToLower(v) == want)
		}
		if !gotT || !gotSig {
			t.Fatalf("accepted %q (t=%s) without the genuine v1 for that t and body", sig, tv)
		}
		if vf.ID != BodyID(body) {
			t.Fatalf("Verified.ID %q, body id %q", vf.ID, BodyID(body))
		}
	})
}

// stripeItemsClean reports whether every item of a Stripe-Signature is key=value and t appears
// once: then a header carrying the genuine v1 must verify.
func stripeItemsClean(v string) bool {
	ts := 0
	for _, item := range strings.Split(v, ",") {
		k, _, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return false
		}
		if k == "t" {
			ts++
		}
	}
	return ts == 1
}

// fuzzBodyMAC drives github and shopify: a MAC of the body alone, id in its own header.
func fuzzBodyMAC(f *testing.F, scheme, secret, genuineSeed string, seedBody []byte,
	encode func([]byte) string, normalise func(string) string) {
	s, err := New(scheme, secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("delivery-1", genuineSeed, seedBody, false)
	f.Add("delivery-1", strings.ToUpper(genuineSeed), seedBody, false)
	f.Add("delivery-1", genuineSeed+"=", seedBody, false)
	f.Add("d", "", []byte{}, true)
	f.Add(" d\t", "x", []byte{0xff}, true)
	f.Add("dé", genuineSeed, seedBody, false)

	f.Fuzz(func(t *testing.T, id, sig string, body []byte, insert bool) {
		want := encode(refMAC([]byte(secret), string(body)))
		if insert {
			sig = want
		}
		h := http.Header{}
		h.Set(s.Traits().IDHeader, id)
		h.Set(s.Traits().SignatureHeader, sig)
		vf, err := s.Verify(h, body)
		if err != nil {
			oneSentinel(t, err)
			if insert && wellFormed(id) {
				t.Fatalf("genuine delivery rejected: %v", err)
			}
			return
		}
		if got := normalise(strings.TrimSpace(sig)); got != want {
			t.Fatalf("accepted %q, genuine is %q", sig, want)
		}
		if vf.ID != strings.TrimSpace(id) || !vf.Timestamp.IsZero() {
			t.Fatalf("accepted as %+v, id header %q", vf, id)
		}
	})
}

func FuzzVerifyGitHub(f *testing.F) {
	gh := vectorByID(f, "github", "GH-1")
	fuzzBodyMAC(f, "github", gh.Secret, gh.Expected, []byte(gh.Payload),
		func(b []byte) string { return "sha256=" + hex.EncodeToString(b) },
		func(s string) string { // hex digits may come in either case; the prefix may not
			p, mac, _ := strings.Cut(s, "=")
			return p + "=" + strings.ToLower(mac)
		})
}

func FuzzVerifyShopify(f *testing.F) {
	sh := vectorByID(f, "shopify", "SH-1")
	fuzzBodyMAC(f, "shopify", sh.Secret, sh.ExpectedB64, []byte(sh.Payload),
		base64.StdEncoding.EncodeToString, func(s string) string { return s })
}

func FuzzVerifySlack(f *testing.F) {
	sl := vectorByID(f, "slack", "SL-1")
	now := time.Unix(sl.mustUnix(), 0)
	tnow := strconv.FormatInt(now.Unix(), 10)
	s, err := New("slack", sl.SigningSecret, fixedClock(now))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tnow, sl.Expected, []byte(sl.Body), false)
	f.Add(tnow, strings.ToUpper(sl.Expected), []byte(sl.Body), false)
	f.Add("0"+tnow, sl.Expected, []byte(sl.Body), false)
	f.Add(tnow, "v0=", []byte{}, true)
	f.Add(tnow+"1", "v1=00", []byte(`{"id":"x"}`), true)

	f.Fuzz(func(t *testing.T, ts, sig string, body []byte, insert bool) {
		tts := strings.TrimSpace(ts)
		if insert {
			sig = "v0=" + hex.EncodeToString(refMAC([]byte(sl.SigningSecret), "v0:", tts, ":", string(body)))
		}
		h := http.Header{}
		h.Set(HeaderSlackTimestamp, ts)
		h.Set(HeaderSlackSignature, sig)
		vf, err := s.Verify(h, body)
		if err != nil {
			oneSentinel(t, err)
			if n, canon := canonicalUnix(tts); insert && wellFormed(ts) && canon && withinTolerance(n, now) {
				t.Fatalf("genuine delivery rejected: %v", err)
			}
			return
		}
		tv := strconv.FormatInt(vf.Timestamp.Unix(), 10)
		if tv != tts || !withinTolerance(vf.Timestamp.Unix(), now) {
			t.Fatalf("accepted timestamp %s from header %q", tv, ts)
		}
		want := "v0=" + hex.EncodeToString(refMAC([]byte(sl.SigningSecret), "v0:", tv, ":", string(body)))
		if got := strings.TrimSpace(sig); !strings.HasPrefix(got, "v0=") || strings.ToLower(got) != want {
			t.Fatalf("accepted %q, genuine is %q", sig, want)
		}
		if vf.ID != BodyID(body) {
			t.Fatalf("Verified.ID %q, body id %q", vf.ID, BodyID(body))
		}
	})
}

// bodyIDModel is BodyID written the slow, obvious way: stream the top-level object's tokens.
func bodyIDModel(body []byte) string {
	if !json.Valid(body) {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	id := ""
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ""
		}
		if k == "id" {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = ""
			}
			id = s // the last "id" wins
		}
	}
	return id
}

func FuzzBodyID(f *testing.F) {
	for _, v := range loadVectors(f)["standard"] {
		f.Add([]byte(v.Payload))
	}
	for _, b := range bodyIDCases {
		f.Add([]byte(b.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := BodyID(body), bodyIDModel(body); got != want {
			t.Fatalf("BodyID(%q) = %q, want %q", body, got, want)
		}
	})
}

var bodyIDCases = []struct{ body, want string }{
	{`{"id":"evt_1"}`, "evt_1"},
	{` {"type":"x", "id" : "evt_1" } `, "evt_1"},
	{"\n\t{\"id\":\"evt_1\"}\r\n", "evt_1"},
	{`{"ID":"evt_1"}`, ""},
	{`{"Id":"a","id":"b","iD":"c"}`, "b"},
	{`{"id":"a","id":"b"}`, "b"},
	{`{"id":"a","id":7}`, ""},
	{`{"\u0069d":"escaped-key"}`, "escaped-key"},
	{`{"id":"quote\"inside"}`, `quote"inside`},
	{`{"id":"caf\u00e9"}`, "café"},
	{`{"id":"café"}`, "café"},
	{"{\"id\":\"bad\xffutf8\"}", "bad\ufffdutf8"},
	{`{"id":1}`, ""},
	{`{"id":null}`, ""},
	{`{"id":["a"]}`, ""},
	{`{"id":{"id":"inner"}}`, ""},
	{`{"data":{"id":"inner"}}`, ""},
	{`{"x":["}","{",{"id":"deep"}],"y":"\\","id":"after-nesting"}`, "after-nesting"},
	{`{"x":"\\\"","id":"after-escapes"}`, "after-escapes"},
	{`{"a":-1.5e3,"b":true,"c":false,"d":null,"id":"after-literals"}`, "after-literals"},
	{`{}`, ""},
	{`[{"id":"a"}]`, ""},
	{`"id"`, ""},
	{``, ""},
	{`   `, ""},
	{`{"id":"a"`, ""},
	{`{"id":"a"} {"id":"b"}`, ""},
	{`{"id":"a",}`, ""},
	{"\xef\xbb\xbf{\"id\":\"bom\"}", ""},
}

func TestBodyID(t *testing.T) {
	for _, tc := range bodyIDCases {
		if got := BodyID([]byte(tc.body)); got != tc.want {
			t.Errorf("BodyID(%q) = %q, want %q", tc.body, got, tc.want)
		}
		if got := bodyIDModel([]byte(tc.body)); got != tc.want {
			t.Errorf("model(%q) = %q, want %q (the model is wrong)", tc.body, got, tc.want)
		}
	}
}
