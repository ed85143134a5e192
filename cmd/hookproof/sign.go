package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

func init() {
	register(command{name: "sign", summary: "sign a body from stdin; print the headers to send", run: runSign})
}

// secretEnv holds the secret when --secret is not given, so it stays out of shell history and
// the process list.
const secretEnv = "HOOKPROOF_SECRET"

// maxBody bounds the body read from stdin.
const maxBody = 64 << 20

const signUsage = "[--scheme NAME] [--secret S] [--id ID] [--timestamp UNIX|RFC3339] < body"

func runSign(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "sign", sign(ctx, e, args))
}

func sign(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "sign", signUsage)
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	secret := fs.String("secret", "", "signing secret (default: $"+secretEnv+", which keeps it out of shell history)")
	id := fs.String("id", "", "delivery id, for schemes with an id header (default: a random msg_ id)")
	stamp := fs.String("timestamp", "", "attempt time, unix seconds or RFC 3339 (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q: the body comes from stdin", fs.Arg(0))
	}
	s, err := newScheme(e, *schemeName, *secret)
	if err != nil {
		return err
	}
	tr := s.Traits()
	msg := signature.Message{ID: *id}
	switch {
	case tr.IDHeader == "" && *id != "":
		return usagef("--id: %s has no id header; the delivery id is the body's top-level \"id\"", s.Name())
	case tr.IDHeader != "" && *id == "":
		msg.ID = "msg_" + rand.Text()
	}
	if *stamp != "" {
		if !tr.Timestamped {
			return usagef("--timestamp: %s signs no timestamp", s.Name())
		}
		if msg.Timestamp, err = parseTime(*stamp); err != nil {
			return usagef("--timestamp: %w", err)
		}
	}
	if msg.Body, err = readBody(ctx, e, "sign", maxBody); err != nil {
		return err
	}
	h, err := s.Sign(msg)
	if err != nil {
		return usagef("%w", err)
	}
	for _, name := range headerOrder(tr, h) {
		fmt.Fprintf(e.stdout, "%s: %s\n", name, h.Get(name))
	}
	return nil
}

// newScheme builds the named scheme with the secret from the flag, else from the environment.
// Every failure is a usage error whose message names the problem, never the secret.
func newScheme(e *env, name, secret string, opts ...signature.Option) (signature.Scheme, error) {
	if secret == "" && e.getenv != nil {
		secret = e.getenv(secretEnv)
	}
	if secret == "" {
		return nil, usagef("no secret: pass --secret or set %s", secretEnv)
	}
	s, err := signature.New(name, secret, opts...)
	if err != nil {
		return nil, usagef("%w", err)
	}
	return s, nil
}

// headerOrder lists h's headers as a person reads them: id, timestamp, signature, spelled as
// the scheme spells them; anything else after, sorted.
func headerOrder(tr signature.Traits, h http.Header) []string {
	var names []string
	seen := map[string]bool{}
	for _, n := range []string{tr.IDHeader, tr.TimestampHeader, tr.SignatureHeader} {
		if n != "" && h.Get(n) != "" {
			names = append(names, n)
			seen[http.CanonicalHeaderKey(n)] = true
		}
	}
	var rest []string
	for k := range h {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// parseTime reads unix seconds or an RFC 3339 time.
func parseTime(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return time.Time{}, fmt.Errorf("%d is before 1970", n)
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither unix seconds nor RFC 3339 (2006-01-02T15:04:05Z)", v)
	}
	return t, nil
}

// readBody reads stdin whole, byte for byte (a trailing newline is part of the body), up to
// limit bytes, and gives up when ctx ends (Ctrl-C while waiting on a terminal).
func readBody(ctx context.Context, e *env, cmd string, limit int64) ([]byte, error) {
	if f, ok := e.stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(e.stderr, "hookproof %s: reading the body from stdin (end with Ctrl-D)\n", cmd)
		}
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(e.stdin, limit+1))
		done <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return nil, harnessError{fmt.Errorf("reading the body from stdin: %w", ctx.Err())}
	case r := <-done:
		switch {
		case r.err != nil:
			return nil, harnessError{fmt.Errorf("reading the body from stdin: %w", r.err)}
		case int64(len(r.b)) > limit:
			return nil, usagef("body on stdin is over %d bytes", limit)
		}
		return r.b, nil
	}
}
