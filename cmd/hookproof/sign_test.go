package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sigResult is one in-process run of sign or verify.
type sigResult struct {
	code           int
	stdout, stderr string
}

// sigRun runs the CLI in-process with body on stdin and the given environment.
func sigRun(t *testing.T, envVars map[string]string, body string, args ...string) sigResult {
	t.Helper()
	return sigRunReader(t, context.Background(), envVars, strings.NewReader(body), args...)
}

func sigRunReader(t *testing.T, ctx context.Context, envVars map[string]string, stdin io.Reader, args ...string) sigResult {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: stdin, stdout: &out, stderr: &errOut, getenv: func(k string) string { return envVars[k] }}
	code := run(ctx, e, args)
	return sigResult{code, out.String(), errOut.String()}
}

// Standard Webhooks' own known answer (testdata/vectors.json, SW-1).
const (
	sw1Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sw1ID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	sw1TS     = "1614265330"
	sw1Body   = `{"test": 2432232314}`
)

func TestSignKnownAnswers(t *testing.T) {
	cases := []struct {
		name string
		args []string
		body string
		want string
	}{
		{"standard", []string{"--secret", sw1Secret, "--id", sw1ID, "--timestamp", sw1TS}, sw1Body,
			"webhook-id: " + sw1ID + "\nwebhook-timestamp: " + sw1TS + "\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"},
		{"standard-rfc3339", []string{"--secret", sw1Secret, "--id", sw1ID, "--timestamp", "2021-02-25T15:02:10Z"}, sw1Body,
			"webhook-id: " + sw1ID + "\nwebhook-timestamp: " + sw1TS + "\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"},
		{"github", []string{"--scheme", "github", "--secret", "It's a Secret to Everybody", "--id", "d-1"}, "Hello, World!",
			"X-GitHub-Delivery: d-1\nX-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n" +
				"X-Hub-Signature: sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59\n"},
		{"svix", []string{"--scheme", "svix", "--secret", sw1Secret, "--id", sw1ID, "--timestamp", sw1TS}, sw1Body,
			"svix-id: " + sw1ID + "\nsvix-timestamp: " + sw1TS + "\nsvix-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"},
		{"stripe", []string{"--scheme", "stripe", "--secret", "whsec_test_secret", "--timestamp", "1700000000"},
			`{"event":"charge.success","amount":1000,"currency":"NGN"}`,
			"Stripe-Signature: t=1700000000,v1=4465cb3053462ee70793fdfde4382c6360e4540db4260fcffa8d71f56a48126b\n"},
		{"shopify", []string{"--scheme", "shopify", "--secret", "shop-secret", "--id", "w-1"}, `{"id":1}`,
			"X-Shopify-Webhook-Id: w-1\nX-Shopify-Hmac-Sha256: plW8VGqq0nDMIEhDqaNNW99asdUCy7EIqLZVcQwtAZ0=\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sigRun(t, nil, tc.body, append([]string{"sign"}, tc.args...)...)
			if r.code != exitOK || r.stdout != tc.want {
				t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, tc.want, r.stderr)
			}
		})
	}
}

func TestSignDefaults(t *testing.T) {
	before := time.Now().Unix()
	r := sigRun(t, map[string]string{secretEnv: sw1Secret}, sw1Body, "sign")
	after := time.Now().Unix()
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want three header lines, got %q", r.stdout)
	}
	id, ok := strings.CutPrefix(lines[0], "webhook-id: msg_")
	if !ok || len(id) < 16 {
		t.Errorf("default id line %q, want a random msg_ id", lines[0])
	}
	ts, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "webhook-timestamp: "), 10, 64)
	if err != nil || ts < before || ts > after {
		t.Errorf("default timestamp line %q, want now (%d..%d)", lines[1], before, after)
	}
	again := sigRun(t, map[string]string{secretEnv: sw1Secret}, sw1Body, "sign")
	if first := strings.SplitN(again.stdout, "\n", 2)[0]; first == lines[0] {
		t.Errorf("two runs made the same id: %q", first)
	}
}

// TestSignSecretSource: the flag wins over the environment.
func TestSignSecretSource(t *testing.T) {
	args := []string{"sign", "--id", sw1ID, "--timestamp", sw1TS}
	fromEnv := sigRun(t, map[string]string{secretEnv: sw1Secret}, sw1Body, args...)
	fromFlag := sigRun(t, nil, sw1Body, append(args, "--secret", sw1Secret)...)
	both := sigRun(t, map[string]string{secretEnv: "whsec_" + strings.Repeat("QUFB", 8)}, sw1Body, append(args, "--secret", sw1Secret)...)
	if fromEnv.code != exitOK || fromEnv.stdout != fromFlag.stdout || both.stdout != fromFlag.stdout {
		t.Errorf("env:\n%s\nflag:\n%s\nboth:\n%s", fromEnv.stdout, fromFlag.stdout, both.stdout)
	}
}

// TestSignBodyIsExact: the body is signed byte for byte, a trailing newline included.
func TestSignBodyIsExact(t *testing.T) {
	args := []string{"sign", "--secret", sw1Secret, "--id", sw1ID, "--timestamp", sw1TS}
	a := sigRun(t, nil, sw1Body, args...)
	b := sigRun(t, nil, sw1Body+"\n", args...)
	if a.code != exitOK || b.code != exitOK || a.stdout == b.stdout {
		t.Errorf("a trailing newline did not change the signature:\n%s\n%s", a.stdout, b.stdout)
	}
	empty := sigRun(t, nil, "", args...)
	if empty.code != exitOK || !strings.Contains(empty.stdout, "webhook-signature: v1,") {
		t.Errorf("empty body: exit %d %q %q", empty.code, empty.stdout, empty.stderr)
	}
}

func TestSignUsageErrors(t *testing.T) {
	const secretBody = "thisIsNotBase64!!thisIsNotBase64!!"
	cases := []struct {
		what string
		env  map[string]string
		args []string
		want string // in stderr
	}{
		{"no secret", nil, []string{"sign"}, "no secret"},
		{"bad secret", nil, []string{"sign", "--secret", "whsec_" + secretBody}, "bad secret"},
		{"bad secret from env", map[string]string{secretEnv: "whsec_" + secretBody}, []string{"sign"}, "bad secret"},
		{"short secret", nil, []string{"sign", "--secret", "whsec_" + strings.Repeat("QUFB", 7)}, "want 24 to 64"},
		{"public key", nil, []string{"sign", "--secret", "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="}, "cannot sign"},
		{"unknown scheme", nil, []string{"sign", "--scheme", "paypal", "--secret", "x"}, "unknown scheme"},
		{"bad timestamp", nil, []string{"sign", "--secret", sw1Secret, "--timestamp", "yesterday"}, "--timestamp"},
		{"negative timestamp", nil, []string{"sign", "--secret", sw1Secret, "--timestamp", "-5"}, "before 1970"},
		{"far timestamp", nil, []string{"sign", "--secret", sw1Secret, "--timestamp", "99999999999999"}, "unix seconds"},
		{"id without id header", nil, []string{"sign", "--scheme", "slack", "--secret", "x", "--id", "m"}, "no id header"},
		{"timestamp without timestamp", nil, []string{"sign", "--scheme", "shopify", "--secret", "x", "--timestamp", "5"}, "signs no timestamp"},
		{"bad id", nil, []string{"sign", "--secret", sw1Secret, "--id", "a b "}, "message id"},
		{"argument", nil, []string{"sign", "--secret", sw1Secret, "body.json"}, "stdin"},
		{"unknown flag", nil, []string{"sign", "--secrets", sw1Secret}, "flag provided but not defined"},
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

func TestSignHelp(t *testing.T) {
	r := sigRun(t, nil, "", "sign", "-h")
	if r.code != exitOK || !strings.Contains(r.stderr, "--timestamp") || !strings.Contains(r.stderr, secretEnv) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestSignStopsWithContext: waiting on stdin ends when the context does (Ctrl-C).
func TestSignStopsWithContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := sigRunReader(t, ctx, map[string]string{secretEnv: sw1Secret}, pr, "sign")
	if r.code != exitHarness || !strings.Contains(r.stderr, "context canceled") {
		t.Errorf("exit %d, stderr %q; want exit 3", r.code, r.stderr)
	}
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestSignBodyLimit(t *testing.T) {
	e := &env{stdin: zeros{}, stdout: io.Discard, stderr: io.Discard}
	_, err := readBody(context.Background(), e, "sign", 1<<20)
	if err == nil || exitCode(e, "sign", err) != exitUsage || !strings.Contains(err.Error(), "over 1048576 bytes") {
		t.Errorf("err = %v; want a usage error for an over-long body", err)
	}
	b, err := readBody(context.Background(), &env{stdin: strings.NewReader("abc\n")}, "sign", 4)
	if err != nil || string(b) != "abc\n" {
		t.Errorf("a body of exactly the limit: %q, %v", b, err)
	}
}
