// Package chaos is an HTTP-aware chaos proxy: it loses, repeats, delays, reorders and
// corrupts individual webhook deliveries or their answers (see Kinds), deciding per request
// from a seed.
//
// A Proxy forwards to one upstream and is an http.Handler, so it embeds in-process
// (httptest.NewServer(p)) or serves on a listener. Faults are plug-ins: one file per fault
// behind the Fault interface, registered by name in init() (see GUIDE.md). Each active fault
// is an instance described by a FaultSpec (name, type, probability, match rules, params);
// instances wrap one another in their declared order:
//
//	client ─▶ [fault 1 ─▶ [fault 2 ─▶ ... ─▶ forward ─▶ upstream]] ─▶ Result ─▶ client
//
// Whether an instance fires is f(seed, instance name, delivery key, attempt, copy), a hash
// rather than a shared random stream, so the same seed and the same deliveries get the same
// faults whatever the goroutine schedule. Every request lands in a bounded ledger.
//
// The delivery key of a request is the first present of webhook-id, X-GitHub-Delivery,
// X-Shopify-Webhook-Id, else the body's top-level "id" (Stripe, Slack), else a request counter;
// the proxy counts attempts per delivery, which the attempts match rule ("1-2", "3-") uses. The
// ledger keeps 10,000 lines by default (WithLedgerLimit); each line holds the key, attempt, the
// faults fired and what each did, the upstream status, what the client got and timings.
//
// The admin API (AdminHandler) answers GET /faults (the chain, outermost first), POST
// /faults?at=N, PATCH, PUT and DELETE /faults/NAME, GET /ledger?since=&limit= (JSON lines), GET
// /stats, POST /reset (?faults=true resets the faults too) and GET /types. Errors are
// {"error": "..."} with 400 (bad spec), 404 (no such fault) or 409 (name taken). Changing a
// probability or a match rule keeps a fault's state (a reorder batch in progress).
//
// Speed (BenchmarkThroughput, BenchmarkAddedLatency, BenchmarkServeHTTP): the upstream client is
// synchronous (the handler goroutine writes the request and reads the answer on a pooled
// keep-alive connection), headers and body leave in one write, bodies go through pooled buffers,
// and the fault chain is an immutable slice swapped atomically, so reading it takes no lock. A
// default httputil.ReverseProxy keeps 2 idle connections per host and, with 64 concurrent
// clients, opens and closes connections constantly.
package chaos
