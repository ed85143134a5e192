package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

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

Reads results files written by conform and load (--out), merges the shards of a load run
(same run id, every shard present), writes one HTML file that opens offline in any browser,
and prints the verdict. Flags may come before or after the files.
When $GITHUB_STEP_SUMMARY is set, the Markdown summary is appended to it.

exit codes: 0 conformant, or conformant with SHOULD gaps (non-strict runs), or incomplete
              in runs made with --allow-unobserved
            1 non-conformant: a MUST case or a threshold failed (or a SHOULD case, in strict runs);
              interrupted: a run was stopped before its end; incomplete: a MUST requirement
              was not observable; inconclusive: no case could be checked
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

func report(_ context.Context, e *env, args []string) error {
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
	var redact multiFlag
	fs.Var(&redact, "redact", "a secret to remove from everything written (repeatable; $"+secretEnv+" is always removed)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return usagef("no results files given")
	}

	// Secrets are removed from the results themselves, so every output is free of them.
	secrets := append([]string{e.getenv(secretEnv)}, redact...)
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

	opts := []reports.HTMLOption{reports.WithVersion(Version), reports.WithSources(baseNames(files)...), reports.WithSecrets(secrets...)}
	if *title != "" {
		opts = append(opts, reports.WithTitle(*title))
	}
	var page bytes.Buffer
	if err := reports.RenderHTML(&page, rs, opts...); err != nil {
		return harnessError{err}
	}
	console := e.stdout
	if *out == "-" {
		console = e.stderr
		if _, err := page.WriteTo(e.stdout); err != nil {
			return harnessError{fmt.Errorf("write the report to stdout: %w", err)}
		}
	} else if err := (reports.Outputs{Files: map[string]string{"html": *out}, HTMLOptions: opts}).Write(rs...); err != nil {
		return harnessError{err}
	}
	outputs := reports.Outputs{Files: also, Getenv: e.getenv}
	if err := outputs.Write(rs...); err != nil {
		return harnessError{err}
	}

	merged := len(raw) - len(rs)
	fmt.Fprintf(console, "hookproof report: %d file%s, %d run%s", len(raw), pluralS(len(raw)), len(rs), pluralS(len(rs)))
	if merged > 0 {
		fmt.Fprintf(console, " (load shards merged)")
	}
	fmt.Fprintln(console)
	topts := []reports.TextOption{reports.WithTextSecrets(secrets...)}
	reports.PrintVerdict(console, rs, topts...)
	if *out != "-" {
		fmt.Fprintf(console, "report: %s\n", *out)
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
