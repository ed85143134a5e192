package inspect

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func uiEntry(i int, body string) Entry {
	return Entry{
		At: time.Date(2026, 12, 3, 10, 0, i, 0, time.UTC), Method: "POST", Path: "/webhooks",
		Header: http.Header{"Webhook-Id": {fmt.Sprintf("msg_%d", i)}, "Content-Type": {"application/json"}},
		Body:   []byte(body),
		Verdict: &Verdict{Scheme: "standard", Outcome: "valid", Reason: "signature valid", ID: fmt.Sprintf("msg_%d", i),
			Type: "invoice.paid"},
		Forward: &Forward{Status: 204, MS: 1.5},
	}
}

// sseEvent is one server-sent event as read off the wire.
type sseEvent struct {
	ID, Event, Data string
	Comment         bool // a comment line alone (a heartbeat)
}

// readEvent reads one event (up to its blank line) from r.
func readEvent(r *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if len(data) == 0 && ev.Event == "" && ev.ID == "" && !ev.Comment {
				continue // the blank line after a retry: field
			}
			ev.Data = strings.Join(data, "\n")
			return ev, nil
		case strings.HasPrefix(line, ":"):
			ev.Comment = true
		case strings.HasPrefix(line, "id: "):
			ev.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// itemOf decodes an event's data as the JSON form of an Item.
func itemOf(t *testing.T, ev sseEvent) (seq int64, entry map[string]any) {
	t.Helper()
	var it struct {
		Seq   int64          `json:"seq"`
		Entry map[string]any `json:"entry"`
	}
	if err := json.Unmarshal([]byte(ev.Data), &it); err != nil {
		t.Fatalf("event data is not an Item: %v\n%s", err, ev.Data)
	}
	if ev.ID != fmt.Sprint(it.Seq) {
		t.Fatalf("event id %q, want the seq %d", ev.ID, it.Seq)
	}
	return it.Seq, it.Entry
}

func subscribers(h *Hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func TestUIDeliveriesJSON(t *testing.T) {
	h := NewHub(10)
	h.Add(uiEntry(1, `{"type":"invoice.paid","note":"<script>alert(1)</script>"}`))
	bin := uiEntry(2, "")
	bin.Body = []byte{0xff, 0xfe, 0x00, 'a'}
	h.Add(bin)
	srv := httptest.NewServer(NewUI(h))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/deliveries")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no X-Content-Type-Options: nosniff")
	}
	if bytes.Contains(raw, []byte("<script>")) {
		t.Errorf("the JSON carries markup unescaped: %s", raw)
	}
	var items []struct {
		Seq   int64 `json:"seq"`
		Entry struct {
			Body       *string `json:"body"`
			BodyBase64 string  `json:"body_base64"`
			Verdict    struct {
				Outcome string `json:"outcome"`
			} `json:"verdict"`
			Forward struct {
				Status int `json:"status"`
			} `json:"forward"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if len(items) != 2 || items[0].Seq != 1 || items[1].Seq != 2 {
		t.Fatalf("want items 1 and 2, oldest first: %s", raw)
	}
	if b := items[0].Entry.Body; b == nil || *b != `{"type":"invoice.paid","note":"<script>alert(1)</script>"}` {
		t.Errorf("a UTF-8 body is carried as text: %s", raw)
	}
	if items[1].Entry.Body != nil || items[1].Entry.BodyBase64 != base64.StdEncoding.EncodeToString(bin.Body) {
		t.Errorf("a non-UTF-8 body is carried as base64: %s", raw)
	}
	if items[0].Entry.Verdict.Outcome != "valid" || items[0].Entry.Forward.Status != 204 {
		t.Errorf("verdict or forward lost: %s", raw)
	}
}

func TestUIEventsSnapshotThenLive(t *testing.T) {
	defer func(d time.Duration) { uiHeartbeat = d }(uiHeartbeat)
	uiHeartbeat = 100 * time.Millisecond
	h := NewHub(10)
	h.Add(uiEntry(1, `{"n":1}`))
	h.Add(uiEntry(2, `{"n":2}`))
	srv := httptest.NewServer(NewUI(h))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	events := make(chan sseEvent, 16)
	go func() {
		defer close(events)
		for {
			ev, err := readEvent(r)
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	next := func(within time.Duration, skipComments bool) sseEvent {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("the stream ended")
				}
				if skipComments && ev.Comment && ev.Data == "" {
					continue
				}
				return ev
			case <-deadline:
				t.Fatalf("no event within %v", within)
			}
		}
	}

	hello := next(time.Second, true)
	var hi uiHello
	if hello.Event != "hello" || json.Unmarshal([]byte(hello.Data), &hi) != nil || hi.Keep != 10 || hi.Resumed || hi.Instance == "" {
		t.Fatalf("first event %+v, want hello with keep 10, not resumed", hello)
	}
	for want := int64(1); want <= 2; want++ {
		if seq, _ := itemOf(t, next(time.Second, true)); seq != want {
			t.Fatalf("snapshot item %d, want %d", seq, want)
		}
	}
	start := time.Now()
	h.Add(uiEntry(3, `{"n":3}`))
	seq, entry := itemOf(t, next(time.Second, true))
	if seq != 3 || entry["body"] != `{"n":3}` {
		t.Fatalf("live item %d %v, want 3", seq, entry)
	}
	t.Logf("a new delivery reached the stream %v after Add", time.Since(start))
	if ev := next(time.Second, false); !ev.Comment {
		t.Fatalf("want a heartbeat comment when nothing arrives, got %+v", ev)
	}

	// The client goes: the stream ends and its subscription is gone.
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for subscribers(h) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := subscribers(h); n != 0 {
		t.Fatalf("%d subscriptions left after the client went", n)
	}
}

func TestUIEventsResume(t *testing.T) {
	h := NewHub(10)
	for i := 1; i <= 3; i++ {
		h.Add(uiEntry(i, "{}"))
	}
	srv := httptest.NewServer(NewUI(h))
	defer srv.Close()
	for _, c := range []struct {
		last    string
		resumed bool
		first   int64
	}{
		{"", false, 1},
		{"2", true, 3},
		{"99", false, 1}, // more than this server ever had: listen restarted, start over
		{"junk", false, 1},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
		if c.last != "" {
			req.Header.Set("Last-Event-ID", c.last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(resp.Body)
		hello, err := readEvent(r)
		var hi uiHello
		if err != nil || json.Unmarshal([]byte(hello.Data), &hi) != nil || hi.Resumed != c.resumed {
			t.Errorf("Last-Event-ID %q: hello %+v (%v), want resumed %v", c.last, hello, err, c.resumed)
		}
		ev, err := readEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		if seq, _ := itemOf(t, ev); seq != c.first {
			t.Errorf("Last-Event-ID %q: first item %d, want %d", c.last, seq, c.first)
		}
		cancel()
		resp.Body.Close()
	}
}

// pipeWriter is a ResponseWriter whose writes block until the test reads them: a client that
// does not keep up.
type pipeWriter struct {
	h http.Header
	w *io.PipeWriter
}

func (p *pipeWriter) Header() http.Header         { return p.h }
func (p *pipeWriter) WriteHeader(int)             {}
func (p *pipeWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeWriter) Flush()                      {}

// TestUIEventsSlowClient holds a stream's writes while many more deliveries arrive than its
// subscription buffers: the Hub drops some for it, and the stream fills the gap from what the
// Hub still holds, so the client sees every delivery, in order.
func TestUIEventsSlowClient(t *testing.T) {
	h := NewHub(DefaultKeep)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/events", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewUI(h).ServeHTTP(&pipeWriter{h: http.Header{}, w: pw}, req)
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	if ev, err := readEvent(r); err != nil || ev.Event != "hello" {
		t.Fatalf("hello: %+v %v", ev, err)
	}
	const n = 600 // more than a subscription's buffer (256)
	for i := 1; i <= n; i++ {
		h.Add(uiEntry(i, "{}"))
	}
	for want := int64(1); want <= n; want++ {
		ev, err := readEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		if seq, _ := itemOf(t, ev); seq != want {
			t.Fatalf("item %d, want %d: the stream lost deliveries the Hub still held", seq, want)
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream did not end when the client went")
	}
}

func TestUIPageCSP(t *testing.T) {
	srv := httptest.NewServer(NewUI(NewHub(0)))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}

	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var scripts, styles []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href") && a.Val != "data:," || strings.HasPrefix(a.Key, "on") || a.Key == "style" {
					t.Errorf("<%s %s=%q>: the page loads nothing and has no inline handlers or styles", n.Data, a.Key, a.Val)
				}
			}
			text := ""
			if n.FirstChild != nil && n.FirstChild.Type == html.TextNode {
				text = n.FirstChild.Data
			}
			switch n.Data {
			case "script":
				scripts = append(scripts, text)
			case "style":
				styles = append(styles, text)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(scripts) != 1 || len(styles) != 1 {
		t.Fatalf("page has %d scripts and %d styles, want one of each", len(scripts), len(styles))
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	if want := "script-src " + hash(scripts[0]); !strings.Contains(csp, want+";") {
		t.Errorf("CSP %q does not allow the page's script by its hash (%s)", csp, want)
	}
	if want := "style-src " + hash(styles[0]); !strings.Contains(csp, want+";") {
		t.Errorf("CSP %q does not allow the page's style by its hash (%s)", csp, want)
	}
	if regexp.MustCompile(`(?i)https?://`).Match(page) {
		t.Errorf("the page names an external URL")
	}
}

// TestUIScriptBuildsWithTextOnly keeps the page's script off every API that parses markup:
// a sender's data reaches the DOM through textContent and createElement alone.
func TestUIScriptBuildsWithTextOnly(t *testing.T) {
	for _, api := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"on", "DOMParser", "createContextualFragment", "srcdoc"} {
		if strings.Contains(uiJS, api) {
			t.Errorf("ui.js uses %s", api)
		}
	}
}

func TestUIMethods(t *testing.T) {
	srv := httptest.NewServer(NewUI(NewHub(0)))
	defer srv.Close()
	for _, path := range []string{"/", "/events", "/deliveries", "/nope"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			req, _ := http.NewRequest(m, srv.URL+path, strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d (Allow %q), want 405 with Allow: GET, HEAD", m, path, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "HEAD", srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("HEAD %s: %v", path, err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 404, false: 200}[path == "/nope"]; resp.StatusCode != want {
			t.Errorf("HEAD %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestUIBounded(t *testing.T) {
	h := NewHub(5)
	for i := 1; i <= 12; i++ {
		h.Add(uiEntry(i, "{}"))
	}
	srv := httptest.NewServer(NewUI(h))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/deliveries")
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	err = json.NewDecoder(resp.Body).Decode(&items)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 5 || items[0].Seq != 8 || items[4].Seq != 12 {
		t.Fatalf("/deliveries holds %d items from %v, want the latest 5 (8 to 12)", len(items), items)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	hello, _ := readEvent(r)
	var hi uiHello
	if json.Unmarshal([]byte(hello.Data), &hi) != nil || hi.Keep != 5 {
		t.Fatalf("hello %+v: the page must learn the bound (keep 5)", hello)
	}
	for want := int64(8); want <= 12; want++ {
		ev, err := readEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		if seq, _ := itemOf(t, ev); seq != want {
			t.Fatalf("snapshot item %d, want %d", seq, want)
		}
	}
}
