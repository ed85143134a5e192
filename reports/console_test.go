package reports

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPrintCase(t *testing.T) {
	tests := []struct {
		name string
		c    Case
		want []string // substrings, in order
	}{
		{"passed", Case{ID: "RCV-SIG-001", Level: MUST, Requirement: "Accepts a valid signature.", Outcome: Passed},
			[]string{"✓", "RCV-SIG-001", "MUST", "Accepts a valid signature.", "passed"}},
		{"failed", Case{ID: "RCV-TS-001", Level: MUST, Requirement: "Rejects stale timestamps.", Outcome: Failed, Reason: "accepted"},
			[]string{"✗", "RCV-TS-001", "MUST", "Rejects stale timestamps.", "failed"}},
		{"not observable says why", Case{ID: "RCV-ORD-001", Level: SHOULD, Requirement: "Keeps order.", Outcome: NotObservable, Reason: "needs --sink"},
			[]string{"?", "RCV-ORD-001", "SHOULD", "not-observable (needs --sink)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			PrintCase(&b, tt.c)
			line := b.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("PrintCase wrote %q, want exactly one line for a short requirement", line)
			}
			rest := line
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("line %q lacks %q (in order)", line, w)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(line, "\x1b") {
				t.Errorf("colour without WithColor: %q", line)
			}
		})
	}
}

// A requirement longer than its column wraps instead of being cut where its numbers are, and
// a failed case shows its expected and actual values whole: they are what differs.
func TestPrintCaseWrapsAndKeepsNumbers(t *testing.T) {
	c := Case{ID: "RCV-ACK-001", Level: MUST, Outcome: Failed,
		Requirement: "A valid delivery is acknowledged with a 2xx status within 5 seconds.",
		Expected:    "a 2xx answer within 5 s, while the sink is slowed by 10 s",
		Actual:      "204 No Content after 7.31 s (the receiver waited for the sink before answering)"}
	var b bytes.Buffer
	PrintCase(&b, c)
	out := b.String()
	want := "  ✗ RCV-ACK-001        MUST   A valid delivery is acknowledged with a 2xx status within    failed\n" +
		"                              5 seconds.\n" +
		"                              expected: a 2xx answer within 5 s, while the sink is slowed by 10 s\n" +
		"                              actual:   204 No Content after 7.31 s (the receiver waited for the sink before answering)\n"
	if out != want {
		t.Errorf("PrintCase wrote\n%s\nwant\n%s", out, want)
	}
	// A word longer than the column is split, not dropped.
	b.Reset()
	long := strings.Repeat("x", 70)
	PrintCase(&b, Case{ID: "X-1", Level: INFO, Requirement: "see " + long, Outcome: Passed})
	if got := strings.ReplaceAll(strings.Join(strings.Fields(b.String()), ""), "passed", ""); !strings.Contains(got, "see"+long) || strings.Contains(b.String(), "…") {
		t.Errorf("a long word was lost or cut: %q", b.String())
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"short", 10, []string{"short"}},
		{"one two three four", 9, []string{"one two", "three", "four"}},
		{"abcdefghijkl mn", 5, []string{"abcde", "fghij", "kl mn"}},
		{"answer within 5 seconds", 16, []string{"answer within", "5 seconds"}},
	}
	for _, tt := range tests {
		if got := wrapWords(tt.in, tt.width); !slices.Equal(got, tt.want) {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

// The recap lists every case in the results' (catalogue) order, whatever order the live
// lines came in, so two CI logs of one selection diff cleanly.
func TestPrintRecapListsCasesInOrder(t *testing.T) {
	r := &Results{Kind: KindConformReceiver, Cases: []Case{
		{ID: "RCV-SIG-001", Level: MUST, Outcome: Passed, Requirement: "first"},
		{ID: "RCV-TS-001", Level: MUST, Outcome: Failed, Requirement: "second", Expected: "4xx", Actual: "200"},
		{ID: "RCV-ACK-001", Level: MUST, Outcome: Passed, Requirement: "third"},
	}}
	var b bytes.Buffer
	PrintRecap(&b, r)
	out := b.String()
	list, _, ok := strings.Cut(out, "Failures:")
	if !ok || !strings.Contains(list, "Cases, in catalogue order:") {
		t.Fatalf("recap has no case listing before the failures:\n%s", out)
	}
	last := -1
	for _, c := range r.Cases {
		i := strings.Index(list, c.ID)
		if i < last {
			t.Errorf("%s is listed out of order:\n%s", c.ID, list)
		}
		last = i
	}
	if strings.Contains(list, "expected:") {
		t.Errorf("the listing repeats expected/actual, which the failures below give:\n%s", list)
	}
}

func TestPrintCaseColorAndControlChars(t *testing.T) {
	c := Case{ID: "RCV-X-001", Level: MUST, Requirement: "evil\x1b[2J\x1b]0;title\x07 text\nnext", Outcome: Failed}
	var plain, color bytes.Buffer
	PrintCase(&plain, c)
	PrintCase(&color, c, WithColor(true))
	if strings.Count(plain.String(), "\x1b") != 0 {
		t.Errorf("a terminal escape from the requirement reached the output: %q", plain.String())
	}
	if strings.Count(plain.String(), "\n") != 1 {
		t.Errorf("a newline from the requirement split the line: %q", plain.String())
	}
	if !strings.Contains(color.String(), ansiRed) {
		t.Errorf("WithColor(true) did not colour a failed MUST case red: %q", color.String())
	}
}

var closingLine = regexp.MustCompile(`(?m)\A(?s:.*)\n(\d+) passed, (\d+) failed, (\d+) skipped\n\z`)

func TestPrintRecap(t *testing.T) {
	r := &Results{Kind: KindConformReceiver, Cases: []Case{
		{ID: "A-1", Level: MUST, Outcome: Passed},
		{ID: "A-2", Level: MUST, Outcome: Failed, Requirement: "Must do it.", Expected: "200", Actual: "500\nline two", Source: "spec §1"},
		{ID: "A-3", Level: SHOULD, Outcome: Skipped},
		{ID: "A-4", Level: SHOULD, Outcome: NotApplicable},
		{ID: "A-5", Level: SHOULD, Outcome: NotObservable},
		{ID: "A-6", Level: SHOULD, Outcome: NotObservable},
	}}
	var b bytes.Buffer
	PrintRecap(&b, r)
	out := b.String()
	m := closingLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("recap does not end with the closing line:\n%s", out)
	}
	if m[1] != "1" || m[2] != "1" || m[3] != "4" {
		t.Errorf("closing line counts %s passed, %s failed, %s skipped; want 1, 1, 4", m[1], m[2], m[3])
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if got := lines[len(lines)-2]; got != "(1 not applicable, 2 not observable)" {
		t.Errorf("line before the closing line = %q", got)
	}
	for _, w := range []string{"A-2 [MUST] Must do it.", "expected: 200", "actual:   500\n                line two", "source:   spec §1", "verdict: non-conformant"} {
		if !strings.Contains(out, w) {
			t.Errorf("recap lacks %q:\n%s", w, out)
		}
	}
	i, j := strings.Index(out, "Must do it."), strings.Index(out, "expected:")
	if k := strings.Index(out, "actual:"); !(i < j && j < k) {
		t.Errorf("recap does not print requirement, then expected, then actual")
	}
}

func TestPrintRecapLoad(t *testing.T) {
	r := &Results{Kind: KindLoad, Load: &Load{
		Ledger:     Ledger{Void: true, VoidReason: "published != acked + failed"},
		Thresholds: []Threshold{{Expr: "lost==0", Passed: true, Display: "0"}, {Expr: "ack_p99<5s", Passed: false, Display: "6.2 s"}},
	}}
	var b bytes.Buffer
	PrintRecap(&b, r)
	out := b.String()
	if !strings.HasSuffix(out, "\n1 passed, 2 failed, 0 skipped\n") {
		t.Errorf("load recap closing line wrong:\n%s", out)
	}
	for _, w := range []string{"threshold ack_p99<5s", "observed: 6.2 s", "ledger void: published != acked + failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("recap lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "not applicable") {
		t.Errorf("recap mentions not applicable cases when there are none:\n%s", out)
	}
}

func TestPrintLoadSummary(t *testing.T) {
	r := &Results{Kind: KindLoad, Load: &Load{
		Ledger:     Ledger{Published: 10, Acked: 9, Effects: 9, Lost: 1, Observed: true},
		Latency:    Latency{P50: 12, P90: 40, P99: 1500, Max: 2000, Mean: 30},
		Thresholds: []Threshold{{Expr: "lost==0", Passed: false, Display: "1"}, {Expr: "ack_p99<5s", Passed: true, Display: "1.50 s"}},
	}}
	var b bytes.Buffer
	PrintLoadSummary(&b, r)
	out := b.String()
	for _, w := range []string{"published...............: 10", "lost....................: 1 ✗", "✗ lost==0", "✓ ack_p99<5s", "1.50 s", "12.0 ms / 40.0 ms / 1.50 s"} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	b.Reset()
	r.Load.Ledger = Ledger{Effects: -1}
	PrintLoadSummary(&b, r)
	if !strings.Contains(b.String(), "not observed (no effect sink)") || strings.Contains(b.String(), "  lost....") {
		t.Errorf("without a sink, effects must read not observed and lost/doubled be left out:\n%s", b.String())
	}
	b.Reset()
	PrintLoadSummary(&b, &Results{})
	if b.Len() != 0 {
		t.Errorf("PrintLoadSummary printed %q for a run without load", b.String())
	}
}

func TestOverall(t *testing.T) {
	ok := &Results{Cases: []Case{{Level: MUST, Outcome: Passed}}}
	gap := &Results{Cases: []Case{{Level: SHOULD, Outcome: Failed}}}
	strictGap := &Results{Run: RunMeta{Strict: true}, Cases: []Case{{Level: SHOULD, Outcome: Failed}}}
	bad := &Results{Cases: []Case{{Level: MUST, Outcome: Failed}}}
	tests := []struct {
		name string
		rs   []*Results
		want Verdict
	}{
		{"all conformant", []*Results{ok, ok}, Conformant},
		{"a gap", []*Results{ok, gap}, ConformantShouldGaps},
		{"strict gap", []*Results{ok, strictGap}, NonConformant},
		{"a MUST failure wins", []*Results{gap, bad, ok}, NonConformant},
		{"nothing", nil, NonConformant},
	}
	for _, tt := range tests {
		if got := Overall(tt.rs...); got != tt.want {
			t.Errorf("%s: Overall = %q, want %q", tt.name, got, tt.want)
		}
	}
}
