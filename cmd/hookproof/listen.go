package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/inspect"
	"github.com/hookproof/hookproof/suites/session"
)

// listen is an inspecting endpoint: every delivery that arrives is judged against its scheme
// (signature, timestamp, duplicate id, retry marks), printed as one line, kept for the live
// page, optionally recorded and forwarded to the real endpoint.
func init() {
	register(command{
		name:    "listen",
		summary: "receive deliveries and judge each one (signature, timestamp, duplicates, retries), optionally forwarding and recording them",
		run:     runListen,
	})
}

const listenUsage = "--listen ADDR [--secret S ...] [--scheme standard] [--forward-to URL] [--record FILE] [--record-secrets] [--keep N] [--ui ADDR]\n" +
	"       [--tls-cert FILE --tls-key FILE [--client-ca FILE]] (receive over HTTPS)\n" +
	"       [--ca FILE] [--cert FILE --key FILE] [--insecure] [--tls-server-name NAME] (an https:// --forward-to)"

func runListen(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "listen", listen(ctx, e, args))
}

func listen(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "listen", listenUsage)
	addr := fs.String("listen", "127.0.0.1:9000", "address to receive deliveries on (any method, any path)")
	var secrets multiFlag
	fs.Var(&secrets, "secret", "signing secret `S` to judge signatures by (repeatable: rotation; default: $"+secretEnv+"; none: signatures are shown, not judged)")
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	forwardTo := fs.String("forward-to", "", "`URL` of the endpoint to forward every delivery to, byte for byte (the request's path and query are appended to the URL's); the sender gets the endpoint's answer")
	record := fs.String("record", "", "`FILE` to append every delivery to (JSON Lines, synced before the sender is answered)")
	recordSecrets := fs.Bool("record-secrets", false, "keep signature header values in the record and the live page (default: REDACTED)")
	keep := fs.Int("keep", inspect.DefaultKeep, "how many recent deliveries the live page holds")
	uiAddr := fs.String("ui", "", "`ADDR` to serve the live page of recent deliveries on")
	serveTLS := session.AddServeTLSFlags(fs)
	fwdTLS := session.AddTLSFlags(fs, "the --forward-to endpoint")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *keep < 1 {
		return usagef("--keep %d: want 1 or more", *keep)
	}
	if len(secrets) == 0 && e.getenv != nil {
		if s := e.getenv(secretEnv); s != "" {
			secrets = multiFlag{s}
		}
	}
	judge, err := inspect.NewJudge(*schemeName, secrets)
	if err != nil {
		return usagef("%v", err)
	}
	var target *url.URL
	if *forwardTo != "" {
		u, err := url.Parse(*forwardTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--forward-to %q: want an http:// or https:// URL", *forwardTo)
		}
		target = u
	}
	if fwdTLS.Given() && target == nil {
		return usagef("--ca, --cert, --key, --insecure and --tls-server-name apply to an https:// --forward-to")
	}
	if err := fwdTLS.Validate(*forwardTo); err != nil {
		return err
	}
	if _, err := serveTLS.Config(); err != nil {
		return err
	}
	if target != nil {
		fwdTLS.Warn(e.stderr, "listen")
		if err := checkTLS(ctx, "--forward-to ", target.String(), fwdTLS.Config()); err != nil {
			return err
		}
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return harnessError{fmt.Errorf("listen on %s: %w", *addr, err)}
	}
	if ln, err = serveTLS.Listener(ln); err != nil {
		return err
	}
	var closers []func(context.Context) error
	closeAll := func(ctx context.Context) error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i](ctx))
		}
		return errors.Join(errs...)
	}
	var rec *inspect.Writer
	if *record != "" {
		f, err := os.OpenFile(*record, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			ln.Close()
			return harnessError{fmt.Errorf("--record: %w", err)}
		}
		rec = inspect.NewWriter(f)
		closers = append(closers, func(context.Context) error { return f.Close() })
	}
	hub := inspect.NewHub(*keep)
	l, err := inspect.NewListener(inspect.ListenerConfig{Judge: judge, Hub: hub, Record: rec, RecordSecrets: *recordSecrets,
		ForwardTo: target, ForwardTLS: fwdTLS.Config(), Console: e.stdout})
	if err != nil {
		ln.Close()
		closeAll(context.Background())
		return usagef("%v", err)
	}
	uiShown := ""
	if *uiAddr != "" {
		uln, err := lc.Listen(ctx, "tcp", *uiAddr)
		if err != nil {
			ln.Close()
			closeAll(context.Background())
			return harnessError{fmt.Errorf("--ui: listen on %s: %w", *uiAddr, err)}
		}
		uiSrv := &http.Server{Handler: inspect.NewUI(hub), ReadHeaderTimeout: 10 * time.Second}
		go uiSrv.Serve(uln)
		closers = append(closers, uiSrv.Shutdown)
		uiShown = fmt.Sprintf(", live page on http://%s", uln.Addr())
	}

	judged := "signatures not judged (no --secret)"
	if n := len(secrets); n > 0 {
		judged = fmt.Sprintf("%d secret", n)
		if n > 1 {
			judged += "s"
		}
	}
	then := "answering itself"
	if target != nil {
		then = "forwarding to " + target.Redacted()
	}
	recShown := ""
	if *record != "" {
		recShown = ", recording to " + *record
	}
	fmt.Fprintf(e.stdout, "hookproof listen: listening on %s://%s (scheme %s, %s, %s%s, keeping %d%s%s)\n",
		serveTLS.Scheme(), ln.Addr(), judge.Scheme(), judged, then, recShown, *keep, uiShown, serveTLS.Describe())

	return serveGracefully(ctx, e, ln, l, closeAll, 10*time.Second, gracefulText{
		stopping: "hookproof listen: stopping",
		failed:   "stop",
		done:     "hookproof listen: stopped",
	})
}
