package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/badsender"
	refsender "github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/sender"
)

// The suite's settings as test flags, so `go test` and `ginkgo` run it like the CLI does:
//
//	go test ./suites/sender -run TestSenderSuite -args -trigger 'my-app emit --url {url}' \
//	    -secret whsec_… -v
//
// Without -trigger the suite runs against a built-in sender (-builtin, default the reference
// sender, with a compressed schedule and a 2 s request timeout) whose trigger is this test
// binary posting to the built-in sender's API: the suite's self-test.
var (
	flagListen     = flag.String("listen", "127.0.0.1:0", "scripted receiver address")
	flagTrigger    = flag.String("trigger", "", "trigger command (default: the -builtin sender's)")
	flagBuiltin    = flag.String("builtin", "reference", "built-in sender when -trigger is not given: reference, badsender:FLAW")
	flagBTimeout   = flag.Duration("builtin-timeout", 2*time.Second, "request timeout of the built-in sender")
	flagFixed      = flag.Bool("fixed", false, "the built-in sender delivers every event to one fixed URL (no {url})")
	flagSecret     = flag.String("secret", "", "endpoint secret (default $HOOKPROOF_SECRET; a fixed test secret for built-in senders)")
	flagPrevious   = flag.String("previous-secret", "", "previous secret the sender still signs with (built-in senders: a fixed test secret)")
	flagScheme     = flag.String("scheme", "standard", "signature scheme")
	flagRetryWait  = flag.Duration("retry-wait", 0, "wait for each expected attempt (0: the suite's default)")
	flagQuiet      = flag.Duration("quiet", time.Second, "watch for unwanted attempts this long")
	flagMaxTimeout = flag.Duration("max-timeout", 0, "hold of an unanswered attempt (0: the suite's default)")
	flagSkipLong   = flag.Bool("skip-long", false, "leave out SND-TIMEOUT-001 (built-in senders with a short timeout always do)")
	flagSeed       = flag.Int64("seed", 0, "seed (0: from the clock, printed)")
	flagStrict     = flag.Bool("strict", false, "SHOULD failures fail the run")
	flagID         = flag.String("id", "", "comma-separated case IDs (a trailing * matches a prefix)")
	flagFamily     = flag.String("family", "", "comma-separated families")
	flagLevel      = flag.String("level", "", "comma-separated levels")
	flagOut        = flag.String("out", "", "write results JSON here")
	flagDryRun     = flag.Bool("dry-run", false, "walk the specs without running them")
)

// Test secrets of built-in senders.
const (
	builtinSecret   = "whsec_aG9va3Byb29mLXNlbmRlci1zdWl0ZS1zZWNyZXQtMDE=" // 33 bytes
	builtinPrevious = "whsec_aG9va3Byb29mLXNlbmRlci1zdWl0ZS1wcmV2aW91cy0x" // 33 bytes
)

// The trigger mode of this test binary: with triggerAPI set, it sends one event through a
// (reference or known-bad) sender's API and exits, like `hookproof sender send`.
const (
	triggerAPI      = "HOOKPROOF_TEST_TRIGGER_API"
	triggerEndpoint = "HOOKPROOF_TEST_TRIGGER_ENDPOINT"
	triggerSecret   = "HOOKPROOF_TEST_TRIGGER_SECRET"
	triggerPrevious = "HOOKPROOF_TEST_TRIGGER_PREVIOUS"
	triggerScheme   = "HOOKPROOF_TEST_TRIGGER_SCHEME"
)

func TestMain(m *testing.M) {
	if api := os.Getenv(triggerAPI); api != "" {
		os.Exit(runTrigger(api))
	}
	os.Exit(m.Run())
}

func runTrigger(api string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := refsender.NewClient(api, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	id := os.Getenv(triggerEndpoint)
	if id == "" {
		spec := refsender.EndpointSpec{URL: os.Getenv("HOOKPROOF_URL"), Secret: os.Getenv(triggerSecret), Scheme: os.Getenv(triggerScheme)}
		if p := os.Getenv(triggerPrevious); p != "" {
			spec.PreviousSecrets = []string{p}
		}
		ep, err := c.CreateEndpoint(ctx, spec, "url:"+spec.URL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "register endpoint:", err)
			return 1
		}
		id = ep.ID
	}
	data, _ := json.Marshal(map[string]any{"object_id": "ord_" + os.Getenv("HOOKPROOF_CASE"), "seq": time.Now().UnixNano()})
	m, err := c.Send(ctx, refsender.SendRequest{EndpointID: id, Type: "order.updated", Data: data}, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		return 1
	}
	fmt.Println(m.ID)
	return 0
}

// builtin is a sender the suite's self-test starts in process.
type builtin struct {
	api      string
	endpoint string // fixed-URL mode: the one endpoint
	close    func()
}

// startBuiltin starts the named sender; with fixedURL set it registers one endpoint for it.
func startBuiltin(t *testing.T, name, scheme, secret, previous, fixedURL string, timeout time.Duration, seed int64) builtin {
	t.Helper()
	var b builtin
	switch {
	case name == "reference":
		s, err := refsender.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"),
			refsender.WithSchedule(badsender.DefaultSchedule), refsender.WithRequestTimeout(timeout), refsender.WithSeed(seed),
			refsender.WithAllowPrivate()) // the suite's receiver listens on loopback
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		srv := httptest.NewServer(s.Handler())
		b.api, b.close = srv.URL, func() {
			srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Close(ctx)
		}
	case strings.HasPrefix(name, "badsender:"):
		s, err := badsender.New(strings.TrimPrefix(name, "badsender:"), badsender.WithRequestTimeout(timeout), badsender.WithSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s)
		b.api, b.close = srv.URL, func() { srv.Close(); s.Close() }
	default:
		t.Fatalf("unknown -builtin %q (reference, badsender:FLAW)", name)
	}
	if fixedURL != "" {
		c, _ := refsender.NewClient(b.api, nil)
		spec := refsender.EndpointSpec{URL: fixedURL, Secret: secret, Scheme: scheme}
		if previous != "" {
			spec.PreviousSecrets = []string{previous}
		}
		ep, err := c.CreateEndpoint(context.Background(), spec, "")
		if err != nil {
			t.Fatal(err)
		}
		b.endpoint = ep.ID
	}
	return b
}

// trigger is the command line that runs this binary in trigger mode against b.
func (b builtin) trigger(scheme, secret, previous string) string {
	parts := []string{triggerAPI + "=" + b.api, triggerScheme + "=" + scheme, triggerSecret + "='" + secret + "'"}
	if previous != "" {
		parts = append(parts, triggerPrevious+"='"+previous+"'")
	}
	if b.endpoint != "" {
		parts = append(parts, triggerEndpoint+"="+b.endpoint)
	} else {
		parts = append(parts, "HOOKPROOF_TEST_URL={url}") // the case's URL also arrives as $HOOKPROOF_URL
	}
	return strings.Join(parts, " ") + " exec '" + os.Args[0] + "' -test.run='^$'"
}

// TestSenderSuite runs the sender conformance suite once, as the flags say, and fails when the
// verdict is non-conformant. Against the built-in reference sender (no flags) every case must
// pass, the long one aside. Ginkgo allows one run per process; the proof-of-teeth tests run it
// again in subprocesses of this test binary.
func TestSenderSuite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sel, err := catalog.ParseSelector(*flagID, *flagFamily, *flagLevel)
	if err != nil {
		t.Fatal(err)
	}
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano() % (1 << 53)
	}
	secret, previous, trig := *flagSecret, *flagPrevious, *flagTrigger
	skipLong := *flagSkipLong
	ln, err := net.Listen("tcp", *flagListen)
	if err != nil {
		t.Fatal(err)
	}
	if trig == "" {
		if secret == "" {
			secret = builtinSecret
		}
		if previous == "" && (*flagScheme == "standard" || *flagScheme == "stripe") {
			previous = builtinPrevious
			if *flagScheme == "stripe" {
				secret, previous = "hookproof-sender-suite-stripe", "hookproof-sender-suite-stripe-old"
			}
		}
		if *flagScheme != "standard" && *flagScheme != "stripe" && secret == builtinSecret {
			secret = "hookproof-sender-suite-" + *flagScheme
		}
		fixed := ""
		if *flagFixed {
			fixed = "http://" + ln.Addr().String() + "/hook"
		}
		b := startBuiltin(t, *flagBuiltin, *flagScheme, secret, previous, fixed, *flagBTimeout, seed)
		defer b.close()
		trig = b.trigger(*flagScheme, secret, previous)
		skipLong = skipLong || *flagBTimeout < 15*time.Second
	} else if secret == "" {
		if secret = os.Getenv("HOOKPROOF_SECRET"); secret == "" {
			t.Fatal("-trigger needs -secret or $HOOKPROOF_SECRET")
		}
	}

	var live bytes.Buffer
	opts := sender.Options{
		Listener: ln, Trigger: trig, Secret: secret, PreviousSecret: previous, Scheme: *flagScheme,
		RetryWait: *flagRetryWait, Quiet: *flagQuiet, MaxTimeout: *flagMaxTimeout, SkipLong: skipLong,
		Seed: seed, Strict: *flagStrict, Selector: sel, DryRun: *flagDryRun, Out: &live,
		TextOptions: []reports.TextOption{reports.WithTextSecrets(secret, previous)},
		Meta:        reports.RunMeta{Args: reports.RedactArgs(os.Args[1:])},
	}
	t.Logf("seed %d, scheme %s, builtin %s, trigger %s", seed, *flagScheme, *flagBuiltin, reports.RedactString(trig, secret, previous))
	res, err := sender.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if *flagOut != "" {
		if err := res.WriteFile(*flagOut); err != nil {
			t.Fatal(err)
		}
	}
	var recap bytes.Buffer
	reports.PrintRecap(&recap, res, reports.WithTextSecrets(secret, previous))
	t.Logf("run took %s\n%s%s", res.Run.Finished.Sub(res.Run.Started).Round(time.Millisecond), live.String(), recap.String())
	if v := res.Verdict(); v == reports.NonConformant {
		t.Errorf("verdict: %s", v)
	}
	if *flagTrigger == "" && *flagBuiltin == "reference" && sel.IDs == nil && sel.Families == nil && sel.Levels == nil && !*flagDryRun {
		for _, c := range res.Cases {
			if c.Outcome != reports.Passed && !(c.ID == "SND-TIMEOUT-001" && skipLong) {
				t.Errorf("reference sender: %s %s, want passed\n  expected: %s\n  actual: %s\n  reason: %s", c.ID, c.Outcome, c.Expected, c.Actual, c.Reason)
			}
		}
	}
}
