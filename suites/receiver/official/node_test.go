package official_test

// Differential receivers on the providers' official npm libraries (testdata/node-receivers),
// run under node and judged by `hookproof conform receiver`. Each receiver verifies exactly as
// its library's docs show; a MUST failure against one of them is either a bug in the library
// or a false failure of hookproof's suite (see NODE-FINDINGS.md). The tests assert the correct
// end state: a correct receiver has no MUST failure, and its --flaw no-dedupe twin fails
// idempotency with a second effect.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// nodeSecret is a Standard Webhooks secret (whsec_ and 32 bytes of base64); the provider
// schemes use it as a raw string.
const nodeSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// nodeReceiver is one receiver script and how hookproof talks to it.
type nodeReceiver struct {
	name   string // subtest name
	script string // file in testdata/node-receivers
	scheme string // hookproof --scheme
	path   string // the path it serves
}

var nodeReceivers = []nodeReceiver{
	{"octokit-webhooks-middleware", "github-webhooks.mjs", "github", "/api/github/webhooks"},
	{"octokit-webhooks-methods", "github-webhooks-methods.mjs", "github", "/webhooks"},
	{"shopify-api", "shopify-api.mjs", "shopify", "/webhooks"},
	{"svix", "svix.mjs", "standard", "/webhooks"},
	{"standardwebhooks", "standardwebhooks.mjs", "standard", "/webhooks"},
	{"stripe", "stripe.mjs", "stripe", "/webhook"},
}

const nodeMissing = "run npm ci in testdata/node-receivers (bash .ci/run does)"

// TestNodeReceiversConform: each correct receiver is conformant (SHOULD gaps allowed).
func TestNodeReceiversConform(t *testing.T) {
	dir := nodeReceiversDir(t)
	bin := nodeHookproof(t)
	for _, r := range nodeReceivers {
		t.Run(r.name, func(t *testing.T) {
			res := runNodeConform(t, bin, dir, r, "")
			if v := res.Verdict(); v != reports.Conformant && v != reports.ConformantShouldGaps {
				t.Errorf("%s (%s, scheme %s): verdict %q, want conformant (SHOULD gaps allowed)", r.name, r.script, r.scheme, v)
			}
			for _, c := range res.Cases {
				switch {
				case c.Outcome == reports.Failed && c.Level == reports.MUST:
					t.Errorf("MUST %s failed: %s\n  expected: %s\n  actual: %s", c.ID, c.Requirement, c.Expected, oneLine(c.Actual))
				case c.Outcome == reports.Failed:
					t.Logf("%s %s failed (allowed): %s; actual: %s", c.Level, c.ID, c.Expected, oneLine(c.Actual))
				}
			}
		})
	}
}

// TestNodeReceiversNoDedupe: with --flaw no-dedupe, each receiver fails idempotency because a
// duplicate caused a second effect (not merely because it was not acknowledged).
func TestNodeReceiversNoDedupe(t *testing.T) {
	dir := nodeReceiversDir(t)
	bin := nodeHookproof(t)
	for _, r := range nodeReceivers {
		t.Run(r.name, func(t *testing.T) {
			res := runNodeConform(t, bin, dir, r, "no-dedupe", "--family", "idempotency")
			var seen []string
			second := false
			for _, c := range res.Cases {
				if !strings.HasPrefix(c.ID, "RCV-IDEM-") {
					continue
				}
				seen = append(seen, fmt.Sprintf("%s %s: %s / %s", c.ID, c.Outcome, c.Expected, oneLine(c.Actual)))
				if c.Outcome == reports.Failed && strings.Contains(c.Expected, "exactly one distinct effect") {
					second = true
				}
			}
			if !second {
				t.Errorf("%s --flaw no-dedupe: no RCV-IDEM case failed on a second effect; idempotency cases:\n  %s",
					r.name, strings.Join(seen, "\n  "))
			}
		})
	}
}

// nodeReceiversDir finds testdata/node-receivers with its node_modules, or skips (fails under
// CI=true) when npm ci has not been run there or node is missing.
func nodeReceiversDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(), "testdata", "node-receivers")
	_, errModules := os.Stat(filepath.Join(dir, "node_modules"))
	_, errNode := exec.LookPath("node")
	if errModules == nil && errNode == nil {
		return dir
	}
	msg := nodeMissing
	if errNode != nil {
		msg = "node not found on PATH; " + nodeMissing
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// nodeHookproof is the binary TestMain built for every test of the package.
func nodeHookproof(t *testing.T) string {
	t.Helper()
	return hookproofBin
}

// runNodeConform starts receiver r (with flaw, "" for none) and runs the receiver suite
// against it with an effect sink on a free port; it returns the results file.
func runNodeConform(t *testing.T, bin, dir string, r nodeReceiver, flaw string, extra ...string) *reports.Results {
	t.Helper()
	sinkAddr := freeLoopback(t)
	args := []string{r.script, "--secret", nodeSecret, "--port", "0", "--sink", "http://" + sinkAddr + "/effects"}
	if flaw != "" {
		args = append(args, "--flaw", flaw)
	}
	addr, logs := startNode(t, dir, args)

	out := filepath.Join(t.TempDir(), "r.json")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cargs := append([]string{"conform", "receiver",
		"--url", "http://" + addr + r.path, "--secret", nodeSecret, "--scheme", r.scheme,
		"--sink", sinkAddr, "--seed", "20260101", "--out", out}, extra...)
	cmd := exec.CommandContext(ctx, bin, cargs...)
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	err := cmd.Run()
	res, rerr := reports.ReadFile(out)
	if rerr != nil {
		t.Fatalf("hookproof %s: %v (%v)\n%s\nreceiver output:\n%s", strings.Join(cargs, " "), rerr, err, console.String(), logs())
	}
	t.Cleanup(func() {
		if l := logs(); t.Failed() && l != "" {
			t.Logf("receiver output:\n%s", l)
		}
	})
	return res
}

// startNode runs `node args...` in dir until the test ends and waits for its
// "listening 127.0.0.1:PORT" line; logs returns everything it printed.
func startNode(t *testing.T, dir string, args []string) (addr string, logs func() string) {
	t.Helper()
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	cmd.Stderr = lockedWriter{&mu, &buf}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	logs = func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
	ready := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			buf.WriteString(line + "\n")
			mu.Unlock()
			if a, ok := strings.CutPrefix(line, "listening "); ok {
				select {
				case ready <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	select {
	case addr = <-ready:
		return addr, logs
	case <-exited:
		t.Fatalf("node %s exited before listening:\n%s", strings.Join(args, " "), logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not print its listening address within 30s:\n%s", strings.Join(args, " "), logs())
	}
	return "", logs
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// freeLoopback returns a loopback address whose port was free a moment ago.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	return addr
}
