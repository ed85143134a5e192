package inspect

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookproof/hookproof/reports/browsercheck"
)

// The browser tests open the live page in Debian's headless Chromium (driven by chromedp, as
// the report's tests do), served on loopback from a Hub the test adds deliveries to. Without
// a browser they skip loudly, and fail under CI=true (see browsercheck.Chromium).
//
//	go test ./suites/inspect -run Browser -v                      screenshots in testdata/out/
//	go test ./suites/inspect -run BrowserListenUILayout -update-screenshot
//	                                                              also rewrites the README's
//	                                                              testdata/screenshots/listen-ui.png

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite testdata/screenshots/listen-ui.png (the README's) from TestBrowserListenUILayout")

// readmeScreenshot is the README's picture of the live page, from the repository's root.
const readmeScreenshot = "../../testdata/screenshots/listen-ui.png"

// serveUI serves NewUI(h) on loopback for the test's life.
func serveUI(t *testing.T, h *Hub) string {
	t.Helper()
	srv := httptest.NewServer(NewUI(h))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// evalJS runs js in the tab as browsercheck.Evaluate does, but gives up after 10 s: a page
// blocked (by a dialog a payload opened, say) fails the test instead of hanging it.
func evalJS[T any](t *testing.T, tb *browsercheck.Tab, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v (is the page blocked by a dialog?)", js, err)
	}
	return v
}

// waitJS polls js in the tab until it is true or within passes; it returns how long it took.
func waitJS(t *testing.T, tb *browsercheck.Tab, js string, within time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		if evalJS[bool](t, tb, js) {
			return time.Since(start), true
		}
		if time.Since(start) > within {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const liveJS = `document.getElementById("state").dataset.state === "live"`

func rowJS(seq int64) string {
	return fmt.Sprintf(`!!document.querySelector('#list > .d[data-seq="%d"]')`, seq)
}

// visibleSeqsJS lists the deliveries shown, top to bottom.
const visibleSeqsJS = `[...document.querySelectorAll("#list > .d")].filter(d => d.getBoundingClientRect().height > 0).map(d => +d.dataset.seq)`

func TestBrowserListenUI(t *testing.T) {
	browser := browsercheck.NewBrowser(context.Background(), t)
	h := NewHub(50)
	valid := uiEntry(1, `{"type":"invoice.paid"}`)
	invalid := uiEntry(2, `{"type":"invoice.paid"}`)
	invalid.Verdict = &Verdict{Scheme: "standard", Outcome: "invalid", Reason: "no signature entry matches", ID: "msg_2", Type: "invoice.paid"}
	h.Add(valid)
	h.Add(invalid)

	tb := browsercheck.OpenURL(t, browser, serveUI(t, h))
	if _, ok := waitJS(t, tb, liveJS+` && document.querySelectorAll("#list > .d").length === 2`, 5*time.Second); !ok {
		t.Fatalf("the page did not show the Hub's snapshot (2 deliveries); console: %v", tb.Messages())
	}

	// A delivery that tries every way into the page: markup in the body, in a header, and in
	// what the verdict read from them (id, type, reason).
	xss := uiEntry(3, `{"note":"<script>alert(1)</script>","html":"<img src=x onerror=window.__pwned=1>"}`)
	xss.Header.Set("X-Note", `<b id="hdr">bold</b><iframe srcdoc="<script>alert(2)</script>">`)
	xss.Verdict = &Verdict{Scheme: "standard", Outcome: "valid", Reason: `<img src=x onerror="window.__pwned=2">`,
		ID: `"><svg onload=alert(3)>`, Type: `<script>window.__pwned=3</script>`}
	// A payload that ran would call alert (or set window.__pwned): both are caught. A dialog
	// from a frame the payload made (which has an alert of its own) is seen by the browser
	// (the event's type is named rather than imported, to keep cdproto an indirect module).
	evalJS[chromedp.Void](t, tb, `for (const f of ["alert", "confirm", "prompt"]) window[f] = (...a) => { window.__pwned = f + "(" + a.join(",") + ")"; }`)
	var dialogs atomic.Int32
	if err := chromedp.Listen(tb.Ctx, func(ev any) {
		if fmt.Sprintf("%T", ev) == "*page.EventJavascriptDialogOpening" {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	added := time.Now()
	it := h.Add(xss)
	took, ok := waitJS(t, tb, rowJS(it.Seq), time.Second)
	if !ok {
		t.Fatalf("a delivery added to the Hub was not on the page within a second")
	}
	t.Logf("delivery %d on the page %v after Hub.Add (%v since the call)", it.Seq, took, time.Since(added))
	if got := evalJS[[]int64](t, tb, visibleSeqsJS); fmt.Sprint(got) != "[3 2 1]" {
		t.Errorf("rows top to bottom %v, want the newest first [3 2 1]", got)
	}

	// Open it, so the headers and body are in the DOM, as a reader would.
	evalJS[chromedp.Void](t, tb, fmt.Sprintf(`document.querySelector('.d[data-seq="%d"]').open = true`, it.Seq))
	if _, ok := waitJS(t, tb, fmt.Sprintf(`!!document.querySelector('.d[data-seq="%d"] .detail pre')`, it.Seq), time.Second); !ok {
		t.Fatalf("the opened delivery shows no body")
	}
	time.Sleep(200 * time.Millisecond) // time for anything that got in to run
	type facts struct {
		Scripts  int    `json:"scripts"`
		Foreign  int    `json:"foreign"`
		Pwned    string `json:"pwned"`
		Text     string `json:"text"`
		BodyText string `json:"bodyText"`
		BodyH    int    `json:"bodyH"`
	}
	if n := dialogs.Load(); n > 0 {
		t.Fatalf("a payload from the sender ran: %d dialogs opened", n)
	}
	f := evalJS[facts](t, tb, fmt.Sprintf(`(() => {
	  const d = document.querySelector('.d[data-seq="%d"]');
	  const pre = d.querySelector(".detail pre");
	  return {
	    scripts: document.scripts.length,
	    foreign: document.querySelectorAll("#list script, #list img, #list svg, #list iframe, #list b, #hdr").length,
	    pwned: window.__pwned === undefined ? "" : String(window.__pwned),
	    text: d.innerText,
	    bodyText: pre.innerText,
	    bodyH: Math.round(pre.getBoundingClientRect().height),
	  };
	})()`, it.Seq))
	if f.Pwned != "" {
		t.Errorf("a payload ran: %s", f.Pwned)
	}
	if f.Scripts != 1 || f.Foreign != 0 {
		t.Errorf("the page has %d scripts and %d elements built from the sender's markup, want 1 and 0", f.Scripts, f.Foreign)
	}
	for _, p := range []string{`<script>alert(1)</script>`, `<img src=x onerror=window.__pwned=1>`} {
		if !strings.Contains(f.BodyText, p) {
			t.Errorf("the body does not show %q as text:\n%s", p, f.BodyText)
		}
	}
	for _, p := range []string{`<b id="hdr">bold</b>`, `"><svg onload=alert(3)>`, `<script>window.__pwned=3</script>`, `<img src=x onerror="window.__pwned=2">`} {
		if !strings.Contains(f.Text, p) {
			t.Errorf("the row does not show %q as text", p)
		}
	}
	if f.BodyH < 20 {
		t.Errorf("the body is %d px high: not visible", f.BodyH)
	}

	// The filter: only invalid ones, a new valid delivery stays hidden, back to all.
	click := func(sel string) {
		t.Helper()
		if err := chromedp.Do(tb.Ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	click(`label.f-invalid`)
	if got := evalJS[[]int64](t, tb, visibleSeqsJS); fmt.Sprint(got) != "[2]" {
		t.Errorf("with the invalid filter the page shows %v, want [2]", got)
	}
	if got := evalJS[string](t, tb, `document.getElementById("count").textContent`); got != "1 of 3 deliveries shown" {
		t.Errorf("the count says %q with the invalid filter", got)
	}
	it4 := h.Add(uiEntry(4, `{}`))
	if _, ok := waitJS(t, tb, rowJS(it4.Seq), time.Second); !ok {
		t.Fatalf("delivery 4 did not arrive")
	}
	if got := evalJS[[]int64](t, tb, visibleSeqsJS); fmt.Sprint(got) != "[2]" {
		t.Errorf("a new valid delivery shows under the invalid filter: %v", got)
	}
	click(`label.f-malformed`)
	if got := evalJS[string](t, tb, `document.getElementById("empty").hidden ? "" : document.getElementById("empty").textContent`); !strings.Contains(got, "No malformed deliveries") {
		t.Errorf("an empty filter says %q", got)
	}
	click(`label.f-all`)
	if got := evalJS[[]int64](t, tb, visibleSeqsJS); fmt.Sprint(got) != "[4 3 2 1]" {
		t.Errorf("with all shown the page shows %v, want [4 3 2 1]", got)
	}

	// A body that is not UTF-8 arrives as base64 and shows as hex.
	bin := uiEntry(5, "")
	bin.Body = []byte{0xff, 0xfe, 'h', 'i', 0x00}
	it5 := h.Add(bin)
	if _, ok := waitJS(t, tb, rowJS(it5.Seq), time.Second); !ok {
		t.Fatalf("delivery 5 did not arrive")
	}
	evalJS[chromedp.Void](t, tb, `document.querySelector('.d[data-seq="5"]').open = true`)
	if _, ok := waitJS(t, tb, `(document.querySelector('.d[data-seq="5"] .detail pre') || {}).textContent === "00000000  ff fe 68 69 00                                    |..hi.|"`, time.Second); !ok {
		t.Errorf("a binary body is not shown as hex: %q", evalJS[string](t, tb, `(document.querySelector('.d[data-seq="5"] .detail pre') || {}).textContent || ""`))
	}

	if p := browsercheck.Problems(tb.Messages()); len(p) > 0 {
		t.Errorf("the console has %d errors or warnings (a CSP violation is one):\n%s", len(p), strings.Join(p, "\n"))
	}
}

// TestBrowserListenUIBounded: a page on a Hub that keeps 3 holds at most 3 rows, the newest.
func TestBrowserListenUIBounded(t *testing.T) {
	browser := browsercheck.NewBrowser(context.Background(), t)
	h := NewHub(3)
	h.Add(uiEntry(1, "{}"))
	tb := browsercheck.OpenURL(t, browser, serveUI(t, h))
	if _, ok := waitJS(t, tb, liveJS+` && document.querySelectorAll("#list > .d").length === 1`, 5*time.Second); !ok {
		t.Fatalf("the page did not show the snapshot")
	}
	for i := 2; i <= 40; i++ {
		h.Add(uiEntry(i, "{}"))
	}
	if _, ok := waitJS(t, tb, rowJS(40), 2*time.Second); !ok {
		t.Fatalf("delivery 40 did not arrive")
	}
	if got := evalJS[[]int64](t, tb, `[...document.querySelectorAll("#list > .d")].map(d => +d.dataset.seq)`); fmt.Sprint(got) != "[40 39 38]" {
		t.Errorf("the page holds %v, want the newest 3 [40 39 38]", got)
	}
	if got := evalJS[string](t, tb, `document.getElementById("count").textContent + " / keeps " + document.getElementById("keep").textContent`); got != "3 deliveries / keeps 3" {
		t.Errorf("count and bound say %q", got)
	}
	if p := browsercheck.Problems(tb.Messages()); len(p) > 0 {
		t.Errorf("console:\n%s", strings.Join(p, "\n"))
	}
}

// realisticDeliveries are what a developer sees after a few minutes of listen: a valid
// Standard Webhooks delivery forwarded (204), a GitHub one not judged (no secret), an invalid
// Stripe one with its reason, a duplicate, a malformed one whose forward failed, and a new one.
func realisticDeliveries() []Entry {
	base := time.Date(2026, 12, 3, 14, 1, 48, 215e6, time.UTC)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	f := func(v float64) *float64 { return &v }
	std := func(id, ts string) http.Header {
		return http.Header{
			"Content-Type": {"application/json"}, "User-Agent": {"Svix-Webhooks/1.44.0"}, "Webhook-Id": {id},
			"Webhook-Timestamp": {ts}, "Webhook-Signature": {Redacted}, "Content-Length": {"214"}, "Accept": {"*/*"},
		}
	}
	first := at(0)
	return []Entry{
		{At: at(0), Method: "POST", Path: "/webhooks", Remote: "127.0.0.1:53112", Header: std("msg_2zB7kQpL9mXr4TcV", "1796306508"),
			Body: []byte(`{"type":"invoice.paid","timestamp":"2026-12-03T14:01:48Z","data":{"invoice":"in_1042","amount":4900,"currency":"eur","customer":"cus_88Hq"}}`),
			Verdict: &Verdict{Scheme: "standard", Outcome: "valid", Reason: "signature valid (secret 1, entry 1); timestamp 0.2 s old",
				ID: "msg_2zB7kQpL9mXr4TcV", Type: "invoice.paid", Signature: "valid (secret 1, entry 1)", SkewSeconds: f(0.2), Tolerance: 300},
			Forward: &Forward{Status: 204, MS: 1.9}},
		{At: at(4120), Method: "POST", Path: "/webhooks/github", Remote: "127.0.0.1:53120",
			Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"GitHub-Hookshot/7f3c2e1"}, "X-Github-Event": {"push"},
				"X-Github-Delivery": {"4c1e8a40-cf2b-11f0-9e1d-2a1b3c4d5e6f"}, "X-Hub-Signature-256": {Redacted}, "X-Github-Hook-Id": {"512993811"}},
			Body: []byte(`{"ref":"refs/heads/main","before":"9c1d0e7","after":"4be01f2","repository":{"full_name":"acme/shop"},"pusher":{"name":"dana"}}`),
			Verdict: &Verdict{Scheme: "github", Outcome: "unjudged", Reason: "not judged: no --secret for github",
				ID: "4c1e8a40-cf2b-11f0-9e1d-2a1b3c4d5e6f", Type: "push", Signature: "not judged (no --secret)"},
			Forward: &Forward{Status: 200, MS: 14.6}},
		{At: at(9433), Method: "POST", Path: "/webhooks/stripe", Remote: "127.0.0.1:53131",
			Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
				"Stripe-Signature": {Redacted}, "Accept": {"*/*; q=0.5, application/xml"}, "Cache-Control": {"no-cache"}, "Content-Length": {"391"}},
			Body: []byte(`{"id":"evt_3QxLm2Hk8sPq1Zr0","object":"event","api_version":"2025-09-30.clover","created":1796306101,"type":"payment_intent.succeeded","livemode":false,"data":{"object":{"id":"pi_3QxLm2Hk8sPq1Zr0","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded"}},"pending_webhooks":1}`),
			Verdict: &Verdict{Scheme: "stripe", Outcome: "invalid", Reason: "timestamp 412.4 s old, over the tolerance of 300 s (the signature matches)",
				ID: "evt_3QxLm2Hk8sPq1Zr0", Type: "payment_intent.succeeded", Signature: "valid (secret 1, entry 1)", SkewSeconds: f(412.4), Tolerance: 300},
			Forward: &Forward{Status: 400, MS: 3.2}},
		{At: at(13388), Method: "POST", Path: "/webhooks", Remote: "127.0.0.1:53112", Header: std("msg_2zB7kQpL9mXr4TcV", "1796306508"),
			Body: []byte(`{"type":"invoice.paid","timestamp":"2026-12-03T14:01:48Z","data":{"invoice":"in_1042","amount":4900,"currency":"eur","customer":"cus_88Hq"}}`),
			Verdict: &Verdict{Scheme: "standard", Outcome: "valid", Reason: "signature valid (secret 1, entry 1); a duplicate: msg_2zB7kQpL9mXr4TcV arrived 13.4 s earlier",
				ID: "msg_2zB7kQpL9mXr4TcV", Type: "invoice.paid", Signature: "valid (secret 1, entry 1)", SkewSeconds: f(13.6), Tolerance: 300, Seen: 1, FirstAt: &first},
			Forward: &Forward{Status: 204, MS: 1.4}},
		{At: at(15902), Method: "POST", Path: "/webhooks", Remote: "127.0.0.1:53140",
			Header: http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {"msg_2zB9"}, "Webhook-Timestamp": {"yesterday"}, "Webhook-Signature": {Redacted}},
			Body:   []byte(`{"type":"customer.updated","data":{"customer":"cus_88Hq"}}`),
			Verdict: &Verdict{Scheme: "standard", Outcome: "malformed", Reason: `webhook-timestamp "yesterday" is not a Unix time`,
				ID: "msg_2zB9", Type: "customer.updated", Signature: "not checked (malformed)", Problems: []string{`webhook-timestamp "yesterday" is not a Unix time in seconds`}},
			Forward: &Forward{MS: 0.6, Error: "dial tcp 127.0.0.1:3000: connect: connection refused"}},
		{At: at(17240), Method: "POST", Path: "/webhooks", Remote: "127.0.0.1:53112", Header: std("msg_2zBA1fWcN7yDe3Hu", "1796306525"),
			Body: []byte(`{"type":"customer.created","timestamp":"2026-12-03T14:02:05Z","data":{"customer":"cus_91Lx","email":"ana@example.com"}}`),
			Verdict: &Verdict{Scheme: "standard", Outcome: "valid", Reason: "signature valid (secret 1, entry 1); timestamp 0.4 s old",
				ID: "msg_2zBA1fWcN7yDe3Hu", Type: "customer.created", Signature: "valid (secret 1, entry 1)", SkewSeconds: f(0.4), Tolerance: 300},
			Forward: &Forward{Status: 204, MS: 2.3}},
	}
}

// TestBrowserListenUILayout opens the page with realistic deliveries at a laptop's width and
// a phone's, the invalid Stripe delivery opened: nothing may overflow the viewport, the console
// stays clean. Screenshots: listen-ui-<width>.png in the test's output directory (and, with
// -update-screenshot, the README's testdata/screenshots/listen-ui.png at 1400 px).
func TestBrowserListenUILayout(t *testing.T) {
	t.Setenv("TZ", "UTC") // the browser shows times as UTC, the same on every machine
	browser := browsercheck.NewBrowser(context.Background(), t)
	h := NewHub(DefaultKeep)
	for _, e := range realisticDeliveries() {
		h.Add(e)
	}
	url := serveUI(t, h)
	out := browsercheck.OutputDir(t)
	for _, vp := range []struct{ w, h int }{
		{browsercheck.DesktopWidth, 780},
		{browsercheck.PhoneWidth, browsercheck.PhoneHeight},
	} {
		t.Run(fmt.Sprintf("%dpx", vp.w), func(t *testing.T) {
			tb := browsercheck.OpenURL(t, browser, url, browsercheck.WithViewport(vp.w, vp.h))
			if _, ok := waitJS(t, tb, liveJS+` && document.querySelectorAll("#list > .d").length === 6`, 5*time.Second); !ok {
				t.Fatalf("the page did not show the 6 deliveries")
			}
			evalJS[chromedp.Void](t, tb, `document.querySelector('.d.o-invalid').open = true`)
			if _, ok := waitJS(t, tb, `!!document.querySelector('.d.o-invalid .detail pre')`, time.Second); !ok {
				t.Fatalf("the opened delivery shows no body")
			}
			ov := evalJS[browsercheck.Overflow](t, tb, browsercheck.OverflowJS)
			if ov.ViewportWidth != float64(vp.w) {
				t.Errorf("the viewport is %.0f px wide, want %d", ov.ViewportWidth, vp.w)
			}
			if f := ov.Faults(); len(f) > 0 {
				t.Errorf("at %d px:\n%s", vp.w, strings.Join(f, "\n"))
			}
			// Every row's cells are on screen and readable: none is squeezed to nothing.
			if n := evalJS[int](t, tb, `[...document.querySelectorAll("#list > .d > .row > span")].filter(s => s.getBoundingClientRect().width < 8 && !s.classList.contains("c-chev")).length`); n > 0 {
				t.Errorf("at %d px, %d cells of the rows are under 8 px wide", vp.w, n)
			}
			png, err := chromedp.Run(tb.Ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			shot := filepath.Join(out, fmt.Sprintf("listen-ui-%d.png", vp.w))
			if err := os.WriteFile(shot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", shot)
			if vp.w == browsercheck.DesktopWidth && *updateScreenshot {
				if err := os.MkdirAll(filepath.Dir(readmeScreenshot), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(readmeScreenshot, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("rewrote %s", readmeScreenshot)
			}
			if p := browsercheck.Problems(tb.Messages()); len(p) > 0 {
				t.Errorf("console:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}
