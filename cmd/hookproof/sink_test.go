package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reference/sinkservice"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/receiver"
)

// startSinkCLI runs `hookproof sink` in process on a free port with a SQLite file in dir and
// returns its base URL; it is stopped (as by Ctrl-C) when t ends.
func startSinkCLI(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, append([]string{"sink", "--listen", addr, "--db", filepath.Join(dir, "sink.db")}, extra...))
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("hookproof sink exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return base
		}
		select {
		case code := <-done:
			t.Fatalf("hookproof sink exited %d before answering\nstderr:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookproof sink did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startReference starts the reference receiver (durable SQLite inbox) reporting its effects
// to effectsURL, and returns the URL deliveries go to.
func startReference(t *testing.T, effectsURL string) string {
	t.Helper()
	tgt, err := receiver.StartBuiltin(context.Background(), receiver.BuiltinReference, "standard", loadSecret, effectsURL, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tgt.Close(context.Background()) })
	return tgt.URL()
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// loadShards runs `hookproof load` once per shard spec in parallel, each with its own --out in
// dir, and returns the results by spec.
func loadShards(t *testing.T, dir string, specs []string, args ...string) []cliResult {
	t.Helper()
	out := make([]cliResult, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := append([]string{}, args...)
			if spec != "" {
				a = append(a, "--shard", spec)
			}
			a = append(a, "--out", filepath.Join(dir, fmt.Sprintf("shard-%d.json", i)))
			code, stdout, stderr := runLoadCLI(t, a...)
			out[i] = cliResult{code, stdout, stderr}
		}()
	}
	wg.Wait()
	return out
}

func reportFrom(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, append([]string{"report"}, args...))
	return cliResult{code, out.String(), errb.String()}
}

// loadArgs are a shard's flags. The sink wait is generous: it ends as soon as every acked event
// has its effect (and the sink is quiet), so only a loaded machine (-race, parallel packages)
// waits longer; a short one would make late effects look lost.
func loadArgs(url, sinkURL, runID, rate string, extra ...string) []string {
	return append([]string{"--url", url, "--secret", loadSecret, "--rate", rate, "--duration", "2s", "--seed", "5",
		"--run-id", runID, "--sink-url", sinkURL, "--drain", "10s", "--sink-wait", "20s", "--progress", "off"}, extra...)
}

// TestSinkServiceShardsGiveTheUnshardedVerdict is the whole path: hookproof sink, the
// reference receiver reporting to it, three load shards of one run against it and one
// unsharded run at the same total rate into a fresh run: hookproof report --from merges the
// shards into the unsharded run's verdict, their ledgers add up, their ids are disjoint.
// A run whose third shard never ran is incomplete (exit 1), naming the shard.
func TestSinkServiceShardsGiveTheUnshardedVerdict(t *testing.T) {
	dir := t.TempDir()
	base := startSinkCLI(t, dir)
	c, err := sinkservice.NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	sharded := startReference(t, c.EffectsURL("sharded"))
	whole := startReference(t, c.EffectsURL("whole"))

	var shards, unsharded []cliResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		shards = loadShards(t, dir, []string{"1/3", "2/3", "3/3"}, loadArgs(sharded, base, "sharded", "150/s", "--duplicate", "0")...)
	}()
	go func() {
		defer wg.Done()
		d := filepath.Join(dir, "whole")
		unsharded = loadShards(t, mkdir(t, d), []string{""}, loadArgs(whole, base, "whole", "150/s", "--duplicate", "0")...)
	}()
	wg.Wait()
	for i, r := range append(shards, unsharded...) {
		if r.code != exitOK {
			t.Fatalf("load %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "deposited at "+base) {
			t.Errorf("load %d does not say it deposited its results:\n%s", i, r.stderr)
		}
	}

	rep := reportFrom(t, "--from", base, "--run", "sharded", "-o", filepath.Join(dir, "sharded.html"))
	if rep.code != exitOK || !strings.Contains(rep.stderr, "3 of 3 shards deposited") {
		t.Fatalf("report --from: exit %d\nstdout:\n%s\nstderr:\n%s", rep.code, rep.stdout, rep.stderr)
	}
	ctx := context.Background()
	var parts []*reports.Results
	for i := 1; i <= 3; i++ {
		r, err := c.Results(ctx, "sharded", i)
		if err != nil {
			t.Fatal(err)
		}
		// What a shard deposited is what it wrote to --out.
		file, err := reports.ReadFile(filepath.Join(dir, fmt.Sprintf("shard-%d.json", i-1)))
		if err != nil || file.Load.Ledger != r.Load.Ledger {
			t.Errorf("shard %d: deposited ledger %+v, file %+v (%v)", i, r.Load.Ledger, file.Load.Ledger, err)
		}
		parts = append(parts, r)
	}
	merged, missing, err := reports.MergeAvailable("sharded", 3, parts)
	if err != nil || len(missing) != 0 {
		t.Fatal(missing, err)
	}
	one, err := c.Results(ctx, "whole", 1)
	if err != nil {
		t.Fatal(err)
	}
	if merged.Verdict() != one.Verdict() || merged.Verdict() != reports.Conformant {
		t.Errorf("merged verdict %s, unsharded %s: want both conformant", merged.Verdict(), one.Verdict())
	}
	var sum reports.Ledger
	for _, p := range parts {
		l := p.Load.Ledger
		sum.Published += l.Published
		sum.Acked += l.Acked
		sum.Lost += l.Lost
		sum.Doubled += l.Doubled
		sum.Effects += l.Effects
		if !l.Observed || l.Published == 0 {
			t.Errorf("shard %d/3 observed nothing: %+v", p.Run.Shard.Index, l)
		}
	}
	ml, ul := merged.Load.Ledger, one.Load.Ledger
	if ml.Published != sum.Published || ml.Acked != sum.Acked || ml.Lost != sum.Lost || ml.Doubled != sum.Doubled {
		t.Errorf("merged ledger %+v is not the sum of the shards' %+v", ml, sum)
	}
	if ml.Lost != 0 || ml.Doubled != 0 || ul.Lost != 0 || ul.Doubled != 0 {
		t.Errorf("lost/doubled: merged %d/%d, unsharded %d/%d: want 0", ml.Lost, ml.Doubled, ul.Lost, ul.Doubled)
	}
	// The same total rate sends as many deliveries (the valid ones are published, the seeded
	// rest carry invalid signatures), within the pacer's rounding on each shard.
	sent, usent := ml.Published+ml.InvalidSent, ul.Published+ul.InvalidSent
	if d := sent - usent; d < -3 || d > 3 || ml.Acked != ml.Published || ul.Acked != ul.Published || usent < 290 {
		t.Errorf("sent: merged %d (published %d, acked %d), unsharded %d (published %d, acked %d): the same total rate must send as much",
			sent, ml.Published, ml.Acked, usent, ul.Published, ul.Acked)
	}
	// Ids are disjoint: every id of the run belongs to exactly one shard (its index is in the
	// id), and the effects the shards counted for their own ids add up to the run's.
	all, _, err := c.Counts(ctx, "sharded", "")
	if err != nil {
		t.Fatal(err)
	}
	perShard := map[string]int{}
	total := 0
	for id, n := range all {
		f := strings.Split(id, "_")
		if len(f) != 4 || f[0] != "msg" {
			t.Fatalf("id %q is not a load id", id)
		}
		perShard[f[2]] += n
		total += n
	}
	if len(perShard) != 3 || total != sum.Effects {
		t.Errorf("effects by shard %v (total %d), the shards counted %d", perShard, total, sum.Effects)
	}
	for _, p := range parts {
		if got := perShard[strconv.Itoa(p.Run.Shard.Index)]; got != p.Load.Ledger.Effects {
			t.Errorf("shard %d counted %d effects, the sink holds %d under its ids", p.Run.Shard.Index, p.Load.Ledger.Effects, got)
		}
	}

	// Shard 3 of this run never runs: the merged verdict is incomplete, never green.
	partial := startReference(t, c.EffectsURL("partial"))
	for i, r := range loadShards(t, mkdir(t, filepath.Join(dir, "partial")), []string{"1/3", "2/3"}, loadArgs(partial, base, "partial", "150/s")...) {
		if r.code != exitOK {
			t.Fatalf("partial shard %d: exit %d\n%s", i+1, r.code, r.stderr)
		}
	}
	rep = reportFrom(t, "--from", base, "--run", "partial", "-o", filepath.Join(dir, "partial.html"), "--junit", filepath.Join(dir, "junit.xml"))
	if rep.code != exitFailed {
		t.Fatalf("report of a run missing a shard: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", rep.code, rep.stdout, rep.stderr)
	}
	if !strings.Contains(rep.stderr, "missing: 3/3") || !strings.Contains(rep.stdout+rep.stderr, "incomplete") {
		t.Errorf("the report does not name the missing shard and the incomplete verdict:\nstdout:\n%s\nstderr:\n%s", rep.stdout, rep.stderr)
	}
}

// TestSinkServiceCatchesDoubleProcessingAcrossShards: a receiver that processes duplicates
// twice fails doubled==0 in the shards and in the merged report.
func TestSinkServiceCatchesDoubleProcessingAcrossShards(t *testing.T) {
	dir := t.TempDir()
	base := startSinkCLI(t, dir)
	c, _ := sinkservice.NewClient(base)
	rcv, err := knownbad.New("double-process", "standard", loadSecret, knownbad.WithSink(c.EffectsURL("dbl")))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(rcv)
	defer ts.Close()
	for i, r := range loadShards(t, dir, []string{"1/2", "2/2"}, loadArgs(ts.URL+"/webhooks", base, "dbl", "100/s", "--duplicate", "0.2")...) {
		if r.code != exitFailed || !strings.Contains(r.stderr, "failed: doubled==0") {
			t.Errorf("shard %d: exit %d, want 1 failing doubled==0\n%s", i+1, r.code, r.stderr)
		}
	}
	rep := reportFrom(t, "--from", base, "--run", "dbl", "-o", filepath.Join(dir, "dbl.html"))
	if rep.code != exitFailed || !strings.Contains(rep.stdout, "non-conformant") {
		t.Fatalf("report: exit %d, want 1 non-conformant\nstdout:\n%s\nstderr:\n%s", rep.code, rep.stdout, rep.stderr)
	}
	var parts []*reports.Results
	for i := 1; i <= 2; i++ {
		r, err := c.Results(context.Background(), "dbl", i)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, r)
	}
	m, _, err := reports.MergeAvailable("dbl", 2, parts)
	if err != nil || m.Load.Ledger.Doubled == 0 || m.Load.Ledger.Doubled != parts[0].Load.Ledger.Doubled+parts[1].Load.Ledger.Doubled {
		t.Errorf("merged doubled %d (%v), shards %d + %d", m.Load.Ledger.Doubled, err, parts[0].Load.Ledger.Doubled, parts[1].Load.Ledger.Doubled)
	}
}

func TestLoadSinkURLUsageErrors(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"with --sink", []string{"--url", ok.URL, "--secret", loadSecret, "--sink-url", "http://127.0.0.1:1", "--sink", "127.0.0.1:0"}, exitUsage, "excludes --sink"},
		{"with a path", []string{"--url", ok.URL, "--secret", loadSecret, "--sink-url", "http://127.0.0.1:1/effects"}, exitUsage, "no path"},
		{"bad run id", []string{"--url", ok.URL, "--secret", loadSecret, "--sink-url", "http://127.0.0.1:1", "--run-id", "a b"}, exitUsage, "--run-id"},
		{"auto without index", []string{"--url", ok.URL, "--secret", loadSecret, "--shard", "auto/3", "--seed", "1"}, exitUsage, "JOB_COMPLETION_INDEX"},
		{"sink down", []string{"--url", ok.URL, "--secret", loadSecret, "--sink-url", "http://" + freeAddr(t), "--duration", "1s"}, exitHarness, "--sink-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runLoadCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, stderr)
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"files and --from", []string{"a.json", "--from", "http://127.0.0.1:1", "--run", "r"}, "no files"},
		{"--from without --run", []string{"--from", "http://127.0.0.1:1"}, "go together"},
		{"bad run", []string{"--from", "http://127.0.0.1:1", "--run", "a/b"}, "--run"},
	} {
		if r := reportFrom(t, tc.args...); r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("report %s: exit %d, want 2 with %q:\n%s", tc.name, r.code, tc.want, r.stderr)
		}
	}
	base := startSinkCLI(t, t.TempDir())
	if r := reportFrom(t, "--from", base, "--run", "never"); r.code != exitUsage || !strings.Contains(r.stderr, "no such run") {
		t.Errorf("report of an unknown run: exit %d:\n%s", r.code, r.stderr)
	}
	// No shard ever reached the sink, but the count is known: incomplete, exit 1.
	if r := reportFrom(t, "--from", base, "--run", "never", "--shards", "2", "-o", filepath.Join(t.TempDir(), "r.html")); r.code != exitFailed || !strings.Contains(r.stderr, "missing: 1/2, 2/2") {
		t.Errorf("report of a run no shard reached: exit %d, want 1:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestLoadShardAutoReadsTheJobIndex: --shard auto/2 in a pod of index 1 runs shard 2/2.
func TestLoadShardAutoReadsTheJobIndex(t *testing.T) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "JOB_COMPLETION_INDEX" {
			return "1"
		}
		return ""
	}}
	file := filepath.Join(t.TempDir(), "shard.json")
	code := run(context.Background(), e, []string{"load", "--builtin", "knownbad:none", "--rate", "50/s", "--duration", "1s", "--seed", "3",
		"--shard", "auto/2", "--drain", "5s", "--sink-wait", "3s", "--progress", "off", "--out", file})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	r, err := reports.ReadFile(file)
	if err != nil || r.Run.Shard == nil || r.Run.Shard.Index != 2 || r.Run.Shard.Count != 2 {
		t.Errorf("shard %+v %v, want 2/2", r.Run.Shard, err)
	}
}

func mkdir(t *testing.T, d string) string {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}
