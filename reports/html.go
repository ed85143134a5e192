package reports

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookproof/hookproof/chaos"
)

// The page is one self-contained file: CSS and a few lines of script inline, charts as inline
// SVG, no URL to anything outside it. A Content-Security-Policy in the page lets only our own
// script run (by its hash), so even text that escaped escaping could not execute.

//go:embed report.html.tmpl
var reportTemplate string

//go:embed report.css
var reportCSS string

//go:embed report.js
var reportJS string

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	// svg marks a chart drawn by renderSVG as safe markup: gonum escapes every text it
	// draws, and the only text from a results file (status code keys) is reduced to
	// letters and digits first (statusLabel).
	"svg": func(s string) template.HTML { return template.HTML(s) },
}).Parse(reportTemplate))

// HTMLOption configures RenderHTML.
type HTMLOption func(*htmlConfig)

type htmlConfig struct {
	title     string
	generated time.Time
	version   string
	secrets   []string
	sources   []string
	excerpt   int
}

// WithTitle sets the page title (default "hookproof reliability report").
func WithTitle(t string) HTMLOption { return func(c *htmlConfig) { c.title = t } }

// WithGenerated sets the generation time shown on the page (default: now). Tests fix it.
func WithGenerated(t time.Time) HTMLOption { return func(c *htmlConfig) { c.generated = t } }

// WithVersion names the hookproof build that made the report.
func WithVersion(v string) HTMLOption { return func(c *htmlConfig) { c.version = v } }

// WithSecrets redacts these secrets from every string on the page (see RedactString).
// Anything shaped like a whsec_ secret is always redacted.
func WithSecrets(secrets ...string) HTMLOption {
	return func(c *htmlConfig) { c.secrets = append(c.secrets, secrets...) }
}

// WithSources names the results files the report was made from, for the footer.
func WithSources(paths ...string) HTMLOption {
	return func(c *htmlConfig) { c.sources = append(c.sources, paths...) }
}

// WithBodyLimit caps each request or response body shown as evidence (bytes; default 4 KiB).
func WithBodyLimit(n int) HTMLOption { return func(c *htmlConfig) { c.excerpt = n } }

// RenderHTML writes the report for rs (already merged: see Merge) to w as one HTML file
// that works offline and runs no script but its own.
func RenderHTML(w io.Writer, rs []*Results, opts ...HTMLOption) error {
	cfg := &htmlConfig{title: "hookproof reliability report", excerpt: 4 << 10}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.generated.IsZero() {
		cfg.generated = time.Now()
	}
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("reports: render html: results %d is nil", i+1)
		}
	}
	pg := buildPage(cfg, rs)
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, pg); err != nil {
		return fmt.Errorf("reports: render html: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("reports: write html: %w", err)
	}
	return nil
}

// scriptHash is the CSP source that allows exactly our inline script.
func scriptHash(js string) string {
	sum := sha256.Sum256([]byte(js))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

type page struct {
	Title      string
	CSP        string
	CSS        template.CSS
	Script     template.JS
	Generated  string
	GeneratedT string
	Version    string
	Schema     string
	Sources    []string
	Verdict    verdictView
	Runs       []*runView
}

type verdictView struct {
	Text   string
	Class  string // ok, gaps, fail
	Icon   string
	Why    []string
	Counts Counts
	ThPass int
	ThAll  int
}

type kv struct {
	K, V  string
	Mono  bool
	Class string
}

type filterOpt struct {
	Value, Label string
	Count        int
}

type runView struct {
	Anchor    string
	TableID   string
	Title     string
	Target    string
	Verdict   verdictView
	Meta      []kv
	Args      string
	Failures  []*caseView
	FailClass string // "fail" when a MUST case failed, else "gaps"
	Cases     []*caseView
	// HasEA: some case has an expected or actual value. When none has (a run where every
	// case passed), the table drops those two empty columns and gives the requirement room.
	HasEA      bool
	Outcomes   []filterOpt
	Levels     []filterOpt
	Load       *loadView
	Chaos      *chaosView
	TargetLogs string
}

type caseView struct {
	Anchor, ID, Level, Family, Requirement, Source string
	Outcome, OutcomeLabel, Mark, Reason            string
	Expected, Actual, Duration                     string
	Evidence                                       []exchangeView
}

type exchangeView struct {
	Note, Meta string
	Request    string
	Response   string
	Failed     bool
}

type card struct {
	Label, Value, Note, Class string
}

type loadView struct {
	Cards      []card
	Minor      []kv
	Latency    []kv
	Merge      string
	Void       string
	Outage     string
	Thresholds []thresholdView
	Charts     []chart
	Errors     []kv
	Shape      string
}

type thresholdView struct {
	Expr, Observed, Mark, Class string
}

type chaosView struct {
	Spec, Seed, Requests string
	Rows                 []chaosRow
	Ledger               string
}

type chaosRow struct {
	Fault, Type, Does, Injected, Did, Class string
}

func verdictFor(v Verdict) verdictView {
	switch v {
	case Conformant:
		return verdictView{Text: "Conformant", Class: "ok", Icon: "✓"}
	case ConformantShouldGaps:
		return verdictView{Text: "Conformant with SHOULD gaps", Class: "gaps", Icon: "!"}
	case Inconclusive:
		return verdictView{Text: "Inconclusive: nothing could be checked", Class: "gaps", Icon: "?"}
	case Incomplete:
		return verdictView{Text: "Incomplete: MUST requirements not observed", Class: "gaps", Icon: "?"}
	case Interrupted:
		return verdictView{Text: "Interrupted: the run did not finish", Class: "fail", Icon: "⊘"}
	default:
		return verdictView{Text: "Non-conformant", Class: "fail", Icon: "✗"}
	}
}

// why explains a verdict in a few short phrases.
func why(rs ...*Results) []string {
	var must, should, cases int
	strict := false
	for _, r := range rs {
		t := r.Tally()
		must += t.MustFailed
		should += t.ShouldFailed
		cases += len(r.Cases)
		strict = strict || r.Run.Strict
	}
	thPass, thAll := thresholdTally(rs...)
	var out []string
	unobserved := false
	for _, r := range rs {
		if ex := r.Explain(); ex != "" {
			out = append(out, ex)
		}
		unobserved = unobserved || len(r.UnobservedMust()) > 0
	}
	if cases > 0 {
		out = append(out, plural(cases, "requirement")+" checked")
	}
	switch {
	case must > 0:
		out = append(out, plural(must, "MUST requirement")+" failed")
	case cases > 0 && unobserved:
		out = append(out, "every observed MUST requirement met")
	case cases > 0:
		out = append(out, "every MUST requirement met")
	}
	if should > 0 {
		s := plural(should, "SHOULD requirement") + " failed"
		if strict {
			s += " (strict)"
		}
		out = append(out, s)
	}
	if thAll > 0 {
		if thPass == thAll {
			out = append(out, fmt.Sprintf("all %d thresholds passed", thAll))
		} else {
			out = append(out, fmt.Sprintf("%d of %d thresholds failed", thAll-thPass, thAll))
		}
	}
	for _, r := range rs {
		if r.Load != nil && r.Load.Ledger.Void {
			out = append(out, "a load ledger is void")
			break
		}
	}
	if len(rs) == 0 {
		out = append(out, "no results were given")
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func buildPage(cfg *htmlConfig, rs []*Results) *page {
	clean := func(s string) string { return scrubKnownSecrets(RedactString(s, cfg.secrets...)) }
	js := reportJS
	pg := &page{
		Title:      clean(cfg.title),
		CSS:        template.CSS(reportCSS),
		Script:     template.JS(js),
		CSP:        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src " + scriptHash(js) + "; base-uri 'none'; form-action 'none'",
		Generated:  cfg.generated.UTC().Format("2006-01-02 15:04:05 UTC"),
		GeneratedT: cfg.generated.UTC().Format(time.RFC3339),
		Version:    clean(cfg.version),
		Schema:     Schema,
	}
	for _, s := range cfg.sources {
		pg.Sources = append(pg.Sources, clean(s))
	}
	pg.Verdict = verdictFor(Overall(rs...))
	pg.Verdict.Why = why(rs...)
	pg.Verdict.Counts = Count(rs...)
	pg.Verdict.ThPass, pg.Verdict.ThAll = thresholdTally(rs...)
	for i, r := range rs {
		pg.Runs = append(pg.Runs, buildRun(cfg, clean, i+1, r))
	}
	return pg
}

var anchorUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func anchor(parts ...string) string {
	return anchorUnsafe.ReplaceAllString(strings.Join(parts, "-"), "_")
}

func buildRun(cfg *htmlConfig, clean func(string) string, n int, r *Results) *runView {
	rv := &runView{
		Anchor:     "run-" + strconv.Itoa(n),
		TableID:    "cases-" + strconv.Itoa(n),
		Title:      KindTitle(Kind(clean(string(r.Kind)))),
		Target:     clean(r.Run.Target),
		Verdict:    verdictFor(r.Verdict()),
		TargetLogs: clean(r.TargetLogs),
	}
	rv.Verdict.Why = why(r)
	rv.Verdict.Counts = Count(r)
	rv.Verdict.ThPass, rv.Verdict.ThAll = thresholdTally(r)
	rv.Meta = runMeta(clean, r)
	if len(r.Run.Args) > 0 {
		rv.Args = clean(strings.Join(RedactArgs(r.Run.Args), " "))
	}
	outcomes := map[string]int{}
	levels := map[string]int{}
	for _, c := range r.Cases {
		cv := buildCase(cfg, clean, n, c)
		rv.Cases = append(rv.Cases, cv)
		if c.Outcome == Failed {
			rv.Failures = append(rv.Failures, cv)
			if c.Level == MUST || r.Run.Strict {
				rv.FailClass = "fail"
			}
		}
		outcomes[cv.Outcome]++
		levels[cv.Level]++
		rv.HasEA = rv.HasEA || cv.Expected != "" || cv.Actual != ""
	}
	if len(rv.Failures) > 0 && rv.FailClass == "" {
		rv.FailClass = "gaps"
	}
	rv.Outcomes = filterOpts(outcomes, []string{string(Passed), string(Failed), string(Skipped), string(NotApplicable), string(NotObservable)}, outcomeLabel)
	rv.Levels = filterOpts(levels, []string{string(MUST), string(SHOULD), string(INFO)}, func(s string) string { return s })
	if r.Load != nil {
		rv.Load = buildLoad(clean, r)
	}
	if r.Chaos != nil {
		rv.Chaos = buildChaos(clean, r)
	}
	return rv
}

// filterOpts lists the values present, known ones first in the given order.
func filterOpts(counts map[string]int, order []string, label func(string) string) []filterOpt {
	var out []filterOpt
	for _, v := range order {
		if n := counts[v]; n > 0 {
			out = append(out, filterOpt{Value: v, Label: label(v), Count: n})
			delete(counts, v)
		}
	}
	rest := slices.Sorted(maps.Keys(counts))
	for _, v := range rest {
		out = append(out, filterOpt{Value: v, Label: label(v), Count: counts[v]})
	}
	return out
}

func outcomeLabel(o string) string {
	switch Outcome(o) {
	case NotApplicable:
		return "not applicable"
	case NotObservable:
		return "not observable"
	}
	return o
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

func runMeta(clean func(string) string, r *Results) []kv {
	m := r.Run
	var out []kv
	add := func(k, v string, mono bool) {
		if v != "" {
			out = append(out, kv{K: k, V: clean(v), Mono: mono})
		}
	}
	add("Target", m.Target, true)
	add("Scheme", m.Scheme, false)
	seed := strconv.FormatInt(m.Seed, 10)
	if m.Shard != nil && len(m.Shard.Seeds) > 0 {
		var ss []string
		for _, s := range m.Shard.Seeds {
			ss = append(ss, strconv.FormatInt(s, 10))
		}
		seed += " (shards: " + strings.Join(ss, ", ") + ")"
	}
	add("Seed", seed, true)
	if m.Strict {
		add("Mode", "strict: SHOULD failures fail the run", false)
	} else if len(r.Cases) > 0 {
		add("Mode", "non-strict: SHOULD failures are gaps", false)
	}
	add("Chaos", m.ChaosSpec, true)
	if t := m.TLS; t != nil {
		add("TLS", t.Summary(), false)
		if t.Insecure {
			out[len(out)-1].Class = "warn"
		}
	}
	if m.Sink != "" {
		add("Effect sink", m.Sink, true)
	} else if r.Load != nil && r.Load.Ledger.Observed {
		// A collector handed to the run in-process has no address to record.
		add("Effect sink", "in-process collector", false)
	} else if r.Kind != KindConformSender {
		add("Effect sink", "none (effects not observed)", false)
	}
	add("Started", fmtTime(m.Started), false)
	if !m.Started.IsZero() && !m.Finished.IsZero() {
		add("Duration", fmtDuration(m.Finished.Sub(m.Started)), false)
	}
	if sh := m.Shard; sh != nil {
		switch {
		case sh.Index == 0:
			add("Shards", fmt.Sprintf("%d shards merged (run %s)", sh.Count, orDash(sh.RunID)), false)
		default:
			add("Shard", fmt.Sprintf("%d of %d (run %s)", sh.Index, sh.Count, orDash(sh.RunID)), false)
		}
	}
	if len(m.Versions) > 0 {
		keys := slices.Sorted(maps.Keys(m.Versions))
		var vs []string
		for _, k := range keys {
			vs = append(vs, k+" "+m.Versions[k])
		}
		add("Versions", strings.Join(vs, " · "), false)
	}
	return out
}

func buildCase(cfg *htmlConfig, clean func(string) string, run int, c Case) *caseView {
	cv := &caseView{
		Anchor:       anchor("case", strconv.Itoa(run), c.ID),
		ID:           clean(c.ID),
		Level:        clean(string(c.Level)),
		Family:       clean(c.Family),
		Requirement:  clean(c.Requirement),
		Source:       clean(c.Source),
		Outcome:      clean(string(c.Outcome)),
		OutcomeLabel: outcomeLabel(clean(string(c.Outcome))),
		Mark:         Mark(c.Outcome),
		Reason:       clean(c.Reason),
		Expected:     clean(c.Expected),
		Actual:       clean(c.Actual),
	}
	if c.DurationMS > 0 {
		cv.Duration = fmtMS(c.DurationMS)
	}
	for _, ex := range c.Evidence {
		cv.Evidence = append(cv.Evidence, buildExchange(cfg, clean, ex))
	}
	return cv
}

// headerBlock formats headers one per line, sorted, with secret-bearing values redacted.
func headerBlock(h map[string][]string) string {
	red := RedactHeaders(http.Header(h))
	names := slices.Sorted(maps.Keys(red))
	var b strings.Builder
	for _, k := range names {
		for _, v := range red[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

func buildExchange(cfg *htmlConfig, clean func(string) string, ex Exchange) exchangeView {
	body := func(s string) string { return Excerpt([]byte(s), cfg.excerpt) }
	var req strings.Builder
	req.WriteString(ex.Method + " " + ex.URL + "\n")
	req.WriteString(headerBlock(ex.RequestHeaders))
	if ex.RequestBody != "" {
		req.WriteString("\n" + body(ex.RequestBody))
	}
	var resp strings.Builder
	switch {
	case ex.Error != "":
		resp.WriteString("no answer: " + ex.Error + "\n")
	case ex.Status != 0:
		resp.WriteString(strconv.Itoa(ex.Status) + " " + http.StatusText(ex.Status) + "\n")
	}
	resp.WriteString(headerBlock(ex.ResponseHeaders))
	if ex.ResponseBody != "" {
		resp.WriteString("\n" + body(ex.ResponseBody))
	}
	var meta []string
	if ex.DurationMS > 0 {
		meta = append(meta, fmtMS(ex.DurationMS))
	}
	if !ex.At.IsZero() {
		meta = append(meta, ex.At.UTC().Format("15:04:05.000"))
	}
	return exchangeView{
		Note:     clean(ex.Note),
		Meta:     strings.Join(meta, " · "),
		Request:  clean(req.String()),
		Response: clean(resp.String()),
		Failed:   ex.Error != "" || ex.Status >= 500,
	}
}

func count(n int) string {
	// Thin-space thousands separators read well in big numbers.
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune('\u202f')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func zeroCard(label string, n int, observed bool, good, bad string) card {
	c := card{Label: label, Value: count(n)}
	switch {
	case !observed:
		c.Value, c.Note = "—", "not observed: no effect sink"
	case n == 0:
		c.Class, c.Note = "ok", good
	default:
		c.Class, c.Note = "bad", bad
	}
	return c
}

func buildLoad(clean func(string) string, r *Results) *loadView {
	l := r.Load
	g := l.Ledger
	observed := g.Observed && g.Effects >= 0
	lv := &loadView{}
	lv.Shape = fmt.Sprintf("%s deliveries/s for %s", formatFloat(l.Rate), fmtDuration(time.Duration(l.DurationS*float64(time.Second))))
	if l.Invalid > 0 || l.Duplicate > 0 {
		lv.Shape += fmt.Sprintf(" · %s%% invalid signatures · %s%% duplicate ids", formatFloat(l.Invalid*100), formatFloat(l.Duplicate*100))
	}
	pctOf := func(n, of int) string {
		if of <= 0 {
			return ""
		}
		pct := float64(n) * 100 / float64(of)
		if pct > 99.9 && n < of {
			return "99.9+% of published"
		}
		return fmt.Sprintf("%s%% of published", strconv.FormatFloat(pct, 'f', 1, 64))
	}
	lv.Cards = []card{
		{Label: "Published", Value: count(g.Published), Note: "distinct valid events"},
		{Label: "Acked", Value: count(g.Acked), Note: pctOf(g.Acked, g.Published)},
	}
	eff := card{Label: "Effects", Value: count(g.Effects), Note: "distinct effects at the sink"}
	if !observed {
		eff = card{Label: "Effects", Value: "—", Note: "not observed: no effect sink"}
	}
	unacked := zeroCard("Unacked", g.FailedAfterRetries+g.CutOff, true, "every valid event acked",
		fmt.Sprintf("%s failed after retries, %s cut off", count(g.FailedAfterRetries), count(g.CutOff)))
	lv.Cards = append(lv.Cards, unacked, eff,
		zeroCard("Lost", g.Lost, observed, "every ack has its effect", "acked, never processed"),
		zeroCard("Doubled", g.Doubled, observed, "nothing processed twice", "processed more than once"),
		zeroCard("Invalid accepted", g.InvalidAccepted, true, fmt.Sprintf("of %s invalid sent", count(g.InvalidSent)), fmt.Sprintf("of %s invalid sent", count(g.InvalidSent))),
	)
	lv.Minor = []kv{
		{K: "attempts", V: count(g.Attempts)},
		{K: "retries", V: count(g.Retries)},
		{K: "failed after retries", V: count(g.FailedAfterRetries)},
		{K: "cut off at drain", V: count(g.CutOff)},
		{K: "invalid sent", V: count(g.InvalidSent)},
	}
	if g.Void {
		lv.Void = clean(orDash(g.VoidReason))
	}
	if l.Outage != nil {
		lv.Outage = clean(OutageLine(l.Outage))
	}
	lv.Latency = []kv{
		{K: "p50", V: fmtMS(l.Latency.P50)},
		{K: "p90", V: fmtMS(l.Latency.P90)},
		{K: "p99", V: fmtMS(l.Latency.P99)},
		{K: "max", V: fmtMS(l.Latency.Max)},
		{K: "mean", V: fmtMS(l.Latency.Mean)},
	}
	lv.Merge = clean(l.Latency.Merge)
	for _, th := range l.Thresholds {
		tv := thresholdView{Expr: clean(th.Expr), Observed: clean(thresholdDisplay(th)), Mark: "✓", Class: "ok"}
		switch th.Result() {
		case Failed:
			tv.Mark, tv.Class = "✗", "bad"
		case NotObservable:
			tv.Mark, tv.Class, tv.Observed = "?", "na", clean(notObservedText(th))
		}
		lv.Thresholds = append(lv.Thresholds, tv)
	}
	lv.Charts = loadCharts(r)
	keys := make([]string, 0, len(l.Errors))
	for k := range l.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return l.Errors[keys[i]] > l.Errors[keys[j]] || l.Errors[keys[i]] == l.Errors[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		lv.Errors = append(lv.Errors, kv{K: clean(k), V: count(l.Errors[k])})
	}
	return lv
}

// measuredBy says, per chaos kind (what a fault does to a delivery), what the target's
// answer to it is measured by. A lost answer and a repeat are both, to the target, one event
// delivered again; a lost request and an error answer both make the sender retry.
var measuredBy = map[chaos.Kind]string{
	chaos.KindRepeats:      "duplicate",
	chaos.KindLosesAnswer:  "duplicate",
	chaos.KindLosesRequest: "loss",
	chaos.KindErrors:       "loss",
	chaos.KindDelays:       "delay",
	chaos.KindReorders:     "order",
	chaos.KindCorrupts:     "invalid",
}

// chaosEffect says what the target did about a fault of one chaos kind, from the ledger
// (load runs) or the requirement families that test it (conformance runs).
func chaosEffect(r *Results, k chaos.Kind) (did, class string) {
	kind := measuredBy[k]
	if r.Load == nil {
		fam := map[string][]string{"duplicate": {"idempotency", "IDEM"}, "loss": {"retry", "RETRY", "durability"},
			"delay": {"acknowledgement", "ACK", "TIMEOUT"}, "order": {"ordering", "ORD"}, "invalid": {"signature", "SIG"}}[kind]
		if fam == nil {
			return "see the requirements below", ""
		}
		var pass, fail, total int
		for _, c := range r.Cases {
			match := false
			for _, f := range fam {
				match = match || c.Family == f || strings.Contains(c.ID, "-"+f+"-")
			}
			if !match {
				continue
			}
			total++
			switch c.Outcome {
			case Passed:
				pass++
			case Failed:
				fail++
			}
		}
		switch {
		case total == 0:
			return "no requirement of this run measures it", ""
		case fail > 0:
			return fmt.Sprintf("%d of %d related requirements failed", fail, total), "bad"
		default:
			return fmt.Sprintf("%d of %d related requirements passed", pass, total), "ok"
		}
	}
	g := r.Load.Ledger
	observed := g.Observed && g.Effects >= 0
	switch kind {
	case "duplicate":
		if !observed {
			return "not observable without an effect sink", ""
		}
		if g.Doubled == 0 {
			return "processed every event once: 0 doubled", "ok"
		}
		return fmt.Sprintf("%s events processed more than once", count(g.Doubled)), "bad"
	case "loss":
		s := fmt.Sprintf("%s retries; %s failed after retries", count(g.Retries), count(g.FailedAfterRetries))
		if !observed {
			return s + "; losses not observable without a sink", ""
		}
		if g.Lost == 0 {
			return s + "; 0 acked events lost", "ok"
		}
		return s + fmt.Sprintf("; %s acked events lost", count(g.Lost)), "bad"
	case "delay":
		s := fmt.Sprintf("acked with p99 %s, max %s", fmtMS(r.Load.Latency.P99), fmtMS(r.Load.Latency.Max))
		for _, th := range r.Load.Thresholds {
			m := strings.ToLower(th.Metric + th.Expr)
			if strings.Contains(m, "p99") || strings.Contains(m, "latency") {
				if th.Result() != Passed {
					return s + " (" + th.Expr + " " + string(th.Result()) + ")", "bad"
				}
				return s + " (" + th.Expr + " passed)", "ok"
			}
		}
		return s, ""
	case "order":
		for _, c := range r.Cases {
			if c.Family == "ordering" || strings.Contains(c.ID, "-ORD") {
				cls := map[Outcome]string{Passed: "ok", Failed: "bad"}[c.Outcome]
				return c.ID + " " + outcomeLabel(string(c.Outcome)), cls
			}
		}
		return "ordering is not checked by this run", ""
	case "invalid":
		if g.InvalidAccepted == 0 {
			return "accepted none of the invalid deliveries", "ok"
		}
		return fmt.Sprintf("accepted %s invalid deliveries", count(g.InvalidAccepted)), "bad"
	}
	return "—", ""
}

func buildChaos(clean func(string) string, r *Results) *chaosView {
	c := r.Chaos
	cv := &chaosView{Spec: clean(c.Spec), Seed: strconv.FormatInt(c.Seed, 10), Requests: count(int(c.Requests))}
	for _, f := range c.FaultList() {
		typ, does := f.Type, chaos.Kind(f.Kind).Doc()
		if typ == "" {
			typ = "unknown type"
		}
		if does == "" {
			does = cmp.Or(f.Kind, "unknown")
		}
		did, class := chaosEffect(r, chaos.Kind(f.Kind))
		cv.Rows = append(cv.Rows, chaosRow{Fault: clean(f.Name), Type: clean(typ), Does: clean(does),
			Injected: count(int(f.Injected)), Did: clean(did), Class: class})
	}
	var lines []string
	for _, raw := range c.Ledger {
		lines = append(lines, Excerpt(raw, 1024))
	}
	cv.Ledger = clean(strings.Join(lines, "\n"))
	return cv
}
