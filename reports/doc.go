// Package reports holds hookproof's results model (versioned JSON written by every run)
// and renders results into the HTML report, JUnit XML and Markdown summaries.
//
// Merging: results of one load --shard i/n run (same run id) become one run: ledger, status
// codes, errors and chaos counters are summed; per-second series are summed on wall-clock
// seconds; latency percentiles are recomputed from the summed histogram (interpolated within a
// bucket, bounded by the shards' own percentiles) or, when the shards' histograms differ, are the
// maximum of the shards, and the page says which. A threshold fails if any shard failed it; count
// metrics are summed and re-checked.
//
// Safety: everything from a target is escaped (html/template), and the page's
// Content-Security-Policy lets only its own inline script run (by its SHA-256). Authorization,
// Cookie and headers named like a secret, token or key are redacted; signature headers are kept
// (evidence, not secrets); anything shaped like a whsec_ secret is removed.
//
// Tests render realistic fixtures (testdata/*.json) against golden files (go test ./reports -run
// Golden -update -count=1), then open them in headless Chromium: no console error, charts with a
// size, the verdict visible, the filter working, no hostile payload running. Point them at real
// runs with HOOKPROOF_REPORT_FILES=a.json:b.json go test ./reports -run Browser -v. Without
// Chromium the browser tests skip loudly, and fail when CI=true.
package reports
