package sink

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves a Collector on a loopback listener. Close it when done; cancelling the context
// given to Listen closes it too. Close is safe to call more than once.
type Server struct {
	Collector *Collector
	url       string
	srv       *http.Server
	once      sync.Once
	err       error
}

// Listen serves a new Collector on addr ("" means 127.0.0.1:0, a free loopback port).
func Listen(ctx context.Context, addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sink: listen on %s: %w", addr, err)
	}
	s := &Server{Collector: NewCollector(), url: "http://" + ln.Addr().String() + "/effects"}
	s.srv = &http.Server{Handler: s.Collector, ReadHeaderTimeout: 10 * time.Second}
	// Serve returns ErrServerClosed after Close, the only way it ends on a listener we own.
	go func() { _ = s.srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// URL returns the full effects URL, e.g. http://127.0.0.1:41234/effects.
func (s *Server) URL() string { return s.url }

// closeTimeout bounds how long Close waits for reports in flight.
const closeTimeout = 5 * time.Second

// Close stops the server, waiting up to 5 s for reports in flight; past that it drops their
// connections (the reporters retry) and says so in its error.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
			s.err = fmt.Errorf("sink: closing %s: reports still in flight after %s, dropped: %w", s.url, closeTimeout, err)
		}
	})
	return s.err
}
