package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Schema names the version of the results format. A reader refuses other major versions.
const Schema = "hookproof.results/v1"

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
}

// Ledger reconciles what was published with what the target acknowledged and did.
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
	Expr     string  `json:"expr"`
	Metric   string  `json:"metric"`
	Observed float64 `json:"observed"`
	Display  string  `json:"display"` // observed value with its unit, as printed
	Passed   bool    `json:"passed"`
}

// Chaos is what the chaos proxy did during a run.
type Chaos struct {
	Seed     int64            `json:"seed"`
	Spec     string           `json:"spec,omitempty"`
	Requests int64            `json:"requests"`
	Counters map[string]int64 `json:"counters,omitempty"` // injections per fault name
	// Ledger holds an excerpt of the proxy's ledger (one JSON object per request).
	Ledger []json.RawMessage `json:"ledger,omitempty"`
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

// ThresholdsPassed reports whether every load threshold passed and the ledger is not void.
func (r *Results) ThresholdsPassed() bool {
	if r.Load == nil {
		return true
	}
	if r.Load.Ledger.Void {
		return false
	}
	for _, th := range r.Load.Thresholds {
		if !th.Passed {
			return false
		}
	}
	return true
}

// Verdict grades r: any failed MUST (or, in strict mode, SHOULD) case or threshold makes
// it non-conformant; failed SHOULD cases otherwise give "conformant with SHOULD gaps"; a
// conformance run in which no case passed is inconclusive.
func (r *Results) Verdict() Verdict {
	t := r.Tally()
	switch {
	case t.MustFailed > 0 || !r.ThresholdsPassed():
		return NonConformant
	case t.ShouldFailed > 0 && r.Run.Strict:
		return NonConformant
	case t.ShouldFailed > 0:
		return ConformantShouldGaps
	case r.Load == nil && t.Passed == 0:
		return Inconclusive
	default:
		return Conformant
	}
}

// Write encodes r as indented JSON.
func (r *Results) Write(w io.Writer) error {
	if r.Schema == "" {
		r.Schema = Schema
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(true)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("reports: encode results: %w", err)
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
	if r.Schema != Schema {
		return nil, fmt.Errorf("reports: schema %q (want %q): %w", r.Schema, Schema, ErrSchema)
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
