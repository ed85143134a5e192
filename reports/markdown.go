package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// The Markdown summary is what a CI page shows above the logs (GitHub's job summary): the
// verdict, a line per run, the failures, and for load runs the ledger and thresholds.
// Text from a target goes only into escaped text or code spans, never raw.

// GitHubSummaryEnv names the file GitHub Actions renders as the job summary.
const GitHubSummaryEnv = "GITHUB_STEP_SUMMARY"

const mdMaxText = 300

// mdText escapes s as Markdown inline text on one line.
func mdText(s string) string {
	s = truncRunes(oneLine(scrubKnownSecrets(s)), mdMaxText)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	// At the start of a line these would open a heading, list, quote or rule.
	if out != "" && strings.ContainsRune("#-+=>", rune(out[0])) {
		out = "\\" + out
	}
	return out
}

// mdCode puts s in a code span that no backtick in s can close; | is escaped for tables.
func mdCode(s string) string {
	s = truncRunes(oneLine(scrubKnownSecrets(s)), mdMaxText)
	if s == "" {
		return "—"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return fence + " " + s + " " + fence
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func verdictEmoji(v Verdict) string {
	switch v {
	case Conformant:
		return "✅"
	case ConformantShouldGaps:
		return "⚠️"
	case Inconclusive, Incomplete:
		return "❔"
	case Interrupted:
		return "⏹️"
	default:
		return "❌"
	}
}

// WriteMarkdown writes a Markdown summary of rs (merge shards first).
func WriteMarkdown(w io.Writer, rs ...*Results) error {
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("reports: markdown: results %d is nil", i+1)
		}
	}
	var b bytes.Buffer
	v := Overall(rs...)
	n := Count(rs...)
	fmt.Fprintf(&b, "## %s hookproof: %s\n\n", verdictEmoji(v), v)
	fmt.Fprintf(&b, "%s\n\n", mdText(strings.Join(why(rs...), " · ")))
	fmt.Fprintf(&b, "**%d passed, %d failed, %d skipped**", n.Passed, n.Failed, n.Skipped)
	if n.NotApplicable+n.NotObservable > 0 {
		fmt.Fprintf(&b, " (%d not applicable, %d not observable)", n.NotApplicable, n.NotObservable)
	}
	b.WriteString("\n\n")
	if len(rs) > 0 {
		b.WriteString("| run | target | verdict | passed | failed | skipped |\n|---|---|---|--:|--:|--:|\n")
		for _, r := range rs {
			c := Count(r)
			rv := r.Verdict()
			fmt.Fprintf(&b, "| %s | %s | %s %s | %d | %d | %d |\n", mdText(KindTitle(r.Kind)), mdCode(r.Run.Target),
				verdictEmoji(rv), rv, c.Passed, c.Failed, c.Skipped)
		}
		b.WriteString("\n")
	}
	for _, r := range rs {
		if t := r.Run.TLS; t != nil {
			mark := "🔒"
			if t.Insecure {
				mark = "⚠️"
			}
			fmt.Fprintf(&b, "%s %s TLS: %s\n\n", mark, mdText(KindTitle(r.Kind)), mdText(t.Summary()))
		}
	}
	for _, r := range rs {
		var failed []Case
		for _, c := range r.Cases {
			if c.Outcome == Failed {
				failed = append(failed, c)
			}
		}
		if len(failed) > 0 {
			fmt.Fprintf(&b, "### Failures: %s\n\n", mdText(KindTitle(r.Kind)))
			for _, c := range failed {
				mark := "❌"
				if c.Level != MUST {
					mark = "⚠️"
				}
				fmt.Fprintf(&b, "- %s **%s** (%s) %s\n", mark, mdText(c.ID), mdText(string(c.Level)), mdText(c.Requirement))
				fmt.Fprintf(&b, "  - expected: %s\n  - actual: %s\n", mdCode(c.Expected), mdCode(c.Actual))
			}
			b.WriteString("\n")
		}
		if l := r.Load; l != nil {
			writeMarkdownLoad(&b, r)
		}
	}
	if _, err := b.WriteTo(w); err != nil {
		return fmt.Errorf("reports: write markdown: %w", err)
	}
	return nil
}

func writeMarkdownLoad(b *bytes.Buffer, r *Results) {
	l := r.Load
	g := l.Ledger
	fmt.Fprintf(b, "### Load: %s\n\n", mdCode(r.Run.Target))
	eff, lost, doubled := fmt.Sprint(g.Effects), fmt.Sprint(g.Lost), fmt.Sprint(g.Doubled)
	if !g.Observed || g.Effects < 0 {
		eff, lost, doubled = "not observed", "—", "—"
	}
	unacked := fmt.Sprint(g.FailedAfterRetries + g.CutOff)
	if g.FailedAfterRetries+g.CutOff > 0 {
		unacked = fmt.Sprintf("❌ %s (%d failed after retries, %d cut off)", unacked, g.FailedAfterRetries, g.CutOff)
	}
	b.WriteString("| published | acked | unacked | effects | lost | doubled | invalid accepted |\n|--:|--:|--:|--:|--:|--:|--:|\n")
	fmt.Fprintf(b, "| %d | %d | %s | %s | %s | %s | %d |\n\n", g.Published, g.Acked, unacked, eff, lost, doubled, g.InvalidAccepted)
	if l.Outage != nil {
		fmt.Fprintf(b, "❌ %s\n\n", mdText(OutageLine(l.Outage)))
	}
	if g.Void {
		fmt.Fprintf(b, "❌ The ledger is void: %s\n\n", mdText(orDash(g.VoidReason)))
	}
	fmt.Fprintf(b, "Ack latency: p50 %s · p90 %s · p99 %s · max %s\n\n",
		fmtMS(l.Latency.P50), fmtMS(l.Latency.P90), fmtMS(l.Latency.P99), fmtMS(l.Latency.Max))
	if len(l.Thresholds) > 0 {
		b.WriteString("| | threshold | observed |\n|---|---|---|\n")
		for _, th := range l.Thresholds {
			mark, shown := "✅", thresholdDisplay(th)
			switch th.Result() {
			case Failed:
				mark = "❌"
			case NotObservable:
				mark, shown = "❔", notObservedText(th)
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", mark, mdCode(th.Expr), mdText(shown))
		}
		b.WriteString("\n")
	}
}

// AppendGitHubSummary appends the Markdown summary of rs to the file named by
// $GITHUB_STEP_SUMMARY, read through getenv; it does nothing when the variable is unset.
func AppendGitHubSummary(getenv func(string) string, rs ...*Results) error {
	path := getenv(GitHubSummaryEnv)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("reports: %s: %w", GitHubSummaryEnv, err)
	}
	werr := WriteMarkdown(f, rs...)
	if err := f.Close(); err != nil && werr == nil {
		werr = fmt.Errorf("reports: %s: %w", GitHubSummaryEnv, err)
	}
	return werr
}
