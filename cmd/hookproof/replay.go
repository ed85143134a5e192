package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/inspect"
	"github.com/hookproof/hookproof/suites/load"
	"github.com/hookproof/hookproof/suites/session"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

func init() {
	register(command{
		name:    "replay",
		summary: "send recorded deliveries again, re-signed, retried like a real sender (optionally through chaos)",
		run:     runReplay,
	})
}

const replayUsage = `FILE|- --url URL --secret S [--scheme standard] [--rate R] [--chaos SPEC] [--new-ids]
       [--only ID,...] [--max-attempts N] [--seed N]
       [--ca FILE] [--cert FILE --key FILE] [--insecure] [--tls-server-name NAME] (an https:// URL)`

func runReplay(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "replay", replay(ctx, e, args))
}

func replay(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "replay", replayUsage)
	rawURL := fs.String("url", "", "the endpoint to deliver to")
	secret := fs.String("secret", "", "signing secret of the endpoint (default: $"+secretEnv+")")
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	rate := fs.String("rate", "", "start deliveries at this rate, as Vegeta writes it (10/s, 1/500ms), each with its own retries (default: one after the other, each once the previous was acknowledged or given up)")
	chaosSpec := fs.String("chaos", "", "through an in-process chaos proxy: inline spec (drop=0.1,lost-ack=0.1,duplicate=0.2) or scenario file; fault types: "+chaos.TypeNames())
	newIDs := fs.Bool("new-ids", false, "send every delivery under a fresh id (new events); for stripe and slack, whose id is in the body only, the body's id is rewritten in place")
	only := fs.String("only", "", "replay only the deliveries with these recorded `IDs` (comma-separated)")
	attempts := fs.Int("max-attempts", inspect.DefaultAttempts, fmt.Sprintf("attempts per delivery, the first included (1 to %d); retries wait %s, doubled each time up to %s, with the reference sender's jitter and Retry-After",
		sender.MaxAttempts, inspect.DefaultFirstRetry, inspect.DefaultMaxBackoff))
	seed := fs.Int64("seed", 0, "seed of the chaos proxy and the retry jitter (default: random, printed)")
	timeout := fs.Duration("timeout", inspect.DefaultTimeout, "how long one attempt may take, answer included")
	tlsFlags := session.AddTLSFlags(fs, "the endpoint")
	// FILE may come before the flags, as in the usage line.
	var file string
	if len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case file == "" && fs.NArg() == 0:
		return usagef("give the record FILE to replay (- for stdin)")
	case fs.NArg() > 0:
		return usagef("unexpected argument %q: one record FILE, then flags", fs.Arg(0))
	}
	if *rawURL == "" {
		return usagef("--url: give the endpoint to deliver to")
	}
	if err := tlsFlags.Validate(*rawURL); err != nil {
		return err
	}
	if *attempts < 1 || *attempts > sender.MaxAttempts {
		return usagef("--max-attempts %d: want 1 to %d", *attempts, sender.MaxAttempts)
	}
	if *timeout <= 0 {
		return usagef("--timeout %s: want a positive duration", *timeout)
	}
	var interval time.Duration
	if *rate != "" {
		r, err := load.ParseRate(*rate)
		if err != nil {
			return usagef("--rate: %v", err)
		}
		if r.IsZero() {
			return usagef("--rate %s: give a rate such as 10/s", *rate)
		}
		interval = r.Interval()
	}
	var ids []string
	if *only != "" {
		for _, id := range strings.Split(*only, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return usagef("--only %q names no id", *only)
		}
	}
	s, err := newScheme(e, *schemeName, *secret)
	if err != nil {
		return err
	}
	if *seed == 0 {
		*seed = randomSeed()
	}

	var in io.Reader = e.stdin
	name := "stdin"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		in, name = f, file
	}
	plan, err := inspect.PlanReplay(in, s, inspect.PlanOptions{NewIDs: *newIDs, Only: ids})
	if err != nil {
		if errors.Is(err, inspect.ErrRecord) || errors.Is(err, inspect.ErrReplayInput) {
			return usagef("%s: %w", name, err)
		}
		return harnessError{fmt.Errorf("reading %s: %w", name, err)}
	}
	if len(plan.Deliveries) == 0 {
		return usagef("%s holds no delivery to replay", name)
	}

	d := inspect.NewDeliverer(s, sender.Backoff(*attempts, inspect.DefaultFirstRetry, inspect.DefaultMaxBackoff), uint64(*seed))
	d.Timeout = *timeout
	d.Client = inspect.NewTLSClient(*timeout, tlsFlags.Config())
	tlsFlags.Warn(e.stderr, "replay")
	fmt.Fprintf(e.stdout, "hookproof replay: %s to %s (scheme %s, %d attempts at most, seed %d", plural(len(plan.Deliveries), "delivery", "deliveries"),
		redactURL(*rawURL), s.Name(), *attempts, *seed)
	if *chaosSpec != "" {
		fmt.Fprintf(e.stdout, ", chaos %s", *chaosSpec)
	}
	if interval > 0 {
		fmt.Fprintf(e.stdout, ", rate %s", *rate)
	}
	fmt.Fprintln(e.stdout, ")")
	if plan.Repeats > 0 || plan.Filtered > 0 || plan.Truncated {
		var notes []string
		if plan.Repeats > 0 {
			notes = append(notes, fmt.Sprintf("%s of an id already replayed skipped", plural(plan.Repeats, "record", "records")))
		}
		if plan.Filtered > 0 {
			notes = append(notes, fmt.Sprintf("%s left out by --only", plural(plan.Filtered, "record", "records")))
		}
		if plan.Truncated {
			notes = append(notes, "the last line was cut short and skipped")
		}
		fmt.Fprintf(e.stdout, "  %s read: %s\n", plural(plan.Records, "record", "records"), strings.Join(notes, "; "))
	}
	sum, err := inspect.Replay(ctx, plan, inspect.ReplayConfig{URL: *rawURL, Deliverer: d, Interval: interval, Chaos: *chaosSpec, Seed: *seed, TLS: tlsFlags.Config(),
		OnResult: func(_ int, d inspect.ReplayDelivery, r inspect.Result) { printReplayLine(e.stdout, d, r) }})
	switch {
	case errors.Is(err, inspect.ErrReplayInput):
		return usagef("%w", err)
	case errors.Is(err, tlsconf.ErrTLS):
		return harnessError{fmt.Errorf("%s: %w", redactURL(*rawURL), err)}
	case err != nil:
		return harnessError{err}
	}
	fmt.Fprintf(e.stdout, "delivered %d/%d, %s, %d failed, %s\n", sum.Delivered, sum.Deliveries, plural(sum.Retries, "retry", "retries"),
		len(sum.Failed), sum.Elapsed.Round(time.Millisecond))
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %d of %d deliveries not acknowledged", context.Cause(ctx), len(sum.Failed), sum.Deliveries)
	}
	if !sum.OK() {
		return fmt.Errorf("%d of %d deliveries not acknowledged: %s", len(sum.Failed), sum.Deliveries, clipList(sum.Failed, 5))
	}
	return nil
}

// printReplayLine prints one delivery's outcome: ok or FAIL, id, attempts, final status, time.
func printReplayLine(w io.Writer, d inspect.ReplayDelivery, r inspect.Result) {
	last := r.Last()
	verdict, status := "ok  ", "-"
	if !r.Acked {
		verdict = "FAIL"
	}
	if last.Status != 0 {
		status = fmt.Sprint(last.Status)
	}
	id := d.SendID
	if d.SendID != d.ID {
		id = fmt.Sprintf("%s (was %s)", d.SendID, orNone(d.ID))
	}
	fmt.Fprintf(w, "  %s %s  attempts %d  status %s  %s  line %d", verdict, id, len(r.Attempts), status, r.Elapsed.Round(100*time.Microsecond), d.Line)
	if !r.Acked && last.Detail != "" {
		fmt.Fprintf(w, ": %s", last.Detail)
	}
	fmt.Fprintln(w)
}

func orNone(s string) string {
	if s == "" {
		return "no id"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// clipList joins the first n of ids, saying how many more there are.
func clipList(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}

// redactURL is u as printed: without a password it may carry.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}
