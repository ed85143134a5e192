package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
)

// TestEverySchemeDecidesEveryRequirement: each scheme (reference/signature, one home per
// scheme) decides every receiver requirement that applies to it, and only those: a level and a
// reason naming what decided it. A new requirement or scheme without its decisions fails here.
func TestEverySchemeDecidesEveryRequirement(t *testing.T) {
	reqs, err := All(Receiver)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Requirement{}
	for _, r := range reqs {
		byID[r.ID] = r
	}
	for _, scheme := range signature.Names() {
		rules := signature.Levels(scheme)
		for _, r := range reqs {
			if _, ok := rules[r.ID]; r.AppliesTo(scheme) && !ok {
				t.Errorf("%s: no decision on %s, which applies to it (register one in its file in reference/signature)", scheme, r.ID)
			}
		}
		for id, rule := range rules {
			r, ok := byID[id]
			switch {
			case !ok:
				t.Errorf("%s: decision on %s, which is no receiver requirement", scheme, id)
			case !r.AppliesTo(scheme):
				t.Errorf("%s: decision on %s, which does not apply to it", scheme, id)
			}
			if lv := reports.Level(rule.Level); lv != reports.MUST && lv != reports.SHOULD && lv != reports.INFO {
				t.Errorf("%s %s: level %q is not MUST, SHOULD or INFO", scheme, id, rule.Level)
			}
			why := strings.TrimSpace(rule.Why)
			if why == "" {
				t.Errorf("%s %s: no reason", scheme, id)
			}
			if slices.ContainsFunc([]string{"MUST", "SHOULD", "INFO"}, func(l string) bool { return strings.HasPrefix(why, l) }) {
				t.Errorf("%s %s: the reason starts with a level (the catalogue adds it): %q", scheme, id, why)
			}
			if strings.HasSuffix(why, ".") {
				t.Errorf("%s %s: the reason ends with a full stop (it is appended to the source): %q", scheme, id, why)
			}
		}
	}
}

// TestForSchemeCarriesTheDecision: every requirement that applies to a scheme says in its
// source what the scheme decided, in the changed form where the level differs.
func TestForSchemeCarriesTheDecision(t *testing.T) {
	all, err := All(Receiver)
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range signature.Names() {
		reqs, err := ForScheme(Receiver, scheme)
		if err != nil {
			t.Fatal(err)
		}
		rules := signature.Levels(scheme)
		for i, r := range reqs {
			rule, ok := rules[r.ID]
			if !ok {
				if r.Source != all[i].Source || r.Level != all[i].Level {
					t.Errorf("%s %s: changed without a decision", scheme, r.ID)
				}
				continue
			}
			if string(r.Level) != rule.Level {
				t.Errorf("%s %s: level %s, decided %s", scheme, r.ID, r.Level, rule.Level)
			}
			want := all[i].Source + "; " + scheme + ": " + rule.Level + ", " + rule.Why
			if reports.Level(rule.Level) != all[i].Level {
				want = all[i].Source + "; " + rule.Level + " for " + scheme + " (catalogue: " + string(all[i].Level) + "): " + rule.Why
			}
			if r.Source != want {
				t.Errorf("%s %s: source\n%s\nwant\n%s", scheme, r.ID, r.Source, want)
			}
		}
	}
	// The rules the issue names.
	for _, c := range []struct{ scheme, id, level string }{
		{"stripe", "RCV-TS-002", "SHOULD"},
		{"standard", "RCV-TS-002", "MUST"},
		{"slack", "RCV-TS-002", "MUST"},
		{"github", "RCV-SIG-016", "SHOULD"},
		{"shopify", "RCV-SIG-016", "SHOULD"},
	} {
		if got := signature.Levels(c.scheme)[c.id].Level; got != c.level {
			t.Errorf("%s %s: %s, want %s", c.scheme, c.id, got, c.level)
		}
	}
}
