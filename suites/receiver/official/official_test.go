// Package official_test holds differential receivers: one per signature scheme, each written the
// way the provider's own Go library documents it, run through the hookproof binary. A judge
// that fails correct code is worse than none, so each correct receiver must come out conformant,
// and each flawed twin (no dedupe) must fail RCV-IDEM-* for the right reason. Where hookproof
// does not send what the provider sends, these tests fail: FINDINGS.md says why, case by case.
//
// The libraries are test-only dependencies: nothing outside _test.go files imports them.
package official_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// hookproofBin is the binary TestMain builds once for every test of the package.
var hookproofBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hookproof-official-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "official: temp dir:", err)
		return 3
	}
	defer os.RemoveAll(dir)
	hookproofBin = filepath.Join(dir, "hookproof")
	build := exec.Command("go", "build", "-o", hookproofBin, "./cmd/hookproof")
	build.Dir = moduleRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "official: go build ./cmd/hookproof:", err)
		return 3
	}
	return m.Run()
}

// moduleRoot is the directory holding go.mod, above this package's directory.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// --- the business part every receiver shares ----------------------------------

// app is what a receiver does once its library has verified and parsed a delivery: it dedupes
// by the provider's delivery id, applies events of one object in seq order (a stale one is
// processed with applied:false), and reports each effect to hookproof's sink before the ack.
// One mutex around the whole step is the in-memory stand-in for a database transaction.
type app struct {
	sinkURL string
	dedupe  bool // false: the flawed twin, which processes every copy

	mu      sync.Mutex
	done    map[string]bool  // delivery ids processed
	lastSeq map[string]int64 // newest applied seq per object
	n       atomic.Int64     // effect ids: one per processing
	hc      *http.Client
}

func newApp(sinkURL string, dedupe bool) *app {
	return &app{sinkURL: sinkURL, dedupe: dedupe, done: map[string]bool{}, lastSeq: map[string]int64{},
		hc: &http.Client{Timeout: 5 * time.Second}}
}

// order is what the app orders by: the object and its seq. ok is false when the event has none.
type order struct {
	ObjectID string      `json:"object_id"`
	Seq      json.Number `json:"seq"`
	ok       bool
}

// readOrder reads object_id and seq from a JSON object (the part of the payload that the
// provider's format gives the application's data).
func readOrder(raw []byte) order {
	var o order
	if len(raw) == 0 || json.Unmarshal(raw, &o) != nil || o.ObjectID == "" || o.Seq == "" {
		return order{}
	}
	if _, err := o.Seq.Int64(); err != nil {
		return order{}
	}
	o.ok = true
	return o
}

// process handles one verified, parsed event. A nil error means it is processed (now or
// before) and its effect reported: the handler may ack. An error means nothing was recorded,
// so the sender's retry will process it.
func (a *app) process(id, typ string, o order) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dedupe && a.done[id] {
		return nil
	}
	applied := true
	var seq int64
	if o.ok {
		seq, _ = o.Seq.Int64()
		if last, seen := a.lastSeq[o.ObjectID]; seen && seq <= last {
			applied = false // stale: processed, never applied over the newer state
		}
	}
	data := json.RawMessage("null")
	if o.ok {
		data, _ = json.Marshal(map[string]any{"object_id": o.ObjectID, "seq": seq})
	}
	effect, _ := json.Marshal(map[string]any{
		"webhook_id": id,
		"effect_id":  fmt.Sprintf("eff-%d", a.n.Add(1)),
		"type":       typ,
		"data":       data,
		"applied":    applied,
	})
	resp, err := a.hc.Post(a.sinkURL, "application/json", bytes.NewReader(effect))
	if err != nil {
		return fmt.Errorf("reporting the effect: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("reporting the effect: sink answered %d", resp.StatusCode)
	}
	a.done[id] = true
	if o.ok && applied {
		a.lastSeq[o.ObjectID] = seq
	}
	return nil
}

// --- running hookproof against a receiver ----------------------------------------

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newSecret is a Standard Webhooks / Svix secret: whsec_ and base64 of 32 random bytes.
func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// receiverFunc builds a receiver's handler given the secret and the app it feeds.
type receiverFunc func(secret string, a *app) http.Handler

// conform serves rcv (correct or flawed) and runs hookproof conform receiver against it.
func conform(t *testing.T, scheme, secret string, dedupe bool, rcv receiverFunc, extra ...string) *reports.Results {
	t.Helper()
	sink := freeAddr(t)
	srv := httptest.NewServer(rcv(secret, newApp("http://"+sink+"/effects", dedupe)))
	t.Cleanup(srv.Close)
	out := filepath.Join(t.TempDir(), "r.json")
	args := append([]string{"conform", "receiver", "--url", srv.URL + "/hook", "--secret", secret,
		"--scheme", scheme, "--sink", sink, "--seed", "7", "--out", out}, extra...)
	cmd := exec.Command(hookproofBin, args...)
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	err := cmd.Run()
	t.Logf("hookproof conform receiver --scheme %s (dedupe %v): %v\n%s", scheme, dedupe, err, console.String())
	res, rerr := reports.ReadFile(out)
	if rerr != nil {
		t.Fatalf("no results file (hookproof: %v): %v", err, rerr)
	}
	return res
}

// failures lists the failed cases of level l, one line each with what was expected and seen.
func failures(r *reports.Results, l reports.Level) []string {
	var out []string
	for _, c := range r.Cases {
		if c.Outcome == reports.Failed && c.Level == l {
			out = append(out, fmt.Sprintf("%s: expected %s; actual %s", c.ID, c.Expected, oneLine(c.Actual)))
		}
	}
	return out
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// wantConformant: the correct receiver has no MUST failure and a conformant verdict (SHOULD
// gaps allowed). Not-observable MUSTs (an incomplete verdict) also fail: each one hides a
// requirement nobody judged.
func wantConformant(t *testing.T, r *reports.Results) {
	t.Helper()
	for _, f := range failures(r, reports.SHOULD) {
		t.Logf("SHOULD gap: %s", f)
	}
	for _, c := range r.Cases {
		if c.Outcome == reports.NotObservable && c.Level == reports.MUST {
			t.Errorf("not observable MUST %s: %s", c.ID, c.Reason)
		}
	}
	if fs := failures(r, reports.MUST); len(fs) > 0 {
		t.Errorf("a receiver built as the library documents it fails %d MUST cases:\n  %s", len(fs), strings.Join(fs, "\n  "))
	}
	if v := r.Verdict(); v != reports.Conformant && v != reports.ConformantShouldGaps {
		t.Errorf("verdict %q, want %q or %q", v, reports.Conformant, reports.ConformantShouldGaps)
	}
}

// wantDuplicateEffects: the flawed twin fails at least one RCV-IDEM MUST case because a
// delivery id had more than one distinct effect (not merely because no effect arrived).
func wantDuplicateEffects(t *testing.T, r *reports.Results) {
	t.Helper()
	var idem []string
	for _, c := range r.Cases {
		if !strings.HasPrefix(c.ID, "RCV-IDEM-") {
			continue
		}
		idem = append(idem, fmt.Sprintf("%s %s: %s %s", c.ID, c.Outcome, c.Expected, oneLine(c.Actual+c.Reason)))
		if c.Outcome == reports.Failed && c.Level == reports.MUST && strings.HasPrefix(c.Expected, "exactly one distinct effect") {
			return
		}
	}
	t.Errorf("the receiver without dedupe fails no RCV-IDEM MUST case on duplicate effects:\n  %s", strings.Join(idem, "\n  "))
}

// verifyFailed answers a delivery the library refused.
func verifyFailed(w http.ResponseWriter, status int, err error) {
	http.Error(w, "webhook rejected: "+err.Error(), status)
}

// processed acks a delivery once app has processed it, or answers 500 so the sender retries.
func processed(w http.ResponseWriter, err error) {
	if err != nil {
		http.Error(w, "not processed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// hexMAC is HMAC-SHA256 of body keyed with secret, hex: GitHub's and Stripe's MAC.
func hexMAC(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
