package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/reference/signature"
)

// headerArgs turns sign's output into verify's -H flags.
func headerArgs(signed string) []string {
	var args []string
	for _, line := range strings.Split(strings.TrimSpace(signed), "\n") {
		args = append(args, "-H", line)
	}
	return args
}

// cliSecret is a valid secret for every scheme (whsec_ base64 of 24 bytes is also a fine raw
// string for the provider schemes).
const cliSecret = sw1Secret

// TestSignVerifyRoundTrip: sign's output, fed to verify's -H lines, verifies, for every scheme.
func TestSignVerifyRoundTrip(t *testing.T) {
	body := `{"id":"evt_42","type":"order.updated","data":{"object_id":"ord_1","seq":3}}` + "\n"
	for _, name := range signature.Names() {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{secretEnv: cliSecret}
			s := sigRun(t, env, body, "sign", "--scheme", name)
			if s.code != exitOK {
				t.Fatalf("sign: exit %d: %s", s.code, s.stderr)
			}
			v := sigRun(t, env, body, append([]string{"verify", "--scheme", name}, headerArgs(s.stdout)...)...)
			want := "valid (id=evt_42)\n" // stripe and slack: the body's id
			if scheme, _ := signature.New(name, cliSecret); scheme.Traits().IDHeader != "" {
				first := strings.SplitN(s.stdout, "\n", 2)[0]
				id, ok := strings.CutPrefix(first, scheme.Traits().IDHeader+": msg_")
				if !ok {
					t.Fatalf("first line %q, want the id header with a random msg_ id", first)
				}
				want = "valid (id=msg_" + id + ")\n"
			}
			if v.code != exitOK || v.stdout != want {
				t.Fatalf("verify: exit %d, stdout %q, want %q; stderr %q", v.code, v.stdout, want, v.stderr)
			}

			// The same headers from a file, as curl's -H @file takes them.
			file := filepath.Join(t.TempDir(), "headers.txt")
			if err := os.WriteFile(file, []byte(s.stdout), 0o600); err != nil {
				t.Fatal(err)
			}
			if v := sigRun(t, env, body, "verify", "--scheme", name, "-H", "@"+file); v.code != exitOK {
				t.Fatalf("verify -H @file: exit %d %q %q", v.code, v.stdout, v.stderr)
			}

			// One changed byte, and the other scheme's verifier, both fail with a reason.
			bad := sigRun(t, env, strings.Replace(body, "42", "43", 1), append([]string{"verify", "--scheme", name}, headerArgs(s.stdout)...)...)
			if bad.code != exitFailed || !strings.HasPrefix(bad.stdout, "invalid: ") || !strings.Contains(bad.stdout, "no valid signature") {
				t.Fatalf("tampered: exit %d, stdout %q", bad.code, bad.stdout)
			}
		})
	}
}

func TestVerifyResults(t *testing.T) {
	signed := sigRun(t, nil, sw1Body, "sign", "--secret", sw1Secret, "--id", sw1ID, "--timestamp", sw1TS)
	if signed.code != exitOK {
		t.Fatal(signed.stderr)
	}
	hs := headerArgs(signed.stdout)
	cases := []struct {
		what string
		body string
		args []string
		code int
		want string // in stdout
	}{
		{"old, no --now", sw1Body, hs, exitFailed, "timestamp too old (to check an old delivery, pass its time as --now)"},
		{"--now unix", sw1Body, append([]string{"--now", sw1TS}, hs...), exitOK, "valid (id=" + sw1ID + ")"},
		{"--now rfc3339", sw1Body, append([]string{"--now", "2021-02-25T15:07:10Z"}, hs...), exitOK, "valid"},
		{"tolerance+1s", sw1Body, append([]string{"--now", "1614265631"}, hs...), exitFailed, "timestamp too old"},
		{"before, beyond", sw1Body, append([]string{"--now", "1614265029"}, hs...), exitFailed, "too far in the future"},
		{"--tolerance", sw1Body, append([]string{"--now", "1614265340", "--tolerance", "5s"}, hs...), exitFailed, "tolerance 5s"},
		{"--tolerance wide", sw1Body, append([]string{"--now", "1614269330", "--tolerance", "2h"}, hs...), exitOK, "valid"},
		{"tampered", sw1Body + " ", append([]string{"--now", sw1TS}, hs...), exitFailed, "invalid: signature: standard: no valid signature"},
		{"wrong secret", sw1Body, append([]string{"--now", sw1TS, "--secret", "whsec_" + strings.Repeat("QUFB", 8)}, hs...), exitFailed, "no valid signature"},
		{"missing header", sw1Body, append([]string{"--now", sw1TS}, hs[:4]...), exitFailed,
			"missing header (standard needs webhook-id, webhook-timestamp, webhook-signature)"},
		{"no headers", sw1Body, []string{"--now", sw1TS}, exitFailed, "missing header"},
		{"repeated header", sw1Body, append([]string{"--now", sw1TS, "-H", hs[1]}, hs...), exitFailed, "sent 2 times: malformed header"},
		{"header name case", sw1Body, append([]string{"--now", sw1TS}, upperNames(hs)...), exitOK, "valid"},
		{"--header alias", sw1Body, []string{"--now", sw1TS, "--header", hs[1], "--header", hs[3], "--header", hs[5]}, exitOK, "valid"},
		{"wrong scheme", sw1Body, append([]string{"--now", sw1TS, "--scheme", "github"}, hs...), exitFailed, "X-GitHub-Delivery: missing header"},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			args := append([]string{"verify"}, tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "--secret") {
				args = append(args, "--secret", sw1Secret)
			}
			r := sigRun(t, nil, tc.body, args...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestVerifyNoBodyID(t *testing.T) {
	s := sigRun(t, nil, "plain text", "sign", "--scheme", "slack", "--secret", "s")
	v := sigRun(t, nil, "plain text", append([]string{"verify", "--scheme", "slack", "--secret", "s"}, headerArgs(s.stdout)...)...)
	if v.code != exitOK || !strings.HasPrefix(v.stdout, "valid (no id") {
		t.Errorf("exit %d, stdout %q", v.code, v.stdout)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	const secretBody = "thisIsNotBase64!!thisIsNotBase64!!"
	missing := filepath.Join(t.TempDir(), "nope.txt")
	cases := []struct {
		what string
		env  map[string]string
		args []string
		want string // in stderr
	}{
		{"no secret", nil, []string{"verify", "-H", "webhook-id: m"}, "no secret"},
		{"bad secret", nil, []string{"verify", "--secret", "whsec_" + secretBody}, "bad secret"},
		{"bad secret from env", map[string]string{secretEnv: "whsec_" + secretBody}, []string{"verify"}, "bad secret"},
		{"header without colon", nil, []string{"verify", "--secret", sw1Secret, "-H", "webhook-id msg_1"}, "not 'Name: value'"},
		{"header without name", nil, []string{"verify", "--secret", sw1Secret, "-H", ": msg_1"}, "not 'Name: value'"},
		{"header file missing", nil, []string{"verify", "--secret", sw1Secret, "-H", "@" + missing}, "nope.txt"},
		{"bad --now", nil, []string{"verify", "--secret", sw1Secret, "--now", "soon"}, "--now"},
		{"negative tolerance", nil, []string{"verify", "--secret", sw1Secret, "--tolerance", "-1s"}, "negative tolerance"},
		{"bad tolerance", nil, []string{"verify", "--secret", sw1Secret, "--tolerance", "5"}, "invalid value"},
		{"unknown scheme", nil, []string{"verify", "--secret", "x", "--scheme", "paypal"}, "unknown scheme"},
		{"argument", nil, []string{"verify", "--secret", sw1Secret, "webhook-id: m"}, "stdin"},
	}
	for _, tc := range cases {
		t.Run(tc.what, func(t *testing.T) {
			r := sigRun(t, tc.env, sw1Body, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, secretBody[:8]) {
				t.Errorf("stderr shows the secret: %q", r.stderr)
			}
		})
	}
}

func TestVerifyHeaderFileErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "headers.txt")
	if err := os.WriteFile(file, []byte("webhook-id: m\n\nnot a header\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := sigRun(t, nil, "", "verify", "--secret", sw1Secret, "-H", "@"+file)
	if r.code != exitUsage || !strings.Contains(r.stderr, "line 3") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming line 3", r.code, r.stderr)
	}
}

// upperNames upper-cases the header names in -H flags: names are case-insensitive.
func upperNames(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if name, value, ok := strings.Cut(a, ":"); ok {
			a = strings.ToUpper(name) + ":" + value
		}
		out[i] = a
	}
	return out
}
