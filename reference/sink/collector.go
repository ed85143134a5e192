package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/event"
)

// Collector is hookproof's side of the sink: an http.Handler that records every report and
// counts distinct effects. It answers on any path (/effects is the documented one):
//
//	POST  one Effect as JSON → 204; bad JSON or a broken contract → 400 with the reason
//	GET   every report so far, in arrival order, as a JSON array → 200
//	other → 405 with Allow
//
// A Collector is safe for concurrent use by any number of handlers and readers.
type Collector struct {
	mu      sync.Mutex
	reports []Effect
	byID    map[string]*idState
	// seen holds every (webhook_id, effect_id) already counted, so a re-reported effect counts once.
	seen    map[[2]string]bool
	applied map[string][]int64 // object_id → seq of its distinct applied effects
	// sent holds what the sender knows of each delivery it made (Register): the object and
	// ordering key an effect is counted under, whatever the effect's own data says. An effect
	// observed without data (a database row, a log line) is ordered by it.
	sent    map[string]sentEvent
	last    time.Time     // arrival of the latest report
	changed chan struct{} // closed and replaced on every report: wakes the waiters
	now     func() time.Time
}

type sentEvent struct {
	object string
	seq    int64
}

type idState struct {
	reports  []int // indexes into Collector.reports
	distinct int
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	c := &Collector{now: time.Now}
	c.resetLocked()
	return c
}

func (c *Collector) resetLocked() {
	c.reports = nil
	c.byID = map[string]*idState{}
	c.seen = map[[2]string]bool{}
	c.applied = map[string][]int64{}
	c.sent = map[string]sentEvent{}
	c.last = time.Time{}
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
}

// ServeHTTP implements the wire contract described on Collector.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEffectBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, fmt.Sprintf("effect report over %d bytes", MaxEffectBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading effect report: "+err.Error(), http.StatusBadRequest)
			return
		}
		e, err := DecodeEffect(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.Add(e)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.All())
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed: POST an effect, GET the reports", http.StatusMethodNotAllowed)
	}
}

// Add records one report as if it had been POSTed. It is for in-process receivers and tests.
func (c *Collector) Add(e Effect) {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("null")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reports = append(c.reports, e)
	st := c.byID[e.WebhookID]
	if st == nil {
		st = &idState{}
		c.byID[e.WebhookID] = st
	}
	st.reports = append(st.reports, len(c.reports)-1)
	fresh := true
	if e.EffectID != "" {
		k := [2]string{e.WebhookID, e.EffectID}
		fresh = !c.seen[k]
		c.seen[k] = true
	}
	if fresh {
		st.distinct++
		if obj, seq, ok := c.orderingLocked(e); ok && e.Applied {
			c.applied[obj] = append(c.applied[obj], seq)
		}
	}
	c.last = c.now()
	close(c.changed)
	c.changed = make(chan struct{})
}

// Register records that the delivery webhookID is the event of objectID at ordering key seq,
// as its sender made it. Effects of a registered delivery are ordered by what was registered,
// not by their data: a receiver reporting through its database or its logs says only which
// delivery it processed. Register before the delivery is sent.
func (c *Collector) Register(webhookID, objectID string, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[webhookID] = sentEvent{object: objectID, seq: seq}
}

// orderingLocked finds the object and ordering key an effect counts under: the delivery's
// registration, else the effect's data (object_id and seq).
func (c *Collector) orderingLocked(e Effect) (string, int64, bool) {
	if s, ok := c.sent[e.WebhookID]; ok {
		return s.object, s.seq, true
	}
	return event.Ordering(e.Data)
}

// All returns every report so far, in arrival order.
func (c *Collector) All() []Effect {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Effect{}, c.reports...)
}

// Reports returns every report for webhookID, re-reports included, in arrival order.
func (c *Collector) Reports(webhookID string) []Effect {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.byID[webhookID]
	if st == nil {
		return nil
	}
	out := make([]Effect, len(st.reports))
	for i, j := range st.reports {
		out[i] = c.reports[j]
	}
	return out
}

// Distinct returns the number of distinct effects for webhookID: reports sharing an effect_id
// count once, reports without effect_id each count.
func (c *Collector) Distinct(webhookID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.byID[webhookID]; st != nil {
		return st.distinct
	}
	return 0
}

// Counts returns webhook_id → distinct effects, for every id reported so far.
func (c *Collector) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byID))
	for id, st := range c.byID {
		out[id] = st.distinct
	}
	return out
}

// AppliedSeq returns the ordering keys of the distinct applied effects of objectID, in arrival
// order: the key a delivery was registered with (Register), else the effect's data.seq (and
// data.object_id). A re-reported effect (same effect_id) appears once, at its first arrival.
func (c *Collector) AppliedSeq(objectID string) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.applied[objectID]...)
}

// Total returns the number of reports received, re-reports included.
func (c *Collector) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reports)
}

// WaitDistinct blocks until Distinct(webhookID) >= n or ctx is done (then it returns ctx's
// error wrapped with what was seen).
func (c *Collector) WaitDistinct(ctx context.Context, webhookID string, n int) error {
	for {
		c.mu.Lock()
		got := 0
		if st := c.byID[webhookID]; st != nil {
			got = st.distinct
		}
		ch := c.changed
		c.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sink: waiting for %d distinct effects of %q, have %d: %w", n, webhookID, got, ctx.Err())
		}
	}
}

// WaitQuiet blocks until no report has arrived for quiet (counted from the latest report, or
// from the call when that is later) or ctx is done.
func (c *Collector) WaitQuiet(ctx context.Context, quiet time.Duration) error {
	start := c.now()
	for {
		c.mu.Lock()
		from := c.last
		ch := c.changed
		c.mu.Unlock()
		if from.Before(start) {
			from = start
		}
		left := quiet - c.now().Sub(from)
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-ch:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sink: waiting for %s without reports: %w", quiet, ctx.Err())
		}
	}
}

// Reset forgets every report. Waiters re-check against the empty state.
func (c *Collector) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}
