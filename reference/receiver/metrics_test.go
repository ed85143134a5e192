package receiver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
	"github.com/hookproof/hookproof/reference/metrics/promtest"
	"github.com/hookproof/hookproof/reference/signature"
)

// TestMetricsAgreeWithStore runs the receiver on SQLite with an effect sink, sends accepted,
// duplicate, stale and rejected deliveries, scrapes /metrics over HTTP and checks every
// counter against what the test counted and what the store and the sink hold.
func TestMetricsAgreeWithStore(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, WithMetrics(reg))
	msrv := httptest.NewServer(metrics.Handler(reg))
	defer msrv.Close()

	post := func(hdr http.Header, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/hooks", bytes.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sign := func(id string, body []byte) http.Header {
		hdr, err := h.scheme.Sign(signature.Message{ID: id, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		return hdr
	}
	counted := map[string]int{} // "status outcome" → answers seen
	count := func(code int, body string) {
		switch {
		case code == 200 && strings.Contains(body, `"accepted"`):
			counted["200 accepted"]++
		case code == 200 && strings.Contains(body, `"duplicate"`):
			counted["200 duplicate"]++
		case code == 400 || code == 401 || code == 413:
			counted[http.StatusText(code)]++
		default:
			t.Fatalf("unexpected answer %d %s", code, body)
		}
	}
	var ids []string
	for i := range 30 {
		id := "msg_metrics_" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		seq := i
		if i == 29 {
			seq = 1 // older than what object o0 shows by then: processed as stale
		}
		body := envelope(id, "o"+string(rune('0'+i%2*0)), seq)
		code, b := post(sign(id, body), body)
		count(code, b)
		ids = append(ids, id)
		if i%10 == 0 { // a redelivery: acknowledged, not processed again
			code, b = post(sign(id, body), body)
			count(code, b)
		}
	}
	body := envelope("msg_bad", "o9", 1)
	hdr := sign("msg_bad", body)
	code, b := post(hdr, append(body, ' ')) // signature over other bytes
	count(code, b)
	code, b = post(http.Header{}, body) // unsigned
	count(code, b)
	code, b = post(sign("has space", body), body) // an id refused
	count(code, b)
	big := bytes.Repeat([]byte("x"), MaxBody+1)
	code, b = post(sign("msg_big", big), big)
	count(code, b)

	for _, id := range ids {
		h.waitDistinct(id, 1)
	}
	deadline := time.Now().Add(20 * time.Second)
	for st := h.stats(); st.Pending > 0 || st.Outbox > 0; st = h.stats() {
		if time.Now().After(deadline) {
			t.Fatalf("not drained: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}

	fams, err := promtest.Scrape(context.Background(), msrv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range fams.Check(Metrics()) {
		t.Error(p)
	}
	for _, d := range Metrics() {
		if fams[d.Name] == nil {
			t.Errorf("%s: not scraped", d.Name)
		}
	}
	const name = "hookproof_receiver_deliveries_total"
	for _, c := range []struct {
		status, outcome string
		want            int
	}{
		{"200", "accepted", counted["200 accepted"]},
		{"200", "duplicate", counted["200 duplicate"]},
		{"400", "rejected", counted["Bad Request"]},
		{"401", "rejected", counted["Unauthorized"]},
		{"413", "rejected", counted["Request Entity Too Large"]},
		{"503", "unavailable", 0},
	} {
		if got := fams.Value(name, "status", c.status, "outcome", c.outcome); got != float64(c.want) {
			t.Errorf("%s{status=%q,outcome=%q} = %v, the test counted %d", name, c.status, c.outcome, got, c.want)
		}
	}
	if counted["200 accepted"] != 30 || counted["200 duplicate"] != 3 || counted["Unauthorized"] != 2 {
		t.Errorf("answers %v, want 30 accepted, 3 duplicates, 2 unauthorized", counted)
	}

	st := h.stats()
	effs, err := h.rcv.Effects(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	stale := 0
	for _, e := range effs {
		if !e.Applied {
			stale++
		}
	}
	if stale != 1 || int64(len(effs)) != st.Effects {
		t.Fatalf("effects table: %d rows, %d stale; stats %+v", len(effs), stale, st)
	}
	checks := []struct {
		what   string
		got    float64
		want   int64
		labels []string
	}{
		{"hookproof_receiver_effects_total", fams.Value("hookproof_receiver_effects_total"), int64(len(effs)), nil},
		{"hookproof_receiver_effects_total{applied=false}", fams.Value("hookproof_receiver_effects_total", "applied", "false"), int64(stale), nil},
		{"hookproof_receiver_effects_reported_total", fams.Value("hookproof_receiver_effects_reported_total"), int64(h.col.Total()), nil},
		{"hookproof_receiver_processing_lag_seconds count", fams.Value("hookproof_receiver_processing_lag_seconds"), int64(len(effs)), nil},
		{"hookproof_receiver_inbox_depth", fams.Value("hookproof_receiver_inbox_depth"), st.Pending, nil},
		{"hookproof_receiver_outbox_depth", fams.Value("hookproof_receiver_outbox_depth"), st.Outbox, nil},
		{"hookproof_receiver_store_rows{table=inbox}", fams.Value("hookproof_receiver_store_rows", "table", "inbox"), st.Inbox, nil},
		{"hookproof_receiver_store_rows{table=effects}", fams.Value("hookproof_receiver_store_rows", "table", "effects"), st.Effects, nil},
	}
	for _, c := range checks {
		if c.got != float64(c.want) {
			t.Errorf("%s = %v, want %d (store/sink)", c.what, c.got, c.want)
		}
	}
	if fams.Value("hookproof_receiver_inbox_commit_seconds") < 1 {
		t.Error("no inbox commit observed")
	}
}

// TestMetricsRegistryPerReceiver: two receivers register on their own registries; one
// registry cannot take a second receiver's metrics.
func TestMetricsRegistryPerReceiver(t *testing.T) {
	reg := prometheus.NewRegistry()
	newHarness(t, WithMetrics(reg))
	newHarness(t, WithMetrics(prometheus.NewRegistry()))
	newHarness(t) // no registry: nothing registered anywhere
	_, err := Open(context.Background(), testScheme(t), t.TempDir()+"/r.db", WithMetrics(reg))
	if err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("second receiver on one registry: %v, want a metrics error", err)
	}
}
