package browsercheck

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The viewports a report is checked at: a laptop screen and a phone (an iPhone 12 to 15 is
// 390 CSS pixels wide).
const (
	DesktopWidth, DesktopHeight = 1400, 900
	PhoneWidth, PhoneHeight     = 390, 844
)

// browserTimeout bounds one browser's whole life: generous, the machine is small and shared.
const browserTimeout = 3 * time.Minute

// Chromium finds the browser ($HOOKPROOF_CHROMIUM, then Debian's /usr/bin/chromium, then the
// PATH). When there is none it fails the test under CI=true and skips it loudly elsewhere,
// so a missing browser never passes silently in CI.
func Chromium(t testing.TB) string {
	t.Helper()
	candidates := []string{os.Getenv("HOOKPROOF_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "CHROMIUM NOT FOUND: the browser test of the HTML report did not run. Install Debian's chromium (apt-get install -y chromium) or set HOOKPROOF_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("\n\n*** " + msg + " ***\n")
	return ""
}

// NewBrowser starts one headless Chromium for the test, under ctx and at most browserTimeout;
// it is stopped at the test's cleanup. Tabs opened from the returned context share it.
func NewBrowser(ctx context.Context, t testing.TB) context.Context {
	t.Helper()
	path := Chromium(t)
	root, cancelRoot := context.WithTimeout(ctx, browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(DesktopWidth, DesktopHeight),
	)
	bctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelRoot()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return bctx
}

// Tab is one page open in the browser, with everything its console said. Its context (Ctx)
// runs chromedp actions on the page; Messages may be called from any goroutine.
type Tab struct {
	Ctx  context.Context
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

// Messages returns a copy of the console messages so far, in order.
func (tb *Tab) Messages() []chromedp.ConsoleMessage {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), tb.msgs...)
}

// Open opens the file at path in a new tab of browser, collecting its console from before
// the navigation so no message is lost. The tab closes at the test's cleanup.
func Open(t testing.TB, browser context.Context, path string) *Tab {
	t.Helper()
	tb, err := open(t, browser, path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// OpenURL opens url (a page served on loopback by the test, say) in a new tab of browser at
// the viewport of opts (WithViewport; the browser's window when none), collecting its console
// from before the navigation. The tab closes at the test's cleanup.
func OpenURL(t testing.TB, browser context.Context, url string, opts ...Option) *Tab {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tb, err := openURL(t, browser, url, o.width, o.height)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// open opens the file at path in a new tab (see openURL).
func open(t testing.TB, browser context.Context, path string, width, height int) (*Tab, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("browsercheck: open %s: %w", path, err)
	}
	return openURL(t, browser, "file://"+abs, width, height)
}

// openURL opens url in a new tab; a width above 0 first sets the tab's viewport to width×height
// CSS pixels (not a mobile emulation: the page gets exactly that width, and anything wider
// shows as overflow instead of being zoomed out).
func openURL(t testing.TB, browser context.Context, url string, width, height int) (*Tab, error) {
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &Tab{Ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.msgs = append(tb.msgs, m)
			tb.mu.Unlock()
		}
	}()
	if width > 0 {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
			return nil, fmt.Errorf("browsercheck: set the viewport to %d×%d: %w", width, height, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		return nil, fmt.Errorf("browsercheck: open %s: %w", url, err)
	}
	return tb, nil
}

// Problems are the console messages a clean page never produces: errors, uncaught
// exceptions and warnings, each with where it came from.
func Problems(msgs []chromedp.ConsoleMessage) []string {
	var out []string
	for _, m := range msgs {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out
}

// Evaluate runs js in the tab and returns its value, failing the test if it cannot.
func Evaluate[T any](t testing.TB, tb *Tab, js string) T {
	t.Helper()
	v, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

// OutputDir is where a test keeps its screenshots: the test's artifact directory under
// -artifacts, else testdata/out/<test>/ in the package's folder (gitignored), kept after
// the test so a person can look.
func OutputDir(t testing.TB) string {
	t.Helper()
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir := filepath.Join("testdata", "out", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Chart is one figure of the report as the browser laid it out.
type Chart struct {
	ID     string  `json:"id"`
	Width  float64 `json:"w"`
	Height float64 `json:"h"`
	Texts  int     `json:"texts"` // <text> elements in its SVG: axes, ticks, labels
	// MinTextPx is the smallest font size of its text as shown, in CSS pixels: the SVG's
	// font size scaled by how much the viewBox is shrunk or grown to fit the figure.
	MinTextPx float64 `json:"minTextPx"`
}

// MinChartTextPx is the smallest chart text a reader can make out without zooming.
const MinChartTextPx = 9

// Facts are what the page shows, read from the live DOM.
type Facts struct {
	Charts         []Chart `json:"charts"`
	Verdict        string  `json:"verdict"`
	VerdictVisible bool    `json:"verdictVisible"`
	Scripts        int     `json:"scripts"`
	Pwned          bool    `json:"pwned"` // a payload from a target set window.__pwned
	Title          string  `json:"title"`
	Cases          int     `json:"cases"`
	Images         int     `json:"images"`
}

// FactsJS reads Facts from a report page.
const FactsJS = `(() => {
  const v = document.getElementById("verdict");
  const r = v ? v.getBoundingClientRect() : {width: 0, height: 0};
  const st = v ? getComputedStyle(v) : {};
  return {
    charts: [...document.querySelectorAll("figure.chart")].map(f => {
      // A figure may hold one drawing per screen size; the one shown is the one measured.
      const all = [...f.querySelectorAll("svg")];
      const s = all.find(x => x.getBoundingClientRect().width > 0) || all[0];
      const b = s ? s.getBoundingClientRect() : {width: 0, height: 0};
      const vb = s && s.viewBox && s.viewBox.baseVal && s.viewBox.baseVal.width > 0 ? s.viewBox.baseVal.width : b.width;
      const scale = vb > 0 ? b.width / vb : 0;
      let minText = 0;
      if (s) for (const t of s.querySelectorAll("text")) {
        const px = parseFloat(getComputedStyle(t).fontSize) * scale;
        if (px > 0 && (minText === 0 || px < minText)) minText = px;
      }
      return {id: f.dataset.chart, w: b.width, h: b.height, texts: s ? s.querySelectorAll("text").length : 0, minTextPx: minText};
    }),
    verdict: v ? v.innerText : "",
    verdictVisible: !!v && r.width > 0 && r.height > 0 && st.visibility !== "hidden" && st.display !== "none",
    scripts: document.scripts.length,
    pwned: window.__pwned !== undefined,
    title: document.title,
    cases: document.querySelectorAll("tbody.case").length,
    images: document.images.length,
  };
})()`

// openFailedEvidenceJS opens the evidence of failed cases, as a reader would, so the
// screenshot shows it; it returns the height of the first opened exchange (-1: none failed).
const openFailedEvidenceJS = `(() => {
  const ds = document.querySelectorAll("tbody.case.oc-failed details");
  ds.forEach(d => d.open = true);
  if (ds.length === 0) return -1;
  const pre = document.querySelector("tbody.case.oc-failed details pre");
  return pre ? pre.getBoundingClientRect().height : 0;
})()`

// Overflow is how the page fits its viewport's width, read after layout.
type Overflow struct {
	ViewportWidth float64 `json:"innerWidth"`  // window.innerWidth
	ScrollWidth   float64 `json:"scrollWidth"` // document.documentElement.scrollWidth
	// Elements are the outermost elements whose box ends beyond the viewport's right edge,
	// each as tag#id.class "text…" → right edge, at most 12 of them (the first few say what is wrong). Elements
	// inside a container that scrolls or clips horizontally on purpose (overflow-x other
	// than visible) are not counted: the container is, if it overflows itself.
	Elements []string `json:"elements"`
}

// OverflowJS reads Overflow from a page.
const OverflowJS = `(() => {
  const vw = window.innerWidth;
  const contained = el => {
    for (let p = el.parentElement; p && p !== document.body && p !== document.documentElement; p = p.parentElement) {
      const ox = getComputedStyle(p).overflowX;
      if (ox !== "visible") return true;
    }
    return false;
  };
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim()) s += "." + el.className.trim().split(/\s+/).join(".");
    else if (el.className && el.className.baseVal) s += "." + el.className.baseVal.trim().split(/\s+/).join(".");
    const text = (el.textContent || "").replace(/\s+/g, " ").trim();
    if (text) s += " \"" + (text.length > 40 ? text.slice(0, 40) + "…" : text) + "\"";
    return s;
  };
  const out = [];
  const flagged = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    if (out.length >= 12) break; // overflowLimit
    const st = getComputedStyle(el);
    if (st.display === "none" || st.visibility === "hidden" || st.position === "fixed") continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right <= vw + 0.5) continue;
    let anc = el.parentElement, nested = false;
    for (; anc; anc = anc.parentElement) { if (flagged.has(anc)) { nested = true; break; } }
    if (nested || contained(el)) continue;
    flagged.add(el);
    out.push(describe(el) + " → right edge at " + Math.round(r.right) + " px");
  }
  return {innerWidth: vw, scrollWidth: document.documentElement.scrollWidth, elements: out};
})()`

// Faults says what overflows: a page wider than its viewport, and each element past the
// right edge. Empty when everything fits.
func (o Overflow) Faults() []string {
	var out []string
	if o.ScrollWidth > o.ViewportWidth {
		out = append(out, fmt.Sprintf("the page is %.0f px wide in a %.0f px viewport (horizontal scrolling)", o.ScrollWidth, o.ViewportWidth))
	}
	for _, e := range o.Elements {
		out = append(out, "overflows the viewport: "+e)
	}
	return out
}

// Result is what Check saw.
type Result struct {
	Facts
	// Overflow is how the page fits the viewport's width (see Overflow.Faults).
	Overflow Overflow
	// Width and Height are the viewport Check used, in CSS pixels.
	Width, Height int
	// Problems are the console's errors, exceptions and warnings (see Problems).
	Problems []string
	// EvidenceHeight is the height of the first failed case's opened evidence; -1 when no
	// case failed.
	EvidenceHeight float64
	// Screenshot is the path of the full-page PNG.
	Screenshot string
	// Tab is the page, still open until the test's cleanup, for further checks.
	Tab *Tab
}

// Faults lists what is wrong with the page as a reader would see it: console problems, a
// chart with no size or no text, a hidden verdict, failed evidence that opens empty.
// An empty list means the page looks right.
func (r Result) Faults() []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, "console: "+p)
	}
	if !r.VerdictVisible {
		out = append(out, "the verdict banner is not visible")
	}
	for _, c := range r.Charts {
		if c.Width <= 0 || c.Height <= 0 {
			out = append(out, fmt.Sprintf("chart %q has size %.0f×%.0f", c.ID, c.Width, c.Height))
		}
		if c.Texts == 0 {
			out = append(out, fmt.Sprintf("chart %q has no text (axes, labels)", c.ID))
		} else if c.MinTextPx > 0 && c.MinTextPx < MinChartTextPx {
			out = append(out, fmt.Sprintf("chart %q has text shown at %.1f px, under %d px", c.ID, c.MinTextPx, MinChartTextPx))
		}
	}
	if r.EvidenceHeight == 0 {
		out = append(out, "opened evidence of a failed case has no height")
	}
	return append(out, r.Overflow.Faults()...)
}

type options struct {
	screenshot    string
	width, height int
	browser       context.Context
}

// Option configures Check.
type Option func(*options)

// WithScreenshot saves the full-page PNG at path instead of OutputDir(t)/<report>.png.
func WithScreenshot(path string) Option { return func(o *options) { o.screenshot = path } }

// WithViewport sets the viewport to width×height CSS pixels (default DesktopWidth ×
// DesktopHeight). The overflow check is against this width.
func WithViewport(width, height int) Option {
	return func(o *options) { o.width, o.height = width, height }
}

// WithBrowser opens the page in browser (from NewBrowser) instead of a fresh one, so
// several checks share one Chromium.
func WithBrowser(browser context.Context) Option { return func(o *options) { o.browser = browser } }

// Check opens the report at htmlPath in a fresh headless Chromium (or the one given with
// WithBrowser) at the viewport's width, opens the evidence of failed cases, reads the page's
// Facts and how it fits the width (Overflow), saves a full-page screenshot and collects the
// console. The error is for a browser that could not do its part; what the page shows is
// in the Result (see Result.Faults). A missing browser skips or fails t (see Chromium).
func Check(ctx context.Context, t testing.TB, htmlPath string, opts ...Option) (Result, error) {
	t.Helper()
	o := options{width: DesktopWidth, height: DesktopHeight}
	for _, opt := range opts {
		opt(&o)
	}
	if o.screenshot == "" {
		name := strings.TrimSuffix(filepath.Base(htmlPath), filepath.Ext(htmlPath)) + ".png"
		o.screenshot = filepath.Join(OutputDir(t), name)
	}
	browser := o.browser
	if browser == nil {
		browser = NewBrowser(ctx, t)
	}
	tb, err := open(t, browser, htmlPath, o.width, o.height)
	if err != nil {
		return Result{}, err
	}
	res := Result{Tab: tb, Width: o.width, Height: o.height}
	if res.Facts, err = chromedp.Run(tb.Ctx, chromedp.Evaluate[Facts](FactsJS)); err != nil {
		return res, fmt.Errorf("browsercheck: read the page: %w", err)
	}
	if res.EvidenceHeight, err = chromedp.Run(tb.Ctx, chromedp.Evaluate[float64](openFailedEvidenceJS)); err != nil {
		return res, fmt.Errorf("browsercheck: open failed evidence: %w", err)
	}
	// With the evidence open, as the screenshot shows it: a wide request must not widen the page.
	if res.Overflow, err = chromedp.Run(tb.Ctx, chromedp.Evaluate[Overflow](OverflowJS)); err != nil {
		return res, fmt.Errorf("browsercheck: measure overflow: %w", err)
	}
	png, err := chromedp.Run(tb.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return res, fmt.Errorf("browsercheck: screenshot: %w", err)
	}
	if len(png) == 0 {
		return res, errors.New("browsercheck: screenshot: the browser returned no image")
	}
	if err := os.WriteFile(o.screenshot, png, 0o644); err != nil {
		return res, fmt.Errorf("browsercheck: save screenshot: %w", err)
	}
	res.Screenshot, _ = filepath.Abs(o.screenshot)
	res.Problems = Problems(tb.Messages())
	return res, nil
}
