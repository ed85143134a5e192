package receiver

import (
	"errors"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/store"
)

// maxYields bounds how many times the committer yields before a commit (see commitLoop).
const maxYields = 8

// errClosing answers deliveries that arrive while the receiver shuts down.
var errClosing = errors.New("receiver: shutting down")

// ack is one delivery waiting for its inbox commit.
type ack struct {
	d    store.Delivery
	done chan ackResult // buffered: the committer never blocks on a handler
}

// ackPool recycles acks and their channels: two allocations fewer per delivery.
var ackPool = sync.Pool{New: func() any { return &ack{done: make(chan ackResult, 1)} }}

type ackResult struct {
	inserted bool
	err      error
}

// commit hands d to the committer and waits until the batch holding it is durable.
func (r *Receiver) commit(req *http.Request, d store.Delivery) (inserted bool, err error) {
	r.mu.RLock()
	if r.closing {
		r.mu.RUnlock()
		return false, errClosing
	}
	r.inflight.Add(1)
	r.mu.RUnlock()
	defer r.inflight.Done()

	a := ackPool.Get().(*ack)
	a.d = d
	select {
	case r.submit <- a:
	case <-req.Context().Done():
		return false, req.Context().Err()
	case <-r.ctx.Done():
		return false, errClosing
	}
	select {
	case res := <-a.done:
		// Only an ack whose answer was taken goes back to the pool: one given up on below
		// may still be answered by the committer, and must not reach another handler.
		a.d = store.Delivery{}
		ackPool.Put(a)
		return res.inserted, res.err
	case <-req.Context().Done():
		return false, req.Context().Err()
	case <-r.ctx.Done():
		return false, errClosing
	}
}

// takeWaiting appends the deliveries waiting for the committer to batch, up to maxBatch,
// without waiting for more; closed reports that submit was closed.
func (r *Receiver) takeWaiting(batch []*ack) (_ []*ack, closed bool) {
	for len(batch) < r.cfg.maxBatch {
		select {
		case a, ok := <-r.submit:
			if !ok {
				return batch, true
			}
			batch = append(batch, a)
		default:
			return batch, false
		}
	}
	return batch, false
}

// commitLoop is the group committer. It takes every delivery waiting (up to maxBatch), lets
// the handlers about to hand theirs over do so, inserts them in one transaction, then
// releases each waiter. It commits again as soon as the previous commit finished, so under
// load one fsync covers many deliveries and at low rates a delivery waits for no one.
func (r *Receiver) commitLoop() {
	defer close(r.committerDone)
	batch := make([]*ack, 0, r.cfg.maxBatch)
	ds := make([]store.Delivery, 0, r.cfg.maxBatch)
	for {
		var first *ack
		var open bool
		select {
		case first, open = <-r.submit:
		case <-r.ctx.Done():
			return
		}
		if !open {
			return
		}
		var closed bool
		batch, closed = r.takeWaiting(append(batch[:0], first))
		// Let the handlers already running hand theirs over before committing: yield the
		// processor while each yield brings more. Under load many handlers are runnable, each
		// a moment from its hand-off, and one batch of dozens costs far less CPU (one
		// transaction, one fsync) than many of a handful; when nothing else is runnable a
		// yield returns at once, so at low rates no delivery waits for it.
		for range maxYields {
			if closed || len(batch) >= r.cfg.maxBatch {
				break
			}
			runtime.Gosched()
			n := len(batch)
			if batch, closed = r.takeWaiting(batch); len(batch) == n {
				break
			}
		}
		ds = ds[:0]
		for _, a := range batch {
			ds = append(ds, a.d)
		}
		r.inboxCommit.Store(true) // processing yields the writer (see apply)
		began := time.Now()
		inserted, err := r.store.Insert(r.ctx, ds)
		r.inboxCommit.Store(false)
		r.m.commit.Observe(time.Since(began).Seconds())
		r.commitMu.Lock()
		close(r.commitDone)
		r.commitDone = make(chan struct{})
		r.commitMu.Unlock()
		var fresh []store.Row
		for i, a := range batch {
			res := ackResult{err: err}
			if err == nil && inserted[i] {
				res.inserted = true
				fresh = append(fresh, store.Row{ID: a.d.ID, Body: a.d.Body, ReceivedAt: a.d.ReceivedAt})
			}
			a.done <- res
		}
		// The slices are reused: clear them, so that they do not keep this batch's bodies
		// alive until a batch as large comes along.
		clear(batch)
		clear(ds)
		// Hand the new rows to the dispatcher, which then need not read them back. When it is
		// behind, nothing waits here: the hand-off stops, and the dispatcher reads the inbox
		// until it has caught up (see dispatch), so rows still go out in inbox order.
		if len(fresh) > 0 && r.cfg.workers > 0 {
			if r.handoffLost.Load() {
				notify(r.wakeDispatch)
			} else {
				select {
				case r.fresh <- fresh:
				default:
					r.handoffLost.Store(true)
					notify(r.wakeDispatch)
				}
			}
		}
	}
}
