package receiver_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/receiver"
	"github.com/hookproof/hookproof/suites/target"
	"github.com/onsi/ginkgo/v2"
)

// The suite's settings as test flags, so `go test` and `ginkgo` run it like the CLI does:
//
//	go test ./suites/receiver -run TestReceiverSuite -args -url http://127.0.0.1:8080/hook \
//	    -secret whsec_… -sink 127.0.0.1:9999 -v
//	ginkgo ./suites/receiver -- -url … -secret … -family signatures
//
// Without -url the suite runs against a built-in receiver (-builtin, default the reference
// receiver) with an effect sink on loopback: the suite's self-test.
var (
	flagURL     = flag.String("url", "", "endpoint under test (default: the -builtin receiver, in process)")
	flagBuiltin = flag.String("builtin", receiver.BuiltinReference, "built-in receiver to test when -url is not given: reference, knownbad:FLAW")
	flagSecret  = flag.String("secret", "", "shared secret (default $HOOKPROOF_SECRET; a fixed test secret for built-in receivers)")
	flagScheme  = flag.String("scheme", "standard", "signature scheme")
	flagSink    = flag.String("sink", "", "effect sink listen address for -url targets (built-in receivers always get one)")
	flagChaos   = flag.String("chaos", "", "inline chaos spec for deliveries")
	flagSeed    = flag.Int64("seed", 0, "seed (0: from the clock, printed)")
	flagStrict  = flag.Bool("strict", false, "SHOULD failures fail the run")
	flagID      = flag.String("id", "", "comma-separated case IDs (a trailing * matches a prefix)")
	flagFamily  = flag.String("family", "", "comma-separated families")
	flagLevel   = flag.String("level", "", "comma-separated levels (MUST, SHOULD, INFO)")
	flagOptIn   = flag.String("opt-in", "", "optional checks the target opts in to (cloudevents; built-in receivers: cloudevents)")
	flagOut     = flag.String("out", "", "write results JSON here")
	flagDryRun  = flag.Bool("dry-run", false, "walk the specs without sending anything")
	// Peers that break a premise rather than a requirement, for the not-observable tests.
	flagBuiltinSecret = flag.String("builtin-secret", "", "secret the -builtin receiver verifies with, when not the suite's (it then rejects every delivery)")
	flagBuiltinNoSink = flag.Bool("builtin-no-sink", false, "the -builtin receiver reports no effects, though the suite listens for them")
)

// testSecret is the secret built-in receivers use unless -secret says otherwise.
func testSecret(scheme string) string {
	return signature.SecretFrom(scheme, []byte("hookproof-conformance-test-secret")) // 33 bytes
}

// TestReceiverSuite runs the receiver conformance suite once, as the flags say, and fails when
// the verdict is non-conformant. Ginkgo allows one run per process; the proof-of-teeth tests
// run it again in subprocesses of this test binary.
func TestReceiverSuite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sel, err := catalog.ParseSelector(*flagID, *flagFamily, *flagLevel)
	if err != nil {
		t.Fatal(err)
	}
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano() % (1 << 53)
	}
	secret := *flagSecret
	if secret == "" {
		secret = os.Getenv("HOOKPROOF_SECRET")
	}
	var optIns []string
	for _, o := range strings.Split(*flagOptIn, ",") {
		if o = strings.TrimSpace(o); o != "" {
			optIns = append(optIns, o)
		}
	}

	var sinkSrv *sink.Server
	var tgt target.Target
	if *flagURL != "" {
		if secret == "" {
			t.Fatal("-url needs -secret or $HOOKPROOF_SECRET")
		}
		if tgt, err = target.FromURL(*flagURL); err != nil {
			t.Fatal(err)
		}
		if *flagSink != "" {
			if sinkSrv, err = sink.Listen(ctx, *flagSink); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		if secret == "" {
			secret = testSecret(*flagScheme)
		}
		if *flagOptIn == "" {
			optIns = []string{receiver.OptInCloudEvents}
			if *flagBuiltin == receiver.BuiltinReference {
				optIns = append(optIns, receiver.OptInURLVerification) // it answers Slack's challenge
			}
		}
		if sinkSrv, err = sink.Listen(ctx, "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		bsecret, bsink := secret, sinkSrv.URL()
		if *flagBuiltinSecret != "" {
			bsecret = *flagBuiltinSecret
		}
		if *flagBuiltinNoSink {
			bsink = ""
		}
		if tgt, err = receiver.StartBuiltin(ctx, *flagBuiltin, *flagScheme, bsecret, bsink, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	// The target closes first: a receiver with an outbox drains it into the sink.
	if sinkSrv != nil {
		defer sinkSrv.Close()
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := tgt.Close(cctx); err != nil {
			t.Errorf("closing the target: %v", err)
		}
	}()

	_, ginkgoReporter := ginkgo.GinkgoConfiguration()
	var live bytes.Buffer
	opts := receiver.Options{
		Target: tgt, Secret: secret, Scheme: *flagScheme, Chaos: *flagChaos, Seed: seed,
		Strict: *flagStrict, Selector: sel, OptIns: optIns, DryRun: *flagDryRun, Out: &live,
		TextOptions: []reports.TextOption{reports.WithTextSecrets(secret)},
		Meta:        reports.RunMeta{Args: reports.RedactArgs(os.Args[1:])},
		// -ginkgo.v brings Ginkgo's own reporter back.
		GinkgoOutput: ginkgoReporter.Verbose || ginkgoReporter.VeryVerbose,
	}
	if sinkSrv != nil {
		opts.Sink, opts.SinkURL = sinkSrv.Collector, sinkSrv.URL()
	}
	t.Logf("seed %d, scheme %s, target %s", seed, *flagScheme, tgt.URL())
	res, err := receiver.Run(ctx, opts)
	if res == nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Error(err) // incomplete: the results so far are still written below
	}
	if *flagOut != "" {
		if err := res.WriteFile(*flagOut); err != nil {
			t.Fatal(err)
		}
	}
	var recap bytes.Buffer
	reports.PrintRecap(&recap, res, reports.WithTextSecrets(secret))
	t.Logf("run took %s\n%s%s", res.Run.Finished.Sub(res.Run.Started).Round(time.Millisecond), live.String(), recap.String())
	if v := res.Verdict(); v == reports.NonConformant {
		t.Errorf("verdict: %s", v)
	}
	// The self-test: the reference receiver, every case selected, must pass each one outright
	// (with the sink and the handshake opt-in, nothing is skipped for standard).
	if *flagURL == "" && *flagBuiltin == receiver.BuiltinReference && *flagScheme == "standard" &&
		*flagID+*flagFamily+*flagLevel+*flagChaos+*flagBuiltinSecret == "" && !*flagDryRun && !*flagBuiltinNoSink {
		for _, c := range res.Cases {
			if r, ok := catalog.Lookup(c.ID); ok && !r.AppliesTo(*flagScheme) && c.Outcome == reports.NotApplicable {
				continue // a case for other schemes (RCV-SIG-016: github, shopify)
			}
			if c.Outcome != reports.Passed {
				t.Errorf("reference receiver: %s %s: %s (%s)", c.ID, c.Level, c.Outcome, c.Reason)
			}
		}
		if n := len(res.Cases); n != len(catalog.MustAll(catalog.Receiver)) {
			t.Errorf("reference receiver: %d cases, want the whole catalogue", n)
		}
	}
}
