package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var updateREADME = flag.Bool("update", false, "rewrite the generated sections of README.md")

const readmePath = "../../README.md"

var generatedBlock = regexp.MustCompile(`(?s)<!-- generated:([a-z0-9-]+) -->\n(.*?)<!-- /generated -->`)

// TestREADMEGenerated checks that every generated section of README.md (requirement tables,
// chaos faults, load thresholds and metrics, command flags) is what its source renders today.
// Fix a failure with: go test ./cmd/hookproof -run TestREADMEGenerated -update -count=1
func TestREADMEGenerated(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	want := map[string]string{}
	for _, s := range generatedSections() {
		text, err := s.render()
		if err != nil {
			t.Fatalf("section %s: %v", s.name, err)
		}
		want[s.name] = "\n" + text + "\n"
	}

	seen := map[string]bool{}
	var stale []string
	out := generatedBlock.ReplaceAllStringFunc(readme, func(block string) string {
		m := generatedBlock.FindStringSubmatch(block)
		name, body := m[1], m[2]
		text, ok := want[name]
		switch {
		case !ok:
			t.Errorf("README.md has a generated section %q that nothing renders (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(want)), ", "))
			return block
		case seen[name]:
			t.Errorf("README.md has the generated section %q twice", name)
		}
		seen[name] = true
		if body != text {
			stale = append(stale, name)
		}
		return fmt.Sprintf("<!-- generated:%s -->\n%s<!-- /generated -->", name, text)
	})
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !seen[name] {
			t.Errorf("README.md has no generated section %q: add <!-- generated:%s --> <!-- /generated --> where it belongs, then run with -update", name, name)
		}
	}
	if len(stale) == 0 {
		return
	}
	if *updateREADME {
		if err := os.WriteFile(readmePath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s: %s", readmePath, strings.Join(stale, ", "))
		return
	}
	t.Errorf("README.md is out of date in %s; run: go test ./cmd/hookproof -run TestREADMEGenerated -update -count=1", strings.Join(stale, ", "))
}

// TestGeneratedFlagsCoverEveryCommand keeps flagCommands in step with the registered
// commands and conform suites, so a new command gets its flag table.
func TestGeneratedFlagsCoverEveryCommand(t *testing.T) {
	covered := map[string]bool{}
	for _, inv := range flagCommands {
		covered[strings.Join(inv, " ")] = true
	}
	for name := range commands {
		if name == "conform" {
			continue
		}
		if !covered[name] {
			t.Errorf("command %q has no flag table: add it to flagCommands (reference.go)", name)
		}
	}
	for name := range conformModes {
		if !covered["conform "+name] {
			t.Errorf("conform suite %q has no flag table: add it to flagCommands (reference.go)", name)
		}
	}
}

// TestGeneratedIsDeterministic renders every section twice: a default that depends on the
// machine or the clock would make the README drift on every run.
func TestGeneratedIsDeterministic(t *testing.T) {
	for _, s := range generatedSections() {
		a, err := s.render()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		b, _ := s.render()
		if a != b {
			t.Errorf("section %s renders differently twice", s.name)
		}
	}
}

// TestREADMELinks checks that every in-page link of README.md (#anchor) names a heading, with
// GitHub's anchor rules: lower case, punctuation dropped, spaces as hyphens, -1 for a repeat.
func TestREADMELinks(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
				b.WriteRune(r)
			}
		}
		a := b.String()
		for i := 1; anchors[a]; i++ {
			a = fmt.Sprintf("%s-%d", b.String(), i)
		}
		anchors[a] = true
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(data), -1) {
		if !anchors[m[1]] {
			t.Errorf("README.md links to #%s, which no heading makes", m[1])
		}
	}
}

// TestHelpTopics checks that hookproof help TOPIC prints the generated text README.md shows.
func TestHelpTopics(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range helpTopics {
		var out, errb strings.Builder
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if code := run(t.Context(), e, []string{"help", topic.name}); code != exitOK {
			t.Fatalf("help %s: exit %d: %s", topic.name, code, errb.String())
		}
		for _, block := range strings.Split(out.String(), "\n\n") {
			if !strings.Contains(string(data), block) {
				t.Errorf("help %s prints text README.md does not have:\n%s", topic.name, block)
			}
		}
	}
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(t.Context(), e, []string{"help", "nope"}); code != exitUsage || !strings.Contains(errb.String(), "requirements") {
		t.Errorf("help nope: exit %d, %q; want 2 and the topics", code, errb.String())
	}
	out.Reset()
	if code := run(t.Context(), e, []string{"help"}); code != exitOK || !strings.Contains(out.String(), "exit-codes") {
		t.Errorf("help: exit %d, %q; want 0, the commands and the topics", code, out.String())
	}
}
