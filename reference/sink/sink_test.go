package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDistinctCounting(t *testing.T) {
	tests := []struct {
		name    string
		reports []Effect
		want    map[string]int
		total   int
	}{
		{"one effect", []Effect{{WebhookID: "a", EffectID: "e1", Applied: true}}, map[string]int{"a": 1}, 1},
		{"same effect_id re-reported counts once",
			[]Effect{{WebhookID: "a", EffectID: "e1"}, {WebhookID: "a", EffectID: "e1"}, {WebhookID: "a", EffectID: "e1"}},
			map[string]int{"a": 1}, 3},
		{"two effect_ids are two effects",
			[]Effect{{WebhookID: "a", EffectID: "e1"}, {WebhookID: "a", EffectID: "e2"}},
			map[string]int{"a": 2}, 2},
		{"no effect_id: each report counts",
			[]Effect{{WebhookID: "a"}, {WebhookID: "a"}},
			map[string]int{"a": 2}, 2},
		{"mixed with and without effect_id",
			[]Effect{{WebhookID: "a", EffectID: "e1"}, {WebhookID: "a"}, {WebhookID: "a", EffectID: "e1"}},
			map[string]int{"a": 2}, 3},
		{"effect_id is scoped to its webhook_id",
			[]Effect{{WebhookID: "a", EffectID: "e1"}, {WebhookID: "b", EffectID: "e1"}},
			map[string]int{"a": 1, "b": 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector()
			for _, e := range tt.reports {
				c.Add(e)
			}
			if got := c.Counts(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Counts() = %v, want %v", got, tt.want)
			}
			for id, n := range tt.want {
				if got := c.Distinct(id); got != n {
					t.Errorf("Distinct(%q) = %d, want %d", id, got, n)
				}
			}
			if got := c.Total(); got != tt.total {
				t.Errorf("Total() = %d, want %d", got, tt.total)
			}
			if got := c.Distinct("never"); got != 0 {
				t.Errorf("Distinct(unknown) = %d, want 0", got)
			}
		})
	}
}

func TestAppliedSeq(t *testing.T) {
	c := NewCollector()
	d := func(obj string, seq int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"object_id":%q,"seq":%d,"note":"x"}`, obj, seq))
	}
	c.Add(Effect{WebhookID: "1", EffectID: "e1", Data: d("o1", 1), Applied: true})
	c.Add(Effect{WebhookID: "3", EffectID: "e3", Data: d("o1", 3), Applied: true})
	c.Add(Effect{WebhookID: "3", EffectID: "e3", Data: d("o1", 3), Applied: true})  // re-report
	c.Add(Effect{WebhookID: "2", EffectID: "e2", Data: d("o1", 2), Applied: false}) // stale
	c.Add(Effect{WebhookID: "9", EffectID: "e9", Data: d("o2", 9), Applied: true})
	c.Add(Effect{WebhookID: "x", Data: json.RawMessage(`"not an object"`), Applied: true})
	if got, want := c.AppliedSeq("o1"), []int64{1, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("AppliedSeq(o1) = %v, want %v", got, want)
	}
	if got, want := c.AppliedSeq("o2"), []int64{9}; !reflect.DeepEqual(got, want) {
		t.Errorf("AppliedSeq(o2) = %v, want %v", got, want)
	}
	if got := c.AppliedSeq("none"); len(got) != 0 {
		t.Errorf("AppliedSeq(none) = %v, want empty", got)
	}
	if got := len(c.Reports("3")); got != 2 {
		t.Errorf("len(Reports(3)) = %d, want 2", got)
	}
}

func TestCollectorHTTP(t *testing.T) {
	tests := []struct {
		name, method, body string
		wantStatus         int
		wantInBody         string
		wantTotal          int
	}{
		{"valid report", "POST", `{"webhook_id":"a","effect_id":"e","type":"t","data":{"k":1},"applied":true}`, 204, "", 1},
		{"unknown fields are ignored", "POST", `{"webhook_id":"a","applied":false,"extra":1}`, 204, "", 1},
		{"not JSON", "POST", `{"webhook_id":`, 400, "bad effect report", 0},
		{"empty body", "POST", ``, 400, "bad effect report", 0},
		{"array instead of object", "POST", `[{"webhook_id":"a","applied":true}]`, 400, "bad effect report", 0},
		{"missing webhook_id", "POST", `{"applied":true}`, 400, "webhook_id", 0},
		{"empty webhook_id", "POST", `{"webhook_id":"","applied":true}`, 400, "webhook_id", 0},
		{"missing applied", "POST", `{"webhook_id":"a"}`, 400, "applied", 0},
		{"applied not a bool", "POST", `{"webhook_id":"a","applied":"yes"}`, 400, "bad effect report", 0},
		{"trailing data", "POST", `{"webhook_id":"a","applied":true} {}`, 400, "after", 0},
		{"too large", "POST", `{"webhook_id":"a","applied":true,"data":"` + strings.Repeat("x", MaxEffectBytes) + `"}`, 413, "over", 0},
		{"PUT not allowed", "PUT", `{}`, 405, "method not allowed", 0},
		{"DELETE not allowed", "DELETE", ``, 405, "method not allowed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector()
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, httptest.NewRequest(tt.method, "/effects", strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), tt.wantInBody) {
				t.Errorf("body %q does not contain %q", rec.Body.String(), tt.wantInBody)
			}
			if tt.wantStatus == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if got := c.Total(); got != tt.wantTotal {
				t.Errorf("Total() = %d, want %d", got, tt.wantTotal)
			}
		})
	}
}

func TestClientAndServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.URL(), "/effects") {
		t.Fatalf("URL() = %q, want http://127.0.0.1:port/effects", srv.URL())
	}
	base := strings.TrimSuffix(srv.URL(), "/effects")
	for _, u := range []string{base, base + "/", srv.URL()} {
		cl, err := NewClient(u)
		if err != nil {
			t.Fatal(err)
		}
		if cl.URL() != srv.URL() {
			t.Errorf("NewClient(%q).URL() = %q, want %q", u, cl.URL(), srv.URL())
		}
		if err := cl.Report(ctx, Effect{WebhookID: "w", EffectID: "e1", Type: "t", Applied: true}); err != nil {
			t.Fatalf("Report via %q: %v", u, err)
		}
	}
	if got := srv.Collector.Distinct("w"); got != 1 {
		t.Errorf("Distinct = %d, want 1 (three reports of one effect_id)", got)
	}
	if got := srv.Collector.Total(); got != 3 {
		t.Errorf("Total = %d, want 3", got)
	}
	// data defaults to null on the wire, never an invalid empty RawMessage.
	if r := srv.Collector.Reports("w"); string(r[0].Data) != "null" {
		t.Errorf("data = %s, want null", r[0].Data)
	}

	// GET lists the reports.
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	var all []Effect
	err = json.NewDecoder(resp.Body).Decode(&all)
	resp.Body.Close()
	if err != nil || len(all) != 3 || all[0].EffectID != "e1" {
		t.Errorf("GET = %v, %v; want 3 reports of e1", all, err)
	}

	// A rejection is an error wrapping ErrRejected.
	cl, _ := NewClient(srv.URL())
	if err := cl.Report(ctx, Effect{}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "400") {
		t.Errorf("Report(empty) = %v, want a 400 ErrRejected", err)
	}

	// Cancelling Listen's context closes the server.
	ctx2, cancel2 := context.WithCancel(context.Background())
	srv2, err := Listen(ctx2, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	cl2, _ := NewClient(srv2.URL())
	deadline := time.Now().Add(5 * time.Second)
	for cl2.Report(ctx, Effect{WebhookID: "x", Applied: true}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("server still answers 5 s after its context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewClientBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:80", "ftp://h/effects", "http://", "http://h\x7f"} {
		if _, err := NewClient(u); err == nil {
			t.Errorf("NewClient(%q) = nil error, want one", u)
		}
	}
	cl, err := NewClient("http://h:1/custom/path")
	if err != nil || cl.URL() != "http://h:1/custom/path" {
		t.Errorf("a custom path must be kept: %v %v", cl, err)
	}
}

func TestConcurrentReportsAndWaits(t *testing.T) {
	c := NewCollector()
	srv := httptest.NewServer(c)
	defer srv.Close()
	cl, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	const ids, perID = 20, 5 // each id reported perID times with the same effect_id
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.WaitDistinct(ctx, "id-7", 1) }()

	var wg sync.WaitGroup
	for i := range ids {
		for range perID {
			wg.Go(func() {
				e := Effect{WebhookID: fmt.Sprint("id-", i), EffectID: fmt.Sprint("eff-", i), Applied: true,
					Data: json.RawMessage(fmt.Sprintf(`{"object_id":"o","seq":%d}`, i))}
				if err := cl.Report(ctx, e); err != nil {
					t.Error(err)
				}
				_ = c.Counts()
				_ = c.AppliedSeq("o")
			})
		}
	}
	wg.Wait()
	if err := <-waitErr; err != nil {
		t.Fatalf("WaitDistinct: %v", err)
	}
	if got := c.Total(); got != ids*perID {
		t.Errorf("Total = %d, want %d", got, ids*perID)
	}
	for id, n := range c.Counts() {
		if n != 1 {
			t.Errorf("Distinct(%s) = %d, want 1", id, n)
		}
	}
	if got := len(c.AppliedSeq("o")); got != ids {
		t.Errorf("len(AppliedSeq) = %d, want %d (re-reports counted once)", got, ids)
	}
	if err := c.WaitQuiet(ctx, 50*time.Millisecond); err != nil {
		t.Errorf("WaitQuiet: %v", err)
	}
}

func TestWaitsHonourContext(t *testing.T) {
	c := NewCollector()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitDistinct(ctx, "never", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitDistinct = %v, want DeadlineExceeded", err)
	}
	// A steady stream of reports keeps the collector from being quiet.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				c.Add(Effect{WebhookID: "busy", Applied: true})
			}
		}
	}()
	err := c.WaitQuiet(ctx2, time.Second)
	close(stop)
	<-done
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitQuiet under a stream = %v, want DeadlineExceeded", err)
	}
}

func TestReset(t *testing.T) {
	c := NewCollector()
	c.Add(Effect{WebhookID: "a", EffectID: "e", Applied: true, Data: json.RawMessage(`{"object_id":"o","seq":1}`)})
	c.Reset()
	if c.Total() != 0 || c.Distinct("a") != 0 || len(c.AppliedSeq("o")) != 0 || len(c.Counts()) != 0 {
		t.Error("Reset left state behind")
	}
	c.Add(Effect{WebhookID: "a", EffectID: "e", Applied: true})
	if c.Distinct("a") != 1 {
		t.Error("an effect_id seen before Reset must count again after it")
	}
}

func FuzzDecodeEffect(f *testing.F) {
	for _, s := range []string{
		`{"webhook_id":"a","effect_id":"e","type":"t","data":{"object_id":"o","seq":1},"applied":true}`,
		`{"webhook_id":"a","applied":false}`,
		`{"webhook_id":"a","applied":true,"data":null}`,
		`{"webhook_id":"a","applied":true,"data":{"seq":1e99}}`,
		`[]`, `{`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEffect(b)
		if err != nil {
			if !errors.Is(err, ErrBadEffect) {
				t.Fatalf("error %v does not wrap ErrBadEffect", err)
			}
			return
		}
		if e.WebhookID == "" || !json.Valid(e.Data) {
			t.Fatalf("accepted an effect that breaks the contract: %+v", e)
		}
		// What was accepted survives a round trip through the wire format.
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", e, err)
		}
		back, err := DecodeEffect(out)
		if err != nil || back.WebhookID != e.WebhookID || back.EffectID != e.EffectID || back.Applied != e.Applied {
			t.Fatalf("round trip: %+v → %s → %+v, %v", e, out, back, err)
		}
		c := NewCollector()
		c.Add(e)
		_ = c.AppliedSeq("o")
	})
}
