package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/metrics/promtest"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/load"
)

// runServing runs a serving command in process until the test ends and returns the URLs
// its output names, by pattern.
func runServing(t *testing.T, args []string, patterns ...*regexp.Regexp) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: &syncBuffer{}, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the command did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		var urls []string
		for _, re := range patterns {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				urls = append(urls, m[1])
			}
		}
		if len(urls) == len(patterns) {
			return urls
		}
		select {
		case code := <-done:
			t.Fatalf("%v exited %d: %s", args, code, out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: no address in %q", args, out.String())
		}
	}
}

var (
	metricsLineRE   = regexp.MustCompile(`metrics on (http://\S+/metrics)`)
	listeningLineRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)
)

// TestReceiverMetricsFlag: hookproof receiver --metrics serves /metrics on a listener of
// its own, the webhook listener keeps /metrics a webhook path, and the counts agree.
func TestReceiverMetricsFlag(t *testing.T) {
	urls := runServing(t, []string{"receiver", "--listen", "127.0.0.1:0", "--secret", receiverTestSecret,
		"--db", filepath.Join(t.TempDir(), "r.db"), "--metrics", "127.0.0.1:0"}, listeningLineRE, metricsLineRE)
	hook, murl := urls[0], urls[1]
	sc, err := signature.New("standard", receiverTestSecret)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if code, err := deliverSigned(t, sc, hook, "evt_m"+strconv.Itoa(i), []byte(`{"type":"t","data":{}}`)); err != nil || code != 200 {
			t.Fatalf("delivery %d: %d %v", i, code, err)
		}
	}
	resp, err := http.Get(hook + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /metrics on the webhook listener: %d, want 405 (it is no metrics endpoint)", resp.StatusCode)
	}
	fams, err := promtest.Scrape(context.Background(), murl)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range fams.Check(receiver.Metrics()) {
		t.Error(p)
	}
	if got := fams.Value("hookproof_receiver_deliveries_total", "status", "200", "outcome", "accepted"); got != 5 {
		t.Errorf("accepted deliveries %v, want 5", got)
	}
}

// TestChaosMetricsFlag: hookproof chaos --metrics counts what went through it.
func TestChaosMetricsFlag(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	urls := runServing(t, []string{"chaos", "--upstream", up.URL, "--listen", "127.0.0.1:0", "--duplicate", "1",
		"--seed", "1", "--metrics", "127.0.0.1:0"}, listeningLineRE, metricsLineRE)
	for range 7 {
		resp, err := http.Post(urls[0]+"/hook", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	time.Sleep(100 * time.Millisecond) // the copies go out after the answers
	fams, err := promtest.Scrape(context.Background(), urls[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range fams.Check(chaos.Metrics()) {
		t.Error(p)
	}
	if got := fams.Value("hookproof_chaos_requests_total"); got != 7 {
		t.Errorf("requests %v, want 7", got)
	}
	if got := fams.Value("hookproof_chaos_faults_total", "type", "duplicate"); got != 7 {
		t.Errorf("duplicate faults %v, want 7", got)
	}
}

// TestLoadMetricsFlag: hookproof load --metrics serves the run's metrics while it goes.
func TestLoadMetricsFlag(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	out := filepath.Join(t.TempDir(), "load.json")
	urls := runServing(t, []string{"load", "--url", target.URL, "--secret", receiverTestSecret, "--rate", "100/s",
		"--duration", "3s", "--drain", "2s", "--progress", "off", "--out", out, "--metrics", "127.0.0.1:0"}, metricsLineRE)
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams, err := promtest.Scrape(context.Background(), urls[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range fams.Check(load.Metrics()) {
			t.Fatal(p)
		}
		if fams.Value("hookproof_load_published_total") > 0 && fams.Value("hookproof_load_acked_total") > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no published and acked events scraped while the run went")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
