package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hookproof/hookproof/chaos"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are drawn server-side by gonum/plot as SVG and inlined in the page, so the report
// needs no script and no network to show them. Titles live in the HTML (figcaption), not
// in the SVG, so they stay selectable and crisp.

// chart is one rendered figure of a load run.
type chart struct {
	ID      string // stable id, also the figure's data-chart attribute
	Title   string
	Caption string
	SVG     string // inline <svg> element for a wide screen; empty when Err is set
	// SVGNarrow is the same chart drawn for a phone: a narrower canvas with larger text, so
	// its labels stay readable when the figure is 300-odd pixels wide. The stylesheet shows
	// one of the two.
	SVGNarrow string
	Err       string // why the chart could not be drawn
}

var (
	colInk    = rgb(0x1f, 0x23, 0x28)
	colMuted  = rgb(0x65, 0x6d, 0x76)
	colGrid   = rgb(0xe3, 0xe7, 0xeb)
	colBlue   = rgb(0x09, 0x69, 0xda)
	colAmber  = rgb(0xd4, 0x8a, 0x00)
	colRed    = rgb(0xcf, 0x22, 0x2e)
	colGreen  = rgb(0x1a, 0x7f, 0x37)
	colSlate  = rgb(0x8c, 0x95, 0x9f)
	colPurple = rgb(0x82, 0x50, 0xdf)
	// colNeutral draws errors a passing run expected: visible, but not an alarm.
	colNeutral = rgb(0xa3, 0xac, 0xb6)
)

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 0xff} }

// sans is the chart font: Liberation Sans ships inside gonum (for measuring text) and is
// metric-compatible with Arial/Helvetica, which the page's CSS falls back to.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Canvas sizes in points, close to the CSS pixels each figure gets on a laptop screen, so
// text drawn at 9 pt reads at about 12 px: wide charts span the page, the others half.
const (
	wideW = 11.5 * vg.Inch
	wideH = 3.3 * vg.Inch
	halfW = 5.6 * vg.Inch
	halfH = 3.3 * vg.Inch
	// A phone gives a figure about 320 CSS pixels: its canvas is that many points wide, so
	// one point is about one pixel and 10 pt text reads at about 10 px.
	phoneW = 4.4 * vg.Inch
	phoneH = 2.9 * vg.Inch
)

// canvas is the size and type scale of one drawing of a chart.
type canvas struct {
	w, h   vg.Length
	tick   vg.Length // tick labels, bar labels
	label  vg.Length // axis labels, legend
	narrow bool      // a phone's drawing: fewer ticks, tighter bars
}

var (
	wideCanvas  = canvas{w: wideW, h: wideH, tick: 8, label: 9}
	halfCanvas  = canvas{w: halfW, h: halfH, tick: 8, label: 9}
	phoneCanvas = canvas{w: phoneW, h: phoneH, tick: 10, label: 10.5, narrow: true}
)

// newPlot returns a plot in the report's house style, with text sized for cv.
func newPlot(cv canvas, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.White
	style := func(s *text.Style, size vg.Length, c color.Color) {
		s.Font = font.From(sans, size)
		s.Color = c
	}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		style(&a.Label.TextStyle, cv.label, colMuted)
		style(&a.Tick.Label, cv.tick, colMuted)
		a.LineStyle.Color = colSlate
		a.Tick.LineStyle.Color = colSlate
		a.Tick.Length = vg.Points(3)
		a.Padding = vg.Points(2)
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	style(&p.Legend.TextStyle, cv.label, colInk)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(6)
	p.Legend.ThumbnailWidth = vg.Points(14)
	p.Legend.Padding = vg.Points(2)
	grid := plotter.NewGrid()
	grid.Vertical.Color = colGrid
	grid.Horizontal.Color = colGrid
	grid.Vertical.Width = vg.Points(0.5)
	grid.Horizontal.Width = vg.Points(0.5)
	p.Add(grid)
	return p
}

// finite maps NaN and ±Inf (from a corrupt results file) to 0, so no plotter panics.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func line(xys plotter.XYs, c color.Color, width vg.Length, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = width
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l, nil
}

// renderSVG draws with draw and returns the SVG element ready to inline in HTML. A panic
// inside the plotting library (it panics on some degenerate input) becomes an error.
func renderSVG(label string, cv canvas, h vg.Length, drawFn func(dc draw.Canvas) error) (svg string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reports: draw %s chart: %v", label, r)
		}
	}()
	c := vgsvg.New(cv.w, h)
	if err := drawFn(draw.New(c)); err != nil {
		return "", fmt.Errorf("reports: draw %s chart: %w", label, err)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("reports: write %s chart: %w", label, err)
	}
	return inlineSVG(buf.String(), label, cv.narrow), nil
}

var (
	svgProlog  = regexp.MustCompile(`(?s)\A\s*<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	svgOpenTag = regexp.MustCompile(`(?s)\A<svg\b[^>]*>`)
	svgViewBox = regexp.MustCompile(`viewBox="([0-9. ]+)"`)
)

// inlineSVG turns a standalone SVG document into an element for an HTML page: no XML
// prolog, no namespace URLs (the HTML parser puts <svg> in the SVG namespace itself), a
// viewBox so CSS can size it, and an accessible label.
func inlineSVG(doc, label string, narrow bool) string {
	doc = svgProlog.ReplaceAllString(doc, "")
	open := svgOpenTag.FindString(doc)
	vb := ""
	if m := svgViewBox.FindStringSubmatch(open); m != nil {
		vb = m[1]
	}
	class := "plot plot-wide"
	if narrow {
		class = "plot plot-narrow"
	}
	tag := fmt.Sprintf(`<svg class="%s" viewBox="%s" role="img" aria-label="%s" preserveAspectRatio="xMidYMid meet">`, class, vb, htmlAttr(label))
	return tag + strings.TrimSpace(doc[len(open):])
}

// htmlAttr escapes s for a double-quoted attribute.
func htmlAttr(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&#34;", `<`, "&lt;", `>`, "&gt;", `'`, "&#39;").Replace(s)
}

// maxTicks bounds every tick generator: an axis needs a dozen, and a corrupt file must not
// make one loop for ever.
const maxTicks = 50

// niceStep rounds raw up to 1, 2 or 5 × 10ⁿ.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return math.NaN()
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// stepTicks labels min..max every step, at most maxTicks of them.
func stepTicks(min, max, step float64, label func(float64) string) []plot.Tick {
	if math.IsNaN(step) || step <= 0 {
		return []plot.Tick{{Value: min, Label: label(min)}}
	}
	var ts []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step*1e-9 && len(ts) < maxTicks; v += step {
		if v == 0 {
			v = 0 // math.Ceil(-0.5) is -0, which would be labelled "-0"
		}
		ts = append(ts, plot.Tick{Value: v, Label: label(v)})
	}
	return ts
}

// secondTicks marks a time axis in whole seconds at a readable step, with at most n ticks
// (12 when n is 0).
type secondTicks struct{ n int }

func (s secondTicks) Ticks(min, max float64) []plot.Tick {
	n := float64(s.n)
	if n <= 0 {
		n = 12
	}
	step := math.NaN()
	for _, st := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if (max-min)/st <= n {
			step = st
			break
		}
	}
	if math.IsNaN(step) {
		step = niceStep((max - min) / 10)
	}
	return stepTicks(min, max, step, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
}

// msTicks marks a latency axis in ms and s, on a log or linear scale.
func msTicks(log bool) plot.Ticker {
	if !log {
		return plot.TickerFunc(func(min, max float64) []plot.Tick {
			ts := plot.DefaultTicks{}.Ticks(min, max)
			for i := range ts {
				if ts[i].Label != "" {
					ts[i].Label = shortMS(ts[i].Value)
				}
			}
			return ts
		})
	}
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ts []plot.Tick
		for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)) && len(ts) < maxTicks; e++ {
			dec := math.Pow(10, e)
			for _, m := range []float64{1, 2, 5} {
				v := dec * m
				if v < min*0.999 || v > max*1.001 {
					continue
				}
				t := plot.Tick{Value: v}
				if m == 1 || max/min < 50 {
					t.Label = shortMS(v)
				}
				ts = append(ts, t)
			}
		}
		return ts
	})
}

// shortMS formats an axis value in milliseconds compactly: 5 ms, 250 ms, 1 s, 2.5 s.
func shortMS(ms float64) string {
	switch {
	case ms >= 3_600_000:
		return strconv.FormatFloat(ms/3_600_000, 'f', -1, 64) + " h"
	case ms >= 60_000:
		return strconv.FormatFloat(ms/60_000, 'f', -1, 64) + " min"
	}
	if ms >= 1000 {
		return strconv.FormatFloat(ms/1000, 'f', -1, 64) + " s"
	}
	if ms < 1 {
		return strconv.FormatFloat(ms, 'g', 2, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
}

// timeRange is the x range of the per-second charts: every second of the run, with half a
// second on each side so a bar centred on the first or last second stays inside the axes.
func timeRange(series []Point) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, pt := range series {
		lo, hi = min(lo, float64(pt.Second)), max(hi, float64(pt.Second))
	}
	if lo > hi {
		return -0.5, 0.5
	}
	return lo - 0.5, hi + 0.5
}

// ackedRuns splits the seconds of a run into runs of consecutive seconds that acknowledged
// something. A second with no ack has no latency: drawing its percentiles as 0 ms would show
// the run's quiet last second (only retries in flight) as an absurd plunge to zero.
func ackedRuns(series []Point) [][]Point {
	var out [][]Point
	var cur []Point
	for i, pt := range series {
		if pt.Acked <= 0 || i > 0 && pt.Second != series[i-1].Second+1 {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
		}
		if pt.Acked > 0 {
			cur = append(cur, pt)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// latencyChart plots the ack latency percentiles of every second that acknowledged
// something, on a log scale when they span more than a decade (a slow spike would otherwise
// flatten the p50 line).
func latencyChart(cv canvas, series []Point) (string, error) {
	runs := ackedRuns(series)
	lo, hi := math.Inf(1), 0.0
	for _, pt := range slices.Concat(runs...) {
		for _, v := range []float64{pt.P50, pt.P90, pt.P99} {
			if v = finite(v); v > 0 {
				// Below a microsecond is noise; it also keeps the log axis finite.
				lo, hi = min(lo, math.Max(v, 0.001)), max(hi, v)
			}
		}
	}
	log := hi > 0 && hi/lo > 20
	floor := 0.0
	if log {
		floor = math.Pow(10, math.Floor(math.Log10(lo)))
	}
	p := newPlot(cv, "seconds since start", "ack latency")
	p.X.Tick.Marker = cv.secondTicks()
	p.X.Min, p.X.Max = timeRange(series)
	switch {
	case log:
		p.Y.Scale = plot.LogScale{}
		p.Y.Min = floor
		p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi*1.5)))
	case hi > 0:
		p.Y.Min = 0
		p.Y.Max = hi * 1.2
	default: // nothing acknowledged: empty axes on a readable scale
		p.Y.Min, p.Y.Max = 0, 1000
	}
	p.Y.Tick.Marker = msTicks(log)
	for _, s := range []struct {
		name string
		get  func(Point) float64
		col  color.Color
		w    vg.Length
	}{
		{"p99", func(pt Point) float64 { return pt.P99 }, colRed, 1.6},
		{"p90", func(pt Point) float64 { return pt.P90 }, colAmber, 1.4},
		{"p50", func(pt Point) float64 { return pt.P50 }, colBlue, 1.6},
	} {
		for i, run := range runs {
			xys := make(plotter.XYs, 0, len(run))
			for _, pt := range run {
				v := finite(s.get(pt))
				if log {
					v = max(v, floor)
				}
				xys = append(xys, plotter.XY{X: float64(pt.Second), Y: v})
			}
			l, err := line(xys, s.col, vg.Points(float64(s.w)), false)
			if err != nil {
				return "", err
			}
			p.Add(l)
			if len(xys) == 1 {
				// A line needs two points: a lone second is a dot.
				dot, err := plotter.NewScatter(xys)
				if err != nil {
					return "", err
				}
				dot.GlyphStyle = draw.GlyphStyle{Color: s.col, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
				p.Add(dot)
			}
			if i == 0 {
				p.Legend.Add(s.name, l)
			}
		}
	}
	return renderSVG("ack latency percentiles over time", cv, cv.h, func(dc draw.Canvas) error {
		p.Draw(draw.Crop(dc, max(timeGutter-yAxisWidth(p, dc), 0), 0, 0, 0))
		return nil
	})
}

// errorLook is how a load run's errors are drawn. Red says "failure"; a run that passed
// expected its errors (the chaos proxy injected them, or the sender retried them and the
// thresholds held), so they are drawn in a neutral grey and named for what they were.
type errorLook struct {
	col     color.Color
	label   string // legend entry of the error bars
	neutral bool
	note    string // for the caption; empty for red errors
}

var redErrors = errorLook{col: colRed, label: "errors"}

// makesErrors says whether a fault of kind k shows up as a failed attempt at the sender: a
// lost request (no answer, or one made up), an error answer in the upstream's place, or a lost
// answer (the target did the work, the sender saw no 2xx).
func makesErrors(k chaos.Kind) bool {
	return k == chaos.KindLosesRequest || k == chaos.KindErrors || k == chaos.KindLosesAnswer
}

// errorLookFor picks the errors' look for r. The series count errors per second without
// saying which were injected, so the split is by totals: when the chaos proxy injected at
// least as many error-making faults as the run saw errors, every error is accounted for as
// injected; otherwise a passing run's errors are "retried" (the thresholds held despite
// them), and only a run that did not pass draws them red.
func errorLookFor(r *Results) errorLook {
	if r == nil || r.Load == nil || r.Verdict() != Conformant {
		return redErrors
	}
	seen := 0
	for _, pt := range r.Load.Series {
		seen += max(pt.Errors, 0)
	}
	var injected int64
	if r.Chaos != nil {
		for _, f := range r.Chaos.FaultList() {
			if makesErrors(chaos.Kind(f.Kind)) {
				injected += max(f.Injected, 0)
			}
		}
	}
	if injected > 0 && int64(seen) <= injected {
		return errorLook{col: colNeutral, label: "injected by chaos", neutral: true,
			note: "the run passed: its errors were injected by chaos (grey), not failures"}
	}
	return errorLook{col: colNeutral, label: "retried", neutral: true,
		note: "the run passed: its errors were retried (grey), not failures"}
}

// sendWindow returns the points of series that lie wholly inside the send schedule, for the
// sent and acked lines. The schedule spans durationS seconds from the start, and its last
// hit is due at exactly durationS (hit k at (k+1)/rate), so the point of second durationS
// holds one hit and the retries due after the schedule: drawn, it would show the rate
// plunging to nearly zero at the end. Such seconds are left out of the lines (scaling a
// slice of second up to a full one would magnify a handful of hits); their errors still
// show. Without a duration (an old file), the last point is taken to be that partial second.
func sendWindow(series []Point, durationS float64) (whole []Point, partial int) {
	if durationS <= 0 || math.IsNaN(durationS) || math.IsInf(durationS, 0) {
		if len(series) < 2 {
			return series, 0
		}
		return series[:len(series)-1], 1
	}
	for _, pt := range series {
		if float64(pt.Second)+1 <= durationS+1e-9 {
			whole = append(whole, pt)
		} else {
			partial++
		}
	}
	return whole, partial
}

// throughputChart plots deliveries sent and acknowledged per second of the send schedule
// (see sendWindow), with errors per second in a lower panel sharing the time axis (errors
// are too few to read on the same scale), coloured by look.
func throughputChart(cv canvas, series []Point, durationS float64, look errorLook) (string, error) {
	top := newPlot(cv, "", "per second")
	top.Y.Min = 0
	top.Y.Tick.Marker = countTicks{}
	top.X.Tick.Marker = cv.secondTicks()
	top.X.Min, top.X.Max = timeRange(series)
	bottom := newPlot(cv, "seconds since start", "errors/s")
	bottom.Y.Min = 0
	bottom.X.Tick.Marker = cv.secondTicks()
	whole, _ := sendWindow(series, durationS)
	sent := make(plotter.XYs, 0, len(whole))
	acked := make(plotter.XYs, 0, len(whole))
	for _, pt := range whole {
		x := float64(pt.Second)
		sent = append(sent, plotter.XY{X: x, Y: float64(max(pt.Sent, 0))})
		acked = append(acked, plotter.XY{X: x, Y: float64(max(pt.Acked, 0))})
	}
	errs := make(plotter.Values, 0, len(series))
	maxErr := 0.0
	for _, pt := range series {
		errs = append(errs, float64(max(pt.Errors, 0)))
		maxErr = max(maxErr, float64(pt.Errors))
	}
	if len(whole) > 0 {
		ls, err := line(sent, colSlate, vg.Points(1.4), true)
		if err != nil {
			return "", err
		}
		la, err := line(acked, colGreen, vg.Points(1.6), false)
		if err != nil {
			return "", err
		}
		top.Add(ls, la)
		top.Legend.Add("sent", ls)
		top.Legend.Add("acked", la)
	}
	maxRate := 0.0
	for _, xy := range sent {
		maxRate = max(maxRate, xy.Y)
	}
	// Headroom above the steady send rate keeps the legend off the lines.
	top.Y.Max = max(1, maxRate*1.3)
	// Headroom so the tallest bar does not touch the panel's top.
	headroom := 1.15
	if len(series) > 0 {
		bars, err := plotter.NewBarChart(errs, cv.barWidth(len(series)))
		if err != nil {
			return "", err
		}
		bars.Color = look.col
		bars.LineStyle.Width = 0
		bars.XMin = float64(series[0].Second)
		bottom.Add(bars)
		if maxErr > 0 {
			// The legend names the errors (grey ones in particular); room above the bars
			// keeps it off them.
			bottom.Legend.Add(look.label, bars)
			bottom.Legend.Left = false
			bottom.Legend.XOffs = -vg.Points(6)
			headroom = 1.9
		}
	}
	bottom.Y.Max = max(1, maxErr*headroom)
	bottom.Y.Tick.Marker = countTicks{}
	// Both panels share one time range.
	bottom.X.Min, bottom.X.Max = top.X.Min, top.X.Max
	return renderSVG("throughput and errors over time", cv, cv.h+0.9*vg.Inch, func(dc draw.Canvas) error {
		h := dc.Max.Y - dc.Min.Y
		upper := draw.Crop(dc, 0, 0, h*0.34, 0)
		lower := draw.Crop(dc, 0, 0, 0, -h*0.68)
		// Align the two panels' data areas on the same left edge, and on the latency
		// chart's above when the labels allow it.
		pad := max(yAxisWidth(top, upper), yAxisWidth(bottom, lower), timeGutter)
		top.Draw(draw.Crop(upper, pad-yAxisWidth(top, upper), 0, 0, 0))
		bottom.Draw(draw.Crop(lower, pad-yAxisWidth(bottom, lower), 0, 0, 0))
		return nil
	})
}

// timeGutter is where the data area of the per-second charts starts, so the latency and the
// throughput charts, stacked at the same width, put each second at the same x.
const timeGutter = 0.8 * vg.Inch

// yAxisWidth is how far the data area of p starts from the left of c.
func yAxisWidth(p *plot.Plot, c draw.Canvas) vg.Length {
	return p.DataCanvas(c).Min.X - c.Min.X
}

// barWidth is the width of one of n per-second bars: 70% of its slot.
func (cv canvas) barWidth(n int) vg.Length {
	w := (cv.w - timeGutter) / vg.Length(max(n, 1)) * 0.7
	return min(max(w, vg.Points(1)), vg.Points(40))
}

// secondTicks is the time axis ticker for cv: fewer ticks on a phone's narrow canvas.
func (cv canvas) secondTicks() secondTicks {
	if cv.narrow {
		return secondTicks{n: 6}
	}
	return secondTicks{n: 12}
}

// countTicks marks a count axis at about five round steps (1, 2 or 5 × 10ⁿ, never
// fractional), labelled without decimals.
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	step := math.Max(niceStep((max-min)/5), 1)
	return stepTicks(min, max, step, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
}

// statusLabel keeps a status code key short and plain: it came from a file.
func statusLabel(k string) string {
	if k == "0" {
		return "transport error"
	}
	k = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, k)
	return truncRunes(k, 12)
}

// statusColor colours a status code bar by class. With neutral (a passing run's expected
// errors, see errorLook) 5xx and transport errors are grey instead of red and purple.
func statusColor(k string, neutral bool) color.Color {
	switch {
	case neutral && (k == "0" || strings.HasPrefix(k, "5")):
		return colNeutral
	case strings.HasPrefix(k, "2"):
		return colGreen
	case strings.HasPrefix(k, "3"):
		return colBlue
	case strings.HasPrefix(k, "4"):
		return colAmber
	case strings.HasPrefix(k, "5"):
		return colRed
	default:
		return colPurple
	}
}

// statusChart is a bar per status code, coloured by class, with its count on top.
func statusChart(cv canvas, codes map[string]int, look errorLook) (string, error) {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	p := newPlot(cv, "", "answers")
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks{}
	names := make([]string, len(keys))
	var labels plotter.XYLabels
	top := 0.0
	for i, k := range keys {
		names[i] = statusLabel(k)
		n := float64(max(codes[k], 0))
		top = max(top, n)
		bw := vg.Points(34)
		if cv.narrow {
			bw = vg.Points(min(34, 200/float64(len(keys))))
		}
		bc, err := plotter.NewBarChart(plotter.Values{n}, bw)
		if err != nil {
			return "", err
		}
		bc.Color = statusColor(k, look.neutral)
		bc.LineStyle.Width = 0
		bc.XMin = float64(i)
		p.Add(bc)
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(i), Y: n})
		labels.Labels = append(labels.Labels, strconv.Itoa(int(n)))
	}
	p.Y.Max = top * 1.15
	// Half a slot on each side keeps the first and last bars inside the axes.
	p.X.Min, p.X.Max = -0.5, float64(len(keys))-0.5
	if len(keys) > 0 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return "", err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font = font.From(sans, cv.tick)
			lb.TextStyle[i].Color = colInk
			lb.TextStyle[i].XAlign = draw.XCenter
		}
		lb.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(lb)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Font = font.From(sans, cv.label)
	p.X.Tick.Label.Color = colInk
	if cv.narrow && len(keys) > 4 {
		p.X.Tick.Label.Rotation = math.Pi / 5
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	return renderSVG("status codes", cv, cv.h, func(dc draw.Canvas) error {
		p.Draw(dc)
		return nil
	})
}

// histogramChart draws the ack latency histogram, one bar per bucket.
func histogramChart(cv canvas, buckets []Bucket) (string, error) {
	bs := slices.Clone(buckets)
	slices.SortFunc(bs, func(a, b Bucket) int {
		switch {
		case a.LeMS < b.LeMS:
			return -1
		case a.LeMS > b.LeMS:
			return 1
		}
		return 0
	})
	bs = trimBuckets(bs)
	p := newPlot(cv, "ack latency (upper bound of bucket)", "acks")
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks{}
	vals := make(plotter.Values, len(bs))
	names := make([]string, len(bs))
	top := 0.0
	for i, b := range bs {
		vals[i] = float64(max(b.Count, 0))
		top = max(top, vals[i])
		if math.IsInf(b.LeMS, 1) || b.LeMS > 1e12 {
			names[i] = "> max"
		} else {
			names[i] = "≤" + shortMS(finite(b.LeMS))
		}
	}
	p.Y.Max = top * 1.08
	p.X.Min, p.X.Max = -0.5, float64(len(bs))-0.5
	if len(bs) > 0 {
		slots := 280.0
		if cv.narrow {
			slots = 200
		}
		bc, err := plotter.NewBarChart(vals, vg.Points(min(26, slots/float64(max(len(bs), 1)))))
		if err != nil {
			return "", err
		}
		bc.Color = colBlue
		bc.LineStyle.Width = 0
		p.Add(bc)
	}
	p.NominalX(names...)
	if len(bs) > 8 || cv.narrow && len(bs) > 4 {
		p.X.Tick.Label.Rotation = math.Pi / 5
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	return renderSVG("latency histogram", cv, cv.h, func(dc draw.Canvas) error {
		p.Draw(dc)
		return nil
	})
}

// trimBuckets drops the empty buckets before the first and after the last non-empty one,
// keeping one empty neighbour on each side so the shape's edges show.
func trimBuckets(bs []Bucket) []Bucket {
	first, last := -1, -1
	for i, b := range bs {
		if b.Count > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return bs
	}
	return bs[max(first-1, 0):min(last+2, len(bs))]
}

// loadCharts renders every chart of a load run, each drawn twice: for a wide screen and for
// a phone. A chart that cannot be drawn is kept with its error, so the page says so instead
// of silently dropping it.
func loadCharts(r *Results) []chart {
	l := r.Load
	look := errorLookFor(r)
	var out []chart
	add := func(id, title, caption string, draw func(canvas) (string, error), wide canvas) {
		c := chart{ID: id, Title: title, Caption: caption}
		var err error
		if c.SVG, err = draw(wide); err == nil {
			c.SVGNarrow, err = draw(phoneCanvas)
		}
		if err != nil {
			c.SVG, c.SVGNarrow, c.Err = "", "", err.Error()
		}
		out = append(out, c)
	}
	errNote := ""
	if look.note != "" {
		errNote = "; " + look.note
	}
	if len(l.Series) > 0 {
		add("latency", "Ack latency over time", "p50, p90 and p99 of the acknowledgements of each second",
			func(cv canvas) (string, error) { return latencyChart(cv, l.Series) }, wideCanvas)
		caption := "deliveries sent and acknowledged per second; errors are 5xx answers and transport failures"
		if _, partial := sendWindow(l.Series, l.DurationS); partial > 0 {
			caption += "; the lines stop where the send schedule ends (the last, partial second holds only its final hit and retries)"
		}
		add("throughput", "Throughput and errors over time", caption+errNote,
			func(cv canvas) (string, error) { return throughputChart(cv, l.Series, l.DurationS, look) }, wideCanvas)
	}
	if len(l.StatusCodes) > 0 {
		caption := "every attempt, retries included; 401 is the right answer to an invalid signature"
		if look.neutral {
			caption += "; 5xx and transport errors in grey: " + look.label + ", the run passed"
		}
		add("status", "Status codes", caption,
			func(cv canvas) (string, error) { return statusChart(cv, l.StatusCodes, look) }, halfCanvas)
	}
	if len(l.Histogram) > 0 {
		add("histogram", "Latency histogram", "acknowledged deliveries per latency bucket",
			func(cv canvas) (string, error) { return histogramChart(cv, l.Histogram) }, halfCanvas)
	}
	return out
}
