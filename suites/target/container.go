package target

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/hookproof/hookproof/reports"
)

// Labels put on every container hookproof starts, so leftovers can be found and reaped.
const (
	LabelOwned = "hookproof"     // always "1"
	LabelPID   = "hookproof.pid" // the process that started the container
	LabelHost  = "hookproof.host"
)

// Container is a Target that hookproof started from an image on the host network. Its methods
// are safe for concurrent use; after Close every method but Close and Logs fails.
type Container struct {
	image string
	cfg   *config
	port  int
	url   string

	mu     sync.Mutex
	ctr    *testcontainers.DockerContainer
	cli    *testcontainers.DockerClient
	closed bool
	logs   string // kept by Close, so Logs still answers afterwards
}

// Start starts image on the host network, waits until it is ready and returns it. On any error,
// including ctx being cancelled, the container is removed before Start returns; an engine that
// does not answer gives an error wrapping ErrNoEngine.
func Start(ctx context.Context, image string, opts ...Option) (*Container, error) {
	if image == "" {
		return nil, errors.New("start container: no image")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, fmt.Errorf("start container %s: %w", image, err)
		}
	}
	cli, err := newClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", image, err)
	}
	reapOnce.Do(func() { _ = RemoveLeftovers(ctx) })
	// hookproof never pulls: the image under test is one the user built or pulled, and a
	// missing one is said plainly rather than fetched from a registry behind their back.
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		_ = cli.Close()
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("start container %s: %w: build it (make image builds hookproof:dev) or pull it first; hookproof never pulls images", image, ErrNoImage)
		}
		return nil, fmt.Errorf("start container %s: inspect image: %w", image, err)
	}

	port := cfg.port
	if port == 0 {
		if port, err = freePort(); err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("start container %s: %w", image, err)
		}
	}
	env := map[string]string{"PORT": strconv.Itoa(port)}
	for k, v := range cfg.env {
		env[k] = v
		if secretLooking(k) && v != "" {
			cfg.redact = append(cfg.redact, v)
		}
	}
	args := make([]string, len(cfg.args))
	for i, a := range cfg.args {
		args[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
	}
	host, _ := os.Hostname()
	name := "hookproof-" + randomSuffix()
	if cfg.name != "" {
		name = cfg.name + "-" + randomSuffix()
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	c := &Container{
		image: image,
		cfg:   cfg,
		port:  port,
		url:   "http://" + addr + cfg.path,
		cli:   cli,
	}
	custom := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithName(name),
		testcontainers.WithEnv(env),
		testcontainers.WithLabels(map[string]string{
			LabelOwned: "1",
			LabelPID:   strconv.Itoa(os.Getpid()),
			LabelHost:  host,
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
			hc.Binds = append(hc.Binds, cfg.binds...)
		}),
		testcontainers.WithWaitStrategyAndDeadline(cfg.startupTimeout, readiness{addr: addr, path: cfg.readyPath}),
	}
	if len(args) > 0 {
		custom = append(custom, testcontainers.WithCmd(args...))
	}
	if cfg.logs != nil {
		custom = append(custom, testcontainers.WithLogConsumers(logWriter{cfg.logs}))
	}
	ctr, err := testcontainers.Run(ctx, image, custom...)
	c.ctr = ctr
	if err != nil {
		logs := c.tail(context.WithoutCancel(ctx))
		_ = c.Close(ctx)
		return nil, fmt.Errorf("start container %s: %s%s", image, c.redactString(oneLine(err)), logsSuffix(logs))
	}
	return c, nil
}

// URL returns http://127.0.0.1:PORT/PATH.
func (c *Container) URL() string { return c.url }

// Port is the port the container listens on, on the host network.
func (c *Container) Port() int { return c.port }

// Image is the image the container runs.
func (c *Container) Image() string { return c.image }

// ID is the engine's container id, empty when it was never created.
func (c *Container) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctr == nil {
		return ""
	}
	return c.ctr.GetContainerID()
}

// Logs returns the tail of everything the container printed (stdout and stderr, across
// restarts), secrets redacted.
func (c *Container) Logs(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.closed {
		defer c.mu.Unlock()
		return c.logs, nil
	}
	c.mu.Unlock()
	return c.fetchLogs(ctx)
}

func (c *Container) fetchLogs(ctx context.Context) (string, error) {
	c.mu.Lock()
	ctr := c.ctr
	c.mu.Unlock()
	if ctr == nil {
		return "", nil
	}
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return "", fmt.Errorf("container %s logs: %w", c.image, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return "", fmt.Errorf("container %s logs: %w", c.image, err)
	}
	s := c.redactString(string(b))
	if c.cfg.logLimit > 0 && len(s) > c.cfg.logLimit {
		s = "[... earlier output cut ...]\n" + strings.ToValidUTF8(s[len(s)-c.cfg.logLimit:], "")
	}
	return s, nil
}

// tail is Logs for error messages: best effort, bounded in time.
func (c *Container) tail(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, _ := c.fetchLogs(ctx)
	const max = 2000
	if len(s) > max {
		s = "..." + strings.ToValidUTF8(s[len(s)-max:], "")
	}
	return s
}

// Kill sends SIGKILL to the container's main process, as a crash would, and returns once the
// engine reports it stopped. The container and its mounts stay, ready for Restart.
func (c *Container) Kill(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ctr == nil {
		return fmt.Errorf("kill container %s: already closed", c.image)
	}
	id := c.ctr.GetContainerID()
	if _, err := c.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill container %s: %w", c.image, err)
	}
	for {
		st, err := c.ctr.State(ctx)
		if err != nil {
			return fmt.Errorf("kill container %s: state: %w", c.image, err)
		}
		if !st.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kill container %s: %w", c.image, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Restart starts the stopped container again, same command, same mounts, same port, and waits
// until it is ready.
func (c *Container) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ctr == nil {
		return fmt.Errorf("restart container %s: already closed", c.image)
	}
	if err := c.ctr.Start(ctx); err != nil {
		return fmt.Errorf("restart container %s: %s%s", c.image, c.redactString(oneLine(err)), logsSuffix(c.tailLocked(ctx)))
	}
	return nil
}

func (c *Container) tailLocked(ctx context.Context) string {
	c.mu.Unlock()
	defer c.mu.Lock()
	return c.tail(context.WithoutCancel(ctx))
}

// Close keeps the logs, then stops and removes the container and its anonymous volumes. It works
// with a cancelled ctx (Ctrl-C), giving itself 30 seconds, and a second call does nothing.
func (c *Container) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	logs, _ := c.fetchLogs(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.logs = logs
	var errs []error
	if c.ctr != nil {
		if err := c.ctr.Terminate(ctx, testcontainers.StopTimeout(3*time.Second)); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.image, err))
		}
	}
	if c.cli != nil {
		errs = append(errs, c.cli.Close())
	}
	return errors.Join(errs...)
}

func (c *Container) redactString(s string) string {
	return reports.RedactString(s, c.cfg.redact...)
}

func logsSuffix(logs string) string {
	if strings.TrimSpace(logs) == "" {
		return " (the container printed nothing)"
	}
	return "; container output:\n" + logs
}

// secretLooking reports whether an environment variable's name says it holds a secret.
func secretLooking(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"secret", "token", "key", "password", "passwd", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// logWriter hands the container's output to a writer, as testcontainers' log consumer.
type logWriter struct{ w io.Writer }

func (l logWriter) Accept(m testcontainers.Log) { _, _ = l.w.Write(m.Content) }
