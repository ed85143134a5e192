package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/sinkservice"
	"github.com/hookproof/hookproof/reports"
)

func init() {
	register(command{
		name:    "report",
		summary: "turn results files into one self-contained HTML report (+ JUnit, Markdown summary)",
		run:     runReport,
	})
}

const reportUsage = `FILE... [-o report.html] [--junit FILE] [--summary-md FILE] [--title T] [--redact S]...
   or: --from URL --run RUN_ID [--shards N] [--wait D] [-o report.html] ... (the shards deposited at hookproof sink)

Reads results files written by conform and load (--out), merges the shards of a load run
(same run id, every shard present), writes one HTML file that opens offline in any browser,
and prints the verdict. Flags may come before or after the files.
When $GITHUB_STEP_SUMMARY is set, the Markdown summary is appended to it.

exit codes: 0 conformant, or conformant with SHOULD gaps (non-strict runs), or incomplete
              in runs made with --allow-unobserved
            1 non-conformant: a MUST case or a threshold failed (or a SHOULD case, in strict runs);
              interrupted: a run was stopped before its end; incomplete: a MUST requirement
              was not observable; inconclusive: no case could be checked
            1 also: with --from, a shard of the run never deposited its results (incomplete)
            2 a file is missing, unreadable or not a results file, or shards do not form whole runs
            3 an output could not be written`

func runReport(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "report", report(ctx, e, args))
}

// parseInterspersed parses flags that may come before, between or after positional
// arguments (hookproof report a.json b.json -o out.html), and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := parseFlags(fs, rest); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return pos, nil
		}
		// After "--" everything is a positional argument.
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			return append(pos, left...), nil
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
}

func report(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", reportUsage)
	out := fs.String("o", "report.html", "write the HTML report to `FILE` (- for stdout)")
	// Every other report format has its flag, from the one list of formats.
	also := map[string]string{}
	for _, f := range reports.Formats {
		if f.Flag != "html" {
			fs.Func(f.Flag, "also "+f.Usage, func(v string) error { also[f.Flag] = v; return nil })
		}
	}
	title := fs.String("title", "", "title of the report page")
	resultsOut := fs.String("out", "", "also write the merged results (one run: a load run's shards merged, or one file) as JSON to `FILE`")
	var redact multiFlag
	fs.Var(&redact, "redact", "a secret to remove from everything written (repeatable; $"+secretEnv+" is always removed)")
	from := fs.String("from", "", "read the shards' results from the shared effect sink at `URL` (hookproof sink) instead of files; with --run")
	runID := fs.String("run", "", "with --from: the `RUN_ID` whose shards to merge")
	shards := fs.Int("shards", 0, "with --from: the run's shard count `N`, when no shard may have reached the sink to declare it")
	wait := fs.Duration("wait", 0, "with --from: wait up to this long for every shard to deposit its results (a merge Job started beside the load Job); shards still missing then make the verdict incomplete")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	// Secrets are removed from the results themselves, so every output is free of them.
	secrets := append([]string{e.getenv(secretEnv)}, redact...)
	if *from != "" || *runID != "" || *shards != 0 {
		switch {
		case len(files) > 0:
			return usagef("--from reads the results from the sink: give no files (%q)", files[0])
		case *from == "" || *runID == "":
			return usagef("--from URL and --run RUN_ID go together")
		case *shards < 0 || *shards > sinkservice.MaxShards:
			return usagef("--shards %d: want 1 to %d", *shards, sinkservice.MaxShards)
		case *wait < 0 || *wait > 24*time.Hour:
			return usagef("--wait %s: want 0 to 24h", *wait)
		}
		if *wait > 0 {
			if err := awaitShards(ctx, e, *from, *runID, *shards, *wait); err != nil {
				return err
			}
		}
		rs, sources, err := fromSink(ctx, e, *from, *runID, *shards, secrets)
		if err != nil {
			return err
		}
		return writeReports(e, rs, sources, len(sources), *out, *resultsOut, *title, also, secrets)
	}
	if len(files) == 0 {
		fs.Usage()
		return usagef("no results files given")
	}

	var raw []*reports.Results
	for _, path := range files {
		r, err := reports.ReadFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				err = fmt.Errorf("%s: %w", path, err)
			}
			return usageError{err}
		}
		if r, err = reports.RedactResults(r, secrets...); err != nil {
			return usageError{fmt.Errorf("%s: %w", path, err)}
		}
		raw = append(raw, r)
	}
	rs, err := reports.Merge(raw...)
	if err != nil {
		return usageError{err}
	}
	return writeReports(e, rs, baseNames(files), len(raw), *out, *resultsOut, *title, also, secrets)
}

// awaitShards polls the sink until every shard of runID has deposited, or wait has passed, or
// ctx ends (then the merge goes on with what is there, and says what is missing). A sink that
// is not up yet is waited for too.
func awaitShards(ctx context.Context, e *env, from, runID string, shards int, wait time.Duration) error {
	c, err := sinkservice.NewClient(from)
	if err != nil {
		return usagef("--from: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	said := -1
	for {
		st, err := c.Status(ctx, runID)
		if err == nil {
			count := max(st.Shards, shards)
			if count > 0 && len(st.Deposited) >= count {
				return nil
			}
			if len(st.Deposited) != said {
				said = len(st.Deposited)
				fmt.Fprintf(e.stderr, "hookproof report: run %s: %d of %d shards deposited, waiting (up to %s)\n", runID, said, count, wait)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// fromSink fetches every deposited shard of runID from the sink service at from and merges
// them; missing shards make the merged run incomplete (reports.MergeAvailable), named here.
func fromSink(ctx context.Context, e *env, from, runID string, shards int, secrets []string) ([]*reports.Results, []string, error) {
	c, err := sinkservice.NewClient(from)
	if err != nil {
		return nil, nil, usagef("--from: %v", err)
	}
	if !sinkservice.ValidRun(runID) {
		return nil, nil, usagef("--run %q: want 1-128 of A-Z a-z 0-9 . _ : - (starting with a letter or digit)", runID)
	}
	st, err := c.Status(ctx, runID)
	switch {
	case errors.Is(err, sinkservice.ErrNotFound) && shards > 0:
		st = sinkservice.RunStatus{RunInfo: sinkservice.RunInfo{Run: runID, Shards: shards}}
	case errors.Is(err, sinkservice.ErrNotFound):
		return nil, nil, usagef("--run %q: the sink at %s has no such run (give --shards N if its shards may all have died before reaching it)", runID, c.URL())
	case err != nil:
		return nil, nil, harnessError{fmt.Errorf("--from: %w", err)}
	}
	count := st.Shards
	switch {
	case count == 0 && shards == 0:
		return nil, nil, usagef("--run %q: no shard declared how many the run has: give --shards N", runID)
	case count == 0:
		count = shards
	case shards > 0 && shards != count:
		return nil, nil, usagef("--shards %d: the run %q has %d shards at the sink", shards, runID, count)
	}
	var got []*reports.Results
	var sources []string
	for _, i := range st.Deposited {
		r, err := c.Results(ctx, runID, i)
		if err != nil {
			return nil, nil, harnessError{fmt.Errorf("--from: %w", err)}
		}
		if r, err = reports.RedactResults(r, secrets...); err != nil {
			return nil, nil, usageError{fmt.Errorf("shard %d: %w", i, err)}
		}
		got = append(got, r)
		sources = append(sources, fmt.Sprintf("%s/runs/%s/shards/%d", c.URL(), runID, i))
	}
	m, missing, err := reports.MergeAvailable(runID, count, got)
	if err != nil {
		return nil, nil, usageError{err}
	}
	fmt.Fprintf(e.stderr, "hookproof report: run %s at %s: %d of %d shard%s deposited", runID, c.URL(), len(got), count, pluralS(count))
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, n := range missing {
			names[i] = fmt.Sprintf("%d/%d", n, count)
		}
		fmt.Fprintf(e.stderr, "; missing: %s (the merged verdict is incomplete)", strings.Join(names, ", "))
	}
	fmt.Fprintln(e.stderr)
	return []*reports.Results{m}, sources, nil
}

// writeReports writes the HTML report and the other formats asked for, prints the verdict
// and returns its error.
func writeReports(e *env, rs []*reports.Results, sources []string, inputs int, out, resultsOut, title string, also map[string]string, secrets []string) error {
	if resultsOut != "" && len(rs) != 1 {
		return usagef("--out writes one run's results; these are %d runs (write a report of them instead)", len(rs))
	}
	opts := []reports.HTMLOption{reports.WithVersion(Version), reports.WithSources(sources...), reports.WithSecrets(secrets...)}
	if title != "" {
		opts = append(opts, reports.WithTitle(title))
	}
	var page bytes.Buffer
	if err := reports.RenderHTML(&page, rs, opts...); err != nil {
		return harnessError{err}
	}
	console := e.stdout
	if out == "-" {
		console = e.stderr
		if _, err := page.WriteTo(e.stdout); err != nil {
			return harnessError{fmt.Errorf("write the report to stdout: %w", err)}
		}
	} else if err := (reports.Outputs{Files: map[string]string{"html": out}, HTMLOptions: opts}).Write(rs...); err != nil {
		return harnessError{err}
	}
	outputs := reports.Outputs{Files: also, Getenv: e.getenv}
	if err := outputs.Write(rs...); err != nil {
		return harnessError{err}
	}
	if resultsOut != "" {
		if err := rs[0].WriteFile(resultsOut); err != nil {
			return harnessError{fmt.Errorf("--out: %w", err)}
		}
	}

	merged := inputs - len(rs)
	fmt.Fprintf(console, "hookproof report: %d file%s, %d run%s", inputs, pluralS(inputs), len(rs), pluralS(len(rs)))
	if merged > 0 {
		fmt.Fprintf(console, " (load shards merged)")
	}
	fmt.Fprintln(console)
	topts := []reports.TextOption{reports.WithTextSecrets(secrets...)}
	reports.PrintVerdict(console, rs, topts...)
	if out != "-" {
		fmt.Fprintf(console, "report: %s\n", out)
	}
	return verdictError(rs...)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
