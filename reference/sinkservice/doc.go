// Package sinkservice is the effect sink as a service (hookproof sink): one durable sink that
// the endpoint under test reports to and that every shard of a load run reconciles against,
// so that many generators give one verdict.
//
// Effects are keyed by run id. The endpoint reports exactly as to reference/sink's Collector
// (the same JSON, DecodeEffect's contract, the same answers: 204 once durable, 400, 413), to
// /runs/{run}/effects, or to /effects for the service's default run (WithDefaultRun: an
// endpoint whose sink URL cannot change). An effect is one row per (run, webhook_id,
// effect_id): a re-reported effect_id counts once, a report without one always counts.
//
// A load shard (load --sink-url) declares the run's shard count (PUT /runs/{run}), polls the
// cheap stats of its own ids (GET /runs/{run}/stats?prefix=) while it waits for effects, reads
// their distinct counts (GET /runs/{run}/counts?prefix=) to find its lost and doubled events,
// and deposits its results file (PUT /runs/{run}/shards/{i}). hookproof report --from lists
// the run (GET /runs/{run}) and fetches each deposit (GET /runs/{run}/shards/{i}); a shard
// that never deposited makes the merged run incomplete (reports.MergeAvailable).
//
// The store is SQLite by default (WAL, synchronous=FULL; one writer goroutine commits reports
// in groups, each answered after its commit) or PostgreSQL (a postgres:// DSN), which several
// services can share. GET /metrics serves Prometheus metrics: hookproof_sink_effects_total,
// hookproof_sink_effect_reports_total{result}, hookproof_sink_runs,
// hookproof_sink_shard_deposits_total and hookproof_sink_requests_total{route,code}.
package sinkservice
