package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/inspect"
	"github.com/hookproof/hookproof/suites/session"
)

func init() {
	register(command{
		name:    "send",
		summary: "one signed delivery of a file's exact bytes (or a sample event); show what was sent and answered",
		run:     runSend,
	})
}

const sendUsage = "--url URL --secret S [--scheme standard] [--id ID] [--event FILE|-] [--retry] [--max-attempts N]\n       [--ca FILE] [--cert FILE --key FILE] [--insecure] [--tls-server-name NAME] (an https:// URL)"

// sampleType is the type of the sample event send makes without --event.
const sampleType = "hookproof.test"

func runSend(ctx context.Context, e *env, args []string) int {
	return exitCode(e, "send", send(ctx, e, args))
}

func send(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "send", sendUsage)
	rawURL := fs.String("url", "", "the endpoint to deliver to")
	secret := fs.String("secret", "", "signing secret of the endpoint (default: $"+secretEnv+")")
	schemeName := fs.String("scheme", "standard", "signature scheme: "+strings.Join(signature.Names(), ", "))
	id := fs.String("id", "", "delivery id, for schemes with an id header (default: the body's top-level \"id\", else a random msg_ id); without --event, the sample event's id on every scheme")
	eventFile := fs.String("event", "", "send this `FILE`'s bytes exactly as they are (any bytes; - for stdin); default: a sample event in the scheme's body shape")
	retry := fs.Bool("retry", false, "retry like the reference sender (2xx acknowledges, 410 stops, Retry-After honoured) and show each attempt")
	attempts := fs.Int("max-attempts", inspect.DefaultAttempts, "with --retry: attempts, the first included")
	timeout := fs.Duration("timeout", inspect.DefaultTimeout, "how long one attempt may take, answer included")
	tlsFlags := session.AddTLSFlags(fs, "the endpoint")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q (the body comes from --event FILE, or - for stdin)", fs.Arg(0))
	case *rawURL == "":
		return usagef("--url: give the endpoint to deliver to")
	case *attempts < 1 || *attempts > sender.MaxAttempts:
		return usagef("--max-attempts %d: want 1 to %d", *attempts, sender.MaxAttempts)
	case *timeout <= 0:
		return usagef("--timeout %s: want a positive duration", *timeout)
	}
	maxSet := false
	fs.Visit(func(f *flag.Flag) { maxSet = maxSet || f.Name == "max-attempts" })
	if maxSet && !*retry {
		return usagef("--max-attempts: give --retry too (without it send makes one attempt)")
	}
	if err := tlsFlags.Validate(*rawURL); err != nil {
		return err
	}
	s, err := newScheme(e, *schemeName, *secret)
	if err != nil {
		return err
	}
	tr := s.Traits()

	var body []byte
	deliveryID := *id
	switch *eventFile {
	case "":
		if deliveryID == "" {
			deliveryID = "msg_" + randomHex(12)
		}
		ev := event.Envelope{ID: deliveryID, Type: sampleType, Timestamp: time.Now().UTC().Truncate(time.Millisecond),
			Data: json.RawMessage(`{"object_id":"ord_` + randomHex(8) + `","seq":1}`)}
		body = event.Shape(tr.BodyShape).Append(nil, &ev)
	default:
		if *eventFile == "-" {
			body, err = readBody(ctx, e, "send", maxBody)
		} else {
			body, err = readFileLimit(*eventFile, maxBody)
		}
		if err != nil {
			return err
		}
		if looksLikeWrapper(body) {
			fmt.Fprintf(e.stderr, "hookproof send: note: %s looks like an --event template wrapper ({\"body\",\"headers\",\"paths\"}); send sends its bytes as they are, wrapper included\n", *eventFile)
		}
		switch {
		case tr.IDHeader == "" && deliveryID != "":
			return usagef("--id: %s has no id header: the delivery id is the body's own, and send sends the body as it is", s.Name())
		case tr.IDHeader == "":
			deliveryID = signature.SchemeBodyID(s.Name(), body)
		case deliveryID == "":
			if deliveryID = signature.BodyID(body); deliveryID == "" {
				deliveryID = "msg_" + randomHex(12)
			}
		}
	}

	h := http.Header{}
	signature.SetProviderHeaders(s.Name(), h, signature.Delivery{ID: deliveryID, At: time.Now(), Attempt: 1})
	schedule := sender.Schedule{0}
	if *retry {
		schedule = sender.Backoff(*attempts, inspect.DefaultFirstRetry, inspect.DefaultMaxBackoff)
	}
	d := inspect.NewDeliverer(s, schedule, uint64(randomSeed()))
	d.Timeout = *timeout
	d.Client = inspect.NewTLSClient(*timeout, tlsFlags.Config())
	tlsFlags.Warn(e.stderr, "send")
	if err := checkTLS(ctx, "", *rawURL, tlsFlags.Config()); err != nil {
		return err
	}
	d.OnAttempt = func(a inspect.Attempt) { printAttempt(e.stdout, tr, redactURL(*rawURL), len(body), a, *retry) }
	r := d.Deliver(ctx, inspect.Outbound{URL: *rawURL, ID: deliveryID, Header: h, Body: body})
	last := r.Last()
	switch {
	case r.Acked:
		fmt.Fprintf(e.stdout, "acknowledged: %d after %s, %s\n", last.Status, plural(len(r.Attempts), "attempt", "attempts"), r.Elapsed.Round(100*time.Microsecond))
		return nil
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case !slices.ContainsFunc(r.Attempts, func(a inspect.Attempt) bool { return !a.Unreachable }):
		return harnessError{fmt.Errorf("could not reach %s: %s", redactURL(*rawURL), last.Detail)}
	}
	return fmt.Errorf("not acknowledged after %s: %s", plural(len(r.Attempts), "attempt", "attempts"), last.Detail)
}

// printAttempt shows one attempt: the request's headers (the signature included: it is no
// secret, and the secret is never shown), the answer's status, headers and body (bounded and
// stripped of control characters), the time, and the wait before the next.
func printAttempt(w io.Writer, tr signature.Traits, target string, size int, a inspect.Attempt, numbered bool) {
	if numbered {
		fmt.Fprintf(w, "--- attempt %d\n", a.N)
	}
	fmt.Fprintf(w, "> POST %s\n", target)
	if a.Header != nil {
		for _, name := range headerOrder(tr, a.Header) {
			for _, v := range a.Header.Values(name) {
				fmt.Fprintf(w, "> %s: %s\n", name, v)
			}
		}
	}
	fmt.Fprintf(w, "> (body: %s)\n", plural(size, "byte", "bytes"))
	if a.Status == 0 {
		fmt.Fprintf(w, "< no answer after %s: %s\n", a.Duration.Round(100*time.Microsecond), a.Detail)
	} else {
		fmt.Fprintf(w, "< %d %s  %s\n", a.Status, http.StatusText(a.Status), a.Duration.Round(100*time.Microsecond))
		keys := make([]string, 0, len(a.RespHeader))
		for k := range a.RespHeader {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range a.RespHeader[k] {
				fmt.Fprintf(w, "< %s: %s\n", k, sender.Printable([]byte(v)))
			}
		}
		if len(a.RespBody) > 0 {
			fmt.Fprintln(w, "<")
			text := sender.Printable(a.RespBody)
			fmt.Fprint(w, text)
			if !strings.HasSuffix(text, "\n") {
				fmt.Fprintln(w)
			}
			if a.Cut {
				fmt.Fprintf(w, "< (answer cut at %d KiB)\n", inspect.MaxAnswerBytes>>10)
			}
		}
	}
	if a.Wait > 0 {
		fmt.Fprintf(w, "retrying in %s (%s)\n", a.Wait.Round(time.Millisecond), a.Detail)
	}
}

// readFileLimit reads a file whole, up to limit bytes.
func readFileLimit(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--event: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		return nil, usagef("--event: %v", err)
	case int64(len(b)) > limit:
		return nil, usagef("--event %s: over %d bytes", path, limit)
	}
	return b, nil
}

// looksLikeWrapper reports whether b is an --event template wrapper: a JSON object with a
// "body" and no members but body, headers and paths.
func looksLikeWrapper(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimSpace(b), &m) != nil || m["body"] == nil {
		return false
	}
	for k := range m {
		if k != "body" && k != "headers" && k != "paths" {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
