// Command exampleapp is an ordinary webhook receiver, written the way a team writes one from the
// Standard Webhooks documentation: it has no hookproof code at all. hookproof's tests use it to
// observe a receiver's effects from the outside: from its database (the processed_events table)
// or from its log (one "processed …" line per processed delivery).
//
//	exampleapp -listen 127.0.0.1:8080 -db sqlite:/tmp/app.db -secret whsec_… [-workers N]
//	           [-log FILE] [-table-prefix PFX] [-flaw double]
//
// A POST on any path is verified with the Standard Webhooks library, stored in the inbox table
// in one transaction and acknowledged (204) right after the commit. Workers then process the
// inbox in arrival order, each delivery exactly once, into processed_events, keeping each
// object's newest seq in objects: an event not newer than the object's seq is recorded as stale
// (applied=false) and changes nothing.
//
// -flaw double is the known-bad variant: the inbox has no unique webhook_id, so a redelivery is
// stored and processed again. Everything else is the same.
//
// The database is -db (or DATABASE_URL): postgres://…, mysql://user:pass@host:port/db or
// sqlite:PATH. The secret is -secret (or WEBHOOK_SECRET).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "exampleapp:", err)
		os.Exit(1)
	}
}

type config struct {
	listen  string
	dsn     string
	secret  string
	flaw    string
	logPath string
	workers int
	prefix  string
}

var prefixRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("exampleapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.dsn, "db", getenv("DATABASE_URL"), "database: postgres://…, mysql://user:pass@host:port/db or sqlite:PATH (default $DATABASE_URL)")
	fs.StringVar(&c.secret, "secret", "", "Standard Webhooks signing secret, whsec_… (default $WEBHOOK_SECRET)")
	fs.StringVar(&c.flaw, "flaw", "", `"double": the known-bad variant that does not deduplicate redeliveries`)
	fs.StringVar(&c.logPath, "log", "", "also append the processed lines to this file")
	fs.IntVar(&c.workers, "workers", 1, "number of processing workers")
	fs.StringVar(&c.prefix, "table-prefix", "", "prefix for the table names (letters, digits, _)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.secret == "" {
		c.secret = getenv("WEBHOOK_SECRET")
	}
	switch {
	case c.secret == "":
		return c, errors.New("no secret: set -secret or WEBHOOK_SECRET")
	case c.dsn == "":
		return c, errors.New("no database: set -db or DATABASE_URL")
	case c.flaw != "" && c.flaw != "double":
		return c, fmt.Errorf("-flaw %q: the only flaw is \"double\"", c.flaw)
	case c.workers < 1:
		return c, fmt.Errorf("-workers %d: want at least 1", c.workers)
	case c.prefix != "" && !prefixRE.MatchString(c.prefix):
		return c, fmt.Errorf("-table-prefix %q: want up to 32 letters, digits or _, not starting with a digit", c.prefix)
	}
	return c, nil
}

// run is the whole program: it returns when ctx is done (SIGTERM, SIGINT) after a graceful stop.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.dsn, cfg.prefix, cfg.flaw == "double")
	if err != nil {
		return err
	}
	defer st.Close()

	out, err := newLineLog(stdout, cfg.logPath)
	if err != nil {
		return err
	}
	defer out.Close()

	a, err := newApp(st, cfg.secret, out, log.New(stderr, "exampleapp: ", log.LstdFlags))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          a.errlog,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	out.Printf("listening on %s", ln.Addr())

	wctx, stopWorkers := context.WithCancel(context.Background())
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		a.runWorkers(wctx, cfg.workers)
	}()

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	stopWorkers() // a delivery being processed rolls back and stays pending for the next start
	<-workersDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
