package sinkservice

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
)

// Bounds of the API.
const (
	// MaxResultsBytes bounds one deposited results file (an hour's per-second series and a
	// chaos ledger excerpt fit many times over).
	MaxResultsBytes = 64 << 20
	// MaxShards bounds a run's shard count, as load --shard does.
	MaxShards = 1000
	// maxDeclareBytes bounds PUT /runs/{run}.
	maxDeclareBytes = 4 << 10
	// maxRunsListed bounds GET /runs.
	maxRunsListed = 10000
	// DefaultRun is the run that reports to /effects go to unless the service is told another.
	DefaultRun = "default"
)

var runName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// ValidRun reports whether run can name a run: 1 to 128 letters, digits, '.', '_', ':' or
// '-', starting with a letter or digit (load's derived run ids and Kubernetes job names fit).
func ValidRun(run string) bool { return runName.MatchString(run) }

// Service is the shared effect sink as an http.Handler (see the package doc for the API).
type Service struct {
	st         *Store
	defaultRun string
	mux        *http.ServeMux
	reg        *prometheus.Registry

	effectsTotal  prometheus.Counter
	reportsTotal  *prometheus.CounterVec
	requestsTotal *prometheus.CounterVec
	deposits      prometheus.Counter
}

// Option configures a Service.
type Option func(*Service)

// WithDefaultRun names the run that reports POSTed to /effects (no run in the path) go to.
func WithDefaultRun(run string) Option { return func(s *Service) { s.defaultRun = run } }

// New returns the service over st. It does not own st: close st after the HTTP server.
func New(st *Store, opts ...Option) (*Service, error) {
	s := &Service{st: st, defaultRun: DefaultRun, mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	for _, o := range opts {
		o(s)
	}
	if !ValidRun(s.defaultRun) {
		return nil, fmt.Errorf("sinkservice: default run %q: want 1-128 of A-Z a-z 0-9 . _ : -", s.defaultRun)
	}
	s.effectsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hookproof_sink_effects_total",
		Help: "Distinct effects stored (a report whose effect_id was already counted is not one).",
	})
	s.reportsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookproof_sink_effect_reports_total",
		Help: "Effect reports accepted, by result: new (a distinct effect) or duplicate (its effect_id already counted).",
	}, []string{"result"})
	s.requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookproof_sink_requests_total",
		Help: "HTTP requests answered, by route and status code.",
	}, []string{"route", "code"})
	s.deposits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hookproof_sink_shard_deposits_total",
		Help: "Shard results files deposited (replacements included).",
	})
	runs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookproof_sink_runs",
		Help: "Runs recorded in the store.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := st.CountRuns(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	s.reg.MustRegister(s.effectsTotal, s.reportsTotal, s.requestsTotal, s.deposits, runs)
	s.routes()
	return s, nil
}

func (s *Service) routes() {
	handle := func(pattern, route string, h http.HandlerFunc) {
		s.mux.Handle(pattern, s.counted(route, h))
	}
	handle("POST /effects", "effects", s.postEffect)
	handle("POST /runs/{run}/effects", "effects", s.postEffect)
	handle("GET /runs", "runs", s.getRuns)
	handle("GET /runs/{run}", "run", s.getRun)
	handle("PUT /runs/{run}", "run", s.putRun)
	handle("GET /runs/{run}/stats", "stats", s.getStats)
	handle("GET /runs/{run}/counts", "counts", s.getCounts)
	handle("GET /runs/{run}/shards", "shards", s.getRun)
	handle("PUT /runs/{run}/shards/{shard}", "shard", s.putShard)
	handle("GET /runs/{run}/shards/{shard}", "shard", s.getShard)
	handle("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	s.mux.Handle("GET /metrics", s.counted("metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP))
}

// ServeHTTP implements http.Handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// A handler's panic is a bug; it must not take the service (and every run) down.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// No route: the mux answers 404 or 405 (with Allow); count it too.
		s.counted("other", s.mux.ServeHTTP).ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// statusWriter remembers the status written, for the request counter.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Service) counted(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			s.requestsTotal.WithLabelValues(route, strconv.Itoa(code)).Inc()
		}()
		h(sw, r)
	})
}

// run reads and checks the {run} of the path, or answers 400.
func (s *Service) run(w http.ResponseWriter, r *http.Request) (string, bool) {
	run := r.PathValue("run")
	if run == "" {
		return s.defaultRun, true
	}
	if !ValidRun(run) {
		http.Error(w, fmt.Sprintf("run %q: want 1-128 of A-Z a-z 0-9 . _ : - (starting with a letter or digit)", clip(run)), http.StatusBadRequest)
		return "", false
	}
	return run, true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// storeError answers an error of the store: 404, 409, or 500 (the store's fault, not the
// caller's: the caller retries).
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrConflict):
		http.Error(w, err.Error(), http.StatusConflict)
	case errors.Is(err, ErrClosed):
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	default:
		http.Error(w, "store: "+err.Error(), http.StatusInternalServerError)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// postEffect takes one report, with the contract and answers of sink.Collector: 204 once it
// is durable; 400 for a report that breaks the contract; 413 over sink.MaxEffectBytes.
func (s *Service) postEffect(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, sink.MaxEffectBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("effect report over %d bytes", sink.MaxEffectBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading effect report: "+err.Error(), http.StatusBadRequest)
		return
	}
	e, err := sink.DecodeEffect(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fresh, err := s.st.AddEffect(r.Context(), run, e)
	if err != nil {
		storeError(w, err)
		return
	}
	if fresh {
		s.effectsTotal.Inc()
		s.reportsTotal.WithLabelValues("new").Inc()
	} else {
		s.reportsTotal.WithLabelValues("duplicate").Inc()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) getRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.st.Runs(r.Context(), maxRunsListed)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// RunStatus is the answer of GET /runs/{run} and GET /runs/{run}/shards.
type RunStatus struct {
	RunInfo
	Missing []int `json:"missing"` // shards 1..Shards with no deposit
}

func (s *Service) getRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	ri, err := s.st.Run(r.Context(), run)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RunStatus{RunInfo: ri, Missing: ri.Missing()})
}

// Declaration is the body of PUT /runs/{run}: how many shards the run has.
type Declaration struct {
	Shards int `json:"shards"`
}

func (s *Service) putRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDeclareBytes))
	if err != nil {
		http.Error(w, "reading the declaration: "+err.Error(), http.StatusBadRequest)
		return
	}
	var d Declaration
	if err := strictJSON(body, &d); err != nil {
		http.Error(w, `want {"shards": N}: `+err.Error(), http.StatusBadRequest)
		return
	}
	if d.Shards < 1 || d.Shards > MaxShards {
		http.Error(w, fmt.Sprintf("shards %d: want 1 to %d", d.Shards, MaxShards), http.StatusBadRequest)
		return
	}
	if err := s.st.Declare(r.Context(), run, d.Shards); err != nil {
		storeError(w, err)
		return
	}
	ri, err := s.st.Run(r.Context(), run)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RunStatus{RunInfo: ri, Missing: ri.Missing()})
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytesReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// StatsAnswer is the answer of GET /runs/{run}/stats.
type StatsAnswer struct {
	Run     string `json:"run"`
	Prefix  string `json:"prefix"`
	Reports int64  `json:"reports"` // of the whole run, re-reports included
	Stats
	// Outside counts the run's ids that do not start with outside_prefix (when asked): effects
	// reported under ids that no shard of the run sent.
	Outside *Stats `json:"outside,omitempty"`
}

func (s *Service) getStats(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	prefix := q.Get("prefix")
	ans := StatsAnswer{Run: run, Prefix: prefix}
	ri, err := s.st.Run(r.Context(), run)
	switch {
	case errors.Is(err, ErrNotFound): // no report yet: all zero
	case err != nil:
		storeError(w, err)
		return
	default:
		ans.Reports = ri.Reports
	}
	if ans.Stats, err = s.st.PrefixStats(r.Context(), run, prefix, true); err != nil {
		storeError(w, err)
		return
	}
	if q.Has("outside_prefix") {
		out, err := s.st.PrefixStats(r.Context(), run, q.Get("outside_prefix"), false)
		if err != nil {
			storeError(w, err)
			return
		}
		ans.Outside = &out
	}
	writeJSON(w, http.StatusOK, ans)
}

// getCounts streams the distinct effects of every id of the run under ?prefix=, keyed by what
// follows the prefix (an id of a load shard is its prefix and a delivery number):
//
//	{"run":"r","prefix":"msg_…_2_","counts":{"0":1,"1":2,…},"stale":{"7":1}}
//
// stale lists the ids with effects that were not applied (applied:false).
func (s *Service) getCounts(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	prefix := r.URL.Query().Get("prefix")
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	head, _ := json.Marshal(map[string]string{"run": run, "prefix": prefix})
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"counts":{`)
	type staleID struct {
		key string
		n   int
	}
	var stale []staleID
	first := true
	err := s.st.Counts(r.Context(), run, prefix, func(id string, c IDCount) error {
		key, _ := json.Marshal(id[len(prefix):])
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.Write(key)
		bw.WriteByte(':')
		bw.WriteString(strconv.Itoa(c.Distinct))
		if c.Stale > 0 {
			stale = append(stale, staleID{string(key), c.Stale})
		}
		return nil
	})
	if err != nil {
		// Nothing was sent yet unless the buffer filled: then the truncated JSON fails to parse.
		if bw.Buffered() > 0 && first {
			bw.Reset(w)
		}
		storeError(w, err)
		return
	}
	bw.WriteString(`},"stale":{`)
	for i, st := range stale {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(st.key)
		bw.WriteByte(':')
		bw.WriteString(strconv.Itoa(st.n))
	}
	bw.WriteString("}}\n")
	_ = bw.Flush()
}

// shard reads and checks the {shard} of the path, or answers 400.
func shardIndex(w http.ResponseWriter, r *http.Request) (int, bool) {
	i, err := strconv.Atoi(r.PathValue("shard"))
	if err != nil || i < 1 || i > MaxShards {
		http.Error(w, fmt.Sprintf("shard %q: want a shard index 1 to %d", clip(r.PathValue("shard")), MaxShards), http.StatusBadRequest)
		return 0, false
	}
	return i, true
}

// putShard deposits a shard's results file: a hookproof results file of kind load whose
// run.shard says this run and this index. 201 when new, 200 when it replaced an earlier
// deposit of the shard; 409 when its shard count is not the run's.
func (s *Service) putShard(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	index, ok := shardIndex(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxResultsBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("results file over %d bytes", MaxResultsBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the results file: "+err.Error(), http.StatusBadRequest)
		return
	}
	res, err := reports.Read(bytesReader(body))
	if err != nil {
		http.Error(w, "not a results file: "+err.Error(), http.StatusBadRequest)
		return
	}
	sh := res.Run.Shard
	count := 1
	switch {
	case res.Kind != reports.KindLoad || res.Load == nil:
		http.Error(w, fmt.Sprintf("results of kind %q: only load runs are deposited", res.Kind), http.StatusBadRequest)
		return
	case sh == nil:
		if index != 1 {
			http.Error(w, fmt.Sprintf("an unsharded run is shard 1, not %d", index), http.StatusBadRequest)
			return
		}
	default:
		if sh.RunID != "" && sh.RunID != run {
			http.Error(w, fmt.Sprintf("the results are of run %q, not %q", clip(sh.RunID), run), http.StatusBadRequest)
			return
		}
		if sh.Count > 1 {
			count = sh.Count
		}
		idx := sh.Index
		if count == 1 && idx == 0 {
			idx = 1
		}
		if idx != index {
			http.Error(w, fmt.Sprintf("the results are of shard %d/%d, not shard %d", sh.Index, sh.Count, index), http.StatusBadRequest)
			return
		}
	}
	if count > MaxShards {
		http.Error(w, fmt.Sprintf("shard count %d: want at most %d", count, MaxShards), http.StatusBadRequest)
		return
	}
	if index > count {
		http.Error(w, fmt.Sprintf("shard %d of a run of %d shards", index, count), http.StatusBadRequest)
		return
	}
	replaced, err := s.st.Deposit(r.Context(), run, index, count, body)
	if err != nil {
		storeError(w, err)
		return
	}
	s.deposits.Inc()
	code := http.StatusCreated
	if replaced {
		code = http.StatusOK
	}
	ri, err := s.st.Run(r.Context(), run)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, code, RunStatus{RunInfo: ri, Missing: ri.Missing()})
}

func (s *Service) getShard(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	index, ok := shardIndex(w, r)
	if !ok {
		return
	}
	b, err := s.st.Results(r.Context(), run, index)
	if err != nil {
		storeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
