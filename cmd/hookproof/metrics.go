package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/metrics"
)

// metricsFlag adds --metrics ADDR. Metrics get a listener of their own, never a path on the
// webhook or proxy listener, where /metrics could be a webhook path like any other.
func metricsFlag(fs *flag.FlagSet) *string {
	return fs.String("metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics (a bare :PORT listens on 127.0.0.1); off when empty")
}

// metricsServer serves a registry's metrics at /metrics on a listener of its own.
type metricsServer struct {
	srv *http.Server
	ln  net.Listener
}

// startMetrics listens on addr and serves reg at /metrics; name says whose in the line it
// prints. A nil server (addr empty) does nothing.
func startMetrics(ctx context.Context, e *env, name, addr string, reg *prometheus.Registry) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	addr, err := loopbackDefault(addr)
	if err != nil {
		return nil, usagef("--metrics: %v", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, harnessError{fmt.Errorf("listen on %s (metrics): %w", addr, err)}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	m := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() { _ = m.srv.Serve(ln) }() // ends with close
	fmt.Fprintf(e.stdout, "hookproof %s: metrics on http://%s/metrics\n", name, ln.Addr())
	return m, nil
}

func (m *metricsServer) close() {
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
}
