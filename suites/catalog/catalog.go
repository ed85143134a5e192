package catalog

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reports"
	"go.yaml.in/yaml/v3"
)

// Suite names a catalogue file.
type Suite string

const (
	Receiver Suite = "receiver"
	Sender   Suite = "sender"
	Load     Suite = "load"
)

// Requirement is one graded case. The ID is literal and stable: reports and CI filters key on it.
type Requirement struct {
	ID          string        `yaml:"id" json:"id"`
	Level       reports.Level `yaml:"level" json:"level"`
	Family      string        `yaml:"family" json:"family"`
	Requirement string        `yaml:"requirement" json:"requirement"` // one sentence, our own words
	Source      string        `yaml:"source" json:"source"`           // spec section or provider doc
	// Schemes lists the signature schemes the case applies to; empty means all. On any other
	// scheme the case is reported as not applicable.
	Schemes []string `yaml:"schemes,omitempty" json:"schemes,omitempty"`
	// AppliesIf names scheme properties the case needs (signature.Properties: a signed
	// timestamp, a signature list, an unsigned id header): it applies to every scheme that has
	// all of them, so a new scheme needs no edit here. On the others it is not applicable.
	AppliesIf []string `yaml:"applies_if,omitempty" json:"applies_if,omitempty"`
	// Needs names what the case must observe: "sink" (an effect sink), "opt-in" (a check the
	// target asks for), "long" (slow; labelled so it can be left out).
	Needs []string `yaml:"needs,omitempty" json:"needs,omitempty"`
	// OptIn names the optional check a target asks for (--opt-in NAME) when Needs has "opt-in";
	// without it the case is skipped, never failed.
	OptIn string `yaml:"opt_in,omitempty" json:"opt_in,omitempty"`
}

// knownNeeds are the values Needs may hold.
var knownNeeds = []string{"sink", "opt-in", "long"}

// ValidID reports whether id has the shape of a requirement ID (RCV-SIG-001, LOAD-EXACTLY-ONCE).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// AppliesTo reports whether r applies to scheme.
func (r Requirement) AppliesTo(scheme string) bool {
	if len(r.Schemes) > 0 && !slices.Contains(r.Schemes, scheme) {
		return false
	}
	for _, p := range r.AppliesIf {
		if !signature.Has(scheme, p) {
			return false
		}
	}
	return true
}

// ApplicableSchemes lists the schemes r applies to, of those signature.New knows.
func (r Requirement) ApplicableSchemes() []string {
	var out []string
	for _, n := range signature.Names() {
		if r.AppliesTo(n) {
			out = append(out, n)
		}
	}
	return out
}

// Has reports whether r needs n.
func (r Requirement) Has(n string) bool { return slices.Contains(r.Needs, n) }

//go:embed *.yaml
var files embed.FS

var (
	loadOnce sync.Once
	loaded   map[Suite][]Requirement
	loadErr  error
)

var idPattern = regexp.MustCompile(`^((RCV|SND)-[A-Z]+-[0-9]{3}|LOAD-[A-Z]+(-[A-Z]+)*)$`)

func load() {
	loaded = map[Suite][]Requirement{}
	seen := map[string]bool{}
	for _, s := range []Suite{Receiver, Sender, Load} {
		data, err := files.ReadFile(string(s) + ".yaml")
		if err != nil {
			loadErr = fmt.Errorf("catalog: %w", err)
			return
		}
		var reqs []Requirement
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&reqs); err != nil && err.Error() != "EOF" {
			loadErr = fmt.Errorf("catalog: %s.yaml: %w", s, err)
			return
		}
		for i, r := range reqs {
			switch {
			case !idPattern.MatchString(r.ID):
				loadErr = fmt.Errorf("catalog: %s.yaml entry %d: id %q does not match %s", s, i+1, r.ID, idPattern)
			case seen[r.ID]:
				loadErr = fmt.Errorf("catalog: %s.yaml: id %s listed twice", s, r.ID)
			case r.Level != reports.MUST && r.Level != reports.SHOULD && r.Level != reports.INFO:
				loadErr = fmt.Errorf("catalog: %s: level %q is not MUST, SHOULD or INFO", r.ID, r.Level)
			case strings.TrimSpace(r.Requirement) == "" || strings.TrimSpace(r.Source) == "" || r.Family == "":
				loadErr = fmt.Errorf("catalog: %s: family, requirement and source are all required", r.ID)
			case slices.ContainsFunc(r.Needs, func(n string) bool { return !slices.Contains(knownNeeds, n) }):
				loadErr = fmt.Errorf("catalog: %s: needs %v: each must be one of %v", r.ID, r.Needs, knownNeeds)
			case slices.ContainsFunc(r.AppliesIf, func(p string) bool { return !slices.Contains(signature.Properties(), p) }):
				loadErr = fmt.Errorf("catalog: %s: applies_if %v: each must be one of %v", r.ID, r.AppliesIf, signature.Properties())
			case r.Has("opt-in") != (r.OptIn != ""):
				loadErr = fmt.Errorf("catalog: %s: opt_in is given exactly when needs has opt-in", r.ID)
			}
			if loadErr != nil {
				return
			}
			seen[r.ID] = true
		}
		loaded[s] = reqs
	}
}

// All returns the requirements of suite s in catalogue order. The catalogue is compiled in, so
// an error means a broken build; tests check it.
func All(s Suite) ([]Requirement, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	return slices.Clone(loaded[s]), nil
}

// ForScheme returns the requirements of suite s as they apply to a signature scheme: each one
// the scheme decides (signature.Levels: every receiver requirement that applies to it) carries
// the scheme's level, and its Source says what decided it: "…; SHOULD for stripe (catalogue:
// MUST): why" where the scheme changes the level (its spec or official library does not
// enforce it), "…; stripe: MUST, why" where it keeps it. An empty scheme changes nothing.
func ForScheme(s Suite, scheme string) ([]Requirement, error) {
	reqs, err := All(s)
	if err != nil || scheme == "" {
		return reqs, err
	}
	rules := signature.Levels(scheme)
	for i, r := range reqs {
		rule, ok := rules[r.ID]
		if !ok {
			continue
		}
		reqs[i] = decided(r, scheme, rule)
	}
	return reqs, nil
}

// decided is r with scheme's decision rule applied (see ForScheme).
func decided(r Requirement, scheme string, rule signature.LevelRule) Requirement {
	if lv := reports.Level(rule.Level); lv != r.Level {
		r.Source = fmt.Sprintf("%s; %s for %s (catalogue: %s): %s", r.Source, rule.Level, scheme, r.Level, rule.Why)
		r.Level = lv
		return r
	}
	r.Source = fmt.Sprintf("%s; %s: %s, %s", r.Source, scheme, rule.Level, rule.Why)
	return r
}

// Families lists suite s's families in catalogue order, each once: the help texts' lists.
func Families(s Suite) []string {
	var out []string
	for _, r := range MustAll(s) {
		if !slices.Contains(out, r.Family) {
			out = append(out, r.Family)
		}
	}
	return out
}

// MustAll is All for callers that run after the catalogue test has passed.
func MustAll(s Suite) []Requirement {
	r, err := All(s)
	if err != nil {
		panic(err)
	}
	return r
}

// Lookup finds a requirement by ID in any suite.
func Lookup(id string) (Requirement, bool) {
	loadOnce.Do(load)
	for _, reqs := range loaded {
		for _, r := range reqs {
			if r.ID == id {
				return r, true
			}
		}
	}
	return Requirement{}, false
}

// Selector picks cases by ID (exact, or a prefix ending in '*'), family and level. An empty
// field matches everything.
type Selector struct {
	IDs      []string
	Families []string
	Levels   []reports.Level
}

// ParseSelector builds a Selector from comma-separated lists, as given on the command line.
func ParseSelector(ids, families, levels string) (Selector, error) {
	var s Selector
	s.IDs = splitList(ids)
	s.Families = splitList(families)
	for _, l := range splitList(levels) {
		lv := reports.Level(strings.ToUpper(l))
		if lv != reports.MUST && lv != reports.SHOULD && lv != reports.INFO {
			return s, fmt.Errorf("level %q is not MUST, SHOULD or INFO", l)
		}
		s.Levels = append(s.Levels, lv)
	}
	return s, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Match reports whether r is selected.
func (s Selector) Match(r Requirement) bool {
	if len(s.Levels) > 0 && !slices.Contains(s.Levels, r.Level) {
		return false
	}
	if len(s.Families) > 0 && !slices.ContainsFunc(s.Families, func(f string) bool { return strings.EqualFold(f, r.Family) }) {
		return false
	}
	if len(s.IDs) > 0 && !slices.ContainsFunc(s.IDs, func(p string) bool {
		if pre, ok := strings.CutSuffix(p, "*"); ok {
			return strings.HasPrefix(r.ID, pre)
		}
		return p == r.ID
	}) {
		return false
	}
	return true
}

// Validate checks that every ID in a selector names a requirement of suite su, so a typo is
// a usage error rather than an empty run.
func (s Selector) Validate(su Suite) error {
	reqs, err := All(su)
	if err != nil {
		return err
	}
	for _, p := range s.IDs {
		pre, wild := strings.CutSuffix(p, "*")
		if !slices.ContainsFunc(reqs, func(r Requirement) bool {
			return r.ID == p || (wild && strings.HasPrefix(r.ID, pre))
		}) {
			return fmt.Errorf("no %s requirement matches %q", su, p)
		}
	}
	var fams []string
	for _, r := range reqs {
		if !slices.Contains(fams, r.Family) {
			fams = append(fams, r.Family)
		}
	}
	sort.Strings(fams)
	for _, f := range s.Families {
		if !slices.ContainsFunc(fams, func(x string) bool { return strings.EqualFold(x, f) }) {
			return fmt.Errorf("no %s family %q (families: %s)", su, f, strings.Join(fams, ", "))
		}
	}
	return nil
}
