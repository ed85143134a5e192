package chaos

import (
	"encoding/json"
	"sync"
	"time"
)

// Entry is what the proxy did with one request: the client's own, or a copy it sent.
type Entry struct {
	Seq     uint64    `json:"seq"`  // order of arrival at the proxy (copies: order of creation)
	Seed    int64     `json:"seed"` // the proxy's seed, so each line is enough to replay
	Time    time.Time `json:"time"` // arrival (copies: when the copy was scheduled)
	Key     string    `json:"key"`
	Attempt int       `json:"attempt"`
	Copy    int       `json:"copy,omitempty"`   // 0 for the client's request
	Origin  string    `json:"origin,omitempty"` // the instance that made the copy
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	// Faults are the instances that fired, outermost first; Notes say what each one did.
	Faults         []string `json:"faults,omitempty"`
	Notes          []string `json:"notes,omitempty"`
	Forwarded      int      `json:"forwarded"` // times this exchange reached the upstream
	UpstreamStatus int      `json:"upstream_status,omitempty"`
	UpstreamError  string   `json:"upstream_error,omitempty"`
	// Outcome is what the client got: answered, reset, reset-partway, hang (then reset),
	// client-gone; "copy" or "cancelled" for copies, which have no client.
	Outcome    string  `json:"outcome"`
	Status     int     `json:"status,omitempty"` // status the client got, when answered
	DurationMS float64 `json:"duration_ms"`      // arrival to last byte (or reset)
	UpstreamMS float64 `json:"upstream_ms,omitempty"`
}

// ledger is a bounded ring of entries, oldest overwritten first.
type ledger struct {
	mu      sync.Mutex
	ring    []Entry
	next    int  // where the next entry goes
	full    bool // ring has wrapped
	dropped int64
}

func newLedger(limit int) *ledger { return &ledger{ring: make([]Entry, limit)} }

func (l *ledger) add(e Entry) {
	l.mu.Lock()
	if len(l.ring) > 0 {
		if l.full {
			l.dropped++
		}
		l.ring[l.next] = e
		l.next++
		if l.next == len(l.ring) {
			l.next, l.full = 0, true
		}
	} else {
		l.dropped++
	}
	l.mu.Unlock()
}

// entries returns the kept entries in the order they were recorded.
func (l *ledger) entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]Entry(nil), l.ring[:l.next]...)
	}
	out := make([]Entry, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

func (l *ledger) reset() {
	l.mu.Lock()
	clear(l.ring)
	l.next, l.full, l.dropped = 0, false, 0
	l.mu.Unlock()
}

func (l *ledger) droppedCount() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Stats are the proxy's counters since it started or was last reset.
type Stats struct {
	Seed      int64 `json:"seed"`
	Requests  int64 `json:"requests"`  // client requests received
	Copies    int64 `json:"copies"`    // copies sent by faults (Exchange.Resend)
	Forwarded int64 `json:"forwarded"` // sends to the upstream, copies included
	// Faults counts how often each instance fired, by name; removed instances keep their
	// count until a reset.
	Faults map[string]int64 `json:"faults"`
	// Instances says, per fault instance, what it is and how often it fired: the active
	// ones outermost first, then removed ones that fired, by name.
	Instances []FaultStat `json:"instances"`
	// Outcomes counts client requests by outcome (see Entry.Outcome).
	Outcomes map[string]int64 `json:"outcomes"`
	// LedgerDropped counts entries pushed out of the bounded ledger.
	LedgerDropped int64 `json:"ledger_dropped"`
}

// FaultStat is one fault instance: its name, its registered type, what it does to a
// delivery, its params as given, and how often it fired.
type FaultStat struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	Kind        Kind    `json:"kind"`
	Spec        string  `json:"spec"` // the instance in the inline grammar (FaultSpec.String)
	Probability float64 `json:"probability"`
	Params      Params  `json:"params,omitempty"`
	Count       int64   `json:"count"`
}

// LedgerLines returns the most recent n ledger entries (all when n < 0) as JSON objects,
// oldest first: the shape of reports.Chaos.Ledger, which callers fill as
//
//	st := p.Stats()
//	reports.Chaos{Seed: st.Seed, Spec: spec, Requests: st.Requests, Counters: st.Faults,
//		Ledger: p.LedgerLines(500)}
func (p *Proxy) LedgerLines(n int) []json.RawMessage {
	es := p.Ledger()
	if n >= 0 && len(es) > n {
		es = es[len(es)-n:]
	}
	out := make([]json.RawMessage, 0, len(es))
	for _, e := range es {
		if b, err := json.Marshal(e); err == nil { // an Entry always marshals
			out = append(out, b)
		}
	}
	return out
}
