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
package chaos
