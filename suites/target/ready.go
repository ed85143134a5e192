package target

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
)

// readiness is the wait strategy for a container on the host network: nothing is port-mapped,
// so it dials 127.0.0.1:port itself (TCP, or an HTTP GET answering 2xx when path is set), and
// it gives up at once when the container stops, instead of waiting out the deadline.
type readiness struct {
	addr string // 127.0.0.1:PORT
	path string // "" for a TCP check
}

var _ wait.Strategy = readiness{}

func (r readiness) WaitUntilReady(ctx context.Context, t wait.StrategyTarget) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		st, err := t.State(ctx)
		if err != nil {
			return fmt.Errorf("wait for %s: container state: %w", r.addr, err)
		}
		if !st.Running {
			return fmt.Errorf("container stopped before it was ready (status %s, exit code %d)", st.Status, st.ExitCode)
		}
		if last = r.probe(ctx, hc); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s: %w (last probe: %v)", r.addr, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r readiness) probe(ctx context.Context, hc *http.Client) error {
	if r.path == "" {
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, "tcp", r.addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.addr+r.path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: status %d", r.path, resp.StatusCode)
	}
	return nil
}
