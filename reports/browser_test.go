package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookproof/hookproof/reports/browsercheck"
)

// The browser tests open real reports in Debian's headless Chromium, driven by chromedp.
// Their inputs are results files: the fixtures by default, or real runs given as
//
//	HOOKPROOF_REPORT_FILES=a.json:b.json go test ./reports -run Browser -v
//
// Screenshots go to the test's artifact directory with -artifacts, else to
// reports/testdata/out/<test>/ (gitignored); the test logs where.

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
	out := browsercheck.OutputDir(t)
	html := filepath.Join(out, "report.html")
	renderToFile(t, rs, html, WithGenerated(time.Now()), WithVersion("test"), WithSources(files...))

	// Check reads the page, opens the evidence of failed cases as a reader would (so the
	// screenshot shows it) and takes the full-page screenshot.
	res, err := browsercheck.Check(context.Background(), t, html, browsercheck.WithScreenshot(filepath.Join(out, "report.png")))
	if err != nil {
		t.Fatal(err)
	}
	tb, facts := res.Tab, res.Facts

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
	if res.EvidenceHeight == 0 {
		t.Errorf("opened evidence has no height")
	}

	// The filter runs (so the CSP hash matches our script): hiding "passed" hides those rows.
	if wantCases > 0 {
		passed := 0
		for _, r := range rs {
			passed += r.Tally().Passed
		}
		if err := chromedp.Do(tb.Ctx, chromedp.Click(chromedp.CSS(`.filters input[name="outcome"][value="passed"]`))); err != nil {
			t.Fatalf("click the passed filter: %v", err)
		}
		visible := browsercheck.Evaluate[int](t, tb, `document.querySelectorAll("tbody.case:not([hidden])").length`)
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
		shown := browsercheck.Evaluate[string](t, tb, `document.querySelector(".filters output").textContent`)
		if shown == "" || shown == fmt.Sprint(len(rs[0].Cases)) && firstRunPassed > 0 {
			t.Errorf("the filter's count says %q after hiding passed cases", shown)
		}
		if err := chromedp.Do(tb.Ctx, chromedp.Click(chromedp.CSS(`.filters input[name="outcome"][value="passed"]`))); err != nil {
			t.Fatal(err)
		}
	}

	for i := range rs {
		sel := fmt.Sprintf("#run-%d", i+1)
		b, err := chromedp.Run(tb.Ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("screenshot %s: %v", sel, err)
		}
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("run-%d.png", i+1)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("report: %s; screenshot: %s", html, res.Screenshot)
	if f := res.Overflow.Faults(); len(f) > 0 {
		t.Errorf("at %d px:\n%s", res.Width, strings.Join(f, "\n"))
	}

	// The same page on a phone: nothing overflows, every fault-free as on the laptop.
	phone, err := browsercheck.Check(context.Background(), t, html, browsercheck.WithViewport(browsercheck.PhoneWidth, browsercheck.PhoneHeight),
		browsercheck.WithScreenshot(filepath.Join(out, fmt.Sprintf("report-%d.png", browsercheck.PhoneWidth))))
	if err != nil {
		t.Fatal(err)
	}
	if f := phone.Faults(); len(f) > 0 {
		t.Errorf("at %d px:\n%s", phone.Width, strings.Join(f, "\n"))
	}
	t.Logf("phone screenshot: %s", phone.Screenshot)

	if p := browsercheck.Problems(tb.Messages()); len(p) > 0 {
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
	out := browsercheck.OutputDir(t)
	html := filepath.Join(out, "xss.html")
	renderToFile(t, []*Results{r}, html, WithGenerated(time.Now()), WithTitle("xss check"))

	browser := browsercheck.NewBrowser(context.Background(), t)
	tb := browsercheck.Open(t, browser, html)
	// Open every <details> so any markup inside would be live and rendered.
	browsercheck.Evaluate[chromedp.Void](t, tb, `document.querySelectorAll("details").forEach(d => d.open = true)`)
	facts := browsercheck.Evaluate[browsercheck.Facts](t, tb, browsercheck.FactsJS)
	if facts.Pwned {
		t.Errorf("a payload from the target ran in the report")
	}
	if facts.Title != "xss check" {
		t.Errorf("title is %q: a payload changed it", facts.Title)
	}
	if facts.Scripts != 1 || facts.Images != 0 {
		t.Errorf("page has %d scripts and %d images, want only our one script", facts.Scripts, facts.Images)
	}
	text := browsercheck.Evaluate[string](t, tb, `document.body.innerText`)
	for _, p := range []string{`<script>window.__pwned=1;`, `</script><script>window.__pwned=2</script>`, `"><img src=x onerror=`} {
		if !strings.Contains(text, p) {
			t.Errorf("payload %q is not shown as text", p)
		}
	}
	if p := browsercheck.Problems(tb.Messages()); len(p) > 0 {
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
	tb2 := browsercheck.Open(t, browser, injPath)
	if browsercheck.Evaluate[bool](t, tb2, `window.__pwned !== undefined`) {
		t.Errorf("the CSP let an injected script run")
	}
	// Our own script still ran: the filter wrote its count.
	if got := browsercheck.Evaluate[string](t, tb2, `document.querySelector(".filters output").textContent`); got == "" {
		t.Errorf("our own script did not run under the CSP")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !mentionsCSP(tb2.Messages()) {
		time.Sleep(50 * time.Millisecond)
	}
	if !mentionsCSP(tb2.Messages()) {
		t.Errorf("no console message about the refused script; got %v", tb2.Messages())
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

// TestBrowserLayout renders the fixtures (the three merged runs) and the XSS run and opens
// each at a laptop's width and at a phone's: nothing may overflow the viewport horizontally
// (no sideways scrolling of the page, no element past the right edge but inside a box that
// scrolls on purpose), chart text must stay readable, and the page must otherwise look right
// (Result.Faults). Screenshots: <report>-<width>.png in the test's output directory.
func TestBrowserLayout(t *testing.T) {
	out := browsercheck.OutputDir(t)
	browser := browsercheck.NewBrowser(context.Background(), t)
	for _, rep := range []struct {
		name  string
		files []string
	}{
		{"fixtures", fixtureFiles},
		{"xss", []string{"testdata/xss.json"}},
		// One shard alone passed: its chaos-injected errors are drawn grey, not red.
		{"load-shard-2", []string{"testdata/load-shard-2.json"}},
	} {
		rs := readFixtures(t, rep.files...)
		if len(rs) > 1 {
			var err error
			if rs, err = Merge(rs...); err != nil {
				t.Fatal(err)
			}
		}
		html := filepath.Join(out, rep.name+".html")
		renderToFile(t, rs, html, WithGenerated(generatedAt), WithVersion("test"), WithSources(rep.files...))
		for _, vp := range []struct{ w, h int }{
			{browsercheck.DesktopWidth, browsercheck.DesktopHeight},
			{browsercheck.PhoneWidth, browsercheck.PhoneHeight},
		} {
			t.Run(fmt.Sprintf("%s/%dpx", rep.name, vp.w), func(t *testing.T) {
				shot := filepath.Join(out, fmt.Sprintf("%s-%d.png", rep.name, vp.w))
				res, err := browsercheck.Check(context.Background(), t, html,
					browsercheck.WithBrowser(browser), browsercheck.WithViewport(vp.w, vp.h), browsercheck.WithScreenshot(shot))
				if err != nil {
					t.Fatal(err)
				}
				if res.Overflow.ViewportWidth != float64(vp.w) {
					t.Errorf("the viewport is %.0f px wide, want %d", res.Overflow.ViewportWidth, vp.w)
				}
				if f := res.Faults(); len(f) > 0 {
					t.Errorf("at %d px:\n%s", vp.w, strings.Join(f, "\n"))
				}
				t.Logf("screenshot: %s", res.Screenshot)
			})
		}
	}
}
