package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/hookproof/hookproof/suites/receiver"
	"github.com/hookproof/hookproof/suites/session"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// conform runs a conformance suite; each suite is a mode (conform receiver, conform sender)
// registered with registerConformMode from its own file.
func init() {
	register(command{
		name:    "conform",
		summary: "run a conformance suite: receiver (your endpoint) or sender (your webhook sender)",
		run:     runConform,
	})
	registerConformMode(conformMode{
		name:    "receiver",
		summary: "deliver signed, forged, replayed, duplicated and reordered webhooks to your endpoint",
		usage:   conformReceiverUsage,
		run:     conformReceiver,
	})
}

// conformMode is one suite of hookproof conform.
type conformMode struct {
	name, summary, usage string
	run                  func(ctx context.Context, e *env, args []string) error
}

var conformModes = map[string]conformMode{}

func registerConformMode(m conformMode) {
	if _, dup := conformModes[m.name]; dup {
		panic("hookproof: conform mode registered twice: " + m.name)
	}
	conformModes[m.name] = m
}

func conformUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hookproof conform <suite> [flags]\n\nsuites:")
	names := slices.Sorted(maps.Keys(conformModes))
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, conformModes[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'hookproof conform <suite> -h' for its flags")
}

func runConform(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		conformUsage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		conformUsage(e.stdout)
		return exitOK
	}
	m, ok := conformModes[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "hookproof conform: unknown suite %q\n\n", args[0])
		conformUsage(e.stderr)
		return exitUsage
	}
	return exitCode(e, "conform "+m.name, m.run(ctx, e, args[1:]))
}

const conformReceiverUsage = `--url URL --secret S [--scheme standard] [--sink ADDR] [--chaos SPEC]
       [--strict] [--id IDS] [--family F] [--level L] [--opt-in cloudevents] [--seed N]
       [--out results.json] [--junit FILE] [--html FILE] [--summary-md FILE]
   or: --image IMG [--port P] [--path /hook] [--env K=V]... (instead of --url)
   or: --builtin reference|knownbad:FLAW (a receiver hookproof runs in process)
   with an https:// URL: [--ca FILE] [--cert FILE --key FILE] [--insecure] [--tls-server-name NAME]
   or: --list [--id IDS] [--family F] [--level L]`

// conformReceiverFlags are the flags of hookproof conform receiver.
type conformReceiverFlags struct {
	suiteFlags
	target  *session.TargetFlags
	secret  string
	scheme  string
	sink    string
	chaos   string
	optIns  multiFlag
	events  multiFlag
	observe *session.ObserveFlags
}

// suiteFlags are the flags every conformance suite shares: selection, grading and outputs.
type suiteFlags struct {
	seed               int64
	strict, list       bool
	allowUnobserved    bool
	ids, family, level string
	outputs            session.Outputs
	timeout            time.Duration
}

// register adds the shared flags; idExample and families describe the suite's catalogue.
func (s *suiteFlags) register(fs *flag.FlagSet, idExample, families string, timeout time.Duration) {
	fs.Int64Var(&s.seed, "seed", 0, "seed of the run: spec order, generated ids, chaos decisions (default: random, printed)")
	fs.BoolVar(&s.strict, "strict", false, "SHOULD failures fail the run too")
	fs.BoolVar(&s.allowUnobserved, "allow-unobserved", false, allowUnobservedUsage)
	fs.BoolVar(&s.list, "list", false, "print the requirements (as selected by --id, --family, --level) and exit")
	fs.StringVar(&s.ids, "id", "", "run only these case `IDS`, comma-separated; "+idExample+" matches a prefix")
	fs.StringVar(&s.family, "family", "", "run only these families, comma-separated: "+families)
	fs.StringVar(&s.level, "level", "", "run only these levels, comma-separated: MUST, SHOULD, INFO")
	s.outputs.Register(fs)
	fs.DurationVar(&s.timeout, "timeout", timeout, "bound on the whole suite")
}

// selection parses and checks --id, --family and --level against suite su's catalogue.
func (s *suiteFlags) selection(su catalog.Suite) (catalog.Selector, error) {
	sel, err := catalog.ParseSelector(s.ids, s.family, s.level)
	if err != nil {
		return sel, usagef("%v", err)
	}
	if err := sel.Validate(su); err != nil {
		return sel, usagef("%v", err)
	}
	return sel, nil
}

func conformReceiver(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "conform receiver", conformReceiverUsage)
	f := &conformReceiverFlags{target: session.AddTargetFlags(fs)}
	fs.StringVar(&f.secret, "secret", "", "the endpoint's signing secret (default $HOOKPROOF_SECRET)")
	fs.StringVar(&f.scheme, "scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	fs.StringVar(&f.sink, "sink", "", "listen for effect reports on `ADDR` (e.g. 127.0.0.1:9300); without it idempotency and ordering are not observable")
	fs.StringVar(&f.chaos, "chaos", "", "send deliveries through an in-process chaos proxy: inline `SPEC` (e.g. drop=0.1,duplicate=0.2) or scenario file; the suite then retries like a sender; fault types: "+chaos.TypeNames())
	fs.Var(&f.optIns, "opt-in", "run an optional check the endpoint implements: "+strings.Join(receiver.OptIns, ", ")+" (repeatable)")
	fs.Var(&f.events, "event", eventUsage)
	f.observe = session.AddObserveFlags(fs)
	f.register(fs, "RCV-SIG-*", strings.Join(catalog.Families(catalog.Receiver), ", "), 10*time.Minute)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	sel, err := f.selection(catalog.Receiver)
	if err != nil {
		return err
	}
	if f.list {
		return listRequirements(e.stdout, catalog.Receiver, f.scheme, sel, func(r catalog.Requirement) string {
			var notes string
			if r.Has("sink") {
				notes += "; needs --sink"
			}
			if r.OptIn != "" {
				notes += "; optional: --opt-in " + r.OptIn
			}
			return notes
		})
	}
	return f.run(ctx, e, fs, args, sel)
}

// listRequirements prints the selected requirements of suite su at their levels for scheme
// (--scheme: a provider's library may make a MUST a SHOULD), two lines each: the
// requirement, then its source, schemes and what running it takes (notes).
func listRequirements(w io.Writer, su catalog.Suite, scheme string, sel catalog.Selector, notes func(catalog.Requirement) string) error {
	reqs, err := catalog.ForScheme(su, scheme)
	if err != nil {
		return harnessError{err}
	}
	n := 0
	for _, r := range reqs {
		if !sel.Match(r) {
			continue
		}
		n++
		fmt.Fprintf(w, "%-15s %-6s %-12s %s\n", r.ID, r.Level, r.Family, r.Requirement)
		extra := "source: " + r.Source
		if len(r.Schemes)+len(r.AppliesIf) > 0 {
			extra += "; schemes: " + strings.Join(r.ApplicableSchemes(), ", ")
		}
		fmt.Fprintf(w, "%36s%s\n", "", extra+notes(r))
	}
	fmt.Fprintf(w, "%d requirements\n", n)
	return nil
}

func (f *conformReceiverFlags) run(ctx context.Context, e *env, fs *flag.FlagSet, args []string, sel catalog.Selector) error {
	if f.secret == "" {
		f.secret = e.getenv("HOOKPROOF_SECRET")
	}
	if err := f.target.Validate(fs); err != nil {
		return err
	}
	if f.target.Builtin != "" && f.secret == "" {
		f.secret = builtinSecret(f.scheme)
	}
	if f.secret == "" {
		return usagef("give the endpoint's signing secret: --secret S or $HOOKPROOF_SECRET")
	}
	if _, err := signature.New(f.scheme, f.secret); err != nil {
		return usagef("%v", err)
	}
	seedSet := false
	fs.Visit(func(fl *flag.Flag) { seedSet = seedSet || fl.Name == "seed" })
	if !seedSet {
		f.seed = randomSeed()
		// A scenario's own seed replays its chaos; --seed wins over it.
		if f.chaos != "" {
			if sc, err := chaos.ParseSpecOrFile(f.chaos); err == nil && sc.Seed != nil {
				f.seed = *sc.Seed
			}
		}
	}
	// Every flag is checked before the target is contacted or started: a bad flag is a usage
	// error (exit 2) even when the target is down.
	if f.chaos != "" {
		if _, err := chaos.ParseSpecOrFile(f.chaos); err != nil {
			return usagef("--chaos: %v", err)
		}
	}
	for _, in := range f.optIns {
		if !slices.Contains(receiver.OptIns, in) {
			return usagef("--opt-in %q: unknown optional check (known: %s)", in, strings.Join(receiver.OptIns, ", "))
		}
	}
	if err := checkEvents(f.events, f.scheme); err != nil {
		return err
	}
	if err := f.observe.Validate(f.target); err != nil {
		return err
	}

	s := session.New(session.Config{
		Command: "conform receiver", Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Version: Version,
		Args: append([]string{"conform", "receiver"}, args...), Secrets: append([]string{f.secret}, f.observe.Secrets()...), Outputs: f.outputs,
		Color: isTerminal(e.stdout), AllowUnobserved: f.allowUnobserved, Strict: f.strict,
	})
	defer s.Close(ctx)
	// The sink listens before the target starts: a built-in or container receiver is told
	// where to report.
	addr := f.sink
	if addr == "" && f.target.Builtin != "" {
		addr = "127.0.0.1:0"
	}
	if addr != "" {
		if _, err := s.OpenSink(ctx, addr, f.sink != ""); err != nil {
			return err
		}
	}
	f.target.Events = f.events
	s.PrepareEffects(f.observe, f.target)
	started := time.Now()
	tgt, err := s.OpenTarget(ctx, f.target, f.scheme, f.secret)
	if err != nil {
		return err
	}
	if err := s.StartEffects(ctx, f.observe, started); err != nil {
		return err
	}
	if f.target.Builtin != "" && len(f.optIns) == 0 {
		f.optIns = multiFlag{receiver.OptInCloudEvents} // every built-in answers the handshake
		if f.target.Builtin == receiver.BuiltinReference {
			f.optIns = append(f.optIns, receiver.OptInURLVerification) // and the reference one Slack's challenge
		}
	}

	msg := fmt.Sprintf("%s, scheme %s, seed %d", tgt.URL(), f.scheme, f.seed)
	switch snk, from := s.Sink(), s.EffectsFrom(); {
	case snk != nil && from != "":
		msg += ", sink " + snk.URL() + ", effects from " + from
	case snk != nil:
		msg += ", sink " + snk.URL()
	case from != "":
		msg += ", effects from " + from
	default:
		msg += ", no sink (idempotency and ordering not observable: give --sink, --effects-sql or --effects-log)"
	}
	if f.chaos != "" {
		msg += ", chaos " + f.chaos
	}
	s.Printf("%s", msg)

	opts := receiver.Options{
		Target: tgt, Secret: f.secret, Scheme: f.scheme, Chaos: f.chaos, Seed: f.seed,
		Strict: f.strict, Selector: sel, OptIns: f.optIns, Timeout: f.timeout, Events: f.events,
		Out: e.stdout, TextOptions: s.TextOptions(), Meta: s.Meta(),
		TLS: f.target.TLSConfig(), TLSCA: f.target.TLS.CA,
	}
	if snk := s.Sink(); snk != nil {
		opts.Sink, opts.SinkURL = snk.Collector, snk.URL()
	}
	if c := s.Effects(); c != nil {
		opts.Sink, opts.EffectsFrom = c, s.EffectsFrom()
		if opts.SinkURL == "" {
			opts.SinkURL = s.EffectsFrom()
		}
	}
	res, err := receiver.Run(ctx, opts)
	switch {
	case errors.Is(err, receiver.ErrConfig), errors.Is(err, harness.ErrEmptySelection):
		return session.Usage(err)
	case errors.Is(err, tlsconf.ErrTLS):
		return session.Harness(err)
	case errors.Is(err, harness.ErrUnreachable):
		return session.Harness(fmt.Errorf("%w (is the endpoint running and listening at that address?)", err))
	case err != nil && res == nil:
		return session.Harness(err)
	}
	// From here err is nil, or ErrIncomplete with the results so far, marked interrupted: they
	// are printed and written all the same, and the verdict "interrupted" exits 1.
	return s.Finish(ctx, res)
}

// eventUsage documents --event on every command that sends events.
const eventUsage = "send copies of this sample event `FILE` (or every *.json of a directory) instead of hookproof's own: an event your endpoint really handles, in the provider's shape; hookproof fills in the delivery id, object id and ordering key (see hookproof help events; repeatable)"

// checkEvents loads the --event templates for scheme once, so that a bad file is a usage
// error before any target is contacted.
func checkEvents(files []string, scheme string) error {
	if len(files) == 0 {
		return nil
	}
	sch, err := signature.New(scheme, signature.SecretFrom(scheme, []byte("hookproof-event-check")))
	if err != nil {
		return usagef("%v", err)
	}
	tr := sch.Traits()
	if _, err := event.LoadTemplates(files, event.Shape(tr.BodyShape), tr.IDHeader == ""); err != nil {
		return usagef("--event: %v", err)
	}
	return nil
}

// builtinSecret is the secret of a built-in receiver when none is given: it never leaves the
// process, so a fixed one keeps runs replayable.
func builtinSecret(scheme string) string {
	return signature.SecretFrom(scheme, []byte("hookproof-builtin-receiver-secret"))
}
