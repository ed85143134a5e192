package chaos

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func init() {
	Register(FaultType{
		Name:    "reorder",
		Summary: "hold requests and release them in a shuffled order",
		Kind:    KindReorders,
		Params: map[string]string{
			"window": "release when this many requests are held, 2 to 1000; default 8",
			"hold":   "or when the first one has been held this long; default 1s",
			"gap":    "after releasing one, wait until it is answered or this long before the next; default 100ms",
		},
		New: func(c *Config) (Fault, error) {
			return &reorder{
				window: c.Int("window", 8, 2, 1000),
				hold:   c.Duration("hold", time.Second),
				gap:    c.Duration("gap", 100*time.Millisecond),
			}, nil
		},
	})
}

// reorder holds the requests it selects in a batch and releases the batch, one request at
// a time, in a shuffled order, so the upstream sees them in an order that differs from the
// order they arrived in. A batch is released when it holds window requests or when its
// first request has waited hold, whichever comes first, so a lone sequential client is
// slowed by hold at most, never stuck.
//
// The shuffle derives from the seed and the batch's keys, not from arrival order; when it
// happens to give the arrival order back, the batch is rotated by one, so a batch of two or
// more is always reordered.
type reorder struct {
	window    int
	hold, gap time.Duration

	mu    sync.Mutex
	batch []*held
	timer *time.Timer
	gen   int // bumped when a batch is taken, so a stale timer does nothing
}

type held struct {
	key       string
	arrival   int
	release   chan struct{} // closed by the releaser: go on
	done      chan struct{} // closed by the holder: answered, or gave up
	pos, size int           // set before release is closed
	shuffle   func(keys string, n int) []int
}

func (o *reorder) Apply(x *Exchange, next Next) Result {
	h := &held{
		key:     x.Key + "#" + strconv.Itoa(x.Attempt) + "#" + strconv.Itoa(x.Copy),
		release: make(chan struct{}),
		done:    make(chan struct{}),
	}
	defer close(h.done)
	// The batch's random source depends on the seed and instance (as RandFor's) and on the
	// batch's keys, which only the releaser knows; bind the first two now, while x is ours.
	randFor := x.randForLater()
	h.shuffle = func(keys string, n int) []int { return randFor(keys).Perm(n) }

	start := time.Now()
	o.mu.Lock()
	h.arrival = len(o.batch)
	o.batch = append(o.batch, h)
	var full []*held
	if len(o.batch) >= o.window {
		full = o.takeLocked()
	} else if len(o.batch) == 1 {
		gen := o.gen
		o.timer = time.AfterFunc(o.hold, func() {
			o.mu.Lock()
			if o.gen != gen {
				o.mu.Unlock()
				return
			}
			b := o.takeLocked()
			o.mu.Unlock()
			o.release(b)
		})
	}
	o.mu.Unlock()
	if full != nil {
		go o.release(full)
	}

	if err := x.WaitFor(h.release); err != nil {
		x.Note("gave up after %s held", time.Since(start).Round(time.Millisecond))
		return Gone(err)
	}
	x.Note("held %s, released %d of %d", time.Since(start).Round(time.Millisecond), h.pos, h.size)
	return next(x)
}

func (o *reorder) takeLocked() []*held {
	b := o.batch
	o.batch = nil
	o.gen++
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	return b
}

// release lets a batch go, one request at a time.
func (o *reorder) release(b []*held) {
	order := o.order(b)
	for i, k := range order {
		h := b[k]
		h.pos, h.size = i+1, len(b)
		close(h.release)
		t := time.NewTimer(o.gap)
		select {
		case <-h.done:
		case <-t.C:
		}
		t.Stop()
	}
}

// order returns the release order as indexes into b (which is in arrival order).
func (o *reorder) order(b []*held) []int {
	if len(b) < 2 {
		return []int{0}
	}
	byKey := make([]int, len(b))
	for i := range byKey {
		byKey[i] = i
	}
	slices.SortFunc(byKey, func(i, j int) int { return strings.Compare(b[i].key, b[j].key) })
	keys := make([]string, len(b))
	for i, k := range byKey {
		keys[i] = b[k].key
	}
	perm := b[0].shuffle(strings.Join(keys, "\n"), len(b))
	out := make([]int, len(b))
	for i, k := range perm {
		out[i] = byKey[k]
	}
	identity := true
	for i, k := range out {
		if k != i {
			identity = false
			break
		}
	}
	if identity {
		out = append(out[1:], out[0])
	}
	return out
}
