package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
	corev1 "k8s.io/api/core/v1"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func hookproofBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookproof-k8s-*")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "hookproof")
		if b, err := exec.Command("go", "build", "-o", binary, "../../../cmd/hookproof").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a container of the manifests run as a local process.
type proc struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// start runs container c's args, expanded with env as the kubelet expands them, with the
// binary in place of the image's entrypoint.
func start(t *testing.T, bin string, c corev1.Container, env map[string]string, rewrite func(string) string) *proc {
	t.Helper()
	var args []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		x, err := expand(a, env)
		if err != nil {
			t.Fatalf("container %s: %v", c.Name, err)
		}
		if rewrite != nil {
			x = rewrite(x)
		}
		args = append(args, x)
	}
	p := &proc{cmd: exec.Command(bin, args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				_ = p.cmd.Process.Kill()
				<-done
			}
		}
	})
	return p
}

func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		t.Fatalf("%v did not end within %s:\n%s", p.cmd.Args, within, p.out.String())
	}
	return -1
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer", url)
}

// TestJobRunsAsLocalProcesses runs the manifests' containers as local processes: the sink of
// the Deployment, the load Job's pods with JOB_COMPLETION_INDEX 0..N-1 against the reference
// receiver reporting to the sink, and the merge Job. The merged verdict equals that of one
// unsharded run at the same total rate; with one pod killed the merge is incomplete.
func TestJobRunsAsLocalProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Job's pods as processes")
	}
	bin := hookproofBinary(t)
	m := decodeAll(t)
	cfg := m.config(t)
	loadJob, mergeJob := m.job(t, "hookproof-load"), m.job(t, "hookproof-merge")
	shards := int(*loadJob.Spec.Completions)

	// The sink, from the Deployment: its address and store made local.
	sinkAddr, dir := freeAddr(t), t.TempDir()
	sinkC := m.deployments[0].Spec.Template.Spec.Containers[0]
	start(t, bin, sinkC, m.podEnv(t, sinkC), func(a string) string {
		a = strings.Replace(a, "0.0.0.0:9300", sinkAddr, 1)
		return strings.Replace(a, "/data/", dir+"/", 1)
	})
	sinkURL := "http://" + sinkAddr
	waitHTTP(t, sinkURL+"/healthz")

	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	run := func(t *testing.T, runID string, kill int) (int, string, *reports.Results) {
		// The endpoint under test: the reference receiver, reporting to the run at the sink.
		rcvAddr := freeAddr(t)
		rcv := exec.Command(bin, "receiver", "--listen", rcvAddr, "--secret", secret, "--db", filepath.Join(t.TempDir(), "r.db"),
			"--sink", sinkURL+"/runs/"+runID+"/effects")
		var rout bytes.Buffer
		rcv.Stdout, rcv.Stderr = &rout, &rout
		if err := rcv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rcv.Process.Signal(syscall.SIGTERM); _ = rcv.Wait() })
		waitHTTP(t, "http://"+rcvAddr+"/")

		env := map[string]string{}
		for k, v := range cfg {
			env[k] = v
		}
		env["HOOKPROOF_RUN_ID"] = runID
		env["HOOKPROOF_TARGET_URL"] = "http://" + rcvAddr + "/webhooks"
		env["HOOKPROOF_SINK_URL"] = sinkURL
		env["HOOKPROOF_RATE"] = "90/s"
		env["HOOKPROOF_DURATION"] = "2s"
		c := loadJob.Spec.Template.Spec.Containers[0]
		var pods []*proc
		for i := range shards {
			penv := m.podEnv(t, c)
			for k, v := range env {
				penv[k] = v
			}
			penv["HOOKPROOF_SECRET"] = secret
			penv["JOB_COMPLETION_INDEX"] = fmt.Sprint(i)
			pods = append(pods, start(t, bin, c, penv, nil))
		}
		if kill >= 0 {
			// SIGKILL mid-run, as a node lost: the pod never deposits its results.
			time.Sleep(700 * time.Millisecond)
			_ = pods[kill].cmd.Process.Kill()
			_ = pods[kill].cmd.Wait()
		}
		for i, p := range pods {
			if i == kill {
				continue
			}
			if code := p.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("pod %d: exit %d:\n%s", i, code, p.out.String())
			}
		}
		out := t.TempDir()
		mc := mergeJob.Spec.Template.Spec.Containers[0]
		menv := m.podEnv(t, mc)
		for k, v := range env {
			menv[k] = v
		}
		merge := start(t, bin, mc, menv, func(a string) string {
			a = strings.Replace(a, "/reports/", out+"/", 1)
			return strings.Replace(a, "--wait=30m", "--wait=3s", 1)
		})
		code := merge.wait(t, time.Minute)
		res, err := reports.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatalf("merge exit %d, no results: %v\n%s", code, err, merge.out.String())
		}
		return code, merge.out.String(), res
	}

	code, out, merged := run(t, "k8s-local-1", -1)
	if code != 0 || merged.Verdict() != reports.Conformant || merged.Load == nil {
		t.Fatalf("merged run: exit %d, verdict %s:\n%s", code, merged.Verdict(), out)
	}
	if merged.Load.Ledger.Lost != 0 || merged.Load.Ledger.Doubled != 0 || merged.Load.Ledger.Acked == 0 || merged.Load.Ledger.Acked != merged.Load.Ledger.Published {
		t.Errorf("merged ledger: published %d, acked %d, lost %d, doubled %d", merged.Load.Ledger.Published, merged.Load.Ledger.Acked, merged.Load.Ledger.Lost, merged.Load.Ledger.Doubled)
	}

	// One unsharded run at the same total rate, reconciled at the same sink: the same verdict.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rcvAddr := freeAddr(t)
	rcv := exec.CommandContext(ctx, bin, "receiver", "--listen", rcvAddr, "--secret", secret, "--db", filepath.Join(t.TempDir(), "r.db"),
		"--sink", sinkURL+"/runs/k8s-local-whole/effects")
	if err := rcv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rcv.Process.Signal(syscall.SIGTERM); _ = rcv.Wait() }()
	waitHTTP(t, "http://"+rcvAddr+"/")
	whole := filepath.Join(t.TempDir(), "whole.json")
	b, err := exec.CommandContext(ctx, bin, "load", "--url", "http://"+rcvAddr+"/webhooks", "--secret", secret, "--rate", "90/s", "--duration", "2s",
		"--seed", cfg["HOOKPROOF_SEED"], "--run-id", "k8s-local-whole", "--sink-url", sinkURL, "--threshold", cfg["HOOKPROOF_THRESHOLDS"],
		"--progress", "off", "--out", whole).CombinedOutput()
	if err != nil {
		t.Fatalf("unsharded run: %v\n%s", err, b)
	}
	w, err := reports.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	if w.Verdict() != merged.Verdict() {
		t.Errorf("unsharded verdict %s, merged %s", w.Verdict(), merged.Verdict())
	}
	if d := w.Load.Ledger.Published - merged.Load.Ledger.Published; d < -shards*3 || d > shards*3 {
		t.Errorf("unsharded run published %d, the shards %d together", w.Load.Ledger.Published, merged.Load.Ledger.Published)
	}

	// A pod killed mid-run never deposits: the merge is incomplete, exit 1, naming it.
	code, out, killed := run(t, "k8s-local-2", 1)
	if code != 1 || killed.Verdict() != reports.Incomplete || !strings.Contains(out, fmt.Sprintf("missing: 2/%d", shards)) {
		t.Fatalf("with a pod killed: exit %d, verdict %s (want 1, incomplete, naming shard 2):\n%s", code, killed.Verdict(), out)
	}
}
