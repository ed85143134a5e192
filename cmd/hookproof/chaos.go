package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/suites/session"
)

// chaos runs the HTTP-aware chaos proxy in front of one upstream until interrupted.
func init() {
	register(command{
		name:    "chaos",
		summary: "run the HTTP-aware chaos proxy (" + chaos.TypeNames() + ") in front of an endpoint",
		run:     runChaos,
	})
}

func runChaos(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "chaos", chaosProxy(ctx, e, args))
}

// chaosFlagTypes are the fault types with a flag of their own: every registered one, in the
// order the flags compose, outermost first. That order is by what they do to a delivery
// (chaos.Kinds: hold and slow the request, lose it or answer it without forwarding, damage
// it, multiply it, then lose or break the answer), then by name.
func chaosFlagTypes() []chaos.FaultType {
	ts := chaos.Types()
	slices.SortStableFunc(ts, func(a, b chaos.FaultType) int { return cmp.Compare(a.Kind.Rank(), b.Kind.Rank()) })
	return ts
}

// faultFlagHelp is a fault type's flag help: its value's syntax, what it does, its params.
func faultFlagHelp(t chaos.FaultType) string {
	var b strings.Builder
	arg := "P"
	if t.Primary != "" {
		arg = strings.ToUpper(t.Primary)
		fmt.Fprintf(&b, "`%s` (its %s, probability 1) or a probability P (0.05 or 5%%): ", arg, t.Primary)
	} else {
		b.WriteString("probability `P` (0.05 or 5%): ")
	}
	fmt.Fprintf(&b, "%s; %s", t.Kind.Doc(), t.Summary)
	if len(t.Params) > 0 {
		fmt.Fprintf(&b, ";\nparams, as %s(name=value,...): ", arg)
		for i, name := range slices.Sorted(maps.Keys(t.Params)) {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", name, t.Params[name])
		}
	}
	return b.String()
}

func chaosProxy(ctx context.Context, e *env, args []string) error {
	flagTypes := chaosFlagTypes()
	names := make([]string, len(flagTypes))
	for i, t := range flagTypes {
		names[i] = t.Name
	}
	fs := newFlagSet(e, "chaos", "--upstream URL [--listen ADDR] [--seed N] [--FAULT VALUE]... [--chaos SPEC] [--scenario FILE] [--admin ADDR] [--metrics ADDR]\n"+
		"       [--tls-cert FILE --tls-key FILE [--client-ca FILE]] (serve HTTPS)\n"+
		"       [--ca FILE] [--cert FILE --key FILE] [--insecure] [--tls-server-name NAME] (an https:// upstream)\n\n"+
		"FAULT is a fault type: its flag adds one instance. The flags compose in this order, outermost first:\n  "+
		strings.Join(names, ", ")+"\nafter --scenario's and --chaos's faults; for another order use --chaos SPEC or a scenario.")
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on (a bare :PORT listens on 127.0.0.1)")
	upstream := fs.String("upstream", "", "URL to forward to (required)")
	seedFlag := fs.String("seed", "", "seed of every decision (default: the scenario's, else random; printed at start)")
	scenario := fs.String("scenario", "", "YAML scenario file; its faults come first (at most 1,000 faults in all; no duration over 10 min)")
	spec := fs.String("chaos", "", "inline fault spec, e.g. drop=0.05,duplicate=0.1,delay=0-2s, or a scenario file (after --scenario's faults); types: "+chaos.TypeNames())
	admin := fs.String("admin", "", "address of the admin API (faults, ledger, stats); off when empty")
	ledgerLimit := fs.Int("ledger", 10000, "ledger entries kept in memory")
	ledgerOut := fs.String("ledger-out", "", "write the ledger as JSON lines to this file on exit")
	verbose := fs.Bool("v", false, "log every faulted request to stderr")
	metricsAddr := metricsFlag(fs)
	serveTLS := session.AddServeTLSFlags(fs)
	upTLS := session.AddTLSFlags(fs, "the upstream")
	perFault := make([]*string, len(flagTypes))
	for i, t := range flagTypes {
		perFault[i] = fs.String(t.Name, "", faultFlagHelp(t))
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *upstream == "" {
		return usagef("--upstream URL is required")
	}
	if err := upTLS.Validate(*upstream); err != nil {
		return err
	}
	if _, err := serveTLS.Config(); err != nil {
		return err
	}

	var specs []chaos.FaultSpec
	var seed *int64
	if *scenario != "" {
		sc, err := chaos.LoadScenario(*scenario)
		if err != nil {
			return usageError{err}
		}
		specs, seed = sc.Faults, sc.Seed
	}
	if *spec != "" {
		sc, err := chaos.ParseSpecOrFile(*spec)
		if err != nil {
			return usagef("--chaos: %w", err)
		}
		specs = append(specs, sc.Faults...)
		if seed == nil {
			seed = sc.Seed
		}
	}
	for i, t := range flagTypes {
		if *perFault[i] == "" {
			continue
		}
		more, err := chaos.ParseSpec(t.Name + "=" + *perFault[i])
		if err != nil || len(more) != 1 {
			var se *chaos.SpecError
			if errors.As(err, &se) {
				err = se.Err
			}
			return usagef("--%s %s: %v", t.Name, *perFault[i], err)
		}
		specs = append(specs, more[0])
	}
	if *seedFlag != "" {
		n, err := strconv.ParseInt(*seedFlag, 10, 64)
		if err != nil {
			return usagef("--seed %q: want an integer", *seedFlag)
		}
		seed = &n
	}
	if *ledgerLimit < 0 {
		return usagef("--ledger %d: want a count", *ledgerLimit)
	}
	listenAddr, err := loopbackDefault(*listen)
	if err != nil {
		return usagef("--listen: %w", err)
	}
	adminAddr := ""
	if *admin != "" {
		if adminAddr, err = loopbackDefault(*admin); err != nil {
			return usagef("--admin: %w", err)
		}
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	reg := prometheus.NewRegistry()
	opts := []chaos.Option{
		chaos.WithFaults(specs...),
		chaos.WithLedgerLimit(*ledgerLimit),
		chaos.WithMetrics(reg),
		chaos.WithLogger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))),
	}
	if seed != nil {
		opts = append(opts, chaos.WithSeed(*seed))
	}
	if tc := upTLS.Config(); tc != nil {
		opts = append(opts, chaos.WithTLSConfig(tc))
	}
	p, err := chaos.NewProxy(*upstream, opts...)
	if err != nil {
		return usageError{err}
	}
	defer p.Close()
	upTLS.Warn(e.stderr, "chaos")
	if err := checkTLS(ctx, "--upstream ", *upstream, upTLS.Config()); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return harnessError{fmt.Errorf("listen %s: %w", listenAddr, err)}
	}
	if ln, err = serveTLS.Listener(ln); err != nil {
		return err
	}
	srv := hotServer(&http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}, serveTLS.Scheme() == "https")
	servers := []server{srv}
	fmt.Fprintf(e.stdout, "seed=%d\n", p.Seed())
	fmt.Fprintf(e.stdout, "hookproof chaos: listening on %s://%s -> %s%s\n", serveTLS.Scheme(), ln.Addr(), p.Upstream(), serveTLS.Describe())
	if len(specs) == 0 {
		fmt.Fprintln(e.stdout, "hookproof chaos: no faults (add some with flags, --chaos, --scenario or the admin API)")
	} else {
		fmt.Fprintf(e.stdout, "hookproof chaos: faults %s\n", chaos.FormatSpec(p.Faults()))
	}
	if adminAddr != "" {
		aln, err := net.Listen("tcp", adminAddr)
		if err != nil {
			ln.Close()
			return harnessError{fmt.Errorf("listen %s (admin): %w", adminAddr, err)}
		}
		asrv := &http.Server{Handler: p.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, asrv)
		fmt.Fprintf(e.stdout, "hookproof chaos: admin API on http://%s\n", aln.Addr())
		go func() { _ = asrv.Serve(aln) }() // ends with Shutdown below
	}
	ms, err := startMetrics(ctx, e, "chaos", *metricsAddr, reg)
	if err != nil {
		ln.Close()
		for _, s := range servers[1:] {
			s.Close()
		}
		return err
	}
	defer ms.close()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err := <-errc:
		return harnessError{fmt.Errorf("serve: %w", err)}
	}
	// Release held and hung requests first, or Shutdown would wait for them.
	p.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx) // past the deadline, remaining connections are dropped: nothing to add
	}
	st := p.Stats()
	fmt.Fprintf(e.stdout, "hookproof chaos: stopped; seed=%d requests=%d forwarded=%d copies=%d%s\n",
		st.Seed, st.Requests, st.Forwarded, st.Copies, formatCounts(st.Faults))
	if *ledgerOut != "" {
		if err := writeLedger(*ledgerOut, p.Ledger()); err != nil {
			return harnessError{err}
		}
	}
	return nil
}

// loopbackDefault gives an address without a host the loopback host: the proxy and its
// admin API are test tools, not to be exposed by accident.
func loopbackDefault(addr string) (string, error) {
	if _, err := strconv.Atoi(addr); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q: want HOST:PORT or :PORT", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

func formatCounts(m map[string]int64) string {
	names := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%d", n, m[n])
	}
	return b.String()
}

func writeLedger(path string, entries []chaos.Entry) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			f.Close()
			return fmt.Errorf("ledger %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("ledger %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ledger %s: %w", path, err)
	}
	return nil
}
