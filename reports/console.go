package reports

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// TextOption configures the console printers.
type TextOption func(*textConfig)

type textConfig struct {
	color   bool
	secrets []string
}

// WithColor turns ANSI colours on (only when asked: the caller knows whether w is a terminal).
func WithColor(on bool) TextOption { return func(c *textConfig) { c.color = on } }

// WithTextSecrets redacts these secrets from everything printed (see RedactString).
func WithTextSecrets(secrets ...string) TextOption {
	return func(c *textConfig) { c.secrets = append(c.secrets, secrets...) }
}

func newTextConfig(opts []TextOption) *textConfig {
	c := &textConfig{}
	for _, o := range opts {
		o(c)
	}
	return c
}

const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGrey   = "\x1b[90m"
	ansiBold   = "\x1b[1m"
)

func (c *textConfig) paint(code, s string) string {
	if !c.color {
		return s
	}
	return code + s + ansiReset
}

// clean makes target-supplied text safe for a terminal: secrets redacted, control
// characters (escape sequences included) shown as U+FFFD, newlines kept only if multi.
func (c *textConfig) clean(s string, multi bool) string {
	s = scrubKnownSecrets(RedactString(s, c.secrets...))
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && multi:
			return r
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '\uFFFD'
		}
		return r
	}, s)
}

// Mark is the one-character sign of an outcome in text output.
func Mark(o Outcome) string {
	switch o {
	case Passed:
		return "✓"
	case Failed:
		return "✗"
	case NotApplicable:
		return "·"
	case NotObservable:
		return "?"
	default:
		return "-"
	}
}

func outcomeColor(c Case) string {
	switch c.Outcome {
	case Passed:
		return ansiGreen
	case Failed:
		if c.Level == MUST {
			return ansiRed
		}
		return ansiYellow
	default:
		return ansiGrey
	}
}

// truncRunes cuts s to n runes, marking the cut with an ellipsis.
func truncRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// padRunes pads s with spaces to n runes.
func padRunes(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

const (
	caseIDWidth  = 18
	caseReqWidth = 60
	// caseIndent lines continuation lines up under the requirement: "  ✓ " + ID + level.
	caseIndent = 4 + caseIDWidth + 1 + 6 + 1
)

// wrapWords breaks s into lines of at most width runes, at spaces, keeping a number with
// the word after it ("5 seconds"); a word longer than width is cut into width-rune pieces
// (nothing is dropped). It returns at least one line.
func wrapWords(s string, width int) []string {
	var words []string
	fields := strings.Fields(s)
	for i := 0; i < len(fields); i++ {
		w := fields[i]
		if i+1 < len(fields) && isNumber(w) && utf8.RuneCountInString(w)+1+utf8.RuneCountInString(fields[i+1]) <= width {
			w += " " + fields[i+1]
			i++
		}
		words = append(words, w)
	}
	var lines []string
	cur := ""
	for _, w := range words {
		for utf8.RuneCountInString(w) > width {
			if cur != "" {
				lines, cur = append(lines, cur), ""
			}
			r := []rune(w)
			lines, w = append(lines, string(r[:width])), string(r[width:])
		}
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			lines, cur = append(lines, cur), w
		}
	}
	return append(lines, cur)
}

// isNumber reports whether w is a plain number, as in "within 5 seconds" or "1.5 KiB".
func isNumber(w string) bool {
	digits := false
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r == '.' || r == ',' || r == '-' || r == '+':
		default:
			return false
		}
	}
	return digits
}

// PrintCase prints a case in the spirit of h2spec: mark, ID, level, the requirement and the
// outcome (and, for a case that did not run, why) on its first line. A requirement longer
// than its column wraps onto lines of its own under it instead of being cut, so the numbers
// in it ("within 5 seconds") stay whole; a failed case adds its expected and actual values,
// never shortened: they are what differs.
func PrintCase(w io.Writer, c Case, opts ...TextOption) {
	printCase(w, newTextConfig(opts), c, true)
}

// printCase prints c; detail adds a failed case's expected and actual lines.
func printCase(w io.Writer, cfg *textConfig, c Case, detail bool) {
	req := wrapWords(cfg.clean(c.Requirement, false), caseReqWidth)
	outcome := string(c.Outcome)
	if c.Outcome != Passed && c.Outcome != Failed && c.Reason != "" {
		outcome += " (" + truncRunes(cfg.clean(c.Reason, false), 48) + ")"
	}
	col := outcomeColor(c)
	fmt.Fprintf(w, "  %s %s %s %s %s\n",
		cfg.paint(col, Mark(c.Outcome)),
		padRunes(cfg.clean(c.ID, false), caseIDWidth),
		padRunes(string(c.Level), 6),
		padRunes(req[0], caseReqWidth),
		cfg.paint(col, outcome))
	pad := strings.Repeat(" ", caseIndent)
	for _, l := range req[1:] {
		fmt.Fprintf(w, "%s%s\n", pad, l)
	}
	if detail && c.Outcome == Failed && (c.Expected != "" || c.Actual != "") {
		fmt.Fprintf(w, "%sexpected: %s\n", pad, cfg.clean(orDash(c.Expected), false))
		fmt.Fprintf(w, "%sactual:   %s\n", pad, cfg.clean(orDash(c.Actual), false))
	}
}

// indent prefixes every line after the first with pad.
func indent(s, pad string) string {
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}

// PrintRecap prints every case of r again, in the order of r.Cases (the harness gives them
// in catalogue order, whatever order the seed ran them in, so two logs of the same
// selection diff line by line where PrintCase's lines, printed as cases end, are shuffled),
// then the failures (requirement, then expected and actual), the verdict, and closes with a
// line of exactly the form "N passed, N failed, N skipped", which CI tooling reads. Skipped
// counts not-applicable and not-observable cases too; they are also given apart on the line
// before. A load run's thresholds count as checks.
func PrintRecap(w io.Writer, r *Results, opts ...TextOption) {
	cfg := newTextConfig(opts)
	if len(r.Cases) > 0 {
		fmt.Fprintf(w, "\n%s\n", cfg.paint(ansiBold, "Cases, in catalogue order:"))
		for _, c := range r.Cases {
			printCase(w, cfg, c, false)
		}
	}
	var failed []Case
	for _, c := range r.Cases {
		if c.Outcome == Failed {
			failed = append(failed, c)
		}
	}
	var failedTh []Threshold
	void := false
	if r.Load != nil {
		for _, th := range r.Load.Thresholds {
			if th.Result() == Failed {
				failedTh = append(failedTh, th)
			}
		}
		void = r.Load.Ledger.Void
	}
	if len(failed)+len(failedTh) > 0 || void {
		fmt.Fprintf(w, "\n%s\n", cfg.paint(ansiBold, "Failures:"))
	}
	for _, c := range failed {
		col := outcomeColor(c)
		fmt.Fprintf(w, "\n  %s %s [%s] %s\n", cfg.paint(col, Mark(Failed)), cfg.clean(c.ID, false), c.Level,
			indent(cfg.clean(c.Requirement, true), "      "))
		if c.Source != "" {
			fmt.Fprintf(w, "      source:   %s\n", cfg.clean(c.Source, false))
		}
		fmt.Fprintf(w, "      expected: %s\n", indent(cfg.clean(orDash(c.Expected), true), "                "))
		fmt.Fprintf(w, "      actual:   %s\n", indent(cfg.clean(orDash(c.Actual), true), "                "))
		if c.Reason != "" {
			fmt.Fprintf(w, "      reason:   %s\n", indent(cfg.clean(c.Reason, true), "                "))
		}
	}
	for _, th := range failedTh {
		fmt.Fprintf(w, "\n  %s threshold %s\n      observed: %s\n", cfg.paint(ansiRed, Mark(Failed)),
			cfg.clean(th.Expr, false), cfg.clean(thresholdDisplay(th), false))
	}
	if void {
		fmt.Fprintf(w, "\n  %s ledger void: %s\n", cfg.paint(ansiRed, Mark(Failed)), cfg.clean(orDash(r.Load.Ledger.VoidReason), false))
	}
	if r.Load != nil && r.Load.Outage != nil {
		fmt.Fprintf(w, "\n  %s %s\n", cfg.paint(ansiRed, Mark(Failed)), cfg.clean(OutageLine(r.Load.Outage), false))
	}
	fmt.Fprintln(w)
	if t := r.Run.TLS; t != nil {
		line := cfg.clean(t.Summary(), false)
		if t.Insecure {
			line = cfg.paint(ansiRed, line)
		}
		fmt.Fprintf(w, "tls: %s\n", line)
	}
	v := r.Verdict()
	fmt.Fprintf(w, "verdict: %s\n", cfg.paint(verdictColor(v), string(v)))
	if ex := r.Explain(); ex != "" {
		fmt.Fprintf(w, "  %s\n", cfg.clean(ex, false))
	}
	closingLines(w, Count(r))
}

// OutageLine says in plain words that the target stopped answering, and when.
func OutageLine(o *Outage) string {
	return fmt.Sprintf("the target stopped answering %.1fs into the run (at %s): %s; none of the %d attempts after that got an HTTP answer",
		o.AfterS, o.At.UTC().Format("15:04:05.000"), o.Error, o.Attempts)
}

// closingLines prints the "(n not applicable, m not observable)" line when either is
// non-zero, then the closing "N passed, N failed, N skipped" line.
func closingLines(w io.Writer, n Counts) {
	var extra []string
	if n.NotApplicable > 0 {
		extra = append(extra, fmt.Sprintf("%d not applicable", n.NotApplicable))
	}
	if n.NotObservable > 0 {
		extra = append(extra, fmt.Sprintf("%d not observable", n.NotObservable))
	}
	if len(extra) > 0 {
		fmt.Fprintf(w, "(%s)\n", strings.Join(extra, ", "))
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", n.Passed, n.Failed, n.Skipped)
}

func verdictColor(v Verdict) string {
	switch v {
	case Conformant:
		return ansiGreen
	case ConformantShouldGaps, Inconclusive, Incomplete:
		return ansiYellow
	default:
		return ansiRed
	}
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func thresholdDisplay(th Threshold) string {
	if th.Display != "" {
		return th.Display
	}
	return formatFloat(th.Observed)
}

func formatFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// PrintLoadSummary prints a load run's ledger, latency and each threshold with its
// observed value and a ✓/✗ mark. It prints nothing for a run without load.
func PrintLoadSummary(w io.Writer, r *Results, opts ...TextOption) {
	if r.Load == nil {
		return
	}
	cfg := newTextConfig(opts)
	l := r.Load
	g := l.Ledger
	row := func(name, value string) {
		fmt.Fprintf(w, "  %s: %s\n", padDots(name, 24), value)
	}
	mark := func(ok bool, v string) string {
		if ok {
			return v
		}
		return cfg.paint(ansiRed, v+" ✗")
	}
	fmt.Fprintln(w, cfg.paint(ansiBold, "ledger"))
	unacked := g.FailedAfterRetries + g.CutOff
	row("published", fmt.Sprintf("%d = %d acked + %d failed after retries + %d cut off", g.Published, g.Acked, g.FailedAfterRetries, g.CutOff))
	row("acked", fmt.Sprint(g.Acked))
	row("failed after retries", mark(g.FailedAfterRetries == 0, fmt.Sprint(g.FailedAfterRetries)))
	row("cut off", mark(g.CutOff == 0, fmt.Sprint(g.CutOff)))
	row("unacked", mark(unacked == 0, fmt.Sprint(unacked)))
	row("attempts", fmt.Sprintf("%d (%d retries)", g.Attempts, g.Retries))
	if g.Observed && g.Effects >= 0 {
		row("effects", fmt.Sprint(g.Effects))
		row("lost", mark(g.Lost == 0, fmt.Sprint(g.Lost)))
		row("doubled", mark(g.Doubled == 0, fmt.Sprint(g.Doubled)))
	} else {
		row("effects", "not observed (no effect sink)")
	}
	row("invalid sent", fmt.Sprint(g.InvalidSent))
	row("invalid accepted", mark(g.InvalidAccepted == 0, fmt.Sprint(g.InvalidAccepted)))
	if g.Void {
		row("ledger", cfg.paint(ansiRed, "void ✗: "+cfg.clean(orDash(g.VoidReason), false)))
	}
	fmt.Fprintln(w, cfg.paint(ansiBold, "ack latency"))
	row("p50 / p90 / p99", fmt.Sprintf("%s / %s / %s", fmtMS(l.Latency.P50), fmtMS(l.Latency.P90), fmtMS(l.Latency.P99)))
	row("mean / max", fmt.Sprintf("%s / %s", fmtMS(l.Latency.Mean), fmtMS(l.Latency.Max)))
	if l.Latency.Merge != "" {
		row("merged", cfg.clean(l.Latency.Merge, false))
	}
	if len(l.Thresholds) == 0 {
		return
	}
	fmt.Fprintln(w, cfg.paint(ansiBold, "thresholds"))
	for _, th := range l.Thresholds {
		o := th.Result()
		col := map[Outcome]string{Passed: ansiGreen, Failed: ansiRed}[o]
		if col == "" {
			col = ansiGrey
		}
		shown := thresholdDisplay(th)
		if o == NotObservable {
			shown = notObservedText(th)
		}
		fmt.Fprintf(w, "  %s %s: %s\n", cfg.paint(col, Mark(o)), padDots(cfg.clean(th.Expr, false), 22), cfg.clean(shown, false))
	}
}

// padDots pads name with dots to n runes, k6 style.
func padDots(name string, n int) string {
	if k := utf8.RuneCountInString(name); k < n {
		return name + strings.Repeat(".", n-k)
	}
	return name
}

// fmtMS formats milliseconds with a unit people read at a glance.
func fmtMS(ms float64) string {
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms >= 1000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

// PrintVerdict prints a line per run (mark, kind, target, verdict, counts), the overall
// verdict, and the closing "N passed, N failed, N skipped" line over all runs.
func PrintVerdict(w io.Writer, rs []*Results, opts ...TextOption) {
	cfg := newTextConfig(opts)
	for _, r := range rs {
		v := r.Verdict()
		n := Count(r)
		mark := VerdictMark(v)
		extra := ""
		if p, all := thresholdTally(r); all > 0 {
			extra = fmt.Sprintf(", thresholds %d/%d passed", p, all)
		}
		fmt.Fprintf(w, "  %s %s %s  %s  (%d passed, %d failed, %d skipped%s)\n",
			cfg.paint(verdictColor(v), mark), padRunes(KindTitle(r.Kind), 20),
			truncRunes(cfg.clean(r.Run.Target, false), 48), cfg.paint(verdictColor(v), string(v)),
			n.Passed, n.Failed, n.Skipped, extra)
	}
	v := Overall(rs...)
	fmt.Fprintf(w, "verdict: %s\n", cfg.paint(verdictColor(v), string(v)))
	for _, r := range rs {
		if ex := r.Explain(); ex != "" && r.Verdict() == v {
			fmt.Fprintf(w, "  %s: %s\n", KindTitle(r.Kind), cfg.clean(ex, false))
		}
	}
	closingLines(w, Count(rs...))
}

// VerdictMark is the one-character sign of a verdict in text output.
func VerdictMark(v Verdict) string {
	switch v {
	case Conformant:
		return "✓"
	case ConformantShouldGaps:
		return "!"
	case Inconclusive, Incomplete:
		return "?"
	case Interrupted:
		return "⊘"
	default:
		return "✗"
	}
}
