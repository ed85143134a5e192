package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

func init() {
	register(command{name: "verify", summary: "check a body from stdin against signature headers", run: runVerify})
}

const verifyUsage = "[--scheme NAME] [--secret S] -H 'Name: value'... [--now UNIX|RFC3339] [--tolerance D] < body"

func runVerify(ctx context.Context, e *env, args []string) int {
	valid, err := verify(ctx, e, args)
	if err != nil {
		return exitCode(e, "verify", err)
	}
	if !valid {
		return exitFailed
	}
	return exitOK
}

// verify prints "valid (id=…)" or "invalid: <reason>" on stdout. A signature that does not
// verify is a result (valid false), not an error; errors are bad usage or unreadable input.
func verify(ctx context.Context, e *env, args []string) (bool, error) {
	fs := newFlagSet(e, "verify", verifyUsage)
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	secret := fs.String("secret", "", "verifying secret (default: $"+secretEnv+", which keeps it out of shell history)")
	var headers multiFlag
	fs.Var(&headers, "H", "a received header, 'Name: value' (repeatable); @FILE reads one per line, as sign prints them")
	fs.Var(&headers, "header", "same as -H")
	now := fs.String("now", "", "the verifier's clock, unix seconds or RFC 3339 (default: now)")
	tolerance := fs.Duration("tolerance", signature.DefaultTolerance, "how far the signed timestamp may be from --now")
	if err := parseFlags(fs, args); err != nil {
		return false, err
	}
	if fs.NArg() > 0 {
		return false, usagef("unexpected argument %q: the body comes from stdin, headers go in -H", fs.Arg(0))
	}
	h, err := parseHeaders(headers)
	if err != nil {
		return false, err
	}
	opts := []signature.Option{signature.WithTolerance(*tolerance)}
	if *now != "" {
		t, err := parseTime(*now)
		if err != nil {
			return false, usagef("--now: %w", err)
		}
		opts = append(opts, signature.WithClock(func() time.Time { return t }))
	}
	s, err := newScheme(e, *schemeName, *secret, opts...)
	if err != nil {
		return false, err
	}
	body, err := readBody(ctx, e, "verify", maxBody)
	if err != nil {
		return false, err
	}
	v, err := s.Verify(h, body)
	if err != nil {
		fmt.Fprintf(e.stdout, "invalid: %v%s\n", err, hint(s, *now != "", err))
		return false, nil
	}
	if v.ID == "" {
		fmt.Fprintln(e.stdout, "valid (no id: the body has no top-level \"id\")")
	} else {
		fmt.Fprintf(e.stdout, "valid (id=%s)\n", v.ID)
	}
	return true, nil
}

// hint adds what to do next to the reasons a person can act on.
func hint(s signature.Scheme, nowGiven bool, err error) string {
	tr := s.Traits()
	switch {
	case errors.Is(err, signature.ErrMissingHeader):
		var need []string
		for _, n := range []string{tr.IDHeader, tr.TimestampHeader, tr.SignatureHeader} {
			if n != "" {
				need = append(need, n)
			}
		}
		return fmt.Sprintf(" (%s needs %s)", s.Name(), strings.Join(need, ", "))
	case !nowGiven && (errors.Is(err, signature.ErrTimestampTooOld) || errors.Is(err, signature.ErrTimestampTooNew)):
		return " (to check an old delivery, pass its time as --now)"
	}
	return ""
}

// parseHeaders turns -H values into a header set. "@FILE" reads a file of header lines.
func parseHeaders(values []string) (http.Header, error) {
	h := http.Header{}
	for _, v := range values {
		if path, ok := strings.CutPrefix(v, "@"); ok {
			if err := readHeaderFile(h, path); err != nil {
				return nil, err
			}
			continue
		}
		if err := addHeader(h, v); err != nil {
			return nil, usagef("-H %w", err)
		}
	}
	return h, nil
}

func readHeaderFile(h http.Header, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return usagef("-H @%s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := addHeader(h, line); err != nil {
			return usagef("-H @%s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return usagef("-H @%s: %w", path, err)
	}
	return nil
}

// addHeader adds one "Name: value" line. The value is kept as given (trimmed), so that the
// verifier, not this parser, judges a malformed one.
func addHeader(h http.Header, line string) error {
	name, value, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("%q is not 'Name: value'", clipArg(line))
	}
	h.Add(name, strings.TrimSpace(value))
	return nil
}

// clipArg keeps a bad argument readable in an error message.
func clipArg(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
