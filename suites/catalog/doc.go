// Package catalog is the requirements catalogue: every case hookproof grades, kept as data
// (receiver.yaml, sender.yaml and load.yaml here) and compiled in.
//
// # Requirement IDs
//
// Each requirement has an ID of one of two shapes:
//
//   - RCV-FAMILY-NNN for the receiver suite and SND-FAMILY-NNN for the sender suite: FAMILY
//     is upper-case letters abbreviating the entry's family (SIG for signatures, TS for
//     timestamps, IDEM for idempotency, ORD for ordering, …) and NNN three digits
//     (RCV-SIG-001);
//   - LOAD-NAME for the load suite's thresholds, NAME upper-case words joined by hyphens
//     (LOAD-EXACTLY-ONCE).
//
// IDs are stable and literal: once published an ID keeps its meaning, is never reused for
// another requirement and is never computed; reports, JUnit output and CI filters key on it.
// A requirement that changes meaning gets a new ID.
//
// # Entries
//
// Every entry has:
//
//   - a level: MUST, SHOULD or INFO. A failed MUST fails the run (exit 1); a failed SHOULD
//     is a gap that fails the run only with --strict; an INFO case is reported but
//     never decides the verdict;
//   - the requirement, one sentence in hookproof's own words (not quoted from a spec);
//   - a source: the specification section or provider documentation it comes from, or the
//     in-repo hookproof contract it tests (the event envelope in reference/event, the effect
//     sink contract in reference/sink);
//   - optionally the schemes it applies to and what it needs to be observed (a sink, an
//     opt-in, a long run).
//
// The catalogue is data, not code: the suites' specs are checked one to one against it (each
// spec names exactly one catalogue ID, and each ID has exactly one spec), so a case cannot be
// added, dropped or renamed on one side only.
package catalog
