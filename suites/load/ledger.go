package load

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hookproof/hookproof/reports"
)

// Delivery states. A valid event is pending until an attempt is acked (2xx) or its last
// attempt fails; what is still pending when the drain ends is cut off.
const (
	statePending uint8 = iota
	stateAcked
	stateFailed
)

// delivery is the ledger's record of one delivery number: a valid event (with its retries
// and duplicates) or an invalid delivery. It is small on purpose: a run keeps one per delivery.
type delivery struct {
	at       int64 // event time, ns since the run's start
	seq      int64 // the event's seq within its object
	object   uint16
	invalid  uint8 // 0 for a valid event, else 1 + index into invalidKinds
	state    uint8
	attempts uint16 // attempts of the retry chain sent so far (duplicates not included)
	got2xx   bool   // an invalid delivery was answered 2xx
}

// slab stores deliveries by number in fixed chunks, so growing never copies old records.
type slab struct {
	chunks [][]delivery
	n      uint64
}

const chunkBits = 14

func (s *slab) add() (uint64, *delivery) {
	n := s.n
	c := n >> chunkBits
	if c == uint64(len(s.chunks)) {
		s.chunks = append(s.chunks, make([]delivery, 1<<chunkBits))
	}
	s.n++
	return n, &s.chunks[c][n&(1<<chunkBits-1)]
}

func (s *slab) get(n uint64) *delivery {
	return &s.chunks[n>>chunkBits][n&(1<<chunkBits-1)]
}

// tally is the ledger after a run, before and after the sink is consulted.
type tally struct {
	published, acked, failed, cutOff int
	invalidSent, invalidAccepted     int
	acceptedBy                       map[Invalid]int // invalid deliveries accepted, by kind
	effects, lost, doubled           int
	observed                         bool
	lostIDs, doubledIDs              []string // a few examples, for the summary
	// foreign counts the sink's webhook ids that this run never sent: effects reported under
	// another id (an internal one, say) make every event look lost.
	foreign int
}

// counts looks up distinct effects per delivery id; nil when no sink observed the run.
type counts func(id string) int

// reconcile walks every delivery once. With effects (a sink), it checks exactly-once: an acked
// event without an effect is lost, any event with more than one distinct effect is doubled,
// and an invalid delivery with an effect was accepted.
func reconcile(s *slab, id func(uint64) string, effects counts) tally {
	t := tally{acceptedBy: map[Invalid]int{}, observed: effects != nil}
	for n := uint64(0); n < s.n; n++ {
		d := s.get(n)
		e := 0
		if effects != nil {
			e = effects(id(n))
			t.effects += e
		}
		if d.invalid > 0 {
			t.invalidSent++
			if d.got2xx || e > 0 {
				t.invalidAccepted++
				t.acceptedBy[invalidKinds[d.invalid-1]]++
			}
			continue
		}
		t.published++
		switch d.state {
		case stateAcked:
			t.acked++
		case stateFailed:
			t.failed++
		default:
			t.cutOff++
		}
		if effects == nil {
			continue
		}
		if d.state == stateAcked && e == 0 {
			t.lost++
			if len(t.lostIDs) < 5 {
				t.lostIDs = append(t.lostIDs, id(n))
			}
		}
		if e > 1 {
			t.doubled++
			if len(t.doubledIDs) < 5 {
				t.doubledIDs = append(t.doubledIDs, id(n))
			}
		}
	}
	if !t.observed {
		t.effects = -1
	}
	return t
}

// checks are the cross-checks that make a ledger trustworthy: each is counted by a different
// part of the engine, so a disagreement means an outcome went unrecorded.
type checks struct {
	created  int // attempts the targeters made
	resolved int // attempts whose outcome the transport recorded
	results  int // Vegeta results for real requests
	ok       int // 2xx outcomes the transport recorded
	vegetaOK int // 2xx results Vegeta reported
}

// voidReason says why the ledger cannot be trusted, or "" when its arithmetic closes.
func voidReason(t tally, c checks) string {
	var why []string
	if t.published != t.acked+t.failed+t.cutOff {
		why = append(why, fmt.Sprintf("published %d != acked %d + failed %d + cut off %d", t.published, t.acked, t.failed, t.cutOff))
	}
	if c.created != c.resolved {
		why = append(why, fmt.Sprintf("%d attempts sent but %d outcomes recorded", c.created, c.resolved))
	}
	if c.created != c.results {
		why = append(why, fmt.Sprintf("%d attempts sent but Vegeta reported %d results", c.created, c.results))
	}
	if c.ok != c.vegetaOK {
		why = append(why, fmt.Sprintf("%d acks recorded but Vegeta counted %d", c.ok, c.vegetaOK))
	}
	return strings.Join(why, "; ")
}

func (t tally) ledger(c checks, attempts, retries int) reports.Ledger {
	l := reports.Ledger{
		Published: t.published, Acked: t.acked, FailedAfterRetries: t.failed, CutOff: t.cutOff,
		Attempts: attempts, Retries: retries, Effects: t.effects, Lost: t.lost, Doubled: t.doubled,
		InvalidSent: t.invalidSent, InvalidAccepted: t.invalidAccepted, Observed: t.observed,
	}
	if why := voidReason(t, c); why != "" {
		l.Void, l.VoidReason = true, why
	}
	return l
}

// acceptedDetail lists accepted invalid deliveries by kind: "3 (stale-timestamp: 2, tampered-body: 1)".
func (t tally) acceptedDetail() string {
	if t.invalidAccepted == 0 {
		return "0"
	}
	kinds := make([]string, 0, len(t.acceptedBy))
	for k := range t.acceptedBy {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s: %d", k, t.acceptedBy[Invalid(k)])
	}
	return fmt.Sprintf("%d (%s)", t.invalidAccepted, strings.Join(parts, ", "))
}

// exactlyOnceDetail is the display of a lost or doubled count: a few example ids, and, for
// lost events, a hint when the sink heard of ids this run never sent.
func (t tally) exactlyOnceDetail(n int, examples []string, lost bool) string {
	if n == 0 {
		return "0"
	}
	out := fmt.Sprintf("%d (e.g. %s)", n, strings.Join(examples, ", "))
	if lost && t.foreign > 0 {
		out += fmt.Sprintf("; the sink got effects for %d ids this run never sent: is webhook_id the delivery id?", t.foreign)
	}
	return out
}
