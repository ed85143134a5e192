package load

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/h1"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// ErrHarness means the run could not start (a listener could not be opened); with
// ErrUnreachable it is the CLI's exit 3.
var ErrHarness = errors.New("load run could not start")

// chaosLedgerExcerpt is how many of the proxy's ledger lines go into the results file.
const chaosLedgerExcerpt = 200

// minOutageAttempts is how many attempts in a row, up to the end of the run, must get no HTTP
// answer at all before the run reports that the target stopped answering.
const minOutageAttempts = 5

// Run sends the load described by cfg and returns its graded results: ledger, latency,
// series and thresholds (Results.ThresholdsPassed says whether the run passed). Errors wrap
// ErrConfig (cfg cannot run), ErrUnreachable (the target did not answer the probe) or
// ErrHarness; a run interrupted by ctx returns its partial results and ctx's error.
//
// Run is bounded: the attack lasts cfg.Duration, the drain at most cfg.Drain, each attempt at
// most cfg.Timeout and the wait for effects at most cfg.SinkWait.
func Run(ctx context.Context, cfg Config, opts ...Option) (*reports.Results, error) {
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	can := cfg.observable(o)
	rules, unobserved, err := Thresholds(cfg.Thresholds, can)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var scenario *chaos.Scenario
	if cfg.Chaos != "" {
		if scenario, err = chaos.ParseSpecOrFile(cfg.Chaos); err != nil {
			return nil, fmt.Errorf("%w: --chaos: %w", ErrConfig, err)
		}
	}
	if cfg.RunID == "" {
		cfg.RunID = DeriveRunID(cfg.Seed, []string{cfg.URL, cfg.Scheme, cfg.Rate.String(), cfg.Duration.String()})
	}
	shard := cfg.Shard
	if shard.Count <= 1 {
		shard = Shard{Index: 1, Count: 1}
	}

	r := &run{
		cfg:      cfg,
		interval: cfg.Rate.Split(shard.Count).Interval(),
		seed:     mix64(uint64(cfg.Seed) ^ mix64(uint64(shard.Index))),
		errs:     map[string]int{},
	}
	r.phase.Store("attack")
	if o.metrics != nil {
		if err := o.metrics.Register(runCollector{r}); err != nil {
			return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
		}
	}

	base := o.baseTransport
	if base == nil {
		t := newTransport(cfg.TLS)
		defer t.CloseIdleConnections() // the run's own connections end with it
		base = t
	}
	tlsState, err := probe(ctx, base, cfg.URL, min(cfg.Timeout, 5*time.Second), cfg.TLS)
	if err != nil {
		return nil, err
	}

	var collector *sink.Collector
	sinkAddr := ""
	switch {
	case o.shared != nil:
		sinkAddr = o.sharedAt
	case o.collector != nil:
		collector = o.collector
	case cfg.Sink != "":
		// The sink outlives an interruption: the target may still report what it processed.
		srv, err := sink.Listen(context.WithoutCancel(ctx), cfg.Sink)
		if err != nil {
			return nil, fmt.Errorf("%w: effect sink: %w", ErrHarness, err)
		}
		defer srv.Close()
		collector = srv.Collector
		if u, err := url.Parse(srv.URL()); err == nil {
			sinkAddr = u.Host
		}
	}

	r.attackURL = cfg.URL
	var proxy *chaos.Proxy
	if scenario != nil {
		p, stopProxy, addr, err := startChaos(ctx, cfg, scenario)
		if err != nil {
			return nil, err
		}
		defer stopProxy()
		proxy = p
		r.attackURL = addr
	}

	started := time.Now()
	r.start = started
	r.queue = newRetryQueue(time.Now)
	tag := runTag(cfg.RunID, started)
	// Ids and object ids carry the shard index: shards of one run never share either.
	tag += "_" + strconv.Itoa(shard.Index)
	r.idPrefix = "msg_" + tag + "_"
	// Every shard of the run, whenever it started, sends ids under runPrefix: the hash of the
	// run id that opens the tag.
	runPrefix := "msg_" + tag[:8]
	if r.sg, err = newSigner(cfg.Scheme, cfg.Secret, wrongSecretFor(cfg.Scheme, cfg.Seed, cfg.Secret), tag, cfg.Events); err != nil {
		return nil, err
	}
	cancelSends := r.initSends()
	defer cancelSends()

	client := &http.Client{
		Transport: &recorder{base: base, r: r},
		// A webhook sender does not follow redirects: a 3xx is a failed delivery.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	mainAtk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(cfg.Workers)),
		vegeta.MaxWorkers(uint64(cfg.MaxWorkers)), vegeta.MaxBody(64<<10))
	retryAtk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(min(cfg.Workers, cfg.RetryWorkers))),
		vegeta.MaxWorkers(uint64(cfg.RetryWorkers)), vegeta.MaxBody(64<<10))

	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			r.stopping.Store(true)
			r.queue.close()
			cancelSends()
			mainAtk.Stop()
			retryAtk.Stop()
		})
	}

	var prog *progress
	if o.progress != nil {
		prog = startProgress(o.progress, o.tty, o.every, r.snapshot)
	}

	var results, vegetaOK atomic.Int64
	consume := func(ch <-chan *vegeta.Result) {
		for res := range ch {
			if res.Method == "" {
				continue // a targeter saying "no more targets", not a request
			}
			results.Add(1)
			if res.Code >= 200 && res.Code < 300 {
				vegetaOK.Add(1)
			}
		}
	}
	pacer := vegeta.ConstantPacer{}
	if rate := cfg.Rate.Split(shard.Count); !rate.IsZero() {
		pacer = vegeta.ConstantPacer{Freq: rate.Freq, Per: rate.Per}
	}
	mainDone, retryDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(mainDone)
		consume(mainAtk.Attack(r.mainTargeter, pacer, cfg.Duration, ""))
		r.mainDone.Store(true)
		r.mu.Lock()
		r.finishIfDoneLocked()
		r.mu.Unlock()
	}()
	go func() {
		defer close(retryDone)
		consume(retryAtk.Attack(r.retryTargeter, vegeta.ConstantPacer{}, 0, ""))
	}()
	var stoppedAt atomic.Pointer[time.Time]
	interrupted := context.AfterFunc(ctx, func() {
		now := time.Now()
		stoppedAt.Store(&now)
		stop()
	})
	defer interrupted()

	<-mainDone // the attack's duration, or ctx (which stops it)
	r.phase.Store("drain")
	drainTimer := time.AfterFunc(cfg.Drain, stop)
	<-retryDone
	drainTimer.Stop()
	stop()

	r.phase.Store("sink")
	if o.effectsSync != nil && ctx.Err() == nil {
		_ = o.effectsSync(ctx) // its errors are the source's to report; the wait polls on
	}
	if collector != nil && ctx.Err() == nil {
		r.waitEffects(ctx, collector)
	}
	var shared *sharedEffects
	if o.shared != nil {
		if ctx.Err() == nil {
			r.waitShared(ctx, o.shared)
		}
		shared = r.fetchShared(ctx, o.shared, runPrefix)
	}
	if o.effectsSync != nil && ctx.Err() == nil {
		_ = o.effectsSync(ctx)
	}
	prog.close()

	r.mu.Lock()
	defer r.mu.Unlock()
	var effects counts
	if collector != nil {
		effects = collector.Distinct
	}
	if shared != nil && shared.err == nil {
		effects = func(id string) int { return shared.counts[id] }
	}
	t := reconcile(&r.dels, r.id, effects)
	if shared != nil {
		t.foreign = shared.foreign
	}
	if collector != nil {
		for id := range collector.Counts() {
			if !strings.HasPrefix(id, r.idPrefix) {
				t.foreign++
			}
		}
	}
	r.chk.results = int(results.Load())
	r.chk.vegetaOK = int(vegetaOK.Load())

	var blind []Threshold
	if o.effectsFrom != "" && collector != nil && collector.Total() == 0 && t.acked > 0 {
		// Nothing at all came from the database or the logs: the query or the pattern sees
		// nothing of this run, so lost and doubled cannot be judged.
		kept := rules[:0:0]
		for _, th := range rules {
			if th.sink {
				blind = append(blind, th)
			} else {
				kept = append(kept, th)
			}
		}
		rules = kept
	}
	if shared != nil && shared.err != nil {
		// The shared sink could not be read: lost and doubled cannot be judged, never passed.
		kept := rules[:0:0]
		for _, th := range rules {
			if th.sink {
				blind = append(blind, th)
			} else {
				kept = append(kept, th)
			}
		}
		rules = kept
	}
	res := r.results(t, rules, shard, sinkAddr)
	if res.Run.TLS == nil && tlsState != nil {
		if u, err := url.Parse(cfg.URL); err == nil {
			res.Run.TLS = tlsconf.Describe(tlsState, cfg.TLS, tlsconf.ServerName(cfg.TLS, tlsconf.HostPort(u.Scheme, u.Host)), cfg.TLSCA)
		}
	}
	for _, th := range unobserved {
		res.Load.Thresholds = append(res.Load.Thresholds, th.NotObserved(th.Unobservable(can)))
	}
	for _, th := range blind {
		why := fmt.Sprintf("not observable: %s gave no effect at all for this run (is the query or pattern right, and does it see this run's rows?)", o.effectsFrom)
		if shared != nil && shared.err != nil {
			why = fmt.Sprintf("not observable: the shared effect sink %s could not be read: %v", o.sharedAt, shared.err)
		}
		res.Load.Thresholds = append(res.Load.Thresholds, th.NotObserved(why))
	}
	res.Run.Started, res.Run.Finished = started, time.Now()
	if proxy != nil {
		st := proxy.Stats()
		res.Chaos = &reports.Chaos{Seed: st.Seed, Spec: cfg.Chaos, Requests: st.Requests, Counters: st.Faults, Faults: reports.ChaosFaults(st.Instances),
			Ledger: proxy.LedgerLines(chaosLedgerExcerpt)}
	}
	if err := ctx.Err(); err != nil {
		at := time.Now()
		if p := stoppedAt.Load(); p != nil {
			at = *p
		}
		res.Interrupted = reports.Interrupt(ctx, started, at)
		return res, fmt.Errorf("load: run interrupted: %w", err)
	}
	return res, nil
}

// newTransport is the default transport: keep-alive pools sized for thousands of concurrent
// deliveries to one host, as Vegeta's own, and no Accept-Encoding; tc is the TLS
// configuration of an https target (nil: the defaults). Like Vegeta's, it speaks HTTP/1.1
// over TLS too: a webhook sender's connections, one delivery at a time on each. As Vegeta's,
// it has no idle timeout: that would reset a timer each time a connection goes back to the
// pool, once per attempt; Run closes the idle connections when it ends instead.
func newTransport(tc *tls.Config) *http.Transport {
	if tc != nil {
		tc = tc.Clone()
	}
	return &http.Transport{
		TLSClientConfig:       tc,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   vegeta.DefaultConnections,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A sender reads only the status of an answer: asking for gzip would be one more
		// header on every delivery for nothing.
		DisableCompression: true,
	}
}

// probe checks that the target answers HTTP at all before any load is sent: any status will
// do (a webhook endpoint may well refuse HEAD), a connection error will not. Over TLS it
// returns the connection's state; a certificate that does not verify (with tc) is a
// *tlsconf.Error, which says which flag fixes it.
func probe(ctx context.Context, rt http.RoundTripper, target string, timeout time.Duration, tc *tls.Config) (*tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: probe: %w", ErrConfig, err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		if te := tlsconf.Explain(err, tlsconf.HostPort(req.URL.Scheme, req.URL.Host), tc); te != nil && req.URL.Scheme == "https" {
			return nil, te
		}
		return nil, fmt.Errorf("%w: %s did not answer a HEAD probe (waited up to %s): %w", ErrUnreachable, redactURL(target), timeout, err)
	}
	resp.Body.Close()
	return resp.TLS, nil
}

// startChaos serves an in-process chaos proxy in front of the target on a loopback port and
// returns the URL attempts go to (the target's path and query on the proxy).
func startChaos(ctx context.Context, cfg Config, sc *chaos.Scenario) (*chaos.Proxy, func(), string, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	upstream := u.Scheme + "://" + u.Host
	p, err := chaos.NewProxy(upstream, chaos.WithSeed(cfg.Seed), chaos.WithFaults(sc.Faults...), chaos.WithTLSConfig(cfg.TLS))
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: --chaos: %w", ErrConfig, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		p.Close()
		return nil, nil, "", fmt.Errorf("%w: chaos proxy listener: %w", ErrHarness, err)
	}
	srv := &h1.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second} // as hookproof chaos serves it
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		p.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}
	at := url.URL{Scheme: "http", Host: ln.Addr().String(), Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	return p, stop, at.String(), nil
}

// waitEffects gives the receiver time to report what it processed: until every acked event
// has an effect, then until the sink has been quiet for SinkQuiet (late duplicates), all
// within SinkWait.
func (r *run) waitEffects(ctx context.Context, c *sink.Collector) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SinkWait)
	defer cancel()
	r.mu.Lock()
	var missing []uint64
	for n := uint64(0); n < r.dels.n; n++ {
		if d := r.dels.get(n); d.invalid == 0 && d.state == stateAcked {
			missing = append(missing, n)
		}
	}
	r.mu.Unlock()
	for {
		left := missing[:0]
		for _, n := range missing {
			if c.Distinct(r.id(n)) == 0 {
				left = append(left, n)
			}
		}
		missing = left
		if len(missing) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = c.WaitQuiet(ctx, r.cfg.SinkQuiet) // a sink that never goes quiet ends at SinkWait
}

// ackedValid lists the delivery numbers of the acked valid events.
func (r *run) ackedValid() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for n := uint64(0); n < r.dels.n; n++ {
		if d := r.dels.get(n); d.invalid == 0 && d.state == stateAcked {
			out = append(out, n)
		}
	}
	return out
}

// waitShared is waitEffects for a shared sink, which it polls: until every acked event of
// this shard has an effect (the cheap count first, the full counts to confirm), then until
// the shard's effects have not changed for SinkQuiet, all within SinkWait.
func (r *run) waitShared(ctx context.Context, s SharedSink) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.SinkWait)
	defer cancel()
	missing := r.ackedValid()
	pause := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for len(missing) > 0 {
		ids, _, err := s.Progress(ctx, r.idPrefix)
		if err == nil && ids >= len(missing) {
			counts, _, err := s.Effects(ctx, r.idPrefix, "")
			if err == nil {
				left := missing[:0]
				for _, n := range missing {
					if counts[r.id(n)] == 0 {
						left = append(left, n)
					}
				}
				missing = left
				if len(missing) == 0 {
					break
				}
			}
		}
		if !pause(100 * time.Millisecond) {
			return
		}
	}
	quiet := r.cfg.SinkQuiet
	step := max(min(quiet/5, 100*time.Millisecond), 10*time.Millisecond)
	last, since := -1, time.Now()
	for {
		_, effects, err := s.Progress(ctx, r.idPrefix)
		if err == nil && effects != last {
			last, since = effects, time.Now()
		}
		if time.Since(since) >= quiet {
			return
		}
		if !pause(step) {
			return
		}
	}
}

// sharedEffects is what a shared sink said of this shard's ids at the end of the run.
type sharedEffects struct {
	counts  map[string]int
	foreign int
	err     error
}

// fetchShared reads the shard's effects from the shared sink, a few times if it fails; an
// interrupted run still reads what arrived (within 30 s).
func (r *run) fetchShared(ctx context.Context, s SharedSink, runPrefix string) *sharedEffects {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var out sharedEffects
	for attempt := 0; attempt < 5; attempt++ {
		out.counts, out.foreign, out.err = s.Effects(fctx, r.idPrefix, runPrefix)
		if out.err == nil || fctx.Err() != nil {
			break
		}
		select {
		case <-fctx.Done():
		case <-time.After(time.Duration(200*(attempt+1)) * time.Millisecond):
		}
	}
	return &out
}

// snapshot is the progress line's view of the run.
func (r *run) snapshot() Progress {
	p := Progress{
		Elapsed: time.Since(r.start), Phase: r.phase.Load().(string),
		Sent: r.liveSent.Load(), Acked: r.liveAcked.Load(), Errors: r.liveErrs.Load(),
	}
	r.mu.Lock()
	if r.overall.n > 0 {
		p.P99MS, p.HaveP99 = r.overall.quantileMS(0.99), true
	}
	r.mu.Unlock()
	return p
}

// results assembles the results file of a finished run. Called with r.mu held.
func (r *run) results(t tally, rules []Threshold, shard Shard, sinkAddr string) *reports.Results {
	cfg := r.cfg
	l := &reports.Load{
		Rate: cfg.Rate.Split(shard.Count).PerSecond(), DurationS: cfg.Duration.Seconds(),
		Invalid: cfg.Invalid, Duplicate: cfg.Duplicate,
		Ledger:      t.ledger(r.chk, r.attempts, r.retries),
		Latency:     r.overall.latency(),
		StatusCodes: r.codes.m(),
		Histogram:   r.overall.buckets(),
	}
	if len(r.errs) > 0 {
		l.Errors = r.errs
	}
	// The target went silent for the rest of the run: say so as the cause. A few attempts
	// without an answer at the very end can be chaos or bad luck; a handful cannot.
	if sl := r.silent; sl.attempts >= minOutageAttempts {
		l.Outage = &reports.Outage{At: sl.since, AfterS: round3(sl.since.Sub(r.start).Seconds()), Error: sl.err, Attempts: sl.attempts}
	}
	for i, s := range r.seconds {
		l.Series = append(l.Series, reports.Point{
			Second: i, Sent: s.sent, Acked: s.acked, Errors: s.errors,
			P50: round3(s.h.quantileMS(0.5)), P90: round3(s.h.quantileMS(0.9)), P99: round3(s.h.quantileMS(0.99)),
			Codes: s.codes.m(),
		})
	}
	observe := r.observer(t, l.Ledger)
	for _, th := range rules {
		rt := th.Evaluate(observe)
		switch th.Metric {
		case "invalid_accepted":
			rt.Display = t.acceptedDetail()
		case "lost":
			rt.Display = t.exactlyOnceDetail(t.lost, t.lostIDs, true)
		case "doubled":
			rt.Display = t.exactlyOnceDetail(t.doubled, t.doubledIDs, false)
		}
		l.Thresholds = append(l.Thresholds, rt)
	}
	versions := map[string]string{"go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/tsenart/vegeta/v12" {
				versions["vegeta"] = m.Version
			}
		}
	}
	for k, v := range cfg.Versions {
		versions[k] = v
	}
	args := reports.RedactArgs(cfg.Args)
	for i, a := range args {
		args[i] = reports.RedactString(a, cfg.Secret)
	}
	meta := reports.RunMeta{
		Target: redactURL(cfg.URL), Scheme: cfg.Scheme, Seed: cfg.Seed, ChaosSpec: cfg.Chaos, Sink: sinkAddr, TLS: cfg.Meta.TLS,
		Versions: versions, Args: args, AllowUnobserved: cfg.Meta.AllowUnobserved,
		Shard: &reports.Shard{Index: shard.Index, Count: shard.Count, RunID: cfg.RunID},
	}
	if m := cfg.Meta; m.Target != "" {
		meta.Target = m.Target
	}
	if m := cfg.Meta; m.Sink != "" {
		meta.Sink = m.Sink
	}
	if m := cfg.Meta; m.Args != nil {
		meta.Args = m.Args
	}
	for k, v := range cfg.Meta.Versions {
		meta.Versions[k] = v
	}
	return &reports.Results{Schema: reports.Schema, Kind: reports.KindLoad, Run: meta, Load: l}
}

// observer reads each threshold's metric off the finished run.
func (r *run) observer(t tally, l reports.Ledger) func(Threshold) Observation {
	count := func(v int) Observation { return Observation{Value: float64(v), OK: true} }
	return func(th Threshold) Observation {
		if th.Quantile > 0 || th.Metric == "ack_max" || th.Metric == "ack_mean" {
			if r.overall.n == 0 {
				return Observation{Why: "no acks: nothing to measure"}
			}
			switch th.Metric {
			case "ack_max":
				return Observation{Value: r.overall.maxMS(), OK: true}
			case "ack_mean":
				return Observation{Value: r.overall.meanMS(), OK: true}
			}
			return Observation{Value: r.overall.quantileMS(th.Quantile), OK: true}
		}
		switch th.Metric {
		case "lost":
			return count(t.lost)
		case "doubled":
			return count(t.doubled)
		case "effects":
			return count(t.effects)
		case "invalid_accepted":
			return count(t.invalidAccepted)
		case "failed_after_retries":
			return count(t.failed)
		case "cut_off":
			return count(t.cutOff)
		case "published":
			return count(t.published)
		case "unacked":
			return count(t.failed + t.cutOff)
		case "acked":
			return count(t.acked)
		case "attempts":
			return count(l.Attempts)
		case "retries":
			return count(l.Retries)
		case "invalid_sent":
			return count(t.invalidSent)
		case "errors":
			return count(r.vErrors)
		case "timeouts":
			return count(r.vTimeout)
		case "error_rate":
			if r.vTotal == 0 {
				return Observation{Why: "no attempts of valid deliveries"}
			}
			return Observation{Value: float64(r.vErrors) / float64(r.vTotal), OK: true}
		case "acked_ratio":
			if t.published == 0 {
				return Observation{Why: "no events published"}
			}
			return Observation{Value: float64(t.acked) / float64(t.published), OK: true}
		}
		return Observation{Why: "metric not measured"}
	}
}
