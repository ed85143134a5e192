package target

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

func TestFromURL(t *testing.T) {
	tests := []struct {
		raw     string
		wantErr string
	}{
		{"http://127.0.0.1:8080/hook", ""},
		{"https://example.test/x", ""},
		{"ftp://127.0.0.1/", "scheme must be http or https"},
		{"127.0.0.1:8080", "target url"},
		{"//127.0.0.1:8080/x", "scheme must be http or https"},
		{"http:///nohost", "no host"},
		{"http://[::1", "target url"},
	}
	for _, tt := range tests {
		r, err := FromURL(tt.raw)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("FromURL(%q) error = %v, want it to contain %q", tt.raw, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("FromURL(%q): %v", tt.raw, err)
		}
		if r.URL() != tt.raw {
			t.Errorf("URL() = %q, want %q", r.URL(), tt.raw)
		}
		if logs, err := r.Logs(context.Background()); logs != "" || err != nil {
			t.Errorf("Logs() = %q, %v; want nothing", logs, err)
		}
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	tests := []struct {
		name    string
		opt     Option
		wantErr string
	}{
		{"port too big", WithPort(70000), "out of range"},
		{"negative port", WithPort(-1), "out of range"},
		{"relative path", WithPath("hook"), "must start with /"},
		{"env without =", WithEnvPair("NOVALUE"), "want KEY=VALUE"},
		{"env empty name", WithEnvPair("=x"), "must be non-empty"},
		{"relative bind", WithBind("data", "/data"), "absolute"},
		{"ready path", WithReadyPath("healthz"), "must start with /"},
		{"zero timeout", WithStartupTimeout(0), "must be positive"},
		{"negative log limit", WithLogLimit(-1), "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opt(defaultConfig())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	c := defaultConfig()
	for _, o := range []Option{WithPort(8080), WithPath("/hook"), WithEnvPair("A=b=c"), WithBind("/tmp/x", "/data")} {
		if err := o(c); err != nil {
			t.Fatalf("good option rejected: %v", err)
		}
	}
	if c.port != 8080 || c.path != "/hook" || c.env["A"] != "b=c" || c.binds[0] != "/tmp/x:/data" {
		t.Fatalf("config = %+v", c)
	}
}

func TestBuildStreamError(t *testing.T) {
	tests := []struct {
		stream, want string
	}{
		{`{"stream":"Step 1/4 : FROM scratch"}` + "\n" + `{"stream":"ok"}`, ""},
		{`{"stream":"x"}{"errorDetail":{"message":"COPY failed: no such file"},"error":"COPY failed"}`, "COPY failed: no such file"},
		{`{"error":"bare error"}`, "bare error"},
		{`{"stream":`, "read build output"},
	}
	for _, tt := range tests {
		err := buildStreamError(strings.NewReader(tt.stream))
		if tt.want == "" {
			if err != nil {
				t.Errorf("buildStreamError(%q) = %v, want nil", tt.stream, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("buildStreamError(%q) = %v, want %q", tt.stream, err, tt.want)
		}
	}
}

func TestSecretLooking(t *testing.T) {
	for name, want := range map[string]bool{
		"WEBHOOK_SECRET": true, "api_token": true, "STRIPE_KEY": true, "DB_PASSWORD": true,
		"PORT": false, "LOG_LEVEL": false,
	} {
		if got := secretLooking(name); got != want {
			t.Errorf("secretLooking(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestNoEngineMessage runs CheckEngine in a child process pointed at an engine that does not
// exist (testcontainers caches the engine's address per process).
func TestNoEngineMessage(t *testing.T) {
	if os.Getenv("HOOKPROOF_TARGET_CHILD") == "no-engine" {
		err := CheckEngine(context.Background())
		if !errors.Is(err, ErrNoEngine) {
			t.Fatalf("CheckEngine = %v, want ErrNoEngine", err)
		}
		os.Stdout.WriteString("MESSAGE: " + err.Error() + "\n")
		skip, perr := TestPolicy(context.Background(), func(string) string { return "true" })
		if skip != "" || perr == nil || !errors.Is(perr, ErrNoEngine) {
			t.Fatalf("TestPolicy with CI=true = %q, %v; want a failure", skip, perr)
		}
		skip, perr = TestPolicy(context.Background(), func(string) string { return "" })
		if perr != nil || !strings.Contains(skip, "SKIPPED") {
			t.Fatalf("TestPolicy without CI = %q, %v; want a loud skip", skip, perr)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoEngineMessage$", "-test.v")
	cmd.Env = append(os.Environ(), "HOOKPROOF_TARGET_CHILD=no-engine",
		"DOCKER_HOST=unix:///nonexistent/hookproof-test.sock", "TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	for _, want := range []string{"no Docker engine is reachable", "apt-get install -y docker.io", "dockerd"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no-engine message lacks %q:\n%s", want, out)
		}
	}
}

// needEngine applies the house rule: fail under CI without an engine, else skip loudly.
func needEngine(t *testing.T) {
	t.Helper()
	skip, err := TestPolicy(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
}

func tinyImage(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ref, err := BuildImage(ctx, WithPackage("./suites/target/testdata/tinyserver"), WithRepository("hookproof-tinyserver"))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// dataDir is a bind-mount source the image's unprivileged user can write.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func post(t *testing.T, url, body string) (string, error) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestContainerLifecycle(t *testing.T) {
	needEngine(t)
	img := tinyImage(t)
	ctx := context.Background()
	const secret = "s3cr3t-value-never-shown"
	c, err := Start(ctx, img,
		WithPath("/hook"),
		WithEnv("API_SECRET", secret),
		WithBind(dataDir(t), "/data"),
		WithReadyPath("/healthz"),
		WithName("target-test"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })

	if want := "http://127.0.0.1:" + strconv.Itoa(c.Port()) + "/hook"; c.URL() != want {
		t.Fatalf("URL() = %q, want %q", c.URL(), want)
	}
	for i, want := range []string{"1", "2"} {
		got, err := post(t, c.URL(), "event-"+strconv.Itoa(i))
		if err != nil || got != want {
			t.Fatalf("POST %d = %q, %v; want %q", i, got, err, want)
		}
	}
	logs, err := c.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "listening on 127.0.0.1:"+strconv.Itoa(c.Port())) {
		t.Errorf("logs lack the listening line:\n%s", logs)
	}
	if strings.Contains(logs, secret) || !strings.Contains(logs, "API_SECRET=[REDACTED]") {
		t.Errorf("logs must show the secret redacted:\n%s", logs)
	}

	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := post(t, c.URL(), "while-dead"); err == nil {
		t.Fatal("POST to a killed container succeeded")
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := post(t, c.URL(), "event-after"); err != nil || got != "3" {
		t.Fatalf("POST after restart = %q, %v; want 3 (data kept on the bind mount)", got, err)
	}
	logs, _ = c.Logs(ctx)
	if n := strings.Count(logs, "listening on"); n != 2 {
		t.Errorf("logs hold %d runs, want 2 (before and after the kill):\n%s", n, logs)
	}

	id := c.ID()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if exists(t, id) {
		t.Fatalf("container %s still exists after Close", id)
	}
	if kept, _ := c.Logs(ctx); !strings.Contains(kept, "listening on") {
		t.Errorf("Logs after Close lost the output: %q", kept)
	}
	if err := c.Kill(ctx); err == nil {
		t.Error("Kill after Close succeeded")
	}
}

func TestStartFailureRemovesContainer(t *testing.T) {
	needEngine(t)
	img := tinyImage(t)
	before := ownContainers(t)
	_, err := Start(context.Background(), img, WithArgs("-fail", "3"), WithStartupTimeout(30*time.Second))
	if err == nil {
		t.Fatal("Start of a container that exits succeeded")
	}
	for _, want := range []string{"exit code 3", "failing on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if after := ownContainers(t); after != before {
		t.Errorf("containers of this process: %d before, %d after a failed start", before, after)
	}
}

func TestStartCancelledRemovesContainer(t *testing.T) {
	needEngine(t)
	img := tinyImage(t)
	before := ownContainers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Start(ctx, img, WithArgs("-sleep", "60s"))
	if err == nil {
		t.Fatal("Start succeeded although the container never listens")
	}
	if elapsed := time.Since(start); elapsed > 45*time.Second {
		t.Errorf("Start took %v after its context ended", elapsed)
	}
	if after := ownContainers(t); after != before {
		t.Errorf("containers of this process: %d before, %d after a cancelled start", before, after)
	}
}

func TestRemoveLeftovers(t *testing.T) {
	needEngine(t)
	img := tinyImage(t)
	ctx := context.Background()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := testcontainers.Run(ctx, img,
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithEnv(map[string]string{"PORT": strconv.Itoa(port)}),
		testcontainers.WithLabels(map[string]string{LabelOwned: "1", LabelPID: strconv.Itoa(dead.Process.Pid), LabelHost: host}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = orphan.Terminate(ctx) })
	live, err := Start(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Close(ctx) })

	if err := RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(t, orphan.GetContainerID()) {
		t.Error("the dead process's container survived RemoveLeftovers")
	}
	if !exists(t, live.ID()) {
		t.Error("RemoveLeftovers removed a live process's container")
	}
}

func exists(t *testing.T, id string) bool {
	t.Helper()
	cli, err := newClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	_, err = cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	return err == nil
}

func ownContainers(t *testing.T) int {
	t.Helper()
	cli, err := newClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", LabelPID+"="+strconv.Itoa(os.Getpid())),
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// A missing image is refused with ErrNoImage, never pulled from a registry.
func TestStartMissingImageIsNotPulled(t *testing.T) {
	needEngine(t)
	_, err := Start(context.Background(), "hookproof-test-no-such-image:never-built")
	if !errors.Is(err, ErrNoImage) {
		t.Fatalf("Start(missing image) = %v, want ErrNoImage", err)
	}
}
