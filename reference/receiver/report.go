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
		sent := make([]int64, 0, len(qs))
		var rerr error
		for _, q := range qs {
			e := sink.Effect{WebhookID: q.WebhookID, EffectID: q.EffectID, Type: q.Type, Data: q.Data, Applied: q.Applied}
			if rerr = r.cfg.sink.Report(r.ctx, e); rerr != nil {
				if r.ctx.Err() == nil {
					r.m.sinkErrors.Inc()
				}
				break // keep the order: nothing after a failed report goes first
			}
			r.m.reported.Inc()
			sent = append(sent, q.Seq)
		}
		if err := r.store.Reported(r.ctx, sent); err != nil && r.ctx.Err() == nil {
			r.log.Error("marking effects reported (they will be reported again)", "err", err)
		}
		if rerr != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.log.Warn("effect sink unavailable, retrying", "attempt", failures+1, "err", rerr)
			if !sleep(r.ctx, backoff(failures)) {
				return
			}
			failures++
			continue
		}
		failures = 0
	}
}
