package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/chaos"
)

// Schema names the version of the results format this build writes. Read also accepts
// SchemaV1 files (written before interrupted runs, unobserved thresholds and the unacked
// threshold were recorded); any other version is refused.
const Schema = "hookproof.results/v2"

// SchemaV1 is the first results format, still read.
const SchemaV1 = "hookproof.results/v1"

// Kind says which job produced a results file.
type Kind string

const (
	KindConformReceiver Kind = "conform-receiver"
	KindConformSender   Kind = "conform-sender"
	KindLoad            Kind = "load"
)

// Level is how binding a requirement is.
type Level string

const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
	INFO   Level = "INFO"
)

// Outcome of one case. Only Passed counts as passed: skipped, not applicable and
// not observable are reported as such, never folded into passed.
type Outcome string

const (
	Passed        Outcome = "passed"
	Failed        Outcome = "failed"
	Skipped       Outcome = "skipped"        // deselected, or a check the target did not opt in to
	NotApplicable Outcome = "not-applicable" // the requirement does not apply to this scheme
	NotObservable Outcome = "not-observable" // needs something the run lacks (e.g. an effect sink)
)

// Results is one run: a conformance run (Cases) or a load run (Load), plus metadata.
// It is plain data; write it with Write and read it with Read.
type Results struct {
	Schema string  `json:"schema"`
	Kind   Kind    `json:"kind"`
	Run    RunMeta `json:"run"`
	Cases  []Case  `json:"cases,omitempty"`
	Load   *Load   `json:"load,omitempty"`
	Chaos  *Chaos  `json:"chaos,omitempty"`
	// TargetLogs is the tail of the target's logs when hookproof started it (container runs).
	TargetLogs string `json:"target_logs,omitempty"`
	// Interrupted is set when the run was stopped before its end (a signal, --timeout): its
	// verdict is then "interrupted", whatever its cases and thresholds say.
	Interrupted *Interruption `json:"interrupted,omitempty"`
}

// Interrupt records that a run started at started was stopped at at because ctx ended: the
// reason is ctx's cause ("terminated signal received", "interrupt signal received"), or
// "timeout" when its deadline passed.
func Interrupt(ctx context.Context, started, at time.Time) *Interruption {
	reason := "cancelled"
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, context.DeadlineExceeded):
		reason = "timeout: the run's time limit passed"
	case cause != nil && cause != context.Canceled:
		reason = cause.Error() // e.g. "interrupted by SIGTERM"
	}
	return NewInterruption(started, at, reason)
}

// NewInterruption records that a run started at started was stopped at at, for reason.
func NewInterruption(started, at time.Time, reason string) *Interruption {
	return &Interruption{At: at, AfterS: math.Round(at.Sub(started).Seconds()*1000) / 1000, Reason: reason}
}

// Interruption says when and why a run was stopped before its end.
type Interruption struct {
	At     time.Time `json:"at"`
	AfterS float64   `json:"after_s"` // seconds after the run started
	Reason string    `json:"reason"`  // e.g. "signal: terminated", "suite timeout 10m0s"
}

// RunMeta describes how a run was made. Secrets never appear here (see Redact).
type RunMeta struct {
	Target    string            `json:"target"`           // URL, image or trigger command of what was tested
	Scheme    string            `json:"scheme,omitempty"` // signature scheme
	Seed      int64             `json:"seed"`             // seed of every random choice; replays the run
	Strict    bool              `json:"strict,omitempty"` // SHOULD failures fail the run
	ChaosSpec string            `json:"chaos_spec,omitempty"`
	Sink      string            `json:"sink,omitempty"` // effect sink address, empty when none
	Started   time.Time         `json:"started"`
	Finished  time.Time         `json:"finished"`
	Versions  map[string]string `json:"versions,omitempty"` // hookproof, go, ginkgo, vegeta, ...
	Shard     *Shard            `json:"shard,omitempty"`
	Args      []string          `json:"args,omitempty"` // command line, secrets redacted
	// AllowUnobserved records that the user passed --allow-unobserved: an "incomplete"
	// verdict (a MUST requirement not observable) then exits 0. The verdict stays incomplete.
	AllowUnobserved bool `json:"allow_unobserved,omitempty"`
	// TLS is the connection to an https:// target: version, cipher, and whether its certificate
	// was verified. Absent for plain http (and in files written before it was recorded).
	TLS *TLS `json:"tls,omitempty"`
}

// TLS describes the TLS connection of a run to its target.
type TLS struct {
	Version string `json:"version"` // "TLS 1.3"
	Cipher  string `json:"cipher"`  // "TLS_AES_128_GCM_SHA256"
	// ServerName is the name the certificate was verified against (--tls-server-name or the
	// URL's host).
	ServerName string `json:"server_name,omitempty"`
	// ClientCertificate: hookproof presented a client certificate (--cert, mutual TLS).
	ClientCertificate bool `json:"client_certificate,omitempty"`
	// CA is the --ca bundle added to the system roots ("" for the system roots alone).
	CA string `json:"ca,omitempty"`
	// Insecure: --insecure, the target's certificate was not verified. Reports warn about it.
	Insecure bool `json:"insecure,omitempty"`
}

// InsecureWarning is what the reports say of a run made with --insecure.
const InsecureWarning = "--insecure: the TLS certificate of the target was not verified"

// Summary is the connection in one line: "TLS 1.3, TLS_AES_128_GCM_SHA256, certificate
// verified for localhost (CA ca.pem), client certificate", or the --insecure warning.
func (t *TLS) Summary() string {
	if t == nil {
		return ""
	}
	parts := []string{t.Version, t.Cipher}
	switch {
	case t.Insecure:
		parts = append(parts, "WARNING "+InsecureWarning)
	default:
		v := "certificate verified"
		if t.ServerName != "" {
			v += " for " + t.ServerName
		}
		if t.CA != "" {
			v += " (CA " + t.CA + ")"
		}
		parts = append(parts, v)
	}
	if t.ClientCertificate {
		parts = append(parts, "client certificate (mutual TLS)")
	}
	return strings.Join(parts, ", ")
}

// Shard identifies one part of a logical run split across machines (--shard i/n).
// A Results made by Merge has Index 0 ("all Count shards") and the shards' seeds in Seeds.
type Shard struct {
	Index int     `json:"index"` // 1-based; 0 on a merged run
	Count int     `json:"count"`
	RunID string  `json:"run_id,omitempty"` // the same for every shard of one logical run
	Seeds []int64 `json:"seeds,omitempty"`  // merged run only: each shard's seed, by index
}

// Case is the outcome of one requirement.
type Case struct {
	ID          string     `json:"id"`
	Level       Level      `json:"level"`
	Family      string     `json:"family,omitempty"`
	Requirement string     `json:"requirement"`
	Source      string     `json:"source,omitempty"`
	Outcome     Outcome    `json:"outcome"`
	Reason      string     `json:"reason,omitempty"` // why it failed, was skipped or is not observable
	Expected    string     `json:"expected,omitempty"`
	Actual      string     `json:"actual,omitempty"`
	Evidence    []Exchange `json:"evidence,omitempty"`
	DurationMS  float64    `json:"duration_ms"`
}

// Exchange is one HTTP request hookproof sent (or received, in sender runs) and its answer.
// Bodies are excerpts; header values that carry secrets are redacted.
type Exchange struct {
	Note            string              `json:"note,omitempty"`
	Method          string              `json:"method"`
	URL             string              `json:"url"`
	RequestHeaders  map[string][]string `json:"request_headers,omitempty"`
	RequestBody     string              `json:"request_body,omitempty"`
	Status          int                 `json:"status,omitempty"`
	ResponseHeaders map[string][]string `json:"response_headers,omitempty"`
	ResponseBody    string              `json:"response_body,omitempty"`
	Error           string              `json:"error,omitempty"`
	DurationMS      float64             `json:"duration_ms"`
	At              time.Time           `json:"at"`
}

// Load is the outcome of a load run.
type Load struct {
	Rate        float64        `json:"rate"` // requested deliveries per second
	DurationS   float64        `json:"duration_s"`
	Invalid     float64        `json:"invalid"`   // fraction of deliveries with a bad signature
	Duplicate   float64        `json:"duplicate"` // fraction re-sending an earlier id
	Ledger      Ledger         `json:"ledger"`
	Latency     Latency        `json:"latency"`
	StatusCodes map[string]int `json:"status_codes,omitempty"` // "200": n, "0" for transport errors
	Errors      map[string]int `json:"errors,omitempty"`
	Histogram   []Bucket       `json:"histogram,omitempty"`
	Series      []Point        `json:"series,omitempty"` // one point per second of the run
	Thresholds  []Threshold    `json:"thresholds,omitempty"`
	// Outage is set when the target stopped answering for the rest of the run: every attempt
	// from At on failed without an HTTP answer (connection refused, reset, timeout).
	Outage *Outage `json:"outage,omitempty"`
}

// Outage is the target going silent: the first failed attempt after its last HTTP answer.
type Outage struct {
	At       time.Time `json:"at"`
	AfterS   float64   `json:"after_s"`  // seconds after the run started
	Error    string    `json:"error"`    // the first attempt's error, e.g. "connection refused"
	Attempts int       `json:"attempts"` // attempts that failed from then on, none answered
}

// Ledger reconciles what was published with what the target acknowledged and did:
// Published = Acked + FailedAfterRetries + CutOff, and the last two are the unacked events.
type Ledger struct {
	Published          int    `json:"published"` // distinct valid events scheduled
	Acked              int    `json:"acked"`     // valid events with a 2xx for some attempt
	FailedAfterRetries int    `json:"failed_after_retries"`
	CutOff             int    `json:"cut_off"`  // still pending when the drain phase ended
	Attempts           int    `json:"attempts"` // every HTTP attempt, retries included
	Retries            int    `json:"retries"`
	Effects            int    `json:"effects"` // distinct effects seen at the sink (-1: no sink)
	Lost               int    `json:"lost"`    // acked valid events with no effect
	Doubled            int    `json:"doubled"` // events with more than one distinct effect
	InvalidSent        int    `json:"invalid_sent"`
	InvalidAccepted    int    `json:"invalid_accepted"` // invalid deliveries answered 2xx or given an effect
	Observed           bool   `json:"observed"`         // an effect sink was used
	Void               bool   `json:"void,omitempty"`   // published != acked + failed + cut off
	VoidReason         string `json:"void_reason,omitempty"`
}

// Latency is ack latency in milliseconds, measured from each delivery's scheduled send time.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
	// Merge says how a merged run's percentiles were obtained (empty on a single run):
	// recomputed from the shards' summed histograms, or the conservative maximum of the shards.
	Merge string `json:"merge,omitempty"`
}

// Bucket is one latency histogram bin: Count acks with latency <= LeMS (and above the previous bin).
type Bucket struct {
	LeMS  float64 `json:"le_ms"`
	Count int     `json:"count"`
}

// Point is one second of a load run.
type Point struct {
	Second int            `json:"second"` // offset from the start of the run
	Sent   int            `json:"sent"`
	Acked  int            `json:"acked"`
	Errors int            `json:"errors"`
	P50    float64        `json:"p50_ms"`
	P90    float64        `json:"p90_ms"`
	P99    float64        `json:"p99_ms"`
	Codes  map[string]int `json:"codes,omitempty"`
}

// Threshold is one pass/fail rule of a load run, k6 style: "ack_p99<5s".
type Threshold struct {
	Expr   string  `json:"expr"`
	Metric string  `json:"metric"`
	Op     string  `json:"op,omitempty"`   // <, <=, >, >=, ==, !=
	Limit  float64 `json:"limit"`          // in the metric's unit (milliseconds for latencies)
	Unit   string  `json:"unit,omitempty"` // "ms", "count" or "ratio"
	// Requirement is the load catalogue requirement a default threshold grades, with its level.
	Requirement string  `json:"requirement,omitempty"`
	Level       Level   `json:"level,omitempty"`
	Observed    float64 `json:"observed"`
	Display     string  `json:"display"` // observed value with its unit, as printed
	Passed      bool    `json:"passed"`
	// Outcome is passed, failed or not-observable (the run could not measure the metric, e.g.
	// lost without an effect sink: never counted as passed). Empty in v1 files: see Result.
	Outcome Outcome `json:"outcome,omitempty"`
	Reason  string  `json:"reason,omitempty"` // why it is not observable
}

// Result is the threshold's outcome, for v1 files too (which only have Passed).
func (th Threshold) Result() Outcome {
	switch {
	case th.Outcome != "":
		return th.Outcome
	case th.Passed:
		return Passed
	default:
		return Failed
	}
}

// Chaos is what the chaos proxy did during a run.
type Chaos struct {
	Seed     int64            `json:"seed"`
	Spec     string           `json:"spec,omitempty"`
	Requests int64            `json:"requests"`
	Counters map[string]int64 `json:"counters,omitempty"` // injections per fault name
	// Faults says, per fault instance, outermost first, what it was and how often it fired.
	// Files written before it was recorded (all v1 files) have Counters only: see FaultList.
	Faults []FaultStat `json:"faults,omitempty"`
	// Ledger holds an excerpt of the proxy's ledger (one JSON object per request).
	Ledger []json.RawMessage `json:"ledger,omitempty"`
}

// FaultStat is one fault instance of a run's chaos.
type FaultStat struct {
	Name string `json:"name"` // the instance's name, as the user chose it ("flaky") or its type
	// Type is the registered chaos fault type ("drop", "lost-ack", ...); empty when unknown.
	Type string `json:"type"`
	// Kind is what the fault does to a delivery (chaos.Kind: "loses-request", "repeats",
	// ...); empty when unknown.
	Kind        string            `json:"kind"`
	Spec        string            `json:"spec,omitempty"` // the instance in the inline grammar
	Probability float64           `json:"probability"`
	Params      map[string]string `json:"params,omitempty"` // as given
	Injected    int64             `json:"injected"`
}

// ChaosFaults converts the proxy's per-instance stats (chaos.Stats.Instances).
func ChaosFaults(stats []chaos.FaultStat) []FaultStat {
	if len(stats) == 0 {
		return nil
	}
	out := make([]FaultStat, len(stats))
	for i, s := range stats {
		out[i] = FaultStat{Name: s.Name, Type: s.Type, Kind: string(s.Kind), Spec: s.Spec,
			Probability: s.Probability, Params: maps.Clone(map[string]string(s.Params)), Injected: s.Count}
	}
	return out
}

// FaultList is c's faults: Faults when recorded, else (files written before, v1 files) one
// per name in Counters, by name, with the type and kind of the registered chaos type of
// exactly that name, or none ("unknown type") when no type is called so.
func (c *Chaos) FaultList() []FaultStat {
	if c == nil {
		return nil
	}
	if len(c.Faults) > 0 {
		return c.Faults
	}
	out := make([]FaultStat, 0, len(c.Counters))
	for _, name := range slices.Sorted(maps.Keys(c.Counters)) {
		f := FaultStat{Name: name, Injected: c.Counters[name]}
		if t, err := chaos.LookupType(name); err == nil {
			f.Type, f.Kind = t.Name, string(t.Kind)
		}
		out = append(out, f)
	}
	return out
}

// Verdict is the graded result of one or more runs.
type Verdict string

const (
	Conformant           Verdict = "conformant"
	ConformantShouldGaps Verdict = "conformant with SHOULD gaps"
	NonConformant        Verdict = "non-conformant"
	// Inconclusive: nothing failed, but nothing passed either (every case skipped, not
	// applicable or not observable). Skipped is not passed, so this is not conformant.
	Inconclusive Verdict = "inconclusive"
	// Incomplete: every observed MUST held, but at least one MUST requirement could not be
	// observed (no effect sink, no invalid deliveries, ...). Not conformant; exits 1 unless the
	// run was made with --allow-unobserved (RunMeta.AllowUnobserved).
	Incomplete Verdict = "incomplete"
	// Interrupted: the run was stopped before its end (a signal, --timeout). Never passing.
	Interrupted Verdict = "interrupted"
)

// Tally counts cases by outcome.
type Tally struct {
	Passed, Failed, Skipped, NotApplicable, NotObservable int
	MustFailed, ShouldFailed                              int
}

// Tally counts r's cases.
func (r *Results) Tally() Tally {
	var t Tally
	for _, c := range r.Cases {
		switch c.Outcome {
		case Passed:
			t.Passed++
		case Failed:
			t.Failed++
			switch c.Level {
			case MUST:
				t.MustFailed++
			case SHOULD:
				t.ShouldFailed++
			}
		case Skipped:
			t.Skipped++
		case NotApplicable:
			t.NotApplicable++
		case NotObservable:
			t.NotObservable++
		}
	}
	return t
}

// ThresholdsPassed reports whether no load threshold failed and the ledger is not void.
// A threshold that was not observable did not fail (see Unobserved for what it means).
func (r *Results) ThresholdsPassed() bool {
	if r.Load == nil {
		return true
	}
	if r.Load.Ledger.Void {
		return false
	}
	for _, th := range r.Load.Thresholds {
		if th.Result() == Failed {
			return false
		}
	}
	return true
}

// UnobservedMust lists the MUST requirements the run could not observe: conformance cases
// that are not observable, and default load thresholds that are not observable (by their
// requirement ID, or their expression when a file does not name it). Sorted, no repeats.
func (r *Results) UnobservedMust() []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, c := range r.Cases {
		if c.Outcome == NotObservable && c.Level == MUST {
			add(c.ID)
		}
	}
	if r.Load != nil {
		for _, th := range r.Load.Thresholds {
			if th.Result() != NotObservable || (th.Level != "" && th.Level != MUST) {
				continue
			}
			if th.Requirement != "" {
				add(th.Requirement)
			} else {
				add(th.Expr)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Verdict grades r: an interrupted run is interrupted; any failed MUST (or, in strict mode,
// SHOULD) case or threshold makes it non-conformant; a conformance run in which no case
// passed is inconclusive; a MUST that could not be observed makes it incomplete; failed
// SHOULD cases otherwise give "conformant with SHOULD gaps".
func (r *Results) Verdict() Verdict {
	if r.Interrupted != nil {
		return Interrupted
	}
	t := r.Tally()
	switch {
	case t.MustFailed > 0 || !r.ThresholdsPassed():
		return NonConformant
	case t.ShouldFailed > 0 && r.Run.Strict:
		return NonConformant
	case r.Load == nil && t.Passed == 0 && t.Failed == 0:
		return Inconclusive
	case len(r.UnobservedMust()) > 0:
		return Incomplete
	case t.ShouldFailed > 0:
		return ConformantShouldGaps
	default:
		return Conformant
	}
}

// Passing reports whether r lets a command exit 0: conformant (with or without SHOULD gaps),
// or incomplete when the run was made with --allow-unobserved.
func (r *Results) Passing() bool {
	v := r.Verdict()
	return v.Passing() || (v == Incomplete && r.Run.AllowUnobserved)
}

// Write encodes r as indented JSON.
func (r *Results) Write(w io.Writer) error {
	if r.Schema == "" {
		r.Schema = Schema
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(true)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("reports: encode results: %w", err)
	}
	// The last line of defence: no whsec_ secret reaches a results file, named or not (the
	// pattern holds no quote or backslash, so the JSON stays valid).
	if _, err := w.Write(whsecPattern.ReplaceAll(buf.Bytes(), []byte(Redacted))); err != nil {
		return fmt.Errorf("reports: write results: %w", err)
	}
	return nil
}

// WriteFile writes r to path, atomically (a temporary file renamed into place).
func (r *Results) WriteFile(path string) error {
	tmp, err := os.CreateTemp(dirOf(path), ".hookproof-results-*")
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file private; a results file is a shareable artifact.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := r.Write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// ErrSchema means a file is not a hookproof results file of a version this build reads.
var ErrSchema = errors.New("not a hookproof results file of a supported version")

// Read decodes one results file and checks its schema version.
func Read(rd io.Reader) (*Results, error) {
	dec := json.NewDecoder(rd)
	var r Results
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("reports: decode results: %w", err)
	}
	if r.Schema != Schema && r.Schema != SchemaV1 {
		return nil, fmt.Errorf("reports: schema %q (want %q or %q): %w", r.Schema, Schema, SchemaV1, ErrSchema)
	}
	return &r, nil
}

// ReadFile reads one results file.
func ReadFile(path string) (*Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	defer f.Close()
	r, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// notObservedText is how a not-observable threshold reads: "not observable: why".
func notObservedText(th Threshold) string {
	if th.Reason == "" || strings.HasPrefix(th.Reason, "not observable") {
		return orDash(th.Reason)
	}
	return "not observable: " + th.Reason
}
