package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/chaos"
)

func TestChaosUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("faults:\n  - type: drop\n    probability: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args     []string
		contains string
	}{
		{nil, "--upstream"},
		{[]string{"--upstream", "ftp://x"}, "http://"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--drop", "2"}, "--drop 2"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--delay", "forever"}, "--delay forever"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--seed", "x"}, "--seed"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--chaos", "drop=0.1,nope"}, "item 2"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--scenario", bad}, "line 3: faults[0].probability"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--scenario", filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--listen", "nonsense"}, "--listen"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--bogus"}, "bogus"},
	}
	for _, tc := range cases {
		var errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, getenv: func(string) string { return "" }}
		if code := run(context.Background(), e, append([]string{"chaos"}, tc.args...)); code != exitUsage {
			t.Errorf("chaos %v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errb.String(), tc.contains) {
			t.Errorf("chaos %v: stderr %q, want it to mention %q", tc.args, errb.String(), tc.contains)
		}
	}
}

func TestChaosRuns(t *testing.T) {
	var hits sync.Map
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.Header.Get("webhook-id"), true)
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.yaml")
	os.WriteFile(scenario, []byte("seed: 3\nfaults:\n  - type: error\n    match: {attempts: 1}\n    status: 429\n"), 0o600)
	ledger := filepath.Join(dir, "ledger.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	var errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: &errb, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"chaos", "--upstream", up.URL, "--listen", "127.0.0.1:0", "--admin", ":0",
			"--scenario", scenario, "--seed", "77", "--delay", "1ms", "--ledger-out", ledger})
	}()

	addrs := regexp.MustCompile(`listening on (http://\S+)[\s\S]*admin API on (http://\S+)`)
	var m []string
	deadline := time.Now().Add(10 * time.Second)
	for m = addrs.FindStringSubmatch(out.String()); m == nil; m = addrs.FindStringSubmatch(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no listening lines in %q (stderr %q)", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(out.String(), "seed=77\n") {
		t.Errorf("output starts %q, want seed=77 first (--seed wins over the scenario's)", out.String())
	}
	if !strings.Contains(m[2], "127.0.0.1:") {
		t.Errorf("admin on %s, want loopback by default", m[2])
	}

	statuses := []int{}
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("POST", m[1]+"/hook", strings.NewReader("{}"))
		req.Header.Set("webhook-id", "msg_1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != 429 || statuses[1] != 200 {
		t.Errorf("statuses %v, want [429 200]: the scenario fails the first attempt", statuses)
	}
	resp, err := http.Get(m[2] + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Seed     int64            `json:"seed"`
		Requests int64            `json:"requests"`
		Faults   map[string]int64 `json:"faults"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Seed != 77 || st.Requests != 2 || st.Faults["error"] != 1 || st.Faults["delay"] != 1 { // the scenario's error is outermost: the delay ran for attempt 2 only
		t.Errorf("stats %+v", st)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after interrupt, want 0 (stderr %q)", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chaos did not stop after interrupt")
	}
	if !strings.Contains(out.String(), "stopped; seed=77 requests=2") {
		t.Errorf("no summary in %q", out.String())
	}
	b, err := os.ReadFile(ledger)
	if err != nil || strings.Count(string(b), "\n") != 2 || !strings.Contains(string(b), `"seed":77`) {
		t.Errorf("ledger file %q, %v", b, err)
	}
}

func TestLoopbackDefault(t *testing.T) {
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "8080": "127.0.0.1:8080", "[::1]:9": "[::1]:9", "0.0.0.0:1": "0.0.0.0:1"} {
		if got, err := loopbackDefault(in); err != nil || got != want {
			t.Errorf("loopbackDefault(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// The per-fault flags and their help are the registry's: one flag per registered type, with
// its value syntax, what it does and every param, composing in the order of their kinds.
func TestChaosFlagsFromRegistry(t *testing.T) {
	var errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"chaos", "-h"}); code != exitOK {
		t.Fatalf("chaos -h: exit %d", code)
	}
	help := errb.String()
	types := chaos.Types()
	order := make([]string, 0, len(types))
	for _, ft := range chaosFlagTypes() {
		order = append(order, ft.Name)
	}
	if !strings.Contains(help, "outermost first:\n  "+strings.Join(order, ", ")+"\n") {
		t.Errorf("help does not give the composition order %v:\n%s", order, help)
	}
	for i, ft := range chaosFlagTypes() {
		if i > 0 && ft.Kind.Rank() < chaosFlagTypes()[i-1].Kind.Rank() {
			t.Errorf("flag %s composes before %s, whose kind acts earlier", chaosFlagTypes()[i-1].Name, ft.Name)
		}
	}
	for _, ft := range types {
		i := strings.Index(help, "\n  -"+ft.Name+" ")
		if i < 0 {
			t.Errorf("no --%s flag in the help", ft.Name)
			continue
		}
		entry := help[i+1:]
		if j := strings.Index(entry, "\n  -"); j >= 0 {
			entry = entry[:j]
		}
		for _, want := range append([]string{ft.Summary, ft.Kind.Doc()}, slices.Collect(maps.Keys(ft.Params))...) {
			if !strings.Contains(entry, want) {
				t.Errorf("--%s help lacks %q:\n%s", ft.Name, want, entry)
			}
		}
		if ft.Primary != "" && !strings.HasPrefix(entry, "  -"+ft.Name+" "+strings.ToUpper(ft.Primary)+"\n") {
			t.Errorf("--%s: want its value named %s:\n%s", ft.Name, strings.ToUpper(ft.Primary), entry)
		}
	}
}

// The flags keep their names and meanings, and compose in the documented order whatever the
// order on the command line.
func TestChaosFaultFlagsCompose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: io.Discard, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"chaos", "--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0",
			"--reset", "0.1", "--duplicate", "0.1", "--drop", "0.05", "--delay", "100ms-2s", "--reorder", "0.1",
			"--error", "0.2(status=500)"})
	}()
	want := "faults reorder=0.1,delay=1(duration=100ms-2s),drop=0.05,error=0.2(status=500),duplicate=0.1,reset=0.1\n"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q, want %q", out.String(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d", code)
	}
}
