package main

// The reference tables of README.md and `hookproof help TOPIC`, rendered from the registries
// they describe: the requirements catalogue (suites/catalog), the chaos fault registry
// (chaos.Types), the load thresholds and metrics (suites/load) and every command's flag set.
// README.md holds each table between <!-- generated:NAME --> and <!-- /generated -->;
// TestREADMEGenerated fails when one differs, and `go test ./cmd/hookproof -run
// TestREADMEGenerated -update` rewrites them.

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/metrics"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/load"
)

// generatedSection is one table of README.md, rendered from its source.
type generatedSection struct {
	name   string
	render func() (string, error)
}

// flagCommands are the invocations whose flags README.md lists, in its order. Every
// registered command and conform suite must be here (TestREADMEGenerated checks).
var flagCommands = [][]string{
	{"conform", "receiver"},
	{"conform", "sender"},
	{"load"},
	{"chaos"},
	{"report"},
	{"sink"},
	{"receiver"},
	{"sender"},
	{"sender", "send"},
	{"sign"},
	{"verify"},
	{"demo"},
	{"badreceiver"},
	{"listen"},
	{"replay"},
	{"send"},
}

// generatedSections lists every generated section of README.md.
func generatedSections() []generatedSection {
	out := []generatedSection{
		{"requirements-receiver", func() (string, error) { return requirementsTable(catalog.Receiver) }},
		{"requirements-sender", func() (string, error) { return requirementsTable(catalog.Sender) }},
		{"requirements-load", func() (string, error) { return requirementsTable(catalog.Load) }},
		{"levels", levelsTable},
		{"levels-why", levelsReasons},
		{"faults", func() (string, error) { return faultsTable(), nil }},
		{"thresholds", thresholdsTable},
		{"metrics", func() (string, error) { return metricsTable(), nil }},
		{"prometheus", func() (string, error) { return prometheusTable() }},
		{"exit-codes", helpFile("exit-codes.md")},
		{"results", helpFile("results.md")},
		{"events", helpFile("events.md")},
		{"effects", helpFile("effects.md")},
		{"replay", helpFile("replay.md")},
	}
	for _, inv := range flagCommands {
		inv := inv
		out = append(out, generatedSection{"flags-" + strings.Join(inv, "-"), func() (string, error) { return flagsTable(inv) }})
	}
	return out
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// requirementsTable lists suite s's requirements: ID, level, family, requirement, what a case
// needs to be observed, and the signature schemes it applies to.
func requirementsTable(s catalog.Suite) (string, error) {
	reqs, err := catalog.All(s)
	if err != nil {
		return "", err
	}
	schemes := signature.Names()
	var b strings.Builder
	b.WriteString("| ID | level | family | requirement | needs |")
	for _, sc := range schemes {
		fmt.Fprintf(&b, " %s |", sc)
	}
	b.WriteString("\n|---|---|---|---|---|")
	b.WriteString(strings.Repeat(":---:|", len(schemes)))
	b.WriteString("\n")
	for _, r := range reqs {
		needs := slices.Clone(r.Needs)
		for i, n := range needs {
			if n == "opt-in" && r.OptIn != "" {
				needs[i] = "`--opt-in " + r.OptIn + "`"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |", r.ID, r.Level, r.Family, mdCell(r.Requirement), strings.Join(needs, ", "))
		for _, sc := range schemes {
			mark := "✓"
			if rule, ok := signature.Levels(sc)[r.ID]; ok && reports.Level(rule.Level) != r.Level {
				mark = rule.Level // the provider's library makes it another level
			}
			if !r.AppliesTo(sc) {
				mark = "–"
			}
			fmt.Fprintf(&b, " %s |", mark)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%d requirements. ✓ applies to the scheme; – reported as not applicable on it; a level: the scheme's own (see the per-scheme levels).\n", len(reqs))
	return b.String(), nil
}

// levelsTable is every scheme's level for every receiver requirement (signature.Levels), and
// the decisions that differ from the catalogue with what decided them.
func levelsTable() (string, error) {
	reqs, err := catalog.All(catalog.Receiver)
	if err != nil {
		return "", err
	}
	schemes := signature.Names()
	var b, diff strings.Builder
	b.WriteString("| case | catalogue |")
	for _, sc := range schemes {
		fmt.Fprintf(&b, " %s |", sc)
	}
	b.WriteString("\n|---|---|" + strings.Repeat(":---:|", len(schemes)) + "\n")
	n := 0
	for _, r := range reqs {
		fmt.Fprintf(&b, "| `%s` | %s |", r.ID, r.Level)
		for _, sc := range schemes {
			rule, ok := signature.Levels(sc)[r.ID]
			switch {
			case !r.AppliesTo(sc):
				b.WriteString(" – |")
			case !ok:
				return "", fmt.Errorf("%s applies to %s, which does not decide it (reference/signature)", r.ID, sc)
			case reports.Level(rule.Level) != r.Level:
				fmt.Fprintf(&b, " **%s** |", rule.Level)
				fmt.Fprintf(&diff, "- `%s` is **%s** for %s (catalogue: %s): %s.\n", r.ID, rule.Level, sc, r.Level, mdCell(rule.Why))
				n++
			default:
				fmt.Fprintf(&b, " %s |", rule.Level)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n– is not applicable on the scheme. %d decisions differ from the catalogue (bold):\n\n%s", n, diff.String())
	b.WriteString("\nEvery case's source ends with its scheme's decision and what decided it " +
		"(`hookproof conform receiver --list --scheme X`; results carry it too).\n")
	return b.String(), nil
}

// levelsReasons lists every scheme's decisions with their reasons, one table per scheme.
func levelsReasons() (string, error) {
	reqs, err := catalog.All(catalog.Receiver)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, sc := range signature.Names() {
		if i > 0 {
			b.WriteString("\n")
		}
		rules := signature.Levels(sc)
		fmt.Fprintf(&b, "**%s**\n\n| case | level | decided by |\n|---|---|---|\n", sc)
		for _, r := range reqs {
			rule, ok := rules[r.ID]
			if !ok {
				continue
			}
			level := rule.Level
			if reports.Level(level) != r.Level {
				level = "**" + level + "** (catalogue: " + string(r.Level) + ")"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.ID, level, mdCell(rule.Why))
		}
	}
	return b.String(), nil
}

// faultsTable lists the registered chaos fault types with their params.
func faultsTable() string {
	var b strings.Builder
	b.WriteString("| fault | to a delivery | what it does | params |\n|---|---|---|---|\n")
	for _, t := range chaos.Types() {
		var params []string
		for _, k := range slices.Sorted(maps.Keys(t.Params)) {
			p := "`" + k + "`"
			if k == t.Primary {
				p += " (the inline value)"
			}
			params = append(params, p+": "+mdCell(t.Params[k]))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Name, t.Kind.Doc(), mdCell(t.Summary), strings.Join(params, "<br>"))
	}
	return b.String()
}

// thresholdsTable lists the default load thresholds and the requirement each grades.
func thresholdsTable() (string, error) {
	var b strings.Builder
	b.WriteString("| default threshold | grades | level | requirement |\n|---|---|---|---|\n")
	for _, expr := range load.DefaultThresholds {
		id := ""
		for _, k := range slices.Sorted(maps.Keys(load.Requirements)) {
			if slices.Contains(load.Requirements[k], expr) {
				id = k
			}
		}
		if id == "" {
			return "", fmt.Errorf("default threshold %s grades no requirement (load.Requirements)", expr)
		}
		r, ok := catalog.Lookup(id)
		if !ok {
			return "", fmt.Errorf("load.Requirements names %s, which is not in the catalogue", id)
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", expr, id, r.Level, mdCell(r.Requirement))
	}
	return b.String(), nil
}

// metricsTable lists every metric a threshold may name (load.MetricHelp).
func metricsTable() string {
	var b strings.Builder
	b.WriteString("| metric | what it is |\n|---|---|\n")
	for _, line := range load.MetricHelp() {
		name, about, _ := strings.Cut(strings.TrimSpace(line), " ")
		fmt.Fprintf(&b, "| `%s` | %s |\n", name, mdCell(about))
	}
	return b.String()
}

// prometheusComponents are the components that export Prometheus metrics, with the
// command and flag that serve them, in README.md's order.
var prometheusComponents = []struct {
	name, serve string
	descs       func() []metrics.Desc
}{
	{"reference receiver", "`hookproof receiver --metrics ADDR`", receiver.Metrics},
	{"reference sender", "`hookproof sender --metrics ADDR`", sender.Metrics},
	{"chaos proxy", "`hookproof chaos --metrics ADDR`", chaos.Metrics},
	{"load run", "`hookproof load --metrics ADDR`", load.Metrics},
}

// prometheusTable lists every Prometheus metric: name, type, labels, meaning. A name that
// breaks the naming conventions fails the generation (and so TestREADMEGenerated).
func prometheusTable() (string, error) {
	var b strings.Builder
	for i, c := range prometheusComponents {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "The %s (%s):\n\n| metric | type | labels | what it is |\n|---|---|---|---|\n", c.name, c.serve)
		for _, d := range c.descs() {
			if err := d.Check(); err != nil {
				return "", err
			}
			labels := make([]string, len(d.Labels))
			for j, l := range d.Labels {
				labels[j] = "`" + l + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", d.Name, d.Type, strings.Join(labels, ", "), mdCell(d.Help))
		}
	}
	return b.String(), nil
}

// commandFlagSets builds the flag sets of one invocation (such as conform receiver) by
// running it with -h: each command defines its flags and stops at parsing. Nothing else runs.
func commandFlagSets(inv []string) ([]*flag.FlagSet, error) {
	c, ok := commands[inv[0]]
	if !ok {
		return nil, fmt.Errorf("no command %q", inv[0])
	}
	var sets []*flag.FlagSet
	e := &env{
		stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		getenv:    func(string) string { return "" },
		onFlagSet: func(fs *flag.FlagSet) { sets = append(sets, fs) },
	}
	args := append(slices.Clone(inv[1:]), "-h")
	if code := c.run(context.Background(), e, args); code != exitOK {
		return nil, fmt.Errorf("hookproof %s -h: exit %d", strings.Join(inv, " "), code)
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("hookproof %s builds no flag set", strings.Join(inv, " "))
	}
	return sets, nil
}

// flagsTable lists the flags of one invocation: name, default and usage.
func flagsTable(inv []string) (string, error) {
	sets, err := commandFlagSets(inv)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| flag | default | what it does |\n|---|---|---|\n")
	for _, fs := range sets {
		fs.VisitAll(func(f *flag.Flag) {
			arg, usage := flag.UnquoteUsage(f)
			name := "--" + f.Name
			if len(f.Name) == 1 {
				name = "-" + f.Name
			}
			if arg != "" {
				name += " " + arg
			}
			def := ""
			if f.DefValue != "" && !(f.DefValue == "false" && arg == "") {
				def = "`" + mdCell(f.DefValue) + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", mdCell(name), def, mdCell(usage))
		})
	}
	return b.String(), nil
}

// helpFiles are the hand-written reference texts: README.md's verdict and exit code tables and
// its results file notes are generated from them, and `hookproof help` prints them.
//
//go:embed help/*.md
var helpFiles embed.FS

func helpFile(name string) func() (string, error) {
	return func() (string, error) {
		b, err := helpFiles.ReadFile("help/" + name)
		return strings.TrimRight(string(b), "\n") + "\n", err
	}
}

// helpTopics are the topics of hookproof help TOPIC, each the generated sections it prints.
var helpTopics = []struct {
	name, about string
	sections    []string
}{
	{"requirements", "every requirement of the receiver, sender and load catalogues", []string{"requirements-receiver", "requirements-sender", "requirements-load"}},
	{"levels", "each scheme's level for each receiver requirement, and what decided it", []string{"levels", "levels-why"}},
	{"faults", "the chaos fault types and their params", []string{"faults"}},
	{"thresholds", "the default load thresholds and the metrics a --threshold may name", []string{"thresholds", "metrics"}},
	{"exit-codes", "verdicts and exit codes", []string{"exit-codes"}},
	{"results", "what the results files hold", []string{"results"}},
	{"effects", "observing effects without code changes: --sink, --effects-sql, --effects-log", []string{"effects"}},
	{"events", "your own sample events (--event): file format, paths, what is filled in", []string{"events"}},
	{"replay", "hookproof replay's record file format, what is re-sent and how; hookproof send", []string{"replay"}},
}

// runHelp is hookproof help [TOPIC]: without a topic the command list, else the topic's
// reference text, the same Markdown README.md shows.
func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		mainUsage(e.stdout)
		fmt.Fprintln(e.stdout, "\nhelp topics (hookproof help TOPIC):")
		for _, t := range helpTopics {
			fmt.Fprintf(e.stdout, "  %-12s %s\n", t.name, t.about)
		}
		return exitOK
	}
	var topic []string
	var names []string
	for _, t := range helpTopics {
		names = append(names, t.name)
		if t.name == args[0] {
			topic = t.sections
		}
	}
	if topic == nil {
		if c, ok := commands[args[0]]; ok {
			return c.run(context.Background(), e, append(slices.Clone(args[1:]), "-h"))
		}
		fmt.Fprintf(e.stderr, "hookproof help: unknown topic %q (topics: %s; or a command name)\n", args[0], strings.Join(names, ", "))
		return exitUsage
	}
	byName := map[string]generatedSection{}
	for _, s := range generatedSections() {
		byName[s.name] = s
	}
	for i, name := range topic {
		text, err := byName[name].render()
		if err != nil {
			fmt.Fprintf(e.stderr, "hookproof help: %v\n", err)
			return exitHarness
		}
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprint(e.stdout, text)
	}
	return exitOK
}
