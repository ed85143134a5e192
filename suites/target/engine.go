package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// ErrNoEngine means no Docker engine answered. Commands map it to exit code 3; its message
// (see NoEngineHelp) says what to install and start.
var ErrNoEngine = errors.New("no Docker engine is reachable")

// NoEngineHelp is what a person without a Docker engine should do, printed after ErrNoEngine.
const NoEngineHelp = "install a Docker engine and start it, e.g. on Debian: " +
	"apt-get install -y docker.io && dockerd --iptables=false --ip-masq=false & " +
	"(or point DOCKER_HOST at a running engine)"

// engineEnv are the testcontainers settings hookproof needs: Ryuk (the reaper) would have to be
// pulled, which is impossible here, so hookproof reaps its own containers instead; and on the
// host network every container is reached on 127.0.0.1.
var engineEnv = map[string]string{
	"TESTCONTAINERS_RYUK_DISABLED": "true",
	"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
}

var engineEnvOnce sync.Once

// applyEngineEnv sets engineEnv where the user has not set it. It must run before testcontainers
// reads its configuration for the first time, which it caches for the life of the process.
func applyEngineEnv() {
	engineEnvOnce.Do(func() {
		for k, v := range engineEnv {
			if _, set := os.LookupEnv(k); !set {
				_ = os.Setenv(k, v)
			}
		}
		// testcontainers' banner and progress lines would land in hookproof's own output.
		tclog.SetDefault(tclog.NewNoopLogger())
	})
}

// CheckEngine pings the Docker engine and returns an error wrapping ErrNoEngine, with advice,
// when none answers within ten seconds.
// ErrNoImage means the image to start is not in the local engine (hookproof never pulls).
var ErrNoImage = errors.New("image not found in the local Docker engine")

func CheckEngine(ctx context.Context) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}

// newClient connects to the engine testcontainers would use and proves it answers.
func newClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	applyEngineEnv()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := checkExplicitHost(ctx); err != nil {
		return nil, noEngine(err)
	}
	cli, err := newDockerClient(ctx)
	if err != nil {
		return nil, noEngine(err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, noEngine(err)
	}
	return cli, nil
}

// newDockerClient is testcontainers' own client constructor; it panics on some broken
// configurations (an unreadable docker config, for one), which must become an error here.
func newDockerClient(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			cli, err = nil, fmt.Errorf("docker client: %v", r)
		}
	}()
	return testcontainers.NewDockerClientWithOpts(ctx)
}

// checkExplicitHost pings DOCKER_HOST when it is set. testcontainers would quietly fall back to
// the default socket when that host does not answer; a person who named an engine means it.
func checkExplicitHost(ctx context.Context) error {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		return nil
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
	}
	return nil
}

func noEngine(err error) error {
	return fmt.Errorf("%w (%v): %s", ErrNoEngine, oneLine(err), NoEngineHelp)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// TestPolicy decides what a test that needs the engine does without one: under CI (CI=true) a
// missing engine is a failure, returned as err; elsewhere the test is skipped with the loud reason
// returned in skip. Both are empty when the engine answers. getenv is usually os.Getenv.
func TestPolicy(ctx context.Context, getenv func(string) string) (skip string, err error) {
	cerr := CheckEngine(ctx)
	if cerr == nil {
		return "", nil
	}
	if ci := strings.ToLower(getenv("CI")); ci == "true" || ci == "1" {
		return "", fmt.Errorf("CI=true and these tests need Docker: %w", cerr)
	}
	return "SKIPPED, NOT PASSED: these tests need a Docker engine. " + cerr.Error(), nil
}
