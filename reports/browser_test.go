package reports

import (
	"context"
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

// The browser tests open real reports in Debian's headless Chromium, driven by chromedp.
// Their inputs are results files: the fixtures by default, or real runs given as
//
//	HOOKPROOF_REPORT_FILES=a.json:b.json go test ./reports -run Browser -v
//
// Screenshots go to the test's artifact directory with -artifacts, else to
// reports/testdata/out/<test>/ (gitignored); the test logs where.

// chromiumPath finds the browser, or skips the test (fails it under CI=true).
func chromiumPath(t *testing.T) string {
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

// newBrowser starts one headless Chromium for the test, stopped at cleanup.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	// One deadline for the whole browser: generous, the machine is small and shared.
	root, cancelRoot := context.WithTimeout(context.Background(), 3*time.Minute)
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
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelRoot()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// tab is one page open in the browser, with everything its console said.
type tab struct {
	ctx  context.Context
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (tb *tab) messages() []chromedp.ConsoleMessage {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), tb.msgs...)
}

// openFile opens path in a new tab and starts collecting its console.
func openFile(t *testing.T, browser context.Context, path string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
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
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open %s: %v", abs, err)
	}
	return tb
}

// problems are console messages a clean page never produces.
func problems(msgs []chromedp.ConsoleMessage) []string {
	var out []string
	for _, m := range msgs {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out
}

func evaluate[T any](t *testing.T, tb *tab, js string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

// outputDir is where a test keeps its screenshots.
func outputDir(t *testing.T) string {
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

// reportInputs are the results files the browser test renders.
func reportInputs() []string {
	if env := os.Getenv("HOOKPROOF_REPORT_FILES"); env != "" {
		return filepath.SplitList(env)
	}
	return fixtureFiles
}

func renderToFile(t *testing.T, rs []*Results, path string, opts ...HTMLOption) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := RenderHTML(f, rs, opts...); err != nil {
		t.Fatal(err)
	}
}

type chartBox struct {
	ID     string  `json:"id"`
	Width  float64 `json:"w"`
	Height float64 `json:"h"`
	Texts  int     `json:"texts"`
}

type pageFacts struct {
	Charts         []chartBox `json:"charts"`
	Verdict        string     `json:"verdict"`
	VerdictVisible bool       `json:"verdictVisible"`
	Scripts        int        `json:"scripts"`
	Pwned          bool       `json:"pwned"`
	Title          string     `json:"title"`
	Cases          int        `json:"cases"`
	Images         int        `json:"images"`
}

const factsJS = `(() => {
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

func TestBrowserReport(t *testing.T) {
	files := reportInputs()
	var raw []*Results
	for _, f := range files {
		r, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, r)
	}
	rs, err := Merge(raw...)
	if err != nil {
		t.Fatal(err)
	}
	wantCharts := 0
	wantCases := 0
	for _, r := range rs {
		wantCases += len(r.Cases)
		if l := r.Load; l != nil {
			if len(l.Series) > 0 {
				wantCharts += 2
			}
			if len(l.StatusCodes) > 0 {
				wantCharts++
			}
			if len(l.Histogram) > 0 {
				wantCharts++
			}
		}
	}
	out := outputDir(t)
	html := filepath.Join(out, "report.html")
	renderToFile(t, rs, html, WithGenerated(time.Now()), WithVersion("test"), WithSources(files...))

	browser := newBrowser(t)
	tb := openFile(t, browser, html)
	facts := evaluate[pageFacts](t, tb, factsJS)

	if !facts.VerdictVisible {
		t.Errorf("verdict banner is not visible")
	}
	want := verdictFor(Overall(rs...)).Text
	if !strings.Contains(facts.Verdict, want) {
		t.Errorf("verdict banner says %q, want it to contain %q", facts.Verdict, want)
	}
	if len(facts.Charts) != wantCharts {
		t.Errorf("page has %d charts, want %d", len(facts.Charts), wantCharts)
	}
	for _, c := range facts.Charts {
		if c.Width <= 0 || c.Height <= 0 {
			t.Errorf("chart %q has size %.0f×%.0f", c.ID, c.Width, c.Height)
		}
		if c.Texts == 0 {
			t.Errorf("chart %q has no text (axes, labels)", c.ID)
		}
	}
	if facts.Cases != wantCases {
		t.Errorf("page has %d case rows, want %d", facts.Cases, wantCases)
	}
	if facts.Scripts != 1 || facts.Images != 0 {
		t.Errorf("page has %d scripts and %d images, want 1 and 0", facts.Scripts, facts.Images)
	}

	// The filter runs (so the CSP hash matches our script): hiding "passed" hides those rows.
	if wantCases > 0 {
		passed := 0
		for _, r := range rs {
			passed += r.Tally().Passed
		}
		if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`.filters input[name="outcome"][value="passed"]`))); err != nil {
			t.Fatalf("click the passed filter: %v", err)
		}
		visible := evaluate[int](t, tb, `document.querySelectorAll("tbody.case:not([hidden])").length`)
		firstRunPassed := 0
		for _, r := range rs {
			if len(r.Cases) > 0 {
				firstRunPassed = r.Tally().Passed
				break
			}
		}
		if visible != wantCases-firstRunPassed {
			t.Errorf("after unticking passed in the first table: %d rows visible, want %d", visible, wantCases-firstRunPassed)
		}
		shown := evaluate[string](t, tb, `document.querySelector(".filters output").textContent`)
		if shown == "" || shown == fmt.Sprint(len(rs[0].Cases)) && firstRunPassed > 0 {
			t.Errorf("the filter's count says %q after hiding passed cases", shown)
		}
		if err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(`.filters input[name="outcome"][value="passed"]`))); err != nil {
			t.Fatal(err)
		}
	}

	// Open the evidence of failed cases, as a reader would, so the screenshot shows it.
	opened := evaluate[int](t, tb, `(() => { const ds = document.querySelectorAll("tbody.case.oc-failed details"); ds.forEach(d => d.open = true); return ds.length; })()`)
	if opened > 0 {
		h := evaluate[float64](t, tb, `document.querySelector("tbody.case.oc-failed details pre").getBoundingClientRect().height`)
		if h <= 0 {
			t.Errorf("opened evidence has no height")
		}
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(out, "report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		sel := fmt.Sprintf("#run-%d", i+1)
		b, err := chromedp.Run(tb.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("screenshot %s: %v", sel, err)
		}
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("run-%d.png", i+1)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs, _ := filepath.Abs(shot)
	t.Logf("report: %s; screenshot: %s (%d bytes)", html, abs, len(png))

	if p := problems(tb.messages()); len(p) > 0 {
		t.Errorf("the report's console has %d errors or warnings:\n%s", len(p), strings.Join(p, "\n"))
	}
}

// TestBrowserXSS renders a run whose target answered with markup and script in its body,
// headers, URL and logs, and proves none of it runs: the payloads set window.__pwned or the
// title if they ever execute.
func TestBrowserXSS(t *testing.T) {
	r, err := ReadFile("testdata/xss.json")
	if err != nil {
		t.Fatal(err)
	}
	out := outputDir(t)
	html := filepath.Join(out, "xss.html")
	renderToFile(t, []*Results{r}, html, WithGenerated(time.Now()), WithTitle("xss check"))

	browser := newBrowser(t)
	tb := openFile(t, browser, html)
	// Open every <details> so any markup inside would be live and rendered.
	evaluate[chromedp.Void](t, tb, `document.querySelectorAll("details").forEach(d => d.open = true)`)
	facts := evaluate[pageFacts](t, tb, factsJS)
	if facts.Pwned {
		t.Errorf("a payload from the target ran in the report")
	}
	if facts.Title != "xss check" {
		t.Errorf("title is %q: a payload changed it", facts.Title)
	}
	if facts.Scripts != 1 || facts.Images != 0 {
		t.Errorf("page has %d scripts and %d images, want only our one script", facts.Scripts, facts.Images)
	}
	text := evaluate[string](t, tb, `document.body.innerText`)
	for _, p := range []string{`<script>window.__pwned=1;`, `</script><script>window.__pwned=2</script>`, `"><img src=x onerror=`} {
		if !strings.Contains(text, p) {
			t.Errorf("payload %q is not shown as text", p)
		}
	}
	if p := problems(tb.messages()); len(p) > 0 {
		t.Errorf("console has errors:\n%s", strings.Join(p, "\n"))
	}

	// Second line of defence: even a script that got into the page whole is refused by
	// the Content-Security-Policy, and the browser says so.
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	injected := strings.Replace(string(b), "</main>", `<script>window.__pwned=9</script><img src=x onerror="window.__pwned=10"></main>`, 1)
	injPath := filepath.Join(out, "xss-injected.html")
	if err := os.WriteFile(injPath, []byte(injected), 0o644); err != nil {
		t.Fatal(err)
	}
	tb2 := openFile(t, browser, injPath)
	if evaluate[bool](t, tb2, `window.__pwned !== undefined`) {
		t.Errorf("the CSP let an injected script run")
	}
	// Our own script still ran: the filter wrote its count.
	if got := evaluate[string](t, tb2, `document.querySelector(".filters output").textContent`); got == "" {
		t.Errorf("our own script did not run under the CSP")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !mentionsCSP(tb2.messages()) {
		time.Sleep(50 * time.Millisecond)
	}
	if !mentionsCSP(tb2.messages()) {
		t.Errorf("no console message about the refused script; got %v", tb2.messages())
	}
}

func mentionsCSP(msgs []chromedp.ConsoleMessage) bool {
	for _, m := range msgs {
		if strings.Contains(m.Text, "Content Security Policy") {
			return true
		}
	}
	return false
}
