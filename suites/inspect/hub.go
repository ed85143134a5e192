package inspect

import "sync"

// DefaultKeep is how many deliveries listen keeps by default (--keep).
const DefaultKeep = 1000

// Item is a delivery held by a Hub, numbered in arrival order from 1.
type Item struct {
	Seq   int64 `json:"seq"`
	Entry Entry `json:"entry"`
}

// Hub holds the latest deliveries (at most Keep) for the live page, and hands each new one to
// its subscribers. Memory is bounded: the oldest delivery goes when a new one would pass Keep,
// and a subscriber that does not keep up loses deliveries rather than holding any up (it sees
// a gap in Seq). A Hub is safe for concurrent use.
type Hub struct {
	mu    sync.Mutex
	keep  int
	items []Item // ring: items[(start+i)%keep]
	start int
	seq   int64
	subs  map[chan Item]struct{}
}

// NewHub returns a Hub that keeps at most keep deliveries (DefaultKeep when keep < 1).
func NewHub(keep int) *Hub {
	if keep < 1 {
		keep = DefaultKeep
	}
	return &Hub{keep: keep, subs: map[chan Item]struct{}{}}
}

// Keep is the Hub's bound.
func (h *Hub) Keep() int { return h.keep }

// Add holds e as the newest delivery and hands it to every subscriber.
func (h *Hub) Add(e Entry) Item {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	it := Item{Seq: h.seq, Entry: e}
	if len(h.items) < h.keep {
		h.items = append(h.items, it)
	} else {
		h.items[h.start] = it
		h.start = (h.start + 1) % h.keep
	}
	for ch := range h.subs {
		select {
		case ch <- it:
		default: // a slow subscriber misses it; its Seq gap says so
		}
	}
	return it
}

// Latest is the Seq of the newest delivery added (0: none yet).
func (h *Hub) Latest() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// Snapshot returns the deliveries held, oldest first.
func (h *Hub) Snapshot() []Item {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Item, 0, len(h.items))
	for i := range h.items {
		out = append(out, h.items[(h.start+i)%len(h.items)])
	}
	return out
}

// Subscribe returns a channel of the deliveries added from now on, and a function that ends
// the subscription (and closes the channel).
func (h *Hub) Subscribe() (<-chan Item, func()) {
	ch := make(chan Item, 256)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.mu.Unlock()
			close(ch)
		})
	}
}
