package main

import (
	"context"
	"fmt"
	"github.com/hookproof/hookproof/suites/session"
	"net"
	"time"

	"github.com/hookproof/hookproof/reference/sinkservice"
)

// sink serves the shared effect sink: the endpoint under test reports its effects to it, the
// shards of a load run (load --sink-url) reconcile their own ids against it and deposit their
// results, and hookproof report --from merges them.
func init() {
	register(command{
		name:    "sink",
		summary: "serve the shared effect sink of a sharded load run (durable, keyed by run id)",
		run:     runSink,
	})
}

const sinkUsage = `--listen ADDR [--db PATH|DSN] [--run RUN_ID] [--tls-cert FILE --tls-key FILE [--client-ca FILE]]

The endpoint under test POSTs each effect ({"webhook_id","effect_id","type","data","applied"})
to /runs/RUN_ID/effects, or to /effects for the run named by --run. Load shards started with
--sink-url http://ADDR --run-id RUN_ID count their own ids there and deposit their results;
hookproof report --from http://ADDR --run RUN_ID merges them. /metrics serves Prometheus metrics.`

func runSink(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "sink", serveSink(ctx, e, args))
}

func serveSink(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sink", sinkUsage)
	listen := fs.String("listen", "127.0.0.1:9300", "address to listen on")
	db := fs.String("db", "hookproof-sink.db", "SQLite file of the effects and results, or a postgres:// DSN shared by several sink services")
	run := fs.String("run", sinkservice.DefaultRun, "the run that effects POSTed to /effects (no run in the path) belong to: give it the shards' --run-id to test an endpoint that cannot change its sink URL")
	drainFor := fs.Duration("drain-timeout", 10*time.Second, "on Ctrl-C, how long to wait for reports in flight")
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
	if !sinkservice.ValidRun(*run) {
		return usagef("--run %q: want 1-128 of A-Z a-z 0-9 . _ : - (starting with a letter or digit)", *run)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return harnessError{fmt.Errorf("listen on %s: %w", *listen, err)}
	}
	if ln, err = serveTLS.Listener(ln); err != nil {
		return err
	}
	st, err := sinkservice.Open(ctx, *db)
	if err != nil {
		ln.Close()
		return harnessError{fmt.Errorf("open the store at %s: %w", redactDSN(*db), err)}
	}
	svc, err := sinkservice.New(st, sinkservice.WithDefaultRun(*run))
	if err != nil {
		ln.Close()
		st.Close()
		return usagef("%v", err)
	}
	fmt.Fprintf(e.stdout, "hookproof sink: listening on %s://%s (db %s; effects to /runs/RUN_ID/effects, or /effects for run %q%s)\n",
		serveTLS.Scheme(), ln.Addr(), redactDSN(*db), *run, serveTLS.Describe())
	return serveGracefully(ctx, e, ln, svc, func(context.Context) error { return st.Close() }, *drainFor, gracefulText{
		stopping: "hookproof sink: shutting down",
		failed:   "close the store",
		done:     "hookproof sink: stopped",
	})
}
