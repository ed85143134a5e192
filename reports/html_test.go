package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"golang.org/x/net/html"
)

// urlAttrs are attributes through which a browser fetches or navigates.
var urlAttrs = map[string]bool{"src": true, "href": true, "xlink:href": true, "action": true, "formaction": true,
	"srcset": true, "poster": true, "background": true, "data": true, "ping": true, "manifest": true, "cite": true}

// forbiddenElements would load or run something, or are never part of our page.
var forbiddenElements = map[string]bool{"iframe": true, "object": true, "embed": true, "base": true, "form": true,
	"img": true, "video": true, "audio": true, "source": true, "frame": true, "frameset": true, "applet": true, "image": true,
	"use": true, "foreignobject": true, "animate": true, "set": true}

// checkSelfContained parses a report and fails t for anything that could reach the network
// or run script other than our own.
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parse report: %v", err)
	}
	var scripts []string
	csp := ""
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name := strings.ToLower(n.Data)
			if forbiddenElements[name] {
				t.Errorf("report has a <%s> element", name)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if a.Namespace != "" {
					key = a.Namespace + ":" + key
				}
				if strings.HasPrefix(key, "on") {
					t.Errorf("<%s> has an event handler attribute %s=%q", name, key, a.Val)
				}
				if urlAttrs[key] || strings.HasSuffix(key, ":href") {
					if !strings.HasPrefix(a.Val, "#") && !strings.HasPrefix(a.Val, "data:") {
						t.Errorf("<%s %s=%q> points outside the file", name, key, a.Val)
					}
				}
				if strings.Contains(a.Val, "://") && key != "content" {
					t.Errorf("<%s %s=%q> holds a URL", name, key, a.Val)
				}
				if key == "style" && strings.Contains(strings.ToLower(a.Val), "url(") {
					t.Errorf("<%s style=%q> loads a URL", name, a.Val)
				}
			}
			switch name {
			case "script":
				for _, a := range n.Attr {
					if a.Key == "src" {
						t.Errorf("script with src=%q", a.Val)
					}
				}
				text := ""
				if n.FirstChild != nil {
					text = n.FirstChild.Data
				}
				scripts = append(scripts, text)
			case "style":
				if n.FirstChild != nil {
					css := strings.ToLower(n.FirstChild.Data)
					if strings.Contains(css, "url(") || strings.Contains(css, "@import") {
						t.Errorf("stylesheet loads something: url( or @import")
					}
				}
			case "meta":
				if attr(n, "http-equiv") == "Content-Security-Policy" {
					csp = attr(n, "content")
				}
				if strings.EqualFold(attr(n, "http-equiv"), "refresh") {
					t.Errorf("meta refresh")
				}
			case "link":
				if attr(n, "rel") != "icon" {
					t.Errorf("<link rel=%q>", attr(n, "rel"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(scripts) != 1 {
		t.Fatalf("report has %d scripts, want exactly our one", len(scripts))
	}
	sum := sha256.Sum256([]byte(scripts[0]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	for _, want := range []string{"default-src 'none'", "script-src " + hash, "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("CSP %q allows more script than ours", csp)
	}
	// The CSP must come before anything it governs.
	if i, j := bytes.Index(page, []byte("Content-Security-Policy")), bytes.Index(page, []byte("<style")); i < 0 || i > j {
		t.Errorf("the CSP meta is not the first thing in <head>")
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func render(t *testing.T, rs []*Results, opts ...HTMLOption) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := RenderHTML(&b, rs, append([]HTMLOption{WithGenerated(generatedAt)}, opts...)...); err != nil {
		t.Fatalf("RenderHTML: %v", err)
	}
	return b.Bytes()
}

func TestHTMLSelfContained(t *testing.T) {
	t.Run("fixtures", func(t *testing.T) { checkSelfContained(t, render(t, mergedFixtures(t))) })
	t.Run("xss", func(t *testing.T) { checkSelfContained(t, render(t, readFixtures(t, "testdata/xss.json"))) })
}

func TestHTMLEscapesTargetText(t *testing.T) {
	page := string(render(t, readFixtures(t, "testdata/xss.json")))
	for _, p := range xssPayloads {
		// A javascript: URL is harmless as text; checkSelfContained keeps it out of links.
		if strings.HasPrefix(p, "javascript:") {
			continue
		}
		if strings.Contains(page, p) {
			t.Errorf("payload %q appears unescaped", p)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;window.__pwned=1;document.title=&#34;pwned&#34;&lt;/script&gt;",
		"&lt;/script&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;",
		"&#34;&gt;&lt;img src=x onerror=&#34;window.__pwned=3&#34;&gt;",
		"X-&#34;&gt;&lt;script&gt;a=1&lt;/script&gt;",
		"&lt;script&gt;window.__pwned=7&lt;/script&gt;",
		"/&#34;&gt;&lt;script&gt;window.__pwned=6&lt;/script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("escaped form %q is missing", want)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("page has %d <script tags, want 1", n)
	}
}

func TestHTMLRedacts(t *testing.T) {
	r := readFixtures(t, "testdata/conform-receiver.json")[0]
	r.Cases[0].Evidence[0].RequestHeaders["Authorization"] = []string{"Bearer topsecret-token"}
	r.Cases[0].Evidence[0].ResponseBody = "echo: mysecretvalue and whsec_QUJDREVGR0hJSktMTU5PUA=="
	r.Run.Args = []string{"conform", "--secret", "mysecretvalue"}
	r.TargetLogs = "loaded key mysecretvalue"
	page := string(render(t, []*Results{r}, WithSecrets("mysecretvalue")))
	for _, leak := range []string{"topsecret-token", "mysecretvalue", "whsec_QUJDREVGR0hJSktMTU5PUA"} {
		if strings.Contains(page, leak) {
			t.Errorf("report leaks %q", leak)
		}
	}
	if !strings.Contains(page, "[REDACTED]") {
		t.Errorf("report shows no [REDACTED] marker")
	}
}

func TestHTMLEdgeCases(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		rs     []*Results
		charts int
		want   []string
	}{
		{"no results", nil, 0, []string{"Non-conformant", "no results were given"}},
		{"empty load", []*Results{{Kind: KindLoad, Load: &Load{}}}, 0, []string{"Exactly-once ledger"}},
		{"no sink", []*Results{{Kind: KindLoad, Load: &Load{Ledger: Ledger{Effects: -1}}}}, 0, []string{"not observed: no effect sink"}},
		{"nan and odd keys", []*Results{{Kind: KindLoad, Load: &Load{
			Latency:     Latency{P50: nan, P99: math.Inf(1)},
			Series:      []Point{{Second: 0, P50: nan, P90: math.Inf(1), P99: -3}, {Second: 1}},
			StatusCodes: map[string]int{"<b>x</b>": 3, "200": -1, "": 0},
			Histogram:   []Bucket{{LeMS: math.Inf(1), Count: 2}, {LeMS: nan, Count: 1}},
		}}}, 4, []string{"Ack latency over time"}},
		{"one point", []*Results{{Kind: KindLoad, Load: &Load{Series: []Point{{Second: 5, Sent: 1, Acked: 1, P50: 3, P90: 3, P99: 3}}}}}, 2, nil},
		{"chaos only", []*Results{{Kind: KindConformReceiver, Chaos: &Chaos{Counters: map[string]int64{"mystery": 2}}}}, 0, []string{"mystery"}},
		{"unknown kind and outcome", []*Results{{Kind: "other", Cases: []Case{{ID: "Z", Level: "MAY", Outcome: "flaky"}}}}, 0, []string{"flaky", "MAY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.rs)
			checkSelfContained(t, page)
			if got := bytes.Count(page, []byte(`<figure class="chart`)); got != tt.charts {
				t.Errorf("%d charts, want %d", got, tt.charts)
			}
			if bytes.Contains(page, []byte("chart unavailable")) {
				t.Errorf("a chart failed to draw: %s", page[bytes.Index(page, []byte("chart unavailable")):][:200])
			}
			for _, w := range tt.want {
				if !bytes.Contains(page, []byte(w)) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	if err := RenderHTML(&bytes.Buffer{}, []*Results{nil}); err == nil {
		t.Errorf("RenderHTML accepted a nil results")
	}
}

func TestHTMLBodyLimit(t *testing.T) {
	r := readFixtures(t, "testdata/conform-receiver.json")[0]
	r.Cases[0].Evidence[0].ResponseBody = strings.Repeat("x", 100_000)
	page := string(render(t, []*Results{r}, WithBodyLimit(1000)))
	if strings.Contains(page, strings.Repeat("x", 1001)) {
		t.Errorf("a body longer than the limit was rendered whole")
	}
	if !strings.Contains(page, "[truncated: 100000 bytes in all]") {
		t.Errorf("truncation is not marked")
	}
}

func TestCharts(t *testing.T) {
	charts := loadCharts(mergedFixtures(t)[2])
	want := map[string][]string{
		"latency":    {"p50", "p90", "p99", "10 ms", "seconds since start"},
		"throughput": {"sent", "acked", "errors/s"},
		"status":     {"200", "401", "503", "transport error"},
		"histogram":  {"≤25 ms", "acks"},
	}
	if len(charts) != len(want) {
		t.Fatalf("%d charts, want %d", len(charts), len(want))
	}
	for _, c := range charts {
		if c.Err != "" {
			t.Errorf("chart %s: %s", c.ID, c.Err)
			continue
		}
		for _, v := range []struct{ class, svg string }{{"plot plot-wide", c.SVG}, {"plot plot-narrow", c.SVGNarrow}} {
			if !strings.HasPrefix(v.svg, `<svg class="`+v.class+`" viewBox="0 0 `) || !strings.HasSuffix(v.svg, "</svg>") {
				t.Errorf("chart %s is not an inline <svg class=%q> with a viewBox: %.80s", c.ID, v.class, v.svg)
			}
			if strings.Contains(v.svg, "<?xml") || strings.Contains(v.svg, "http://") {
				t.Errorf("chart %s (%s) kept its XML prolog or a namespace URL", c.ID, v.class)
			}
			for _, w := range want[c.ID] {
				if !strings.Contains(v.svg, ">"+w+"<") {
					t.Errorf("chart %s (%s) lacks the text %q", c.ID, v.class, w)
				}
			}
		}
	}
}

func TestRenderSVGRecoversPanics(t *testing.T) {
	_, err := renderSVG("broken", canvas{w: 100}, 100, func(draw.Canvas) error { panic("plotter exploded") })
	if err == nil || !strings.Contains(err.Error(), "plotter exploded") {
		t.Errorf("renderSVG = %v, want the panic as an error", err)
	}
	svg, err := renderSVG("ok", canvas{w: 2 * vg.Inch}, vg.Inch, func(draw.Canvas) error { return nil })
	if err != nil || !strings.Contains(svg, `aria-label="ok"`) {
		t.Errorf("renderSVG = %q, %v", svg, err)
	}
}

func TestStatusLabel(t *testing.T) {
	tests := map[string]string{"200": "200", "0": "transport error", `<script>`: "script", "5xx-ish!": "5xxish", strings.Repeat("9", 40): strings.Repeat("9", 11) + "…"}
	for in, want := range tests {
		if got := statusLabel(in); got != want {
			t.Errorf("statusLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkRenderHTML(b *testing.B) {
	rs, err := Merge(readFixtures(b, fixtureFiles...)...)
	if err != nil {
		b.Fatal(err)
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := RenderHTML(&buf, rs, WithGenerated(time.Unix(0, 0))); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/report")
}

// FuzzReport feeds arbitrary results files through every renderer: none may panic, and the
// page must keep exactly our one script whatever the file holds.
func FuzzReport(f *testing.F) {
	for _, p := range append(fixtureFiles, "testdata/xss.json") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"hookproof.results/v1","kind":"load","load":{"series":[{"second":-5,"p99_ms":-1}],"histogram":[{"le_ms":-1,"count":-3}],"status_codes":{"x":1}}}`))
	f.Add([]byte(`{"schema":"hookproof.results/v1","kind":"load","run":{"shard":{"index":1,"count":1}},"load":{"thresholds":[{"expr":"lost==x"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		rs, err := Merge(r)
		if err != nil {
			return
		}
		var page bytes.Buffer
		if err := RenderHTML(&page, rs, WithGenerated(generatedAt)); err != nil {
			t.Fatalf("RenderHTML: %v", err)
		}
		if n := bytes.Count(page.Bytes(), []byte("<script")); n != 1 {
			t.Fatalf("page has %d <script tags", n)
		}
		if err := WriteJUnit(io.Discard, rs...); err != nil {
			t.Fatalf("WriteJUnit: %v", err)
		}
		if err := WriteMarkdown(io.Discard, rs...); err != nil {
			t.Fatalf("WriteMarkdown: %v", err)
		}
		for _, x := range rs {
			PrintRecap(io.Discard, x)
			PrintLoadSummary(io.Discard, x)
		}
	})
}
