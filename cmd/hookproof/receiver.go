package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/reference/h1"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reference/store"
	"github.com/hookproof/hookproof/suites/session"
)

// receiver serves the reference receiver: verify, store durably, acknowledge, then process
// exactly once in seq order, reporting effects to a sink when one is given.
func init() {
	register(command{
		name:    "receiver",
		summary: "serve the reference webhook receiver (durable inbox, exactly-once processing)",
		run:     runReceiver,
	})
}

const receiverUsage = "--listen ADDR --secret S [--scheme standard] [--db PATH|DSN] [--sink URL] [--workers N] [--metrics ADDR] [--tls-cert FILE --tls-key FILE [--client-ca FILE]]"

func runReceiver(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "receiver", serveReceiver(ctx, e, args))
}

func serveReceiver(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "receiver", receiverUsage)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	secret := fs.String("secret", "", "signing secret shared with the sender (default: $"+secretEnv+")")
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	db := fs.String("db", "hookproof-receiver.db", "SQLite file of the inbox, or a postgres:// DSN shared by replicas")
	sinkURL := fs.String("sink", "", "effect sink URL to report every effect to (default: local effects table only)")
	var workers workersFlag
	fs.Var(&workers, "workers", fmt.Sprintf("`N` processing workers (default %d on SQLite, %d on PostgreSQL); 0 stores and acknowledges only (crash drills)",
		receiver.DefaultWorkers, receiver.DefaultPostgresWorkers))
	drainFor := fs.Duration("drain-timeout", 30*time.Second, "on Ctrl-C, how long to wait for in-flight work")
	bodyTimeout := fs.Duration("body-timeout", receiver.DefaultBodyTimeout,
		"how long a client has to send a whole body (after its headers, which have 10 s); past it: 408")
	readBudget := fs.Int64("read-budget", receiver.DefaultReadBudget,
		"`BYTES` of request bodies held at once, being read or awaiting their commit (at least 2 MiB; a quarter kept for bodies of 64 KiB or less); past it: 503 with Retry-After")
	verbose := fs.Bool("v", false, "log every rejected delivery")
	metricsAddr := metricsFlag(fs)
	serveTLS := session.AddServeTLSFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := serveTLS.Config(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if !workers.set {
		workers.n = receiver.DefaultWorkers
		if store.IsPostgres(*db) {
			workers.n = receiver.DefaultPostgresWorkers
		}
	}
	if *bodyTimeout <= 0 {
		return usagef("--body-timeout: want a positive duration")
	}
	if *readBudget < 2*receiver.MaxBody {
		return usagef("--read-budget: want at least %d bytes", 2*receiver.MaxBody)
	}
	scheme, err := newScheme(e, *schemeName, *secret)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	reg := prometheus.NewRegistry()
	opts := []receiver.Option{receiver.WithLogger(log), receiver.WithWorkers(workers.n), receiver.WithMetrics(reg),
		receiver.WithBodyTimeout(*bodyTimeout), receiver.WithReadBudget(*readBudget)}
	sinkShown := "none"
	if *sinkURL != "" {
		sc, err := sink.NewClient(*sinkURL)
		if err != nil {
			return usagef("--sink: %v", err)
		}
		opts = append(opts, receiver.WithSink(sc))
		sinkShown = sc.URL()
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return harnessError{fmt.Errorf("listen on %s: %w", *listen, err)}
	}
	if ln, err = serveTLS.Listener(ln); err != nil {
		return err
	}
	rcv, err := receiver.Open(ctx, scheme, *db, opts...)
	if err != nil {
		ln.Close()
		return harnessError{fmt.Errorf("open the inbox at %s: %w", redactDSN(*db), err)}
	}
	fmt.Fprintf(e.stdout, "hookproof receiver: listening on %s://%s (scheme %s, db %s, sink %s, workers %d%s)\n",
		serveTLS.Scheme(), ln.Addr(), scheme.Name(), redactDSN(*db), sinkShown, workers.n, serveTLS.Describe())
	ms, err := startMetrics(ctx, e, "receiver", *metricsAddr, reg)
	if err != nil {
		ln.Close()
		rcv.Close(ctx)
		return err
	}
	defer ms.close()

	srv := hotServer(newHTTPServer(rcv, receiverServer(*bodyTimeout)), serveTLS.Scheme() == "https")
	return serveWith(ctx, e, ln, srv, rcv.Close, *drainFor, gracefulText{
		stopping: "hookproof receiver: shutting down, draining in-flight work",
		failed:   "drain (unfinished work resumes on the next start)",
		done:     "hookproof receiver: drained",
	})
}

// receiverHeaderBytes bounds a delivery's request headers (net/http's default is 1 MiB): a
// webhook's are a few hundred bytes, and every connection may hold that much before its
// headers are complete.
const receiverHeaderBytes = 64 << 10

// receiverServer bounds what a client holds on the receiver before it is judged: headers
// (size, and 10 s), then the body (the receiver's own deadline and read budget); ReadTimeout is
// the backstop over both.
func receiverServer(bodyTimeout time.Duration) func(*http.Server) {
	return func(s *http.Server) {
		s.MaxHeaderBytes = receiverHeaderBytes
		s.ReadTimeout = s.ReadHeaderTimeout + bodyTimeout + time.Second
	}
}

// gracefulText is what serveGracefully says when it stops, fails to drain, and is done.
type gracefulText struct{ stopping, failed, done string }

// serveGracefully serves h on ln until ctx is done, then stops taking requests and closes
// the service behind h (drain) within drainFor: the shutdown of the sender, the sink and listen.
func serveGracefully(ctx context.Context, e *env, ln net.Listener, h http.Handler,
	drain func(context.Context) error, drainFor time.Duration, say gracefulText, tune ...func(*http.Server)) error {
	return serveWith(ctx, e, ln, newHTTPServer(h, tune...), drain, drainFor, say)
}

// newHTTPServer is the net/http server every command starts from: 10 s for a request's
// headers, 2 minutes for an idle kept-alive connection, then whatever tune changes.
func newHTTPServer(h http.Handler, tune ...func(*http.Server)) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	for _, f := range tune {
		f(srv)
	}
	return srv
}

// server is what serveWith runs: an *http.Server or an *h1.Server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// hotServer is the server of a hot path (the receiver, the chaos proxy): h1, which does less
// work per request than net/http, on plain HTTP; srv itself over TLS, where
// net/http also speaks HTTP/2. Both apply srv's limits and timeouts.
func hotServer(srv *http.Server, tlsOn bool) server {
	if tlsOn {
		return srv
	}
	return &h1.Server{Handler: srv.Handler, ReadHeaderTimeout: srv.ReadHeaderTimeout, ReadTimeout: srv.ReadTimeout,
		WriteTimeout: srv.WriteTimeout, IdleTimeout: srv.IdleTimeout, MaxHeaderBytes: srv.MaxHeaderBytes, ErrorLog: srv.ErrorLog}
}

// serveWith serves srv on ln until ctx is done, then stops taking requests and closes the
// service behind it (drain) within drainFor.
func serveWith(ctx context.Context, e *env, ln net.Listener, srv server,
	drain func(context.Context) error, drainFor time.Duration, say gracefulText) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var serveErr error
	select {
	case err := <-served:
		serveErr = harnessError{fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
		fmt.Fprintln(e.stdout, say.stopping)
	}
	// Stop taking requests first, then drain what was accepted.
	dctx, cancel := context.WithTimeout(context.Background(), drainFor)
	defer cancel()
	err := errors.Join(srv.Shutdown(dctx), drain(dctx))
	if serveErr != nil {
		return serveErr
	}
	if err != nil {
		return harnessError{fmt.Errorf("%s: %w", say.failed, err)}
	}
	fmt.Fprintln(e.stdout, say.done)
	return nil
}

// workersFlag is --workers: a count of 0 or more, whose default depends on the store.
type workersFlag struct {
	n   int
	set bool
}

func (w *workersFlag) String() string {
	if w == nil || !w.set {
		return ""
	}
	return strconv.Itoa(w.n)
}

func (w *workersFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return errors.New("want a whole number, 0 or more")
	}
	w.n, w.set = n, true
	return nil
}

// redactDSN hides a PostgreSQL password (in the user info or a password parameter); a SQLite
// path is shown as is.
func redactDSN(dsn string) string {
	if !store.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable DSN)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
