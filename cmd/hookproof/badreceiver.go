package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/knownbad"
	"github.com/hookproof/hookproof/reference/receiver"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reference/store"
)

// badreceiver serves a receiver that is broken on purpose, so the suites can prove they catch
// it, in a process or a container (the image has no other way to run one). It is a test tool:
// never point a real sender at it.
func init() {
	register(command{
		name:    "badreceiver",
		summary: "serve a known-bad receiver (a test tool: each --flaw breaks one requirement)",
		run:     runBadReceiver,
	})
}

func runBadReceiver(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "badreceiver", badReceiver(ctx, e, args))
}

func badReceiver(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "badreceiver", "--flaw NAME --listen ADDR --secret S [--scheme standard] [--sink URL] [--db PATH] [--flush-every D]")
	flaw := fs.String("flaw", "", "the flaw: "+strings.Join(badFlaws(), ", "))
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (GET /healthz answers 200)")
	secret := fs.String("secret", "", "signing secret shared with the sender")
	scheme := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	sinkURL := fs.String("sink", "", "effect sink URL to report processed events to")
	db := fs.String("db", "", "with --flaw "+knownbad.AckBeforeDurable+": the SQLite file of its (lazily written) store")
	flush := fs.Duration("flush-every", knownbad.DefaultFlushEvery, "with --flaw "+knownbad.AckBeforeDurable+": how long acknowledged deliveries wait in memory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *flaw == "":
		return usagef("--flaw is required: %s", strings.Join(badFlaws(), ", "))
	case *secret == "":
		return usagef("--secret is required")
	case *flaw == knownbad.AckBeforeDurable && *db == "":
		return usagef("--flaw %s needs --db PATH", knownbad.AckBeforeDurable)
	case *flaw != knownbad.AckBeforeDurable && *db != "":
		return usagef("--db only applies to --flaw %s (the other flaws keep state in memory)", knownbad.AckBeforeDurable)
	}
	if _, ok := knownbad.Describe(*flaw); !ok && *flaw != knownbad.AckBeforeDurable {
		return usagef("unknown --flaw %q: want one of %s", *flaw, strings.Join(badFlaws(), ", "))
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))

	var (
		handler http.Handler
		drain   func(context.Context) error
	)
	if *flaw == knownbad.AckBeforeDurable {
		sch, err := signature.New(*scheme, *secret)
		if err != nil {
			return usagef("%v", err)
		}
		st, err := store.Open(ctx, *db)
		if err != nil {
			return harnessError{fmt.Errorf("open %s: %w", *db, err)}
		}
		lazy, err := knownbad.NewLazyStore(st, *flush)
		if err != nil {
			st.Close()
			return err
		}
		opts := []receiver.Option{receiver.WithLogger(log)}
		if *sinkURL != "" {
			sc, err := sink.NewClient(*sinkURL)
			if err != nil {
				lazy.Close()
				return usagef("--sink: %v", err)
			}
			opts = append(opts, receiver.WithSink(sc))
		}
		rcv, err := receiver.New(sch, lazy, opts...)
		if err != nil {
			lazy.Close()
			return err
		}
		handler, drain = rcv, rcv.Close
	} else {
		var opts []knownbad.Option
		if *sinkURL != "" {
			opts = append(opts, knownbad.WithSink(*sinkURL))
		}
		rcv, err := knownbad.New(*flaw, *scheme, *secret, opts...)
		if err != nil {
			return usagef("%v", err)
		}
		handler, drain = withHealthz(rcv), func(context.Context) error { return nil }
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		_ = drain(context.Background())
		return harnessError{fmt.Errorf("listen on %s: %w", *listen, err)}
	}
	breaks, _ := knownbad.Describe(*flaw)
	if *flaw == knownbad.AckBeforeDurable {
		breaks = "acknowledges a delivery only once it is stored durably"
	}
	log.Info("known-bad receiver listening", "addr", ln.Addr().String(), "flaw", *flaw, "breaks", breaks)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		_ = drain(context.Background())
		return harnessError{fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), drain(sctx))
	if err != nil {
		return harnessError{fmt.Errorf("shut down: %w", err)}
	}
	return nil
}

// badFlaws lists every flaw badreceiver serves.
func badFlaws() []string {
	return append([]string{knownbad.None, knownbad.AckBeforeDurable}, knownbad.Flaws()...)
}

// withHealthz answers GET /healthz for the in-memory receivers, which only speak webhooks.
func withHealthz(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.WriteHeader(http.StatusOK)
			return
		}
		h.ServeHTTP(w, r)
	})
}
