package signature

import (
	"maps"
	"slices"
)

// LevelRule is a scheme's decision on one receiver requirement: the level it has for that
// scheme, and why. A requirement is MUST for a scheme only where the provider's spec or its
// official verification library enforces it; where it does not, it is SHOULD for that scheme.
// Why is one sentence naming the library function or provider document and the behaviour that
// decided it (without the level: the catalogue adds that). Every scheme decides every receiver
// requirement that applies to it (suites/catalog checks), also where the level is the
// catalogue's.
type LevelRule struct {
	Level string // "MUST", "SHOULD" or "INFO"
	Why   string
}

// levelRules holds each scheme's decisions by requirement ID; each scheme's file registers its
// own (registerLevels), so everything hookproof knows about a provider stays with it.
var levelRules = map[string]map[string]LevelRule{}

func registerLevels(scheme string, rules map[string]LevelRule) {
	if _, dup := levelRules[scheme]; dup {
		panic("signature: levels registered twice for " + scheme)
	}
	levelRules[scheme] = rules
}

// Reasons shared by every scheme, for the requirements no verification library decides.
const (
	// whySenderContract: acks, idempotency and ordering, where the provider documents nothing
	// more particular.
	whySenderContract = "kept at the catalogue level: no library is involved; the requirement follows the sender contract every provider shares (retries until a 2xx)"
	whyRedirect       = "kept at the catalogue level: no library is involved (none answers a valid delivery with a redirect); a 3xx is not a 2xx, and providers count only a 2xx as delivered"
	whyNoOrdering     = "kept at the catalogue level: no library orders events, and a retried delivery arrives after newer ones under the sender contract every provider shares (retries until a 2xx)"
	whyCloudEvents    = "kept at the catalogue level: an opt-in check of the CloudEvents HTTP 1.1 Web Hooks spec, which no provider's library implements"
	whyMedian         = "information only: no library or provider grades a median ack latency"
)

// withShared adds to rules the decisions that are the same for every scheme (the opt-in
// CloudEvents checks and the INFO ack latency); rules must not decide them itself.
func withShared(rules map[string]LevelRule) map[string]LevelRule {
	shared := map[string]LevelRule{
		"RCV-ACK-005": {"INFO", whyMedian},
		"RCV-CE-001":  {"MUST", whyCloudEvents},
		"RCV-CE-002":  {"MUST", whyCloudEvents},
		"RCV-CE-003":  {"SHOULD", whyCloudEvents},
	}
	for id, r := range shared {
		if _, dup := rules[id]; dup {
			panic("signature: " + id + " is decided for every scheme (withShared)")
		}
		rules[id] = r
	}
	return rules
}

// Levels returns scheme's decisions by requirement ID (nil for an unknown scheme). The map is
// a copy.
func Levels(scheme string) map[string]LevelRule { return maps.Clone(levelRules[scheme]) }

// LevelIDs lists the requirement IDs that any scheme decides, sorted, for tests.
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
