package inspect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/suites/inspect"
	"github.com/hookproof/hookproof/suites/receiver"
)

// builtin is an in-process receiver reporting its effects to a collector.
type builtin struct {
	url    string
	effect *sink.Collector
}

func startBuiltin(t *testing.T, name, scheme, secret string) builtin {
	t.Helper()
	ctx := context.Background()
	sk, err := sink.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sk.Close() })
	tg, err := receiver.StartBuiltin(ctx, name, scheme, secret, sk.URL(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tg.Close(context.Background()) })
	return builtin{url: tg.URL(), effect: sk.Collector}
}

func secretFor(scheme string) string {
	return signature.SecretFrom(scheme, []byte("hookproof-replay-test-secret-key!"))
}

// writeRecord writes a record file of n deliveries signed by scheme, as listen --record writes
// them (signature values redacted), and returns its path and the ids.
func writeRecord(t *testing.T, scheme string, n int) (string, []string) {
	t.Helper()
	s, err := signature.New(scheme, secretFor(scheme))
	if err != nil {
		t.Fatal(err)
	}
	tr := s.Traits()
	path := filepath.Join(t.TempDir(), "deliveries.jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := inspect.NewWriter(f)
	var ids []string
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for i := range n {
		id := fmt.Sprintf("evt_%s_%03d", scheme, i)
		ev := event.Envelope{ID: id, Type: "order.updated", Timestamp: at,
			Data: json.RawMessage(fmt.Sprintf(`{"object_id":"ord_%d","seq":1}`, i))}
		body := event.Shape(tr.BodyShape).Append(nil, &ev)
		h, err := s.Sign(signature.Message{ID: id, Timestamp: at, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		signature.SetProviderHeaders(scheme, h, signature.Delivery{ID: id, At: at, Attempt: 1})
		h.Set("Connection", "keep-alive")
		h.Set("Content-Length", fmt.Sprint(len(body)))
		red := append([]string{tr.SignatureHeader}, tr.LegacySignatureHeaders...)
		if err := w.Write(inspect.Entry{At: at, Method: "POST", Path: "/webhooks", Header: inspect.RedactHeaders(h, red), Body: body}); err != nil {
			t.Fatal(err)
		}
		if got := signature.DeliveryID(scheme, h, body); got != id {
			t.Fatalf("%s: delivery id %q, want %q", scheme, got, id)
		}
		ids = append(ids, id)
	}
	return path, ids
}

func plan(t *testing.T, path, scheme string, opt inspect.PlanOptions) (*inspect.ReplayPlan, signature.Scheme) {
	t.Helper()
	s, err := signature.New(scheme, secretFor(scheme))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := inspect.PlanReplay(f, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func quick(s signature.Scheme, attempts int) *inspect.Deliverer {
	d := inspect.NewDeliverer(s, sender.Backoff(attempts, 5*time.Millisecond, 40*time.Millisecond), 7)
	d.Timeout = 5 * time.Second
	return d
}

// waitEffects waits until every id has an effect and reports have stopped coming.
func waitEffects(t *testing.T, c *sink.Collector, ids []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range ids {
		if err := c.WaitDistinct(ctx, id, 1); err != nil {
			t.Fatalf("no effect for %s: %v", id, err)
		}
	}
	if err := c.WaitQuiet(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// exactlyOnce fails unless each id has exactly one distinct effect and no other id has any.
func exactlyOnce(t *testing.T, c *sink.Collector, ids []string) {
	t.Helper()
	counts := c.Counts()
	for _, id := range ids {
		if n := c.Distinct(id); n != 1 {
			t.Errorf("%s: %d distinct effects, want exactly 1", id, n)
		}
	}
	if len(counts) != len(ids) {
		t.Errorf("effects for %d ids, want %d: %v", len(counts), len(ids), counts)
	}
}

// A record file of every scheme replays into the reference receiver: each delivery is
// acknowledged on its first attempt (re-signed: the record's signatures are REDACTED) and the
// receiver applies exactly one effect per id.
func TestReplayIntoReferenceReceiver(t *testing.T) {
	for _, scheme := range signature.Names() {
		t.Run(scheme, func(t *testing.T) {
			path, ids := writeRecord(t, scheme, 5)
			rcv := startBuiltin(t, receiver.BuiltinReference, scheme, secretFor(scheme))
			p, s := plan(t, path, scheme, inspect.PlanOptions{})
			if len(p.Deliveries) != len(ids) {
				t.Fatalf("%d deliveries planned, want %d", len(p.Deliveries), len(ids))
			}
			sum, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: rcv.url, Deliverer: quick(s, 3)})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.OK() || sum.Attempts != len(ids) || sum.Retries != 0 {
				t.Fatalf("summary %+v: want every delivery acknowledged on its first attempt", sum)
			}
			waitEffects(t, rcv.effect, ids)
			exactlyOnce(t, rcv.effect, ids)
		})
	}
}

// Through chaos that drops requests, loses acks and duplicates deliveries, the retries still
// get every delivery acknowledged, and the receiver still applies each id exactly once. The
// negative control: the same replay into a receiver that processes duplicates twice is caught.
func TestReplayThroughChaos(t *testing.T) {
	const spec = "drop=0.25,lost-ack=0.25,duplicate=0.5"
	path, ids := writeRecord(t, "standard", 12)
	rcv := startBuiltin(t, receiver.BuiltinReference, "standard", secretFor("standard"))
	p, s := plan(t, path, "standard", inspect.PlanOptions{})
	sum, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: rcv.url, Deliverer: quick(s, 12), Chaos: spec, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Fatalf("summary %+v: want every delivery acknowledged despite the chaos", sum)
	}
	if sum.Retries == 0 {
		t.Fatalf("summary %+v: the chaos made no attempt fail, so the test proves nothing about retries", sum)
	}
	waitEffects(t, rcv.effect, ids)
	exactlyOnce(t, rcv.effect, ids)

	t.Run("double-process is caught", func(t *testing.T) {
		bad := startBuiltin(t, receiver.BuiltinKnownBad+"double-process", "standard", secretFor("standard"))
		p, s := plan(t, path, "standard", inspect.PlanOptions{})
		if _, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: bad.url, Deliverer: quick(s, 12), Chaos: "duplicate=1", Seed: 42}); err != nil {
			t.Fatal(err)
		}
		waitEffects(t, bad.effect, ids)
		doubled := 0
		for _, id := range ids {
			if bad.effect.Distinct(id) > 1 {
				doubled++
			}
		}
		if doubled == 0 {
			t.Fatal("every id has one effect through duplicate=1 into a double-processing receiver: the check cannot fail")
		}
	})
}

// --new-ids sends every delivery under a fresh id: the receiver, which has applied the
// recorded ones already, applies each again as a new event. For stripe and slack (id in the
// body only) the body's id is rewritten, every other byte kept.
func TestReplayNewIDs(t *testing.T) {
	for _, scheme := range []string{"standard", "github", "stripe", "slack"} {
		t.Run(scheme, func(t *testing.T) {
			path, ids := writeRecord(t, scheme, 3)
			rcv := startBuiltin(t, receiver.BuiltinReference, scheme, secretFor(scheme))
			p, s := plan(t, path, scheme, inspect.PlanOptions{})
			if sum, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: rcv.url, Deliverer: quick(s, 3)}); err != nil || !sum.OK() {
				t.Fatalf("first replay: %+v, %v", sum, err)
			}
			waitEffects(t, rcv.effect, ids)
			fresh, _ := plan(t, path, scheme, inspect.PlanOptions{NewIDs: true})
			var newIDs []string
			for i, d := range fresh.Deliveries {
				if d.ID != ids[i] || d.SendID == d.ID || !strings.HasPrefix(d.SendID, "evt_") {
					t.Fatalf("delivery %d: id %q sent as %q; want %q sent under a fresh evt_ id", i, d.ID, d.SendID, ids[i])
				}
				if got := signature.DeliveryID(scheme, d.Header, d.Body); s.Traits().IDHeader == "" && got != d.SendID {
					t.Fatalf("the body's id is %q, want the fresh %q", got, d.SendID)
				}
				if s.Traits().IDHeader != "" && !bytes.Equal(d.Body, p.Deliveries[i].Body) {
					t.Fatalf("%s has an id header: the body must stay as recorded", scheme)
				}
				if s.Traits().IDHeader == "" && !bytes.Equal(bytes.Replace(d.Body, []byte(d.SendID), []byte(d.ID), 1), p.Deliveries[i].Body) {
					t.Fatalf("the body changed beyond its id:\n%s\n%s", d.Body, p.Deliveries[i].Body)
				}
				newIDs = append(newIDs, d.SendID)
			}
			if sum, err := inspect.Replay(context.Background(), fresh, inspect.ReplayConfig{URL: rcv.url, Deliverer: quick(s, 3)}); err != nil || !sum.OK() {
				t.Fatalf("replay with new ids: %+v, %v", sum, err)
			}
			waitEffects(t, rcv.effect, append(slicesClone(ids), newIDs...))
			exactlyOnce(t, rcv.effect, append(slicesClone(ids), newIDs...))
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// A stripe record whose body id cannot be rewritten safely (a number) is refused with
// --new-ids, naming the line; without --new-ids it has no id at all.
func TestReplayNewIDsUnsafeBody(t *testing.T) {
	in := `{"headers":{},"body":{"id":"evt_1","object":"event"}}` + "\n" + `{"headers":{},"body":{"id":12,"object":"event"}}` + "\n"
	s, _ := signature.New("stripe", secretFor("stripe"))
	_, err := inspect.PlanReplay(strings.NewReader(in), s, inspect.PlanOptions{NewIDs: true})
	if !errors.Is(err, inspect.ErrReplayInput) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "not a string") {
		t.Fatalf("error %v, want one naming line 2 and the id that is not a string", err)
	}
	_, err = inspect.PlanReplay(strings.NewReader(in), s, inspect.PlanOptions{})
	if !errors.Is(err, inspect.ErrReplayInput) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "no delivery id") {
		t.Fatalf("error %v, want one naming line 2: no delivery id", err)
	}
}

// What PlanReplay sends: --only keeps the named ids, an unknown one is an error naming it;
// repeats of an id are replayed once; a bad line is an error naming it; the headers are the
// recorded ones minus hop-by-hop, Content-Length, the signature's (REDACTED) and the scheme's.
func TestPlanReplay(t *testing.T) {
	path, ids := writeRecord(t, "github", 4)
	b, _ := os.ReadFile(path)
	first := bytes.SplitN(b, []byte("\n"), 2)[0]
	path2 := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(path2, append(append(b, first...), '\n'), 0o600) // a repeat of the first id
	p, _ := plan(t, path2, "github", inspect.PlanOptions{})
	if len(p.Deliveries) != 4 || p.Repeats != 1 || p.Records != 5 {
		t.Fatalf("planned %d, repeats %d, records %d; want 4, 1, 5", len(p.Deliveries), p.Repeats, p.Records)
	}
	h := p.Deliveries[0].Header
	for _, gone := range []string{"Connection", "Content-Length", "X-Hub-Signature-256", "X-Hub-Signature", "X-Github-Delivery"} {
		if h.Get(gone) != "" {
			t.Errorf("%s is replayed: %v", gone, h)
		}
	}
	if h.Get(signature.HeaderGitHubEvent) == "" || h.Get("User-Agent") == "" {
		t.Errorf("the recorded provider headers are not kept: %v", h)
	}

	p, _ = plan(t, path2, "github", inspect.PlanOptions{Only: []string{ids[1], ids[3]}})
	if len(p.Deliveries) != 2 || p.Deliveries[0].ID != ids[1] || p.Deliveries[1].ID != ids[3] || p.Filtered != 3 {
		t.Fatalf("--only kept %+v", p.Deliveries)
	}
	s, _ := signature.New("github", secretFor("github"))
	_, err := inspect.PlanReplay(bytes.NewReader(b), s, inspect.PlanOptions{Only: []string{ids[0], "evt_nope"}})
	if !errors.Is(err, inspect.ErrReplayInput) || !strings.Contains(err.Error(), "evt_nope") || strings.Contains(err.Error(), ids[0]) {
		t.Fatalf("unknown --only id: %v", err)
	}
	bad := append(append([]byte{}, first...), []byte("\n{\"headers\":{\"a\":1},\"body\":\"x\"}\n")...)
	_, err = inspect.PlanReplay(bytes.NewReader(bad), s, inspect.PlanOptions{})
	if !errors.Is(err, inspect.ErrRecord) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a bad line: %v, want an error naming line 2", err)
	}
}

// Against an endpoint that always answers 500, every attempt is made (the reference sender's
// policy: 5xx retries), then the delivery counts as not acknowledged; a 410 stops at once.
func TestReplayNotAcknowledged(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		hits[r.Header.Get("webhook-id")]++
		st := status
		mu.Unlock()
		w.WriteHeader(st)
	}))
	defer srv.Close()
	path, ids := writeRecord(t, "standard", 2)
	p, s := plan(t, path, "standard", inspect.PlanOptions{})
	sum, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: srv.URL, Deliverer: quick(s, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK() || sum.Delivered != 0 || len(sum.Failed) != 2 || sum.Attempts != 8 || sum.Retries != 6 || hits[ids[0]] != 4 {
		t.Fatalf("summary %+v, hits %v: want 2 failed after 4 attempts each", sum, hits)
	}
	mu.Lock()
	status = http.StatusGone
	clear(hits)
	mu.Unlock()
	sum, _ = inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: srv.URL, Deliverer: quick(s, 4)})
	if sum.OK() || sum.Attempts != 2 {
		t.Fatalf("410: summary %+v, want one attempt each", sum)
	}
}

// Nothing listening at the URL is ErrUnreachable before anything is sent.
func TestReplayUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	path, _ := writeRecord(t, "standard", 1)
	p, s := plan(t, path, "standard", inspect.PlanOptions{})
	if _, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: dead, Deliverer: quick(s, 2)}); !errors.Is(err, inspect.ErrUnreachable) {
		t.Fatalf("error %v, want ErrUnreachable", err)
	}
}

// With a rate, deliveries start one interval apart, each with its own retries.
func TestReplayRate(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	path, _ := writeRecord(t, "standard", 4)
	p, s := plan(t, path, "standard", inspect.PlanOptions{})
	sum, err := inspect.Replay(context.Background(), p, inspect.ReplayConfig{URL: srv.URL, Deliverer: quick(s, 2), Interval: 100 * time.Millisecond})
	if err != nil || !sum.OK() {
		t.Fatalf("%+v %v", sum, err)
	}
	if span := at[len(at)-1].Sub(at[0]); span < 250*time.Millisecond {
		t.Fatalf("4 deliveries at 10/s spanned %s, want about 300ms", span)
	}
}
