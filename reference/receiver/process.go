package receiver

import (
	"context"
	"crypto/rand"
	"hash/fnv"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/store"
)

// pageSize is how many inbox rows the dispatcher reads at a time; workBatch is how many rows a
// worker processes in one transaction (each still claimed and applied on its own), gathered
// for at most workLinger.
const (
	pageSize   = 512
	workBatch  = 128
	workLinger = 10 * time.Millisecond
)

type job struct {
	row store.Row
	ev  event.Received
	// Set by apply in the transaction that processed the row (reset on each attempt): it
	// claimed the row, and the effect was applied (not stale). Counted once it commits.
	claimed, applied bool
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
// stored. Rows come straight from the committer after each commit; the inbox itself is read at
// start (rows a previous run acknowledged), after the committer's hand-off overflowed, and on
// every rescan. A row reached both ways is dispatched once (queued), and a row processed
// already is skipped by its claim. It returns when Close has asked to drain and no row is
// left, or when ctx ends.
func (r *Receiver) dispatch(queues []chan job) {
	send := func(row store.Row) bool {
		if !r.markQueued(row.ID) {
			return true // a worker has it already
		}
		j := job{row: row, ev: r.cfg.parse(row.Body)}
		j.row.Body = nil // parsed: the worker needs the event, not the body
		key := j.ev.ObjectID
		if !j.ev.Ordered {
			key = row.ID
		}
		select {
		case queues[shard(key, len(queues))] <- j:
			return true
		case <-r.ctx.Done():
			return false
		}
	}
	// sendFresh sends every batch waiting in fresh, oldest first.
	sendFresh := func() bool {
		for len(r.fresh) > 0 {
			for _, row := range <-r.fresh {
				if !send(row) {
					return false
				}
			}
		}
		return true
	}
	drain := r.drain
	draining := false
	scan := true     // read the inbox before waiting again
	var cursor int64 // the inbox was read up to this seq; a rescan starts again from 0
	rescan := time.NewTicker(r.cfg.rescan)
	defer rescan.Stop()
	for failures := 0; ; {
		if scan {
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
				if !send(row) {
					return
				}
			}
			if len(rows) == pageSize {
				continue
			}
			scan = false
			if draining {
				return // every row acknowledged before Close is with a worker
			}
		}
		select {
		case rows := <-r.fresh:
			for _, row := range rows {
				if !send(row) {
					return
				}
			}
		case <-r.wakeDispatch:
			// The hand-off overflowed. What is still in fresh is older than what it dropped:
			// send it first, then resume the hand-off and read the rest from the inbox.
			if !sendFresh() {
				return
			}
			r.handoffLost.Store(false)
			scan = true
		case <-rescan.C:
			scan, cursor = true, 0
		case <-drain:
			// The committer has stopped: take what it handed off, then read the whole inbox once.
			if !sendFresh() {
				return
			}
			draining, drain, scan, cursor = true, nil, true, 0
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
		for rest := batch; len(rest) > 0; {
			// An inbox commit waiting for the writer ends the transaction early (see apply);
			// the rest of the batch goes in the next one, once the commit is through.
			r.waitInboxCommit()
			done, ok := r.processBatch(rest)
			if !ok {
				return
			}
			r.unmarkQueued(rest[:done])
			rest = rest[done:]
			if r.cfg.sink != nil {
				notify(r.wakeReport)
			}
		}
		// batch is reused: clear it, so that it does not keep processed bodies alive.
		clear(batch)
	}
}

// processBatch runs apply in one transaction, retrying a failed transaction until it commits;
// it returns how many jobs it processed, or false when ctx ended first.
func (r *Receiver) processBatch(batch []job) (int, bool) {
	for attempt := 0; ; attempt++ {
		var done int
		err := r.store.Process(r.ctx, func(tx store.Tx) error {
			var err error
			done, err = r.apply(r.ctx, tx, batch)
			return err
		})
		if err == nil {
			r.countProcessed(batch[:done])
			return done, true
		}
		if r.ctx.Err() != nil {
			return 0, false
		}
		r.log.Error("processing failed, retrying", "rows", len(batch), "attempt", attempt+1, "err", err)
		if !sleep(r.ctx, backoff(attempt)) {
			return 0, false
		}
	}
}

// apply is the business logic, inside one transaction with the idempotency check: claim each
// delivery (skip it if it was processed before), decide whether it is stale for its object,
// and record its effect with a fresh effect_id, queued for the sink.
//
// Acks come first: when an inbox commit is waiting, apply stops after the job in hand and
// returns how many it did, so the transaction commits and frees the writer.
func (r *Receiver) apply(ctx context.Context, tx store.Tx, batch []job) (int, error) {
	for i := range batch {
		batch[i].claimed, batch[i].applied = false, false
	}
	if bt, ok := tx.(store.BatchTx); ok {
		return r.applyAll(ctx, bt, batch)
	}
	for i, j := range batch {
		if i > 0 && r.inboxCommit.Load() {
			return i, nil
		}
		claimed, err := tx.Claim(ctx, j.row.ID)
		if err != nil {
			return 0, err
		}
		if !claimed {
			continue // processed already: by an earlier run, a rescan, or another replica
		}
		applied := true // an event without ordering data is always applied
		if j.ev.Ordered {
			// Stale when this object already shows a seq at least as new: processed, recorded
			// with applied=false, and the object's state is left alone.
			if applied, err = tx.Advance(ctx, j.ev.ObjectID, j.ev.Seq); err != nil {
				return 0, err
			}
		}
		e := store.Effect{EffectID: newEffectID(), WebhookID: j.row.ID, Type: j.ev.Type, Data: j.ev.Data, Applied: applied}
		if err := tx.AddEffect(ctx, e, r.cfg.sink != nil); err != nil {
			return 0, err
		}
		batch[i].claimed, batch[i].applied = true, applied
	}
	return len(batch), nil
}

// applyChunk is how many jobs applyAll hands the store at once: between chunks, a waiting
// inbox commit ends the transaction, as between jobs in apply.
const applyChunk = 32

// applyAll is apply, set-based: for each chunk of the batch, one claim of every delivery, one
// ordering update of every object, one insert of every effect.
func (r *Receiver) applyAll(ctx context.Context, tx store.BatchTx, batch []job) (int, error) {
	ids := make([]string, 0, min(len(batch), applyChunk))
	var objects []string
	var seqs []int64
	var ordered []int // indices in the chunk of the claimed jobs with ordering data
	var es []store.Effect
	for start := 0; start < len(batch); start += applyChunk {
		if start > 0 && r.inboxCommit.Load() {
			return start, nil
		}
		chunk := batch[start:min(start+applyChunk, len(batch))]
		ids = ids[:0]
		for _, j := range chunk {
			ids = append(ids, j.row.ID)
		}
		claimed, err := tx.ClaimAll(ctx, ids)
		if err != nil {
			return 0, err
		}
		objects, seqs, ordered = objects[:0], seqs[:0], ordered[:0]
		for i, j := range chunk {
			if claimed[i] && j.ev.Ordered {
				objects, seqs, ordered = append(objects, j.ev.ObjectID), append(seqs, j.ev.Seq), append(ordered, i)
			}
		}
		applied, err := tx.AdvanceAll(ctx, objects, seqs)
		if err != nil {
			return 0, err
		}
		for i := range chunk {
			chunk[i].applied = true // an event without ordering data is always applied
		}
		for k, i := range ordered {
			chunk[i].applied = applied[k]
		}
		es = es[:0]
		for i, j := range chunk {
			if !claimed[i] {
				chunk[i].applied = false
				continue // processed already: by an earlier run, a rescan, or another replica
			}
			chunk[i].claimed = true
			es = append(es, store.Effect{EffectID: newEffectID(), WebhookID: j.row.ID, Type: j.ev.Type, Data: j.ev.Data, Applied: chunk[i].applied})
		}
		if err := tx.AddEffects(ctx, es, r.cfg.sink != nil); err != nil {
			return 0, err
		}
	}
	return len(batch), nil
}

// countProcessed counts the effects of a committed batch, and how long after its ack each
// delivery was processed.
func (r *Receiver) countProcessed(batch []job) {
	now := time.Now()
	for _, j := range batch {
		if !j.claimed {
			continue
		}
		if j.applied {
			r.m.applied.Inc()
		} else {
			r.m.stale.Inc()
		}
		if !j.row.ReceivedAt.IsZero() {
			r.m.lag.Observe(max(now.Sub(j.row.ReceivedAt), 0).Seconds())
		}
	}
}

// waitInboxCommit waits while an inbox commit is waiting for the writer or running, so that a
// processing transaction does not take the writer from under it.
func (r *Receiver) waitInboxCommit() {
	r.commitMu.Lock()
	done := r.commitDone
	r.commitMu.Unlock()
	if !r.inboxCommit.Load() {
		return
	}
	select {
	case <-done:
	case <-r.ctx.Done():
	}
}

// newEffectID names one processing. It is random, not derived from the delivery id: two
// processings of one delivery would get two ids, which is what lets a sink catch them.
func newEffectID() string { return "eff_" + rand.Text() }

func (r *Receiver) markQueued(id string) bool {
	r.queuedMu.Lock()
	defer r.queuedMu.Unlock()
	if _, ok := r.queued[id]; ok {
		return false
	}
	r.queued[id] = struct{}{}
	return true
}

func (r *Receiver) unmarkQueued(batch []job) {
	r.queuedMu.Lock()
	defer r.queuedMu.Unlock()
	for _, j := range batch {
		delete(r.queued, j.row.ID)
	}
}

func shard(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
