// Package load is the engine of hookproof load: a Vegeta attack of signed webhook deliveries,
// retried like a real sender, reconciled against an effect sink and graded by k6-style thresholds.
//
// A run is a pipeline of small parts, each replaceable and tested on its own:
//
//	pacer ─▶ signing targeter ─┐                       ┌─▶ ledger (per delivery state) ─▶ reconcile with sink
//	                           ├─▶ recording transport ─┤
//	retry queue (backoff) ─────┘   [chaos proxy]        └─▶ latency histograms, series ─▶ thresholds ─▶ Results
//
// The main attack sends new deliveries at the configured rate; a second attack, paced by the
// retry queue, re-sends failed ones with the same id and a fresh timestamp and signature, during
// the attack and in a bounded drain phase. Every request's outcome is recorded by a wrapping
// RoundTripper (Vegeta's Result carries no request headers), and ack latency is measured from
// each attempt's scheduled send time, so a slow target cannot hide behind a slowed generator.
//
// Invalid deliveries (Config.Invalid) cycle through five kinds: wrong-secret (another secret of
// the same shape), flipped-signature (one character of the MAC changed), tampered-body (changed
// after signing), stale-timestamp (signed an hour ago; timestamped schemes only) and
// missing-signature. Their ids are new and never retried; a 2xx or an effect for one counts as
// invalid accepted, by kind. Duplicates re-send one of the last 128 valid ids with a fresh
// signature. Ids carry the run id and the start time, so running the same command twice never
// sends an id a durable receiver already stored.
//
// Retries back off exponentially with seeded jitter (200 ms doubling to 5 s); a retry whose event
// a duplicate got acked meanwhile is not sent, and what is still pending when the drain ends is
// cut off. Latency is measured from the scheduled time (start + (k+1)/rate for the k-th attempt,
// the due time for a retry); a timed-out attempt counts as an ack at least that slow. p50, p90,
// p99, max and mean come from a log-linear histogram never more than 1.6% above the exact value.
//
// The ledger must close: published = acked + failed after retries + cut off, and attempts made =
// outcomes recorded = Vegeta results, 2xx recorded = 2xx Vegeta saw; otherwise the run is void.
// With a sink, reconciliation waits until every acked event has its effect and the sink has been
// quiet for 500 ms, within SinkWait. Shards (ParseShard) send rate/n over a period n times as
// long, with ids carrying the shard index; the run id derives from the seed and the arguments
// other than --shard, --out and the report flags, and reports merges shards from their shared
// histogram buckets.
//
// Use:
//
//	res, err := load.Run(ctx, load.Config{URL: url, Secret: secret, Rate: load.Rate{Freq: 200, Per: time.Second},
//		Duration: 30 * time.Second, Chaos: "drop=0.05,lost-ack=0.05", Thresholds: []string{"ack_p99<2s"}},
//		load.WithCollector(sinkServer.Collector), load.WithProgress(os.Stderr, false, 0))
//
// ParseRate, ParseShard, ParseThreshold and Thresholds are the parsers the CLI uses (each has a
// fuzz target). The Ginkgo suite of this package (labels reference, chaos, knownbad, engine,
// slow) runs real short loads on loopback.
package load
