package reports

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// minSecretForm is the shortest encoding of a secret that is redacted: shorter ones (a
// secret of a few bytes) would match ordinary text.
const minSecretForm = 8

// SecretForms returns every form in which secret may appear in text a target sends back or a
// library logs, longest first: the secret as is, its base64 (standard and URL alphabets,
// padded and not), its hex (lower and upper case), its URL encodings (query, path, and every
// byte percent-encoded, upper and lower case). For a Standard Webhooks secret or signing key
// (whsec_ or whsk_ + base64) the same forms of the base64 part and of the decoded key bytes
// (and the bytes themselves, when they are text) are included. Forms shorter than 8 bytes are
// left out, except the secret itself.
func SecretForms(secret string) []string {
	if secret == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if len(f) >= minSecretForm && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	encodings := func(b []byte) {
		add(string(b))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString(b))
		}
		h := hex.EncodeToString(b)
		add(h)
		add(strings.ToUpper(h))
		add(url.QueryEscape(string(b)))
		add(url.PathEscape(string(b)))
		var up, low strings.Builder
		for _, c := range b {
			fmt.Fprintf(&up, "%%%02X", c)
			fmt.Fprintf(&low, "%%%02x", c)
		}
		add(up.String())
		add(low.String())
	}
	encodings([]byte(secret))
	if !seen[secret] { // a short secret is still redacted as is
		seen[secret] = true
		out = append(out, secret)
	}
	for _, prefix := range []string{"whsec_", "whsk_"} {
		b64, ok := strings.CutPrefix(secret, prefix)
		if !ok {
			continue
		}
		encodings([]byte(b64))
		trimmed := strings.TrimRight(b64, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if key, err := enc.DecodeString(trimmed); err == nil && len(key) > 0 {
				encodings(key)
				if !utf8.Valid(key) {
					delete(seen, string(key))
					out = slices.DeleteFunc(out, func(f string) bool { return f == string(key) })
				}
			}
		}
	}
	// Longest first, so a form that contains another is replaced whole.
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// replacers caches the replacer of each list of secrets: RedactResults calls RedactString
// for every string of a results tree.
var replacers sync.Map // string (secrets joined by NUL) → *strings.Replacer

func replacerFor(secrets []string) *strings.Replacer {
	key := strings.Join(secrets, "\x00")
	if r, ok := replacers.Load(key); ok {
		return r.(*strings.Replacer)
	}
	var forms []string
	for _, sec := range secrets {
		forms = append(forms, SecretForms(sec)...)
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	var pairs []string
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	r := strings.NewReplacer(pairs...)
	replacers.Store(key, r)
	return r
}

// RedactString replaces every occurrence of each secret in s with [REDACTED], in every
// encoding SecretForms lists (for a whsec_ secret: the bare base64 key too, padded or not, in
// either alphabet, and the key bytes in hex). Empty secrets are ignored.
func RedactString(s string, secrets ...string) string {
	secrets = slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	if len(secrets) == 0 || s == "" {
		return s
	}
	return replacerFor(secrets).Replace(s)
}

// whsecPattern finds Standard Webhooks secrets and signing keys that were never handed to
// RedactString, URL-encoded or not: every output scrubs them as a last line of defence.
var whsecPattern = regexp.MustCompile(`(?:whsec|whsk)(?:_|%5[Ff])(?:[A-Za-z0-9+/=_-]|%[0-9A-Fa-f]{2}){8,}`)

// scrubKnownSecrets removes anything shaped like a whsec_ secret.
func scrubKnownSecrets(s string) string {
	if !strings.Contains(s, "whs") {
		return s
	}
	return whsecPattern.ReplaceAllString(s, Redacted)
}

// RedactArgs returns a copy of a command line in which the value of every flag whose
// name looks secret (--secret S, --secret=S, --api-token=T, ...) is [REDACTED], any whsec_
// secret anywhere is scrubbed, and every URL has its credentials redacted (RedactURL).
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	redactNext := false
	for i, a := range args {
		if redactNext {
			out[i] = Redacted
			redactNext = false
			continue
		}
		out[i] = RedactURLs(scrubKnownSecrets(a))
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

// minURLSecret is the shortest URL credential that is also redacted wherever it appears (see
// URLSecrets): a shorter one would match ordinary words ("pass" in "passed"). A URL itself
// is always redacted whole (RedactURL), whatever its credentials' length.
const minURLSecret = 8

// URLSecrets returns the credentials a URL carries, to be redacted wherever they appear (an
// endpoint echoing them, say): the user info's password and, without a password, its user
// name (a token in the user name), and every query value. Credentials shorter than 8 bytes are
// left out (RedactURL still hides them in the URL itself). Anything not a URL gives nil.
func URLSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil
	}
	var out []string
	add := func(s string) {
		if len(s) >= minURLSecret {
			out = append(out, s)
		}
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		} else {
			add(u.User.Username())
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	return out
}

// RedactURL returns raw with its credentials replaced by [REDACTED]: the user info's password
// (or the user name when there is no password: a token) and every query value. Anything that
// does not parse as a URL with a host is returned as is; one that does not parse at all is
// replaced whole.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "://") {
			return Redacted
		}
		return raw
	}
	if u.Host == "" {
		return raw
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED")
		}
	}
	query := ""
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=" + Redacted
			}
		}
		query = "?" + strings.Join(parts, "&")
		u.RawQuery = ""
	}
	u.ForceQuery = false
	s := u.String()
	if u.User != nil {
		s = strings.Replace(s, "REDACTED@", Redacted+"@", 1)
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i] + query + s[i:]
	}
	return s + query
}

// urlPattern finds URLs in free text (an error message, a log line).
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// RedactURLs applies RedactURL to every URL in s that carries user info or a query.
func RedactURLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlPattern.ReplaceAllStringFunc(s, func(m string) string {
		if !strings.ContainsAny(m, "@?") {
			return m
		}
		return RedactURL(m)
	})
}
