package load

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// Backoff is the retry schedule of a real sender: exponential from Base, doubled per attempt up
// to Cap, with "equal jitter" (a uniformly random half of the step added to the other half),
// so retries of many failed deliveries spread out instead of arriving in waves.
type Backoff struct {
	Base time.Duration `json:"base"`
	Cap  time.Duration `json:"cap"`
}

// DefaultBackoff suits a load run: a first retry within 100-200 ms, the fifth within 1.6-3.2 s.
var DefaultBackoff = Backoff{Base: 200 * time.Millisecond, Cap: 5 * time.Second}

// Delay returns the wait before attempt (2 for the first retry) given a uniform draw u in
// [0,1). The same (attempt, u) gives the same delay: the caller's draw is seeded.
func (b Backoff) Delay(attempt int, u float64) time.Duration {
	if attempt < 2 {
		attempt = 2
	}
	step := b.Base
	for i := 2; i < attempt && step < b.Cap; i++ {
		step *= 2
	}
	step = min(step, b.Cap)
	if step <= 0 {
		return 0
	}
	half := step / 2
	u = min(max(u, 0), 1)
	return half + time.Duration(u*float64(step-half))
}

// retry is one scheduled re-send of a valid delivery.
type retry struct {
	n       uint64    // delivery number
	attempt int       // the attempt this will be (2 for the first retry)
	due     time.Time // scheduled send time: latency is measured from here
}

// retryQueue holds scheduled retries by due time. Pop blocks until one is due, the queue is
// closed, or the context ends. Safe for concurrent use.
type retryQueue struct {
	mu     sync.Mutex
	h      retryHeap
	wake   chan struct{} // closed and replaced on every push and on close
	closed bool
	now    func() time.Time
}

// errQueueClosed means no retry will come any more.
var errQueueClosed = errors.New("retry queue closed")

func newRetryQueue(now func() time.Time) *retryQueue {
	return &retryQueue{wake: make(chan struct{}), now: now}
}

func (q *retryQueue) push(r retry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	heap.Push(&q.h, r)
	close(q.wake)
	q.wake = make(chan struct{})
}

// close wakes every waiter; Pop then returns errQueueClosed. What is still queued stays, for
// drainLeft.
func (q *retryQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.wake)
	}
}

// pop returns the earliest retry once it is due.
func (q *retryQueue) pop(ctx context.Context) (retry, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return retry{}, errQueueClosed
		}
		wake := q.wake
		var wait time.Duration = -1
		if len(q.h) > 0 {
			d := q.h[0].due.Sub(q.now())
			if d <= 0 {
				r := heap.Pop(&q.h).(retry)
				q.mu.Unlock()
				return r, nil
			}
			wait = d
		}
		q.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-wake:
		case <-fire:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return retry{}, err
		}
	}
}

// left returns the retries still queued (for the cut-off count).
func (q *retryQueue) left() []retry {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]retry(nil), q.h...)
}

func (q *retryQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h)
}

type retryHeap []retry

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(retry)) }
func (h *retryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
