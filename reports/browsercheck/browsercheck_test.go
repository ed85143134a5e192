package browsercheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	good := Result{Facts: Facts{VerdictVisible: true, Charts: []Chart{{ID: "latency", Width: 900, Height: 260, Texts: 12, MinTextPx: 11}}}, EvidenceHeight: -1,
		Overflow: Overflow{ViewportWidth: 390, ScrollWidth: 390}}
	tests := []struct {
		name string
		edit func(*Result)
		want []string
	}{
		{"clean page", func(*Result) {}, nil},
		{"console error", func(r *Result) { r.Problems = []string{"boom (file:///r.html:3)"} }, []string{"console: boom (file:///r.html:3)"}},
		{"hidden verdict", func(r *Result) { r.VerdictVisible = false }, []string{"the verdict banner is not visible"}},
		{"flat chart", func(r *Result) { r.Charts[0].Height = 0 }, []string{`chart "latency" has size 900×0`}},
		{"chart without text", func(r *Result) { r.Charts[0].Texts = 0 }, []string{`chart "latency" has no text (axes, labels)`}},
		{"empty evidence", func(r *Result) { r.EvidenceHeight = 0 }, []string{"opened evidence of a failed case has no height"}},
		{"evidence shown", func(r *Result) { r.EvidenceHeight = 120 }, nil},
		{"tiny chart text", func(r *Result) { r.Charts[0].MinTextPx = 3.6 }, []string{`chart "latency" has text shown at 3.6 px, under 9 px`}},
		{"page scrolls sideways", func(r *Result) {
			r.Overflow = Overflow{ViewportWidth: 390, ScrollWidth: 549, Elements: []string{`table#cases-1 → right edge at 407 px`}}
		}, []string{"the page is 549 px wide in a 390 px viewport (horizontal scrolling)", "overflows the viewport: table#cases-1 → right edge at 407 px"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			r.Charts = slices.Clone(good.Charts)
			tt.edit(&r)
			if got := r.Faults(); !slices.Equal(got, tt.want) {
				t.Errorf("Faults() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheckPage runs Check on a small page with one broken chart and a console error, so
// every probe is seen to fire.
func TestCheckPage(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	const html = `<!DOCTYPE html><html><head><title>probe</title></head><body>
<section id="verdict">Conformant</section>
<figure class="chart" data-chart="wide"><svg width="300" height="100"><text x="5" y="20">0 ms</text></svg></figure>
<figure class="chart" data-chart="flat"><svg width="300" height="0"></svg></figure>
<table><tbody class="case oc-failed"><tr><td><details><summary>Evidence</summary><pre>POST /hook</pre></details></td></tr></tbody></table>
<div id="wide" style="width:600px">too wide<span>inside it</span></div>
<div style="overflow-x:auto;max-width:100%"><pre id="scrolled" style="width:900px">scrolls in its own box</pre></div>
<script>console.error("probe error")</script>
</body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "page.png")
	res, err := Check(context.Background(), t, page, WithScreenshot(shot), WithViewport(PhoneWidth, PhoneHeight))
	if err != nil {
		t.Fatal(err)
	}
	if res.Title != "probe" || res.Cases != 1 || res.Scripts != 1 || !strings.Contains(res.Verdict, "Conformant") {
		t.Errorf("facts: %+v", res.Facts)
	}
	if res.EvidenceHeight <= 0 {
		t.Errorf("evidence height %.0f after opening it", res.EvidenceHeight)
	}
	faults := strings.Join(res.Faults(), "\n")
	if res.Width != PhoneWidth || res.Overflow.ViewportWidth != PhoneWidth {
		t.Errorf("viewport %d px, page saw %.0f px; want %d", res.Width, res.Overflow.ViewportWidth, PhoneWidth)
	}
	for _, want := range []string{"probe error", `chart "flat" has size 300×0`, `chart "flat" has no text`, "px wide in a 390 px viewport", `div#wide "too wideinside it" → right edge at`} {
		if !strings.Contains(faults, want) {
			t.Errorf("faults lack %q:\n%s", want, faults)
		}
	}
	if strings.Contains(faults, `"wide"`) || strings.Contains(faults, "verdict") || strings.Contains(faults, "scrolled") || strings.Contains(faults, "span") {
		t.Errorf("faults blame what is fine:\n%s", faults)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 || res.Screenshot != shot {
		t.Errorf("screenshot %q: %v", res.Screenshot, err)
	}
}

// TestNotInHookproofBinary keeps chromedp out of the hookproof binary: only tests may
// import this package.
func TestNotInHookproofBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the binary's dependencies")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "list", "-deps", "github.com/hookproof/hookproof/cmd/hookproof").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/hookproof: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "chromedp") || strings.HasSuffix(dep, "/browsercheck") {
			t.Errorf("the hookproof binary links %s", dep)
		}
	}
}
