package session

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/suites/target"
)

func parseTargetFlags(t *testing.T, args ...string) (*TargetFlags, *flag.FlagSet) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := AddTargetFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f, fs
}

// closeTarget closes tg within closeTimeout, as Session.Close does.
func closeTarget(ctx context.Context, tg target.Target) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	_ = tg.Close(cctx)
}

func TestTargetFlagsValidate(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--url", "http://127.0.0.1:9/hook"}, ""},
		{[]string{"--image", "img:1", "--port", "8080", "--path", "/hook", "--env", "A=b", "--arg", "serve"}, ""},
		{nil, "--url URL or --image IMG"},
		{[]string{"--url", "http://127.0.0.1:9/", "--image", "img"}, "exclude each other"},
		{[]string{"--url", "http://127.0.0.1:9/", "--port", "80"}, "--port only apply with --image"},
		{[]string{"--url", "127.0.0.1:9"}, "target url"},
		{[]string{"--image", "img", "--env", "NOEQUALS"}, "want K=V"},
		{[]string{"--image", "img", "--env", "=v"}, "want K=V"},
		{[]string{"--image", "img", "--port", "70000"}, "want 1-65535"},
		{[]string{"--image", "img", "--path", "hook"}, "must start with /"},
		{[]string{"--image", "img", "--ready", "healthz"}, "must start with /"},
		{[]string{"--image", "img", "--startup-timeout", "0s"}, "positive"},
		{[]string{"--builtin", "reference"}, ""},
		{[]string{"--builtin", "reference", "--url", "http://127.0.0.1:9/"}, "excludes"},
	}
	for _, tt := range tests {
		f, fs := parseTargetFlags(t, tt.args...)
		err := f.Validate(fs)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.args, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v: error = %v, want a usage error containing %q", tt.args, err, tt.wantErr)
		}
	}
}

func TestTargetFlagsURL(t *testing.T) {
	f, fs := parseTargetFlags(t, "--url", "http://127.0.0.1:9/hook")
	_ = fs
	tg, err := f.open(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTarget(context.Background(), tg)
	if tg.URL() != "http://127.0.0.1:9/hook" || f.describe() != "http://127.0.0.1:9/hook" {
		t.Fatalf("URL %q, describe %q", tg.URL(), f.describe())
	}
	if logs, _ := tg.Logs(context.Background()); logs != "" {
		t.Fatalf("a URL target has no logs, got %q", logs)
	}
}

// TestTargetFlagsNoEngine: --image without an engine is exit 3, and says what to install.
func TestTargetFlagsNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/hookproof-test.sock")
	f, _ := parseTargetFlags(t, "--image", "hookproof:none")
	var stderr bytes.Buffer
	_, err := f.open(context.Background(), &stderr)
	if !errors.Is(err, target.ErrNoEngine) {
		t.Fatalf("open = %v, want ErrNoEngine", err)
	}
	if !errors.Is(err, ErrHarness) {
		t.Fatalf("open = %v, want a harness error (exit 3)", err)
	}
	if strings.Contains(stderr.String(), "starting") {
		t.Errorf("claims to start a container without an engine:\n%s", stderr.String())
	}
	for _, want := range []string{"needs a Docker engine", "apt-get install -y docker.io", "dockerd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
}

func TestTargetFlagsImage(t *testing.T) {
	skip, err := target.TestPolicy(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	ctx := context.Background()
	bctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	img, err := target.BuildImage(bctx, target.WithPackage("./suites/target/testdata/tinyserver"), target.WithRepository("hookproof-tinyserver"))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93"
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	f, _ := parseTargetFlags(t, "--image", img, "--path", "/hook", "--ready", "/healthz",
		"--env", "API_SECRET="+secret, "--arg", "-sleep", "--arg", "100ms")
	var stderr bytes.Buffer
	tg, err := f.open(ctx, &stderr, secret)
	if err != nil {
		t.Fatal(err)
	}
	c := tg.(*target.Container)
	defer closeTarget(ctx, tg)
	if !strings.HasSuffix(tg.URL(), "/hook") || !strings.Contains(stderr.String(), "is ready at "+tg.URL()) {
		t.Fatalf("URL %q; stderr:\n%s", tg.URL(), stderr.String())
	}
	resp, err := http.Get(strings.TrimSuffix(tg.URL(), "/hook") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logs, err := tg.Logs(ctx)
	if err != nil || !strings.Contains(logs, "listening on") || strings.Contains(logs, secret) {
		t.Fatalf("logs (%v): want the listening line and no secret:\n%s", err, logs)
	}
	closeTarget(ctx, tg)
	if err := c.Kill(ctx); err == nil {
		t.Fatal("the container is still there after closeTarget")
	}
}
