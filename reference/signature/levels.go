package signature

import (
	"maps"
	"slices"
)

// LevelRule is a provider's own level for a receiver requirement, where it differs from the
// catalogue's: a requirement is MUST for a provider only where its spec or its official
// verification library enforces it. Why names the library behaviour that decided it.
type LevelRule struct {
	Level string // "MUST", "SHOULD" or "INFO"
	Why   string
}

// levelRules holds each scheme's rules by requirement ID; each scheme's file registers its own
// (registerLevels), so everything hookproof knows about a provider stays with it.
var levelRules = map[string]map[string]LevelRule{}

func registerLevels(scheme string, rules map[string]LevelRule) {
	if _, dup := levelRules[scheme]; dup {
		panic("signature: levels registered twice for " + scheme)
	}
	levelRules[scheme] = rules
}

// Levels returns scheme's level rules by requirement ID (nil when it has none). The map is a
// copy.
func Levels(scheme string) map[string]LevelRule { return maps.Clone(levelRules[scheme]) }

// LevelIDs lists the requirement IDs that any scheme re-levels, sorted, for tests.
func LevelIDs() []string {
	var ids []string
	for _, rules := range levelRules {
		for id := range rules {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}
