package receiver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/catalog"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/hookproof/hookproof/suites/target"
	"github.com/hookproof/hookproof/suites/tlsconf"
	"github.com/onsi/ginkgo/v2"
)

// OptInCloudEvents is the opt-in name of the CloudEvents webhook validation handshake checks.
const OptInCloudEvents = "cloudevents"

// OptInURLVerification is the opt-in name of the Slack url_verification challenge check.
const OptInURLVerification = "slack-url-verification"

// OptIns lists the optional checks a target may opt in to.
var OptIns = []string{OptInCloudEvents, OptInURLVerification}

// Options is one run of the receiver suite.
type Options struct {
	Target target.Target // the endpoint under test
	Secret string        // the shared secret the endpoint verifies with
	Scheme string        // signature scheme name; "" means standard

	// Sink is the effect sink the endpoint reports to, nil when there is none: cases that
	// need it are then not observable. SinkURL is what the endpoint posts to (for the record).
	Sink    *sink.Collector
	SinkURL string
	// EffectsFrom says the Sink's effects are observed, not reported: read from the
	// receiver's database or logs (suites/observe), described by it. A case that waits in vain
	// while no effect at all has been seen is then not observable (the query or pattern sees
	// nothing), never a pass and never a failure of the receiver.
	EffectsFrom string

	// Chaos is an inline chaos spec or a scenario file (.yaml); when set, deliveries go through
	// an in-process chaos proxy seeded with Seed, and the suite retries like a sender (see
	// README, "verdicts under chaos").
	Chaos string

	// Events are sample event files (or directories of *.json) the endpoint really handles,
	// in the provider's shape (event.Template): every case sends copies of them, filled in
	// with its own ids and ordering keys, instead of hookproof's own events.
	Events []string

	// TLS is the client TLS configuration for an https target (--ca, --cert, --insecure,
	// --tls-server-name); nil: the system roots. The probe checks the certificate before any
	// case runs, and the connection's version and cipher go into the results.
	TLS *tls.Config
	// TLSCA is the --ca file, for the results ("" for none).
	TLSCA string

	Seed     int64 // spec order, delivery ids and chaos decisions derive from it
	Strict   bool  // SHOULD failures fail the run
	Selector catalog.Selector
	OptIns   []string
	Timeout  time.Duration // the whole suite; 0: 10 minutes
	DryRun   bool

	// Out gets one line per case as it ends; nil prints nothing.
	Out         io.Writer
	TextOptions []reports.TextOption
	// T receives Ginkgo's pass/fail (a *testing.T under go test); nil: a private one.
	T            ginkgo.GinkgoTestingT
	GinkgoOutput bool
	Meta         reports.RunMeta // target, args and versions, copied into the results
}

// ErrConfig wraps a bad option (unknown scheme, unusable secret, bad chaos spec): a usage error.
var ErrConfig = errors.New("bad receiver suite configuration")

// Run checks the options, makes sure the target answers, and runs the suite once. Ginkgo
// allows one run per process. A target that does not accept connections is an error wrapping
// harness.ErrUnreachable, returned before any case runs. A run that was interrupted or timed
// out returns its results so far with an error wrapping harness.ErrIncomplete.
func Run(ctx context.Context, o Options) (*reports.Results, error) {
	if o.Scheme == "" {
		o.Scheme = "standard"
	}
	for _, in := range o.OptIns {
		if !slices.Contains(OptIns, in) {
			return nil, fmt.Errorf("%w: unknown opt-in %q (known: %v)", ErrConfig, in, OptIns)
		}
	}
	if o.Target == nil {
		return nil, fmt.Errorf("%w: no target", ErrConfig)
	}
	e, err := newEnv(o)
	if err != nil {
		return nil, err
	}
	var tlsState *tls.ConnectionState
	if !o.DryRun {
		if tlsState, err = harness.ProbeTLS(ctx, o.Target, o.TLS); err != nil {
			return nil, err
		}
	}
	var proxy *chaos.Proxy
	if o.Chaos != "" {
		sc, err := chaos.ParseSpecOrFile(o.Chaos)
		if err != nil {
			return nil, fmt.Errorf("%w: --chaos: %w", ErrConfig, err)
		}
		proxy, err = chaos.NewProxy(e.base, chaos.WithSeed(o.Seed), chaos.WithFaults(sc.Faults...), chaos.WithTLSConfig(o.TLS))
		if err != nil {
			return nil, fmt.Errorf("%w: --chaos: %w", ErrConfig, err)
		}
		srv, err := harness.ServeHot(proxy, "")
		if err != nil {
			return nil, err
		}
		defer func() {
			_ = proxy.Close()
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Close(cctx)
		}()
		e.chaosBase = srv.URL()
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	var caps []string
	if o.Sink != nil {
		caps = append(caps, "sink")
	}
	meta := o.Meta
	if meta.Target == "" {
		meta.Target = o.Target.URL()
	}
	meta.ChaosSpec = o.Chaos
	if tlsState != nil {
		if u, err := url.Parse(o.Target.URL()); err == nil {
			meta.TLS = tlsconf.Describe(tlsState, o.TLS, tlsconf.ServerName(o.TLS, tlsconf.HostPort(u.Scheme, u.Host)), o.TLSCA)
		}
	}
	if meta.Sink == "" {
		meta.Sink = o.SinkURL
	}
	res, err := harness.Run(o.T, harness.Config{
		Suite:        catalog.Receiver,
		Kind:         reports.KindConformReceiver,
		Description:  "hookproof receiver conformance",
		Scheme:       o.Scheme,
		Capabilities: caps,
		OptIns:       o.OptIns,
		Selector:     o.Selector,
		Seed:         o.Seed,
		Strict:       o.Strict,
		Timeout:      timeout,
		DryRun:       o.DryRun,
		Out:          o.Out,
		TextOptions:  o.TextOptions,
		GinkgoOutput: o.GinkgoOutput,
		Meta:         meta,
	}, e.define)
	if res == nil {
		return nil, err
	}
	if proxy != nil {
		st := proxy.Stats()
		res.Chaos = &reports.Chaos{Seed: st.Seed, Spec: o.Chaos, Requests: st.Requests, Counters: st.Faults, Faults: reports.ChaosFaults(st.Instances),
			Ledger: proxy.LedgerLines(200)}
	}
	// The target's logs are the caller's to add (suites/session does, for containers).
	return res, err // err is nil or harness.ErrIncomplete
}

// env is what the specs share: the target, the scheme and secrets, the sink, the route through
// chaos, and the seeded source of ids. Specs run one at a time; a spec's own goroutines share
// env safely (rng is locked, the rest is read-only).
type env struct {
	url       string // the target URL
	base      string // scheme://host of the target: the chaos proxy's upstream
	path      string // path and query of the target URL
	chaosBase string // the chaos proxy's base URL, "" without --chaos
	seed      int64

	schemeName string
	secret     string
	other      string // another secret of the same shape: "signed with another secret"
	scheme     signature.Scheme
	otherSch   signature.Scheme
	traits     signature.Traits
	anatomy    signature.Anatomy // how the scheme lays out its signature header
	tolerance  time.Duration

	sink   *sink.Collector
	client *harness.Client
	opts   Options

	// templates are the --event templates (none: hookproof's own events); orderT is the first
	// that has an object id and an ordering key, which the ordering cases need.
	templates []*event.Template
	orderT    *event.Template

	mu    sync.Mutex
	rng   *rand.Rand
	next  int                        // the template the next event is made from
	fromT map[string]*event.Template // delivery id → the template it was made from
}

func newEnv(o Options) (*env, error) {
	u, err := url.Parse(o.Target.URL())
	if err != nil {
		return nil, fmt.Errorf("%w: target url: %w", ErrConfig, err)
	}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	e := &env{
		url:        o.Target.URL(),
		base:       u.Scheme + "://" + u.Host,
		path:       path,
		seed:       o.Seed,
		schemeName: o.Scheme,
		secret:     o.Secret,
		sink:       o.Sink,
		opts:       o,
		rng:        rand.New(rand.NewPCG(uint64(o.Seed), 0x686f6f6b70726f6f)), // "hookproof"
	}
	if e.scheme, err = signature.New(o.Scheme, o.Secret); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	e.traits = e.scheme.Traits()
	e.anatomy = signature.AnatomyOf(e.scheme)
	e.tolerance = e.traits.Tolerance
	e.other = e.otherSecret()
	if e.otherSch, err = signature.New(o.Scheme, e.other); err != nil {
		return nil, fmt.Errorf("receiver suite: making a second secret: %w", err)
	}
	e.client = harness.NewClient(harness.WithTLSConfig(o.TLS), harness.WithSecrets(o.Secret, e.other))
	if len(o.Events) > 0 {
		e.templates, err = event.LoadTemplates(o.Events, event.Shape(e.traits.BodyShape), e.traits.IDHeader == "")
		if err != nil {
			return nil, fmt.Errorf("%w: --event: %w", ErrConfig, err)
		}
		e.fromT = map[string]*event.Template{}
		for _, t := range e.templates {
			if t.Has(event.PartObject) && t.Has(event.PartOrder) {
				e.orderT = t
				break
			}
		}
	}
	return e, nil
}

// define registers every family's specs; harness.Run calls it before running the suite.
func (e *env) define() {
	e.signatures()
	e.timestamps()
	e.acks()
	e.idempotency()
	e.ordering()
	e.cloudEvents()
	e.urlVerification()
}
