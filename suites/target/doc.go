// Package target is the endpoint under test, wherever it runs: a URL someone else started, or a
// container image that hookproof starts with testcontainers-go, watches, and removes.
//
// Every suite and the load engine talk to a Target; only this package knows about Docker.
//
//	                 ┌──────────────── Target ────────────────┐
//	--url URL   ──▶  │ Remote: URL() only; no logs; no-op Close│
//	--image IMG ──▶  │ Container: start on the host network,   │──▶ URL() http://127.0.0.1:P/path
//	                 │ wait ready, Logs(), Kill/Restart, Close │
//	                 └─────────────────────────────────────────┘
//
// Containers run with host networking (nothing is port-mapped), carry the label hookproof=1 and
// the id of the process that started them, and are removed by Close on every exit path: success,
// failure, and a cancelled context (Ctrl-C). Containers left by a process that died are removed
// the next time any hookproof process starts one. No image is ever pulled: BuildImage builds the
// hookproof image FROM scratch around a static binary, and images under test must be local.
package target
