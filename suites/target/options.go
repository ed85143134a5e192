package target

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Option configures a Container before it starts.
type Option func(*config) error

type config struct {
	port           int
	path           string
	env            map[string]string
	args           []string
	binds          []string
	readyPath      string
	startupTimeout time.Duration
	logLimit       int
	redact         []string
	name           string
	logs           io.Writer // gets the container's output as it comes (WithLogWriter)
}

func defaultConfig() *config {
	return &config{
		path:           "/",
		env:            map[string]string{},
		startupTimeout: 60 * time.Second,
		logLimit:       64 << 10,
	}
}

// WithPort is the port the endpoint listens on. On the host network that is also the port
// hookproof dials on 127.0.0.1. Zero (the default) picks a free port. Either way the container
// gets it in $PORT, unless WithEnv sets PORT itself.
func WithPort(p int) Option {
	return func(c *config) error {
		if p < 0 || p > 65535 {
			return fmt.Errorf("port %d: out of range 0-65535", p)
		}
		c.port = p
		return nil
	}
}

// WithPath is the path of the webhook endpoint inside the container's server; default "/".
func WithPath(p string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path %q: must start with /", p)
		}
		c.path = p
		return nil
	}
}

// WithEnv sets one environment variable in the container.
func WithEnv(key, value string) Option {
	return func(c *config) error {
		if key == "" || strings.ContainsAny(key, "= \t\n") {
			return fmt.Errorf("env name %q: must be non-empty, without '=' or spaces", key)
		}
		c.env[key] = value
		return nil
	}
}

// WithEnvPair sets one environment variable given as "KEY=VALUE" (the --env flag's form).
func WithEnvPair(kv string) Option {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return func(*config) error { return fmt.Errorf("env %q: want KEY=VALUE", kv) }
	}
	return WithEnv(k, v)
}

// WithArgs are the arguments given to the image's entrypoint (the container's command).
// They may contain "{port}", replaced by the port the container must listen on.
func WithArgs(args ...string) Option {
	return func(c *config) error {
		c.args = append(c.args, args...)
		return nil
	}
}

// WithBind mounts hostDir at containerDir, read-write, so data outlives the container: a
// restarted or re-created container sees the same files.
func WithBind(hostDir, containerDir string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(hostDir, "/") || !strings.HasPrefix(containerDir, "/") {
			return fmt.Errorf("bind %q:%q: both paths must be absolute", hostDir, containerDir)
		}
		c.binds = append(c.binds, hostDir+":"+containerDir)
		return nil
	}
}

// WithReadyPath makes readiness an HTTP GET of this path answering 2xx. Without it the
// container is ready once its port accepts TCP connections.
func WithReadyPath(p string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("ready path %q: must start with /", p)
		}
		c.readyPath = p
		return nil
	}
}

// WithStartupTimeout bounds how long a start (or restart) may take to become ready; default 60 s.
func WithStartupTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("startup timeout %v: must be positive", d)
		}
		c.startupTimeout = d
		return nil
	}
}

// WithLogLimit bounds what Logs returns to the last n bytes; default 64 KiB, 0 means no limit.
func WithLogLimit(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("log limit %d: must not be negative", n)
		}
		c.logLimit = n
		return nil
	}
}

// WithRedact lists secrets that Logs and error messages must never show.
func WithRedact(secrets ...string) Option {
	return func(c *config) error {
		c.redact = append(c.redact, secrets...)
		return nil
	}
}

// WithName gives the container a readable name prefix; a unique suffix is always added.
func WithName(prefix string) Option {
	return func(c *config) error {
		c.name = prefix
		return nil
	}
}

// WithLogWriter copies everything the container prints (stdout and stderr) to w as it comes,
// from its start: for observers that read its log lines (hookproof --effects-log with
// --image). w must not block for long: the container's output waits on it.
func WithLogWriter(w io.Writer) Option {
	return func(c *config) error { c.logs = w; return nil }
}
