package receiver

import (
	"time"

	"github.com/hookproof/hookproof/reference/sink"
)

// reportLoop moves the outbox to the sink: at least once, in commit order (so one object's
// applied effects arrive in seq order), deleting entries only after the sink answered 2xx.
// A crash between the report and the delete reports the entry again, under the same effect_id.
func (r *Receiver) reportLoop() {
	defer close(r.reportDone)
	processed := r.processDone // closed once processing has drained: then the outbox can drain
	draining := false
	poll := time.NewTicker(time.Second) // effects left by an earlier run, or by another replica
	defer poll.Stop()
	for failures := 0; ; {
		qs, err := r.store.Outbox(r.ctx, pageSize)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.log.Error("reading the outbox", "err", err)
			if !sleep(r.ctx, backoff(failures)) {
				return
			}
			failures++
			continue
		}
		if len(qs) == 0 {
			if draining {
				return
			}
			select {
			case <-r.wakeReport:
			case <-poll.C:
			case <-processed:
				draining, processed = true, nil
			case <-r.ctx.Done():
				return
			}
			continue
		}
		// Each entry is retried on its own until the sink takes it, backing off per failure
		// (50 ms, doubling): the backoff starts again after every success, so a sink that fails
		// now and then costs one short wait per failure, not a batch's worth of them. What
		// succeeded is marked reported before each wait, so it is not reported again.
		sent := make([]int64, 0, len(qs))
		mark := func() {
			if len(sent) == 0 {
				return
			}
			if err := r.store.Reported(r.ctx, sent); err != nil && r.ctx.Err() == nil {
				r.log.Error("marking effects reported (they will be reported again)", "err", err)
			}
			sent = sent[:0]
		}
		for _, q := range qs {
			e := sink.Effect{WebhookID: q.WebhookID, EffectID: q.EffectID, Type: q.Type, Data: q.Data, Applied: q.Applied}
			// Keep the order: nothing after a failed report goes first.
			for attempt := 0; ; attempt++ {
				rerr := r.cfg.sink.Report(r.ctx, e)
				if rerr == nil {
					break
				}
				r.m.sinkErrors.Inc()
				mark()
				if r.ctx.Err() != nil {
					return
				}
				r.log.Warn("effect sink unavailable, retrying", "effect_id", q.EffectID, "attempt", attempt+1, "err", rerr)
				if !sleep(r.ctx, backoff(attempt)) {
					return
				}
			}
			r.m.reported.Inc()
			sent = append(sent, q.Seq)
		}
		mark()
		failures = 0
	}
}
