package reports

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedactHeaders(t *testing.T) {
	h := http.Header{
		"Authorization":       {"Bearer abc"},
		"Proxy-Authorization": {"Basic xyz"},
		"Cookie":              {"session=1"},
		"Set-Cookie":          {"a=1", "b=2"},
		"X-Api-Key":           {"k"},
		"X-Webhook-Secret":    {"s"},
		"X-Auth-Token":        {"t"},
		"X-Custom":            {"keep"},
		"X-Tenant":            {"also secret, by extra"},
		"Webhook-Signature":   {"v1,abc="},
		"Stripe-Signature":    {"t=1,v1=ff"},
		"X-Hub-Signature-256": {"sha256=ff"},
		"Idempotency-Key":     {"evt_1"},
		"Webhook-Id":          {"msg_1"},
	}
	got := RedactHeaders(h, "x-tenant")
	want := map[string][]string{
		"Authorization":       {Redacted},
		"Proxy-Authorization": {Redacted},
		"Cookie":              {Redacted},
		"Set-Cookie":          {Redacted, Redacted},
		"X-Api-Key":           {Redacted},
		"X-Webhook-Secret":    {Redacted},
		"X-Auth-Token":        {Redacted},
		"X-Custom":            {"keep"},
		"X-Tenant":            {Redacted},
		"Webhook-Signature":   {"v1,abc="},
		"Stripe-Signature":    {"t=1,v1=ff"},
		"X-Hub-Signature-256": {"sha256=ff"},
		"Idempotency-Key":     {"evt_1"},
		"Webhook-Id":          {"msg_1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RedactHeaders =\n%v\nwant\n%v", got, want)
	}
	if h.Get("Authorization") != "Bearer abc" {
		t.Errorf("RedactHeaders changed its input")
	}
	if RedactHeaders(nil) != nil {
		t.Errorf("RedactHeaders(nil) is not nil")
	}
}

func TestRedactString(t *testing.T) {
	const sec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"whole secret", "secret is " + sec + ".", []string{sec}, "secret is [REDACTED]."},
		{"base64 part", "key=MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []string{sec}, "key=[REDACTED]"},
		{"every occurrence", "a s3cr3t b s3cr3t", []string{"s3cr3t"}, "a [REDACTED] b [REDACTED]"},
		{"longest first", "tokenXYZ", []string{"token", "tokenXYZ"}, "[REDACTED]"},
		{"empty secret ignored", "abc", []string{""}, "abc"},
		{"no secrets", "abc", nil, "abc"},
		{"stripe raw secret", "sk=whsec_raw", []string{"whsec_raw"}, "sk=[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactString(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("RedactString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactArgs(t *testing.T) {
	in := []string{"conform", "receiver", "--url", "http://x", "--secret", "s1", "--api-token=t1", "-key", "k1",
		"--seed", "7", "--note=whsec_AAAAAAAAAAAAAAAA", "--secret"}
	want := []string{"conform", "receiver", "--url", "http://x", "--secret", Redacted, "--api-token=" + Redacted, "-key", Redacted,
		"--seed", "7", "--note=" + Redacted, "--secret"}
	if got := RedactArgs(in); !reflect.DeepEqual(got, want) {
		t.Errorf("RedactArgs =\n%q\nwant\n%q", got, want)
	}
	if in[5] != "s1" {
		t.Errorf("RedactArgs changed its input")
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		n    int
		want string
	}{
		{"short", []byte("hello"), 10, "hello"},
		{"exact", []byte("hello"), 5, "hello"},
		{"cut", []byte("hello world"), 5, "hello… [truncated: 11 bytes in all]"},
		{"no limit", []byte("hello"), 0, "hello"},
		{"rune boundary", []byte("héllo"), 2, "h… [truncated: 6 bytes in all]"},
		{"invalid utf-8", []byte{'a', 0xff, 'b'}, 10, "a\uFFFDb"},
		{"emoji cut", []byte("ab😀cd"), 4, "ab… [truncated: 8 bytes in all]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Excerpt(tt.in, tt.n); got != tt.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func FuzzExcerpt(f *testing.F) {
	f.Add([]byte("hello world"), 5)
	f.Add([]byte("ab😀cd"), 3)
	f.Add([]byte{0xe2, 0x82}, 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n = n % 4096
		got := Excerpt(b, n)
		if !utf8.ValidString(got) {
			t.Fatalf("Excerpt(%q, %d) = %q is not valid UTF-8", b, n, got)
		}
		truncated := strings.Contains(got, "[truncated: ")
		if n > 0 && len(b) > n && !truncated {
			t.Fatalf("Excerpt(%q, %d) = %q does not mark the truncation", b, n, got)
		}
		if (n <= 0 || len(b) <= n) && utf8.Valid(b) && got != string(b) {
			t.Fatalf("Excerpt(%q, %d) = %q changed a short valid input", b, n, got)
		}
	})
}

func FuzzRedactString(f *testing.F) {
	f.Add("the key is abc123 and abc123 again", "abc123")
	f.Add("whsec_Zm9vYmFyYmF6cXV4 and Zm9vYmFyYmF6cXV4", "whsec_Zm9vYmFyYmF6cXV4")
	f.Fuzz(func(t *testing.T, s, secret string) {
		// A secret made of letters of "[REDACTED]" could be re-formed by the marker
		// itself; real secrets are random and long.
		if secret == "" || strings.ContainsAny(secret, "[]REDACT") {
			return
		}
		got := RedactString(s, secret)
		if strings.Contains(got, secret) {
			t.Fatalf("RedactString(%q, %q) = %q still holds the secret", s, secret, got)
		}
		if !strings.Contains(s, secret) && !strings.HasPrefix(secret, "whsec_") && got != s {
			t.Fatalf("RedactString(%q, %q) = %q changed text without the secret", s, secret, got)
		}
	})
}

func TestRedactResults(t *testing.T) {
	const sec = "s3cr3t-value"
	r := readFixtures(t, "testdata/load-shard-1.json")[0]
	r.Run.Seed = 1<<62 + 1 // beyond float64's exact integers
	r.Run.Args = append(r.Run.Args, "--secret="+sec)
	r.TargetLogs = "starting with " + sec
	r.Load.Errors[sec+": refused"] = 3
	r.Chaos.Ledger = append(r.Chaos.Ledger, []byte(`{"body":"`+sec+`"}`))
	r.Cases = []Case{{ID: "LOAD-X", Requirement: "r", Evidence: []Exchange{{
		RequestHeaders: map[string][]string{"X-Echo": {sec}}, ResponseBody: "echo " + sec + " and whsec_QUJDREVGR0hJSktMTU5PUA==",
	}}}}
	got, err := RedactResults(r, sec)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := got.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, leak := range []string{sec, "whsec_QUJD"} {
		if strings.Contains(out, leak) {
			t.Errorf("redacted results still hold %q", leak)
		}
	}
	if got.Run.Seed != r.Run.Seed {
		t.Errorf("seed changed from %d to %d", r.Run.Seed, got.Run.Seed)
	}
	if got.Load.Ledger != r.Load.Ledger || len(got.Load.Series) != len(r.Load.Series) || got.Load.Errors["[REDACTED]: refused"] != 3 {
		t.Errorf("redaction changed the data: ledger %+v, %d points, errors %v", got.Load.Ledger, len(got.Load.Series), got.Load.Errors)
	}
	if !strings.Contains(r.TargetLogs, sec) {
		t.Errorf("RedactResults changed its input")
	}
	if n, err := RedactResults(nil); n != nil || err != nil {
		t.Errorf("RedactResults(nil) = %v, %v", n, err)
	}
}
