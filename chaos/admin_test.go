package chaos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func adminCall(t *testing.T, url, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminAPI(t *testing.T) {
	r := newRig(t, 5, spec("drop", 0))
	admin := httptest.NewServer(r.proxy.AdminHandler())
	defer admin.Close()

	steps := []struct {
		method, path, body string
		status             int
		contains           string
	}{
		{"GET", "/faults", "", 200, `"name": "drop"`},
		{"POST", "/faults", `{"type":"error","match":{"attempts":"1"},"params":{"status":"429"}}`, 201, `"probability": 1`},
		{"POST", "/faults?at=0", `{"type":"delay","name":"slow","probability":0.5,"params":{"duration":"1ms"}}`, 201, `"name": "slow"`},
		{"POST", "/faults", `{"type":"error","name":"slow"}`, 409, "already exists"},
		{"POST", "/faults", `{"type":"explode"}`, 400, "unknown fault type"},
		{"POST", "/faults", `{"type":"drop","colour":1}`, 400, "unknown field"},
		{"POST", "/faults", `{"type":"drop","params":{"mode":"sideways"}}`, 400, "param mode"},
		{"PATCH", "/faults/error", `{"params":{"status":"503"}}`, 200, `"status": "503"`},
		{"PATCH", "/faults/nope", `{}`, 404, "no fault"},
		{"PUT", "/faults/drop", `{"type":"drop","probability":0.25}`, 200, `"probability": 0.25`},
		{"PUT", "/faults/drop", `{"type":"drop","probability":2}`, 400, "out of range"},
		{"DELETE", "/faults/slow", "", 204, ""},
		{"DELETE", "/faults/slow", "", 404, "no fault"},
		{"GET", "/types", "", 200, `"lost-ack"`},
	}
	for _, s := range steps {
		status, body := adminCall(t, admin.URL, s.method, s.path, s.body)
		if status != s.status || !strings.Contains(body, s.contains) {
			t.Errorf("%s %s %s = %d %s, want %d containing %q", s.method, s.path, s.body, status, body, s.status, s.contains)
		}
	}
	var names []string
	for _, f := range r.proxy.Faults() {
		names = append(names, fmt.Sprintf("%s:%s:%g", f.Name, f.Type, f.Probability))
	}
	if got := strings.Join(names, " "); got != "drop:drop:0.25 error:error:1" {
		t.Errorf("faults = %s", got)
	}

	// The edited chain serves traffic: attempt 1 gets the 503, attempt 2 passes (or drops).
	if status, _, _ := r.send(t, "k", "{}"); status != 503 {
		t.Errorf("first attempt: %d, want 503 from the added error", status)
	}
	r.send(t, "k", "{}")

	status, body := adminCall(t, admin.URL, "GET", "/ledger", "")
	if status != 200 {
		t.Fatalf("ledger: %d", status)
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("ledger line %q: %v", sc.Text(), err)
		}
		if e.Seed != 5 || e.Key != "k" {
			t.Errorf("ledger line %+v: want seed 5, key k", e)
		}
		lines++
	}
	if lines != 2 {
		t.Errorf("ledger has %d lines, want 2", lines)
	}
	if _, body := adminCall(t, admin.URL, "GET", "/ledger?since=1", ""); strings.Count(body, "\n") != 1 {
		t.Errorf("ledger?since=1 = %q, want one line", body)
	}
	if status, _ := adminCall(t, admin.URL, "GET", "/ledger?limit=x", ""); status != 400 {
		t.Errorf("ledger?limit=x = %d, want 400", status)
	}

	var st Stats
	_, body = adminCall(t, admin.URL, "GET", "/stats", "")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Requests != 2 || st.Faults["error"] != 1 || st.Seed != 5 {
		t.Errorf("stats = %s (%v)", body, err)
	}
	if status, _ := adminCall(t, admin.URL, "POST", "/reset", ""); status != 204 {
		t.Errorf("reset = %d", status)
	}
	if len(r.proxy.Ledger()) != 0 || len(r.proxy.Faults()) != 2 {
		t.Error("reset must clear the ledger and keep the faults")
	}
	if status, _ := adminCall(t, admin.URL, "POST", "/reset?faults=true", ""); status != 204 || len(r.proxy.Faults()) != 0 {
		t.Error("reset?faults=true must remove the faults")
	}
}

// TestEditWhileTrafficFlows changes faults from one goroutine while four send; run with
// -race it proves the chain swap is safe, and every request is accounted for.
func TestEditWhileTrafficFlows(t *testing.T) {
	r := newRig(t, 1, spec("delay", 0.5, "duration", "0-1ms"))
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r.send(t, fmt.Sprintf("c%d-%d", c, i), "{}")
				sent.Add(1)
			}
		}()
	}
	for i := 0; i < 100; i++ {
		if _, err := r.proxy.AddFault(spec("error", 0.3, "status", "500"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := r.proxy.UpdateFault("delay", spec("delay", float64(i%10)/10, "duration", "0-1ms")); err != nil {
			t.Fatal(err)
		}
		if err := r.proxy.RemoveFault("error"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := r.proxy.Stats().Requests; got != sent.Load() {
		t.Errorf("proxy saw %d requests, clients sent %d", got, sent.Load())
	}
}

func TestUpdateKeepsReorderState(t *testing.T) {
	r := newRig(t, 1, spec("reorder", 1, "window", "2", "hold", "10s"))
	done := make(chan int, 1)
	go func() {
		status, _, _ := r.send(t, "first", "{}")
		done <- status
	}()
	eventually(t, "first held", func() bool { return r.proxy.Stats().Requests == 1 })
	// Changing the probability keeps the same batch: the next request completes it.
	if _, err := r.proxy.UpdateFault("reorder", spec("reorder", 1, "window", "2", "hold", "10s")); err != nil {
		t.Fatal(err)
	}
	if status, _, err := r.send(t, "second", "{}"); err != nil || status != 200 {
		t.Fatalf("second: %d %v", status, err)
	}
	if status := <-done; status != 200 {
		t.Errorf("first: %d", status)
	}
	if got := r.up.received(); len(got) != 2 || got[0] != "second" {
		t.Errorf("upstream order %v, want second before first", got)
	}
}

func TestBadRequestBody(t *testing.T) {
	up := httptest.NewServer(&counter{})
	defer up.Close()
	p, err := NewProxy(up.URL, WithMaxBodyBytes(10))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, 11))))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.Code)
	}
	if l := p.Ledger(); len(l) != 1 || l[0].Status != 413 {
		t.Errorf("ledger %+v", l)
	}
}

func TestNewProxyErrors(t *testing.T) {
	cases := []struct {
		upstream string
		opts     []Option
	}{
		{"ftp://x", nil},
		{"http://", nil},
		{"::", nil},
		{"http://x", []Option{WithLedgerLimit(-1)}},
		{"http://x", []Option{WithKeyFunc(nil)}},
		{"http://x", []Option{WithFaults(FaultSpec{Type: "nope", Probability: 1})}},
		{"http://x", []Option{WithFaults(FaultSpec{Name: "x", Type: "drop", Probability: 1}, FaultSpec{Name: "x", Type: "delay", Probability: 1})}},
	}
	for _, tc := range cases {
		if _, err := NewProxy(tc.upstream, tc.opts...); err == nil {
			t.Errorf("NewProxy(%q, %d opts) succeeded, want an error", tc.upstream, len(tc.opts))
		}
	}
}

func TestUpstreamDown(t *testing.T) {
	up := httptest.NewServer(&counter{})
	url := up.URL
	up.Close()
	p, err := NewProxy(url + "/base")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("POST", "/x", strings.NewReader("{}")))
	if rec.Code != http.StatusBadGateway {
		t.Errorf("status %d, want 502", rec.Code)
	}
	if l := p.Ledger(); len(l) != 1 || l[0].UpstreamError == "" || l[0].Forwarded != 1 {
		t.Errorf("ledger %+v, want the upstream error recorded", l)
	}
}

func TestUpstreamPathJoined(t *testing.T) {
	var got atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.RequestURI() + " " + r.Header.Get("X-Keep") + "|" + r.Header.Get("Connection") + "|" + r.UserAgent())
	}))
	defer up.Close()
	p, _ := NewProxy(up.URL + "/base/")
	ps := httptest.NewServer(p)
	defer ps.Close()
	req, _ := http.NewRequest("POST", ps.URL+"/hooks/a%2Fb?x=1", strings.NewReader("{}"))
	req.Header.Set("X-Keep", "yes")
	req.Header.Set("User-Agent", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g := got.Load(); g != "/base/hooks/a%2Fb?x=1 yes||" {
		t.Errorf("upstream saw %q", g)
	}
}

func TestForwardsBodiesAndStatuses(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10/16) // 64 KiB, past the pooled buffer size
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/echo":
			w.Write(b)
		case "/chunked":
			w.Write([]byte("part1-"))
			w.(http.Flusher).Flush()
			w.Write([]byte("part2"))
		case "/head":
			w.Header().Set("Content-Length", "42")
		}
	}))
	defer up.Close()
	p, _ := NewProxy(up.URL)
	defer p.Close()
	ps := httptest.NewServer(p)
	defer ps.Close()
	for i := 0; i < 2; i++ { // twice: the second round reuses the pooled connection
		cases := []struct {
			method, path, body string
			status             int
			want               string
		}{
			{"POST", "/204", "x", 204, ""},
			{"POST", "/echo", big, 200, big},
			{"PUT", "/chunked", "", 200, "part1-part2"},
			{"GET", "/echo", "", 200, ""},
		}
		for _, tc := range cases {
			req, _ := http.NewRequest(tc.method, ps.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tc.status || string(b) != tc.want {
				t.Errorf("%s %s: %d, %d bytes, %v; want %d, %d bytes", tc.method, tc.path, resp.StatusCode, len(b), err, tc.status, len(tc.want))
			}
		}
		resp, err := http.Head(ps.URL + "/head")
		if err != nil || resp.StatusCode != 200 || resp.ContentLength != 42 {
			t.Errorf("HEAD: %v, %v, want 200 with the upstream's Content-Length 42", resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}
