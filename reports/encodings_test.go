package reports

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Every encoding of a secret, and for whsec_ secrets of its decoded key, is redacted: the raw
// text, base64 (std and URL alphabets, padded and not), hex (lower and upper), URL encoding.
func TestRedactStringEveryEncoding(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb, 0xff, 0x3e, 0x41}, 8) // base64 with + and /; 32 bytes, so padded
	sec := "whsec_" + base64.StdEncoding.EncodeToString(key)
	plain := "sk_live_plain+secret/value"
	forms := map[string]string{
		"raw":                         sec,
		"key base64 padded":           base64.StdEncoding.EncodeToString(key),
		"key base64 unpadded":         base64.RawStdEncoding.EncodeToString(key),
		"key base64url padded":        base64.URLEncoding.EncodeToString(key),
		"key base64url unpadded":      base64.RawURLEncoding.EncodeToString(key),
		"key hex":                     hex.EncodeToString(key),
		"key HEX":                     strings.ToUpper(hex.EncodeToString(key)),
		"secret query-escaped":        url.QueryEscape(sec),
		"secret path-escaped":         url.PathEscape(sec),
		"secret base64":               base64.StdEncoding.EncodeToString([]byte(sec)),
		"secret base64url unpadded":   base64.RawURLEncoding.EncodeToString([]byte(sec)),
		"secret hex":                  hex.EncodeToString([]byte(sec)),
		"secret fully percent-coded":  percentAll(sec, "%%%02X"),
		"secret percent-coded, lower": percentAll(sec, "%%%02x"),
		"plain raw":                   plain,
		"plain query-escaped":         url.QueryEscape(plain),
		"plain base64 unpadded":       base64.RawStdEncoding.EncodeToString([]byte(plain)),
		"plain HEX":                   strings.ToUpper(hex.EncodeToString([]byte(plain))),
	}
	for name, f := range forms {
		got := RedactString("echo: <"+f+">", sec, plain)
		if got != "echo: <"+Redacted+">" {
			t.Errorf("%s: %q survived as %q", name, f, got)
		}
	}
}

func percentAll(s, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, format, s[i])
	}
	return b.String()
}

// The results file is scrubbed of whsec_ secrets nobody named, in every output.
func TestResultsFileScrubsUnnamedSecrets(t *testing.T) {
	leak := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xef}, 16))
	r := &Results{Kind: "receiver", Run: RunMeta{Target: "http://x/?k=" + leak, Started: time.Unix(0, 0), Finished: time.Unix(1, 0)}}
	r.Cases = append(r.Cases, Case{ID: "RCV-SIG-015", Outcome: Failed, Actual: "the answer was " + leak})
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "whsec_") {
		t.Errorf("the results file keeps a whsec_ secret:\n%s", buf.String())
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pass@h.example/p?token=abc&x=1#f": "https://user:[REDACTED]@h.example/p?token=[REDACTED]&x=[REDACTED]#f",
		"https://tok_123@h.example/p":                   "https://[REDACTED]@h.example/p",
		"http://127.0.0.1:8080/hook":                    "http://127.0.0.1:8080/hook",
		"image x:1":                                     "image x:1",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := RedactURLs(`Post "https://u:secretpw@h/x?k=v": refused`); strings.Contains(got, "secretpw") || strings.Contains(got, "k=v") {
		t.Errorf("RedactURLs kept a credential: %q", got)
	}
	args := RedactArgs([]string{"--url", "https://u:secretpw@h/x", "--url=https://h/x?token=abcdefgh"})
	if j := strings.Join(args, " "); strings.Contains(j, "secretpw") || strings.Contains(j, "abcdefgh") {
		t.Errorf("RedactArgs kept a credential: %q", j)
	}
}
