package target

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// LabelImage marks images built by BuildImage, so stale ones can be pruned.
const LabelImage = "hookproof.image"

// BuildOption configures BuildImage.
type BuildOption func(*buildConfig)

type buildConfig struct {
	root string
	repo string
	pkg  string
}

// WithModuleRoot is the hookproof checkout to build from; default: the module that `go env GOMOD`
// finds from the working directory.
func WithModuleRoot(dir string) BuildOption { return func(b *buildConfig) { b.root = dir } }

// WithRepository names the image repository; default "hookproof".
func WithRepository(repo string) BuildOption { return func(b *buildConfig) { b.repo = repo } }

// WithPackage builds another main package into the image, in place of ./cmd/hookproof: tests use
// it to put a purpose-built endpoint in a container. The path is relative to the module root.
func WithPackage(pkg string) BuildOption { return func(b *buildConfig) { b.pkg = pkg } }

var (
	builtMu sync.Mutex
	built   = map[string]string{} // module root + repo -> image reference
)

// BuildImage builds the hookproof image the way `make image` does (a static binary, the repo's
// Dockerfile, FROM scratch, nothing pulled) and returns its reference, "hookproof:bin-<hash>".
// The tag is a hash of the binary and the Dockerfile, so an unchanged build reuses the image the
// engine already has; within one process the result is memoised. Images it built more than a
// day ago, and no container uses, are pruned.
func BuildImage(ctx context.Context, opts ...BuildOption) (string, error) {
	cfg := buildConfig{repo: "hookproof", pkg: "./cmd/hookproof"}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.root == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			return "", fmt.Errorf("build image: %w", err)
		}
		cfg.root = root
	}
	builtMu.Lock()
	defer builtMu.Unlock()
	key := cfg.root + "\x00" + cfg.repo + "\x00" + cfg.pkg
	if ref, ok := built[key]; ok {
		return ref, nil
	}
	ref, err := buildImage(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("build image: %w", err)
	}
	built[key] = ref
	return ref, nil
}

func buildImage(ctx context.Context, cfg buildConfig) (string, error) {
	cli, err := newClient(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()

	dockerfile, err := os.ReadFile(filepath.Join(cfg.root, "Dockerfile"))
	if err != nil {
		return "", fmt.Errorf("read Dockerfile: %w", err)
	}
	tmp, err := os.MkdirTemp("", "hookproof-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "hookproof")
	if err := goBuild(ctx, cfg.root, cfg.pkg, bin); err != nil {
		return "", err
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	sum.Write(dockerfile)
	sum.Write(binary)
	ref := cfg.repo + ":bin-" + hex.EncodeToString(sum.Sum(nil))[:16]

	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	}
	tarball, err := buildContext(dockerfile, binary)
	if err != nil {
		return "", err
	}
	res, err := cli.ImageBuild(ctx, tarball, client.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelImage: "1"},
	})
	if err != nil {
		return "", fmt.Errorf("docker build %s: %w", ref, err)
	}
	defer res.Body.Close()
	if err := buildStreamError(res.Body); err != nil {
		return "", fmt.Errorf("docker build %s: %w", ref, err)
	}
	pruneImages(ctx, cli, ref)
	return ref, nil
}

// goBuild builds a static binary: no cgo (SQLite is pure Go), so it runs FROM scratch.
func goBuild(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, bytes.TrimSpace(b))
	}
	return nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module: give WithModuleRoot")
	}
	return filepath.Dir(mod), nil
}

// buildContext is the whole build context: the Dockerfile, the binary and an empty data/.
func buildContext(dockerfile, binary []byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(0, 0)
	files := []struct {
		name string
		mode int64
		body []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"hookproof", 0o755, binary}}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: now}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "data/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: now}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// buildStreamError reads the engine's JSON progress stream to its end and returns the first
// error it reports: a failed build answers 200 and says so only in the stream.
func buildStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// pruneImages removes images BuildImage made more than a day ago, except keep. An image some
// container still uses is refused by the engine and stays; errors only cost disk space.
func pruneImages(ctx context.Context, cli interface {
	ImageList(context.Context, client.ImageListOptions) (client.ImageListResult, error)
	ImageRemove(context.Context, string, client.ImageRemoveOptions) (client.ImageRemoveResult, error)
}, keep string) {
	list, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelImage+"=1")})
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-24 * time.Hour).Unix()
	for _, img := range list.Items {
		if img.Created > cutoff {
			continue
		}
		for _, tag := range img.RepoTags {
			if tag != keep {
				_, _ = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true})
			}
		}
	}
}
