package signature

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorsPath is the repository's copy of the shared known-answer vectors.
const vectorsPath = "../../testdata/vectors.json"

// vector is the union of the fields the vector file uses; each scheme reads its own.
type vector struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	Source         string          `json:"source"`
	Secret         string          `json:"secret"`
	SigningSecret  string          `json:"signing_secret"`
	Seed           string          `json:"ed25519_seed_b64"`
	PublicKey      string          `json:"public_key_derived"`
	MsgID          string          `json:"msg_id"`
	Timestamp      json.RawMessage `json:"timestamp"` // a number for standard, a string for slack
	T              int64           `json:"t"`
	Payload        string          `json:"payload"`
	Body           string          `json:"body"`
	Header         string          `json:"header"`
	HeaderTemplate string          `json:"header_template"`
	Valid          *bool           `json:"valid"`
	Expected       string          `json:"expected"`
	ExpectedV1     string          `json:"expected_v1"`
	ExpectedB64    string          `json:"expected_b64"`
}

// unix reads the vector's timestamp, written either as a JSON number or a JSON string.
func (v vector) unix(t *testing.T) time.Time {
	t.Helper()
	s := strings.Trim(string(v.Timestamp), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s: timestamp %s: %v", v.ID, v.Timestamp, err)
	}
	return time.Unix(n, 0)
}

func loadVectors(t testing.TB) map[string][]vector {
	t.Helper()
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("reading vectors: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("parsing %s: %v", vectorsPath, err)
	}
	out := map[string][]vector{}
	for scheme, list := range top {
		if strings.HasPrefix(scheme, "_") { // commentary such as "_about"
			continue
		}
		var vs []vector
		if err := json.Unmarshal(list, &vs); err != nil {
			t.Fatalf("parsing %s vectors: %v", scheme, err)
		}
		out[scheme] = vs
	}
	return out
}

// fixedClock returns a clock stopped at t.
func fixedClock(t time.Time) Option { return WithClock(func() time.Time { return t }) }

// katByScheme holds one known-answer check per scheme. It returns false for a vector whose shape
// it does not know, so a new kind of vector cannot pass unchecked.
var katByScheme = map[string]func(t *testing.T, v vector) bool{
	"standard": katStandard,
	"svix":     katSvix,
	"stripe":   katStripe,
	"github":   katGitHub,
	"shopify":  katShopify,
	"slack":    katSlack,
}

func TestVectors(t *testing.T) {
	all := loadVectors(t)
	for scheme := range all {
		if _, ok := katByScheme[scheme]; !ok {
			t.Errorf("vectors.json has scheme %q but no known-answer test covers it", scheme)
		}
	}
	for _, name := range Names() {
		if len(all[name]) == 0 {
			t.Errorf("scheme %q has no known-answer vector in %s", name, vectorsPath)
		}
	}
	for scheme, vs := range all {
		kat := katByScheme[scheme]
		if kat == nil {
			continue
		}
		for _, v := range vs {
			t.Run(scheme+"/"+v.ID, func(t *testing.T) {
				if v.ID == "" {
					t.Fatal("vector without an id")
				}
				if !kat(t, v) {
					t.Fatalf("vector %s: no test knows this shape of %s vector; add one", v.ID, scheme)
				}
			})
		}
	}
}

// signVerify signs msg with a scheme made from secret and checks the signature header against
// want, then verifies the signed headers; it returns the headers for further checks.
func signVerify(t *testing.T, scheme, secret string, msg Message, sigHeader, want string) http.Header {
	t.Helper()
	s, err := New(scheme, secret, fixedClock(msg.Timestamp))
	if err != nil {
		t.Fatalf("New(%s): %v", scheme, err)
	}
	h, err := s.Sign(msg)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if got := h.Get(sigHeader); got != want {
		t.Errorf("%s:\n got %s\nwant %s", sigHeader, got, want)
	}
	vf, err := s.Verify(h, msg.Body)
	if err != nil {
		t.Fatalf("Verify of the signed vector: %v", err)
	}
	if msg.ID != "" && vf.ID != msg.ID {
		t.Errorf("Verified.ID = %q, want %q", vf.ID, msg.ID)
	}
	// One flipped body byte must break it.
	if len(msg.Body) > 0 {
		tampered := slices.Clone(msg.Body)
		tampered[len(tampered)/2] ^= 1
		if _, err := s.Verify(h, tampered); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify of a tampered body: err = %v, want ErrInvalidSignature", err)
		}
	}
	return h
}

func katStandard(t *testing.T, v vector) bool {
	switch {
	case v.HeaderTemplate != "":
		katStandardMulti(t, v)
	case v.Seed != "":
		katStandardEd25519(t, v)
	case strings.HasPrefix(v.Expected, "v1,"):
		msg := Message{ID: v.MsgID, Timestamp: v.unix(t), Body: []byte(v.Payload)}
		signVerify(t, "standard", v.Secret, msg, HeaderWebhookSignature, v.Expected)
	default:
		return false
	}
	return true
}

// katSvix: Standard Webhooks signing under the svix-* headers, and only those (the Svix
// libraries fall back to webhook-*, so a delivery carrying both would verify without svix-id).
func katSvix(t *testing.T, v vector) bool {
	if !strings.HasPrefix(v.Expected, "v1,") {
		return false
	}
	msg := Message{ID: v.MsgID, Timestamp: v.unix(t), Body: []byte(v.Payload)}
	h := signVerify(t, "svix", v.Secret, msg, HeaderSvixSignature, v.Expected)
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "webhook-") {
			t.Errorf("svix delivery carries %s", k)
		}
	}
	if h.Get(HeaderSvixID) != v.MsgID || h.Get(HeaderSvixTimestamp) != "1614265330" {
		t.Errorf("svix headers %v", h)
	}
	return true
}

// katStandardEd25519 signs with whsk_+seed and verifies with the derived whpk_ key alone.
func katStandardEd25519(t *testing.T, v vector) {
	seed, err := base64.StdEncoding.DecodeString(v.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("seed: %d bytes, %v", len(seed), err)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if got := PrefixPublicKey + base64.StdEncoding.EncodeToString(pub); got != v.PublicKey {
		t.Errorf("derived public key %s, vector says %s", got, v.PublicKey)
	}
	msg := Message{ID: v.MsgID, Timestamp: v.unix(t), Body: []byte(v.Payload)}
	h := signVerify(t, "standard", PrefixSecretKey+v.Seed, msg, HeaderWebhookSignature, v.Expected)

	verifier, err := New("standard", v.PublicKey, fixedClock(msg.Timestamp))
	if err != nil {
		t.Fatalf("New(whpk_): %v", err)
	}
	if _, err := verifier.Verify(h, msg.Body); err != nil {
		t.Errorf("Verify with the public key alone: %v", err)
	}
	if _, err := verifier.Sign(msg); !errors.Is(err, ErrBadSecret) {
		t.Errorf("Sign with a public key: err = %v, want ErrBadSecret", err)
	}
}

// katStandardMulti puts a valid v1 entry (made from the first plain v1 vector) in every
// position of the template's list and expects the vector's verdict; without it, no entry is valid.
func katStandardMulti(t *testing.T, v vector) {
	if v.Valid == nil {
		t.Fatalf("%s: template without a 'valid' verdict", v.ID)
	}
	var base *vector
	for _, o := range loadVectors(t)["standard"] {
		if strings.HasPrefix(o.Expected, "v1,") && o.Secret != "" {
			base = &o
			break
		}
	}
	if base == nil {
		t.Fatal("no plain v1 vector to take the valid entry from")
	}
	ts := base.unix(t)
	s, err := New("standard", base.Secret, fixedClock(ts))
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, e := range strings.Fields(v.HeaderTemplate) {
		if e != "{VALID}" {
			others = append(others, e)
		}
	}
	if len(others) == len(strings.Fields(v.HeaderTemplate)) {
		t.Fatalf("%s: template has no {VALID} slot", v.ID)
	}
	verify := func(sig string) error {
		h := http.Header{}
		h.Set(HeaderWebhookID, base.MsgID)
		h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderWebhookSignature, sig)
		_, err := s.Verify(h, []byte(base.Payload))
		return err
	}
	for pos := 0; pos <= len(others); pos++ {
		entries := slices.Insert(slices.Clone(others), pos, base.Expected)
		err := verify(strings.Join(entries, " "))
		if got := err == nil; got != *v.Valid {
			t.Errorf("valid entry at position %d: valid = %v (err %v), want %v", pos, got, err, *v.Valid)
		}
	}
	if err := verify(strings.Join(others, " ")); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("template without the valid entry: err = %v, want ErrInvalidSignature", err)
	}
}

func katStripe(t *testing.T, v vector) bool {
	if v.ExpectedV1 == "" || v.T == 0 {
		return false
	}
	msg := Message{Timestamp: time.Unix(v.T, 0), Body: []byte(v.Payload)}
	want := "t=" + strconv.FormatInt(v.T, 10) + ",v1=" + v.ExpectedV1
	signVerify(t, "stripe", v.Secret, msg, HeaderStripeSignature, want)
	return true
}

func katGitHub(t *testing.T, v vector) bool {
	if v.Expected == "" {
		return false
	}
	if http.CanonicalHeaderKey(v.Header) == http.CanonicalHeaderKey(HeaderGitHubSignatureSHA1) {
		// The legacy header: Sign sends it beside X-Hub-Signature-256; Verify never reads it.
		s, err := New("github", v.Secret)
		if err != nil {
			t.Fatal(err)
		}
		h := mustSign(t, s, Message{ID: "delivery-" + v.ID, Body: []byte(v.Payload)})
		if got := h.Get(HeaderGitHubSignatureSHA1); got != v.Expected {
			t.Errorf("%s = %q, want %q", HeaderGitHubSignatureSHA1, got, v.Expected)
		}
		return true
	}
	if v.Header != "" && http.CanonicalHeaderKey(v.Header) != http.CanonicalHeaderKey(HeaderGitHubSignature) {
		t.Errorf("vector names header %s, scheme uses %s", v.Header, HeaderGitHubSignature)
	}
	msg := Message{ID: "delivery-" + v.ID, Body: []byte(v.Payload)}
	signVerify(t, "github", v.Secret, msg, HeaderGitHubSignature, v.Expected)
	return true
}

func katShopify(t *testing.T, v vector) bool {
	if v.ExpectedB64 == "" {
		return false
	}
	msg := Message{ID: "webhook-" + v.ID, Body: []byte(v.Payload)}
	signVerify(t, "shopify", v.Secret, msg, HeaderShopifyHmac, v.ExpectedB64)
	return true
}

func katSlack(t *testing.T, v vector) bool {
	if v.Expected == "" || v.SigningSecret == "" {
		return false
	}
	msg := Message{Timestamp: v.unix(t), Body: []byte(v.Body)}
	h := signVerify(t, "slack", v.SigningSecret, msg, HeaderSlackSignature, v.Expected)
	if got := h.Get(HeaderSlackTimestamp); got != strings.Trim(string(v.Timestamp), `"`) {
		t.Errorf("%s = %s, want %s", HeaderSlackTimestamp, got, v.Timestamp)
	}
	return true
}
