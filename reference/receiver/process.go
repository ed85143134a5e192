package receiver

import (
	"context"
	"crypto/rand"
	"hash/fnv"
	"time"

	"github.com/hookproof/hookproof/reference/store"
)

// pageSize is how many inbox rows the dispatcher reads at a time; workBatch is how many rows a
// worker processes in one transaction (each still claimed and applied on its own), gathered
// for at most workLinger.
const (
	pageSize   = 512
	workBatch  = 32
	workLinger = 10 * time.Millisecond
)

type job struct {
	row store.Row
	ev  event
}

// processLoop runs the dispatcher and the workers until Close drains them.
func (r *Receiver) processLoop() {
	queues := make([]chan job, r.cfg.workers)
	done := make(chan struct{}, r.cfg.workers)
	for i := range queues {
		queues[i] = make(chan job, workBatch)
		go func() { r.work(queues[i]); done <- struct{}{} }()
	}
	r.dispatch(queues)
	for _, q := range queues {
		close(q)
	}
	for range queues {
		<-done
	}
	close(r.processDone)
}

// dispatch hands every acknowledged, unprocessed inbox row to a worker, in inbox order. The
// worker is chosen by object_id, so one object's events are processed in the order they were
// stored. It returns when Close has asked to drain and no row is left, or when ctx ends.
func (r *Receiver) dispatch(queues []chan job) {
	drain := r.drain
	draining := false
	var cursor int64 // rows up to here were handed out; a rescan starts again from 0
	rescan := time.NewTicker(r.cfg.rescan)
	defer rescan.Stop()
	for failures := 0; ; {
		rows, err := r.store.Pending(r.ctx, cursor, pageSize)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.log.Error("reading the inbox", "err", err)
			if !sleep(r.ctx, backoff(failures)) {
				return
			}
			failures++
			continue
		}
		failures = 0
		for _, row := range rows {
			cursor = row.Seq
			if !r.markQueued(row.Seq) {
				continue // a worker has it already
			}
			j := job{row: row, ev: parseEvent(row.Body)}
			key := j.ev.objectID
			if !j.ev.ordered {
				key = row.ID
			}
			select {
			case queues[shard(key, len(queues))] <- j:
			case <-r.ctx.Done():
				return
			}
		}
		if len(rows) == pageSize {
			continue
		}
		if draining {
			return // every row acknowledged before Close is with a worker
		}
		select {
		case <-r.wakeDispatch:
		case <-rescan.C:
			cursor = 0
		case <-drain:
			draining, drain, cursor = true, nil, 0
		case <-r.ctx.Done():
			return
		}
	}
}

// work processes jobs in small batches, one transaction per batch, retrying a failed
// transaction until it commits or ctx ends (the rows then wait for the next run).
func (r *Receiver) work(queue <-chan job) {
	batch := make([]job, 0, workBatch)
	for j := range queue {
		// Gather up to workBatch rows, waiting at most workLinger after the first: fewer, fuller
		// transactions leave the writer free for inbox commits, at the price of processing a
		// few milliseconds later, which is what asynchronous allows.
		batch = append(batch[:0], j)
		linger := time.NewTimer(workLinger)
	fill:
		for len(batch) < workBatch {
			select {
			case j, ok := <-queue:
				if !ok {
					break fill
				}
				batch = append(batch, j)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		for attempt := 0; ; attempt++ {
			err := r.store.Process(r.ctx, func(tx store.Tx) error { return r.apply(r.ctx, tx, batch) })
			if err == nil {
				break
			}
			if r.ctx.Err() != nil {
				return
			}
			r.log.Error("processing failed, retrying", "rows", len(batch), "attempt", attempt+1, "err", err)
			if !sleep(r.ctx, backoff(attempt)) {
				return
			}
		}
		r.unmarkQueued(batch)
		if r.cfg.sink != nil {
			notify(r.wakeReport)
		}
	}
}

// apply is the business logic, inside one transaction with the idempotency check: claim each
// delivery (skip it if it was processed before), decide whether it is stale for its object,
// and record its effect with a fresh effect_id, queued for the sink.
func (r *Receiver) apply(ctx context.Context, tx store.Tx, batch []job) error {
	for _, j := range batch {
		claimed, err := tx.Claim(ctx, j.row.ID)
		if err != nil {
			return err
		}
		if !claimed {
			continue // processed already: by an earlier run, a rescan, or another replica
		}
		applied := true // an event without ordering data is always applied
		if j.ev.ordered {
			// Stale when this object already shows a seq at least as new: processed, recorded
			// with applied=false, and the object's state is left alone.
			if applied, err = tx.Advance(ctx, j.ev.objectID, j.ev.seq); err != nil {
				return err
			}
		}
		e := store.Effect{EffectID: newEffectID(), WebhookID: j.row.ID, Type: j.ev.typ, Data: j.ev.data, Applied: applied}
		if err := tx.AddEffect(ctx, e, r.cfg.sink != nil); err != nil {
			return err
		}
	}
	return nil
}

// newEffectID names one processing. It is random, not derived from the delivery id: two
// processings of one delivery would get two ids, which is what lets a sink catch them.
func newEffectID() string { return "eff_" + rand.Text() }

func (r *Receiver) markQueued(seq int64) bool {
	r.queuedMu.Lock()
	defer r.queuedMu.Unlock()
	if _, ok := r.queued[seq]; ok {
		return false
	}
	r.queued[seq] = struct{}{}
	return true
}

func (r *Receiver) unmarkQueued(batch []job) {
	r.queuedMu.Lock()
	defer r.queuedMu.Unlock()
	for _, j := range batch {
		delete(r.queued, j.row.Seq)
	}
}

func shard(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
