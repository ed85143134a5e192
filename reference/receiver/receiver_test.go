package receiver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reference/store"
)

var testSecret = "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))

func testScheme(t testing.TB, opts ...signature.Option) signature.Scheme {
	t.Helper()
	s, err := signature.New("standard", testSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness is a receiver on a temporary SQLite file behind an httptest server, reporting to an
// in-process collector.
type harness struct {
	t       *testing.T
	db      string
	scheme  signature.Scheme
	sinkSrv *httptest.Server
	col     *sink.Collector
	rcv     *Receiver
	srv     *httptest.Server
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, db: filepath.Join(t.TempDir(), "receiver.db"), scheme: testScheme(t), col: sink.NewCollector()}
	h.sinkSrv = httptest.NewServer(h.col)
	t.Cleanup(h.sinkSrv.Close)
	h.start(opts...)
	t.Cleanup(func() { h.stop() })
	return h
}

// start opens a receiver on the harness's database (again, after stop: a restart).
func (h *harness) start(opts ...Option) {
	h.t.Helper()
	sc, err := sink.NewClient(h.sinkSrv.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	opts = append([]Option{WithSink(sc), WithRescan(200 * time.Millisecond)}, opts...)
	h.rcv, err = Open(context.Background(), h.scheme, h.db, opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.srv = httptest.NewServer(h.rcv)
}

// stop shuts the server down and drains the receiver.
func (h *harness) stop() {
	h.t.Helper()
	if h.rcv == nil {
		return
	}
	h.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.rcv.Close(ctx); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	h.rcv = nil
}

func envelope(id, objectID string, seq int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"order.updated","timestamp":"2026-01-02T03:04:05Z","data":{"object_id":%q,"seq":%d,"note":"x"}}`, id, objectID, seq)
}

// send POSTs a delivery signed by scheme (the harness's when nil) and returns the status.
func (h *harness) send(scheme signature.Scheme, id string, body []byte) int {
	h.t.Helper()
	if scheme == nil {
		scheme = h.scheme
	}
	hdr, err := scheme.Sign(signature.Message{ID: id, Body: body})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(http.MethodPost, "/", hdr, body)
}

func (h *harness) do(method, path string, hdr http.Header, body []byte) int {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (h *harness) waitDistinct(id string, n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.col.WaitDistinct(ctx, id, n); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stats() store.Stats {
	h.t.Helper()
	st, err := h.rcv.Stats(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func TestDeliveryIsProcessedOnce(t *testing.T) {
	h := newHarness(t)
	body := envelope("msg_1", "ord_1", 1)
	if got := h.send(nil, "msg_1", body); got != http.StatusOK {
		t.Fatalf("status = %d, want 200", got)
	}
	h.waitDistinct("msg_1", 1)
	h.stop()
	reps := h.col.Reports("msg_1")
	if len(reps) != 1 {
		t.Fatalf("reports = %d, want 1", len(reps))
	}
	e := reps[0]
	if e.Type != "order.updated" || !e.Applied || !strings.HasPrefix(e.EffectID, "eff_") ||
		string(e.Data) != `{"object_id":"ord_1","seq":1,"note":"x"}` {
		t.Errorf("effect = %+v, want the envelope's type and data, applied, an effect_id", e)
	}
}

func TestConcurrentDuplicatesGiveOneEffect(t *testing.T) {
	h := newHarness(t)
	const senders = 40
	body := envelope("msg_dup", "ord_dup", 1)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range senders {
		wg.Go(func() {
			if h.send(nil, "msg_dup", body) == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != senders {
		t.Fatalf("%d of %d concurrent duplicates got 200", ok.Load(), senders)
	}
	h.waitDistinct("msg_dup", 1)
	effects, err := h.rcv.Effects(context.Background(), "msg_dup")
	if err != nil {
		t.Fatal(err)
	}
	h.stop()
	if len(effects) != 1 {
		t.Errorf("local effects = %d, want 1", len(effects))
	}
	if got := h.col.Distinct("msg_dup"); got != 1 {
		t.Errorf("distinct effects at the sink = %d, want 1", got)
	}
}

func TestOutOfOrderDeliveriesAreAppliedInSeqOrder(t *testing.T) {
	h := newHarness(t)
	// Each delivery is acknowledged before the next is sent, and processed before the next
	// is sent too, so "arrival order" is exactly this order.
	order := []int{1, 3, 2, 5, 4, 6}
	wantApplied := map[int]bool{1: true, 3: true, 2: false, 5: true, 4: false, 6: true}
	for _, seq := range order {
		id := fmt.Sprint("msg_seq_", seq)
		if got := h.send(nil, id, envelope(id, "ord_7", seq)); got != http.StatusOK {
			t.Fatalf("seq %d: status %d", seq, got)
		}
		h.waitDistinct(id, 1)
	}
	// Another object is independent of the first.
	if got := h.send(nil, "msg_other", envelope("msg_other", "ord_8", 1)); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	h.waitDistinct("msg_other", 1)
	h.stop()
	if got, want := h.col.AppliedSeq("ord_7"), []int64{1, 3, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("applied seq of ord_7 = %v, want %v", got, want)
	}
	for seq, want := range wantApplied {
		reps := h.col.Reports(fmt.Sprint("msg_seq_", seq))
		if len(reps) != 1 || reps[0].Applied != want {
			t.Errorf("seq %d: reports %+v, want one with applied=%v", seq, reps, want)
		}
	}
	if got := h.col.AppliedSeq("ord_8"); !reflect.DeepEqual(got, []int64{1}) {
		t.Errorf("applied seq of ord_8 = %v, want [1]", got)
	}
}

func TestInOrderBurstIsAllApplied(t *testing.T) {
	// Deliveries acknowledged in order and processed asynchronously are applied in that order:
	// the dispatcher keeps one object's rows on one worker.
	h := newHarness(t)
	const n = 50
	for seq := 1; seq <= n; seq++ {
		id := fmt.Sprint("msg_burst_", seq)
		if got := h.send(nil, id, envelope(id, "ord_burst", seq)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	h.waitDistinct(fmt.Sprint("msg_burst_", n), 1)
	h.stop()
	got := h.col.AppliedSeq("ord_burst")
	if len(got) != n {
		t.Fatalf("applied %d of %d in-order events: %v", len(got), n, got)
	}
	for i, s := range got {
		if s != int64(i+1) {
			t.Fatalf("applied seq = %v, want 1..%d", got, n)
		}
	}
}

func TestNonEnvelopeBodyIsProcessed(t *testing.T) {
	tests := []struct{ name, body, wantData string }{
		{"JSON without data", `{"hello":"world"}`, `{"hello":"world"}`},
		{"not JSON", `a=1&b=2`, `null`},
		{"data without ordering", `{"type":"ping","data":{"n":1}}`, `{"n":1}`},
	}
	h := newHarness(t)
	for i, tt := range tests {
		id := fmt.Sprint("msg_plain_", i)
		if got := h.send(nil, id, []byte(tt.body)); got != http.StatusOK {
			t.Fatalf("%s: status %d", tt.name, got)
		}
		h.waitDistinct(id, 1)
		e := h.col.Reports(id)[0]
		if string(e.Data) != tt.wantData || !e.Applied {
			t.Errorf("%s: effect %+v, want data %s applied", tt.name, e, tt.wantData)
		}
	}
}

func TestRejections(t *testing.T) {
	body := envelope("msg_rej", "ord_rej", 1)
	sign := func(s signature.Scheme, id string, b []byte) http.Header {
		hdr, err := s.Sign(signature.Message{ID: id, Body: b})
		if err != nil {
			t.Fatal(err)
		}
		return hdr
	}
	good := testScheme(t)
	other, _ := signature.New("standard", "whsec_"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("o"), 32)))
	past := testScheme(t, signature.WithClock(func() time.Time { return time.Now().Add(-10 * time.Minute) }))
	future := testScheme(t, signature.WithClock(func() time.Time { return time.Now().Add(10 * time.Minute) }))
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h[k] = []string{v}
		}
		return h
	}
	big := bytes.Repeat([]byte("x"), MaxBody+1)
	tests := []struct {
		name   string
		method string
		hdr    http.Header
		body   []byte
		want   int
	}{
		{"wrong secret", "POST", sign(other, "msg_rej", body), body, 401},
		{"tampered body", "POST", sign(good, "msg_rej", body), append(bytes.Clone(body), ' '), 401},
		{"missing signature", "POST", with(sign(good, "msg_rej", body), "Webhook-Signature", ""), body, 401},
		{"garbage signature", "POST", with(sign(good, "msg_rej", body), "Webhook-Signature", "v1,AAAA"), body, 401},
		{"only unknown signature versions", "POST", with(sign(good, "msg_rej", body), "Webhook-Signature", "v2,AAAA v9,BBBB"), body, 401},
		{"signature header sent twice", "POST", func() http.Header {
			h := sign(good, "msg_rej", body)
			h.Add("Webhook-Signature", h.Get("Webhook-Signature"))
			return h
		}(), body, 400},
		{"16 KiB signature header", "POST", with(sign(good, "msg_rej", body), "Webhook-Signature", "v1,"+strings.Repeat("A", 16<<10)), body, 400},
		{"stale timestamp", "POST", sign(past, "msg_rej", body), body, 400},
		{"future timestamp", "POST", sign(future, "msg_rej", body), body, 400},
		{"timestamp not a number", "POST", with(sign(good, "msg_rej", body), "Webhook-Timestamp", "yesterday"), body, 400},
		{"missing timestamp", "POST", with(sign(good, "msg_rej", body), "Webhook-Timestamp", ""), body, 400},
		{"missing id", "POST", with(sign(good, "msg_rej", body), "Webhook-Id", ""), body, 400},
		{"non-ASCII id", "POST", with(sign(good, "msg_rej", body), "Webhook-Id", "msg_ré"), body, 400},
		{"id with a space", "POST", sign(good, "msg rej", body), body, 400},
		{"id too long", "POST", sign(good, strings.Repeat("a", MaxIDLen+1), body), body, 400},
		{"body over 1 MiB", "POST", sign(good, "msg_big", big), big, 413},
		{"GET a delivery path", "GET", nil, nil, 405},
		{"PUT", "PUT", sign(good, "msg_rej", body), body, 405},
		{"DELETE", "DELETE", nil, nil, 405},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.do(tt.method, "/webhook", tt.hdr, tt.body); got != tt.want {
				t.Errorf("status = %d, want %d", got, tt.want)
			}
		})
	}
	// Raw bytes that net/http's client refuses to send: a non-ASCII signature header.
	t.Run("non-ASCII signature header", func(t *testing.T) {
		hdr := sign(good, "msg_rej", body)
		raw := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nWebhook-Id: msg_rej\r\nWebhook-Timestamp: %s\r\nWebhook-Signature: v1,\xff\xfe\r\nContent-Length: %d\r\n\r\n%s",
			hdr.Get("Webhook-Timestamp"), len(body), body)
		rec := httptest.NewRecorder()
		req, err := http.ReadRequest(bufioReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		h.rcv.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code > 499 {
			t.Errorf("status = %d, want 4xx", rec.Code)
		}
	})
	h.stop()
	h.start()
	if st := h.stats(); st.Inbox != 0 || st.Effects != 0 {
		t.Errorf("after rejections: %+v, want nothing stored", st)
	}
	if n := h.col.Total(); n != 0 {
		t.Errorf("sink got %d reports, want 0", n)
	}
}

func TestSchemesWithBodyID(t *testing.T) {
	st, err := signature.New("stripe", "sk_test_secret")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: filepath.Join(t.TempDir(), "r.db"), scheme: st, col: sink.NewCollector()}
	h.sinkSrv = httptest.NewServer(h.col)
	defer h.sinkSrv.Close()
	h.start()
	defer h.stop()
	if got := h.send(nil, "", envelope("evt_1", "ord_s", 1)); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	h.waitDistinct("evt_1", 1)
	if got := h.send(nil, "", []byte(`{"type":"no id"}`)); got != http.StatusBadRequest {
		t.Errorf("no body id: status %d, want 400", got)
	}
}

func TestRestartResumesAcknowledgedRows(t *testing.T) {
	// Workers 0 leaves the state of a crash right after the inbox commit: acknowledged,
	// nothing processed. The restart must process each row exactly once.
	h := newHarness(t, WithWorkers(0))
	const n = 30
	for i := range n {
		id := fmt.Sprint("msg_resume_", i)
		if got := h.send(nil, id, envelope(id, fmt.Sprint("ord_r", i%3), i)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	if st := h.stats(); st.Inbox != n || st.Pending != n || st.Effects != 0 {
		t.Fatalf("before restart: %+v, want %d pending, no effects", st, n)
	}
	h.stop()
	if h.col.Total() != 0 {
		t.Fatal("effects reported while processing was paused")
	}
	h.start()
	for i := range n {
		h.waitDistinct(fmt.Sprint("msg_resume_", i), 1)
	}
	// A sender retrying after the crash gets 200 and no second effect.
	if got := h.send(nil, "msg_resume_0", envelope("msg_resume_0", "ord_r0", 0)); got != http.StatusOK {
		t.Errorf("retry after restart: status %d", got)
	}
	h.stop()
	for id, c := range h.col.Counts() {
		if c != 1 {
			t.Errorf("%s: %d distinct effects, want 1", id, c)
		}
	}
	if got := len(h.col.Counts()); got != n {
		t.Errorf("%d ids reported, want %d", got, n)
	}
}

func TestOutboxSurvivesSinkOutage(t *testing.T) {
	// The sink fails its first answers, and once answers 2xx for a report it then "loses"
	// (the receiver sees an error after the collector counted it): effects still arrive, in
	// order, each counted once.
	col := sink.NewCollector()
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := calls.Add(1); {
		case n <= 3:
			http.Error(w, "down", http.StatusServiceUnavailable)
		case n == 5:
			col.ServeHTTP(httptest.NewRecorder(), r) // counted, but the receiver hears 500
			http.Error(w, "lost answer", http.StatusInternalServerError)
		default:
			col.ServeHTTP(w, r)
		}
	}))
	defer flaky.Close()
	h := &harness{t: t, db: filepath.Join(t.TempDir(), "r.db"), scheme: testScheme(t), col: col, sinkSrv: flaky}
	h.start()
	defer h.stop()
	const n = 10
	for seq := 1; seq <= n; seq++ {
		id := fmt.Sprint("msg_out_", seq)
		if got := h.send(nil, id, envelope(id, "ord_out", seq)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	for seq := 1; seq <= n; seq++ {
		h.waitDistinct(fmt.Sprint("msg_out_", seq), 1)
	}
	h.stop()
	if col.Total() <= n {
		t.Errorf("total reports %d: the lost answer should have caused a re-report", col.Total())
	}
	for id, c := range col.Counts() {
		if c != 1 {
			t.Errorf("%s: %d distinct effects, want 1", id, c)
		}
	}
	got := col.AppliedSeq("ord_out")
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("applied seq not increasing at the sink: %v", got)
		}
	}
}

func TestCloseDrainsAndRefusesNewDeliveries(t *testing.T) {
	h := newHarness(t)
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprint("msg_drain_", i)
			if got := h.send(nil, id, envelope(id, fmt.Sprint("ord_d", i%7), i)); got != http.StatusOK {
				t.Errorf("status %d", got)
			}
		})
	}
	wg.Wait()
	rcv := h.rcv
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rcv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Drained: every acknowledged delivery reached the sink before Close returned.
	if got := len(h.col.Counts()); got != n {
		t.Errorf("after Close: %d effects at the sink, want %d", got, n)
	}
	rec := httptest.NewRecorder()
	hdr, _ := h.scheme.Sign(signature.Message{ID: "late", Body: []byte("{}")})
	req := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	req.Header = hdr
	rcv.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("delivery after Close: %d, want 503", rec.Code)
	}
	h.srv.Close()
	h.rcv = nil
}

func TestCloseTimeoutKeepsWorkForNextRun(t *testing.T) {
	// A sink that never answers in time: Close gives up at its deadline, and the next run
	// reports what was left.
	block := make(chan struct{})
	var down atomic.Bool
	down.Store(true)
	col := sink.NewCollector()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			select {
			case <-block:
			case <-r.Context().Done():
			}
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		col.ServeHTTP(w, r)
	}))
	defer slow.Close()
	defer close(block)
	h := &harness{t: t, db: filepath.Join(t.TempDir(), "r.db"), scheme: testScheme(t), col: col, sinkSrv: slow}
	h.start()
	if got := h.send(nil, "msg_slow", envelope("msg_slow", "o", 1)); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	h.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := h.rcv.Close(ctx); err == nil {
		t.Fatal("Close with an unreachable sink and a short deadline returned nil")
	}
	down.Store(false)
	h.start()
	h.waitDistinct("msg_slow", 1)
	h.stop()
	if got := h.col.Distinct("msg_slow"); got != 1 {
		t.Errorf("distinct = %d, want 1", got)
	}
}

func TestHealthAndHandshake(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Get(h.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Status string `json:"status"`
		Scheme string `json:"scheme"`
		Inbox  *int64 `json:"inbox"`
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health.Status != "ok" || health.Scheme != "standard" || health.Inbox == nil {
		t.Errorf("healthz = %d %+v", resp.StatusCode, health)
	}

	tests := []struct {
		name       string
		hdr        map[string]string
		want       int
		wantOrigin string
		wantRate   string
	}{
		{"handshake", map[string]string{"WebHook-Request-Origin": "sender.example.com"}, 200, "sender.example.com", ""},
		{"handshake with rate", map[string]string{"WebHook-Request-Origin": "s.example", "WebHook-Request-Rate": "120"}, 200, "s.example", "120"},
		{"bad rate", map[string]string{"WebHook-Request-Origin": "s.example", "WebHook-Request-Rate": "fast"}, 400, "", ""},
		{"plain OPTIONS", nil, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodOptions, h.srv.URL+"/", nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want || resp.Header.Get("WebHook-Allowed-Origin") != tt.wantOrigin ||
				resp.Header.Get("WebHook-Allowed-Rate") != tt.wantRate {
				t.Errorf("got %d origin %q rate %q, want %d %q %q", resp.StatusCode,
					resp.Header.Get("WebHook-Allowed-Origin"), resp.Header.Get("WebHook-Allowed-Rate"), tt.want, tt.wantOrigin, tt.wantRate)
			}
			if tt.want == 200 && !strings.Contains(resp.Header.Get("Allow"), "POST") {
				t.Errorf("Allow = %q, want POST in it", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, o := range []Option{WithWorkers(-1), WithMaxBatch(0), WithRescan(0)} {
		if _, err := New(testScheme(t), st, o); err == nil {
			t.Error("New accepted an invalid option")
		}
	}
	if _, err := New(nil, st); err == nil {
		t.Error("New accepted a nil scheme")
	}
	if _, err := Open(context.Background(), testScheme(t), ":memory:"); err == nil {
		t.Error("Open accepted an in-memory database: the inbox must outlive the process")
	}
}

// gatedStore holds every processing transaction until open is closed.
type gatedStore struct {
	store.Store
	open chan struct{}
}

func (g *gatedStore) Process(ctx context.Context, fn func(store.Tx) error) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Store.Process(ctx, fn)
}

func TestInOrderStreamSurvivesHandOffOverflow(t *testing.T) {
	// Processing stalls while a long in-order stream is acknowledged, one commit per delivery,
	// so the committer's in-memory hand-off overflows and the dispatcher must fall back to the
	// inbox. Every event must still be applied, in order: none may be overtaken and go stale.
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedStore{Store: st, open: make(chan struct{})}
	col := sink.NewCollector()
	sinkSrv := httptest.NewServer(col)
	defer sinkSrv.Close()
	sc, _ := sink.NewClient(sinkSrv.URL)
	r, err := New(testScheme(t), g, WithWorkers(2), WithSink(sc))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, scheme: testScheme(t), col: col, sinkSrv: sinkSrv, rcv: r, srv: httptest.NewServer(r)}
	defer h.stop()
	n := freshBatches + 2*workBatch + 100
	for seq := 1; seq <= n; seq++ {
		id := fmt.Sprint("msg_of_", seq)
		if got := h.send(nil, id, envelope(id, "ord_of", seq)); got != http.StatusOK {
			t.Fatalf("seq %d: status %d", seq, got)
		}
	}
	if !r.handoffLost.Load() {
		t.Fatal("the hand-off never overflowed: the test does not test the fallback")
	}
	close(g.open)
	h.waitDistinct(fmt.Sprint("msg_of_", n), 1)
	h.stop()
	got := col.AppliedSeq("ord_of")
	if len(got) != n {
		t.Fatalf("applied %d of %d in-order events", len(got), n)
	}
	for i, s := range got {
		if s != int64(i+1) {
			t.Fatalf("applied out of order at %d: %v", i, got[max(0, i-3):min(len(got), i+3)])
		}
	}
}

func TestAckBody(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ id, status string }{
		{`msg_"quoted"\back`, "accepted"},
		{`msg_"quoted"\back`, "duplicate"},
	} {
		body := envelope(tt.id, "o_ack", 1)
		hdr, err := h.scheme.Sign(signature.Message{ID: tt.id, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL, bytes.NewReader(body))
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ ID, Status string }
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || got.ID != tt.id || got.Status != tt.status ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("ack = %d %+v %v, want 200 {%q %q}", resp.StatusCode, got, err, tt.id, tt.status)
		}
	}
}

func TestCloseReturnsWhenTheSinkIsGone(t *testing.T) {
	// Effects wait in the outbox for a sink that will never take them: Close must give up at
	// its deadline instead of retrying for ever, say what is left, and lose none of it.
	sinks := map[string]func(t *testing.T) string{
		"closed": func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close() // nothing listens at its address any more
			return srv.URL
		},
		"503": func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		},
		"hangs": func(t *testing.T) string {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) })
			return srv.URL
		},
	}
	for name, sinkURL := range sinks {
		t.Run(name, func(t *testing.T) {
			sc, err := sink.NewClient(sinkURL(t))
			if err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(t.TempDir(), "r.db")
			rcv, err := Open(context.Background(), testScheme(t), db, WithSink(sc))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(rcv)
			h := &harness{t: t, db: db, scheme: testScheme(t), srv: srv}
			const n = 5
			for i := range n {
				id := fmt.Sprint("msg_gone_", i)
				if got := h.send(nil, id, envelope(id, "ord_gone", i+1)); got != http.StatusOK {
					t.Fatalf("status %d", got)
				}
			}
			// Processed: the effects are committed and wait in the outbox.
			for deadline := time.Now().Add(10 * time.Second); ; {
				st, err := rcv.Stats(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if st.Pending == 0 && st.Outbox == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("effects not in the outbox: %+v", st)
				}
				time.Sleep(20 * time.Millisecond)
			}
			srv.Close()

			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err = rcv.Close(ctx)
			took := time.Since(start)
			if took > 4*time.Second {
				t.Errorf("Close took %s with a 1s deadline", took)
			}
			var de *DrainError
			switch {
			case err == nil:
				t.Fatal("Close returned nil with effects it could not report")
			case !errors.Is(err, context.DeadlineExceeded):
				t.Errorf("Close: %v, want a deadline error", err)
			case !errors.As(err, &de):
				t.Errorf("Close: %v (%T), want a *DrainError", err, err)
			case de.Stage != "outbox reports" || de.Pending != 0 || de.Outbox != n:
				t.Errorf("DrainError %+v, want outbox reports with 0 pending, %d in the outbox", *de, n)
			}
			t.Logf("Close returned after %s: %v", took.Round(time.Millisecond), err)

			// Nothing lost: the store still holds every effect, unreported.
			st, err := store.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stats, err := st.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if stats.Outbox != n || stats.Effects != n {
				t.Errorf("after Close: %+v, want %d effects, all still in the outbox", stats, n)
			}
		})
	}
}
