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
		chromedp.WindowSize(1366, 900),
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
	tb, err := open(t, browser, path)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func open(t testing.TB, browser context.Context, path string) (*Tab, error) {
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
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("browsercheck: open %s: %w", path, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		return nil, fmt.Errorf("browsercheck: open %s: %w", abs, err)
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
}

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
      const s = f.querySelector("svg");
      const b = s ? s.getBoundingClientRect() : {width: 0, height: 0};
      return {id: f.dataset.chart, w: b.width, h: b.height, texts: s ? s.querySelectorAll("text").length : 0};
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

// Result is what Check saw.
type Result struct {
	Facts
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
		}
	}
	if r.EvidenceHeight == 0 {
		out = append(out, "opened evidence of a failed case has no height")
	}
	return out
}

type options struct{ screenshot string }

// Option configures Check.
type Option func(*options)

// WithScreenshot saves the full-page PNG at path instead of OutputDir(t)/<report>.png.
func WithScreenshot(path string) Option { return func(o *options) { o.screenshot = path } }

// Check opens the report at htmlPath in a fresh headless Chromium, opens the evidence of
// failed cases, reads the page's Facts, saves a full-page screenshot and collects the
// console. The error is for a browser that could not do its part; what the page shows is
// in the Result (see Result.Faults). A missing browser skips or fails t (see Chromium).
func Check(ctx context.Context, t testing.TB, htmlPath string, opts ...Option) (Result, error) {
	t.Helper()
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.screenshot == "" {
		name := strings.TrimSuffix(filepath.Base(htmlPath), filepath.Ext(htmlPath)) + ".png"
		o.screenshot = filepath.Join(OutputDir(t), name)
	}
	browser := NewBrowser(ctx, t)
	tb, err := open(t, browser, htmlPath)
	if err != nil {
		return Result{}, err
	}
	res := Result{Tab: tb}
	if res.Facts, err = chromedp.Run(tb.Ctx, chromedp.Evaluate[Facts](FactsJS)); err != nil {
		return res, fmt.Errorf("browsercheck: read the page: %w", err)
	}
	if res.EvidenceHeight, err = chromedp.Run(tb.Ctx, chromedp.Evaluate[float64](openFailedEvidenceJS)); err != nil {
		return res, fmt.Errorf("browsercheck: open failed evidence: %w", err)
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
