package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted replaces every secret hookproof leaves out of its output.
const Redacted = "[REDACTED]"

// notSecretHeaders are headers whose names look secret-ish but carry evidence a reader
// needs: signatures are public by design (they are sent in clear), idempotency keys are ids.
var notSecretHeaders = map[string]bool{
	"webhook-signature":     true,
	"stripe-signature":      true,
	"x-hub-signature":       true,
	"x-hub-signature-256":   true,
	"x-shopify-hmac-sha256": true,
	"x-slack-signature":     true,
	"idempotency-key":       true,
}

// secretHeaders are redacted whatever their value.
var secretHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
}

// secretWords mark a header (or flag) name as carrying a secret.
var secretWords = []string{"secret", "token", "key", "password", "passwd", "credential", "session"}

func secretName(name string) bool {
	n := strings.ToLower(name)
	if notSecretHeaders[n] {
		return false
	}
	if secretHeaders[n] {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// RedactHeaders returns a copy of h in which the values of secret-bearing headers are
// replaced by [REDACTED]: Authorization, Cookie, Set-Cookie, anything whose name contains
// secret, token, key or password, and every name in extra (case-insensitive). Signature
// headers are kept: they are evidence, not secrets. A nil h gives nil.
func RedactHeaders(h http.Header, extra ...string) map[string][]string {
	if h == nil {
		return nil
	}
	more := make(map[string]bool, len(extra))
	for _, e := range extra {
		more[strings.ToLower(e)] = true
	}
	out := make(map[string][]string, len(h))
	for name, vals := range h {
		cp := append([]string(nil), vals...)
		if secretName(name) || more[strings.ToLower(name)] {
			for i := range cp {
				cp[i] = Redacted
			}
		}
		out[name] = cp
	}
	return out
}

// RedactString replaces every occurrence of each secret in s with [REDACTED]. For a
// Standard Webhooks secret ("whsec_" + base64) the bare base64 part is replaced too, since
// libraries often log the key without its prefix. Empty secrets are ignored.
func RedactString(s string, secrets ...string) string {
	var pats []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		pats = append(pats, sec)
		if b, ok := strings.CutPrefix(sec, "whsec_"); ok && len(b) >= 8 {
			pats = append(pats, b)
		}
	}
	if len(pats) == 0 {
		return s
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.SliceStable(pats, func(i, j int) bool { return len(pats[i]) > len(pats[j]) })
	for _, p := range pats {
		s = strings.ReplaceAll(s, p, Redacted)
	}
	return s
}

// whsecPattern finds Standard Webhooks secrets that were never handed to RedactString:
// the report scrubs them from everything it renders as a last line of defence.
var whsecPattern = regexp.MustCompile(`whsec_[A-Za-z0-9+/=_-]{8,}`)

// scrubKnownSecrets removes anything shaped like a whsec_ secret.
func scrubKnownSecrets(s string) string {
	if !strings.Contains(s, "whsec_") {
		return s
	}
	return whsecPattern.ReplaceAllString(s, Redacted)
}

// RedactArgs returns a copy of a command line in which the value of every flag whose
// name looks secret (--secret S, --secret=S, --api-token=T, ...) is [REDACTED], and any
// whsec_ secret anywhere is scrubbed.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	redactNext := false
	for i, a := range args {
		if redactNext {
			out[i] = Redacted
			redactNext = false
			continue
		}
		out[i] = scrubKnownSecrets(a)
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !secretName(name) {
			continue
		}
		if hasValue {
			out[i] = a[:strings.Index(a, "=")+1] + Redacted
		} else {
			redactNext = true
		}
	}
	return out
}

// Excerpt returns at most n bytes of b as valid UTF-8 (invalid bytes become U+FFFD),
// cut on a rune boundary; when b is longer, it ends with a marker saying how long b was.
// n <= 0 means no limit.
func Excerpt(b []byte, n int) string {
	if n <= 0 || len(b) <= n {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	cut := n
	// Back up to the start of a rune so no character is split; give up after a rune's
	// worth of bytes (the data is not UTF-8 there, and ToValidUTF8 will mark it).
	for i := 0; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(b[cut]); i++ {
		cut--
	}
	return strings.ToValidUTF8(string(b[:cut]), "\uFFFD") + "… [truncated: " + strconv.Itoa(len(b)) + " bytes in all]"
}

// RedactResults returns a deep copy of r in which every string (case texts, evidence,
// headers, metadata, map keys, the chaos ledger, the target's logs) has secrets replaced by
// [REDACTED] (see RedactString) and whsec_ secrets scrubbed. Every output made from the copy
// is then free of them.
func RedactResults(r *Results, secrets ...string) (*Results, error) {
	if r == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		return nil, fmt.Errorf("reports: redact: %w", err)
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber() // seeds are int64: keep them exact
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("reports: redact: %w", err)
	}
	clean := func(s string) string { return scrubKnownSecrets(RedactString(s, secrets...)) }
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return clean(x)
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
			return x
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, val := range x {
				out[clean(k)] = walk(val)
			}
			return out
		}
		return v
	}
	tree = walk(tree)
	b, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("reports: redact: %w", err)
	}
	var out Results
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("reports: redact: %w", err)
	}
	return &out, nil
}
