package sinkservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// ErrRejected is wrapped when the service answered a 4xx: the request itself is wrong
// (retrying it will not help).
var ErrRejected = errors.New("sink service refused the request")

// maxCountsBytes bounds the answer of GET /runs/{run}/counts a client reads (about 40 million
// ids of a load shard).
const maxCountsBytes = 512 << 20

// Client talks to a sink service for the load shards and hookproof report. It is safe for
// concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the service at rawURL (http://host:port, no path).
func NewClient(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sink service url %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sink service url %q: want http://host:port (no path)", rawURL)
	}
	u.Path = ""
	return &Client{base: u.String(), hc: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// URL is the service's base URL.
func (c *Client) URL() string { return c.base }

// EffectsURL is where the endpoint under test reports the effects of run.
func (c *Client) EffectsURL(run string) string {
	return c.base + "/runs/" + url.PathEscape(run) + "/effects"
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, limit int64) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("sink service: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("sink service: %s %s: reading the answer: %w", method, path, err)
	}
	if int64(len(b)) > limit {
		return nil, resp.StatusCode, fmt.Errorf("sink service: %s %s: answer over %d bytes", method, path, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("sink service: %s %s: status %d: %s", method, path, resp.StatusCode, clip(strings.TrimSpace(string(b))))
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			err = fmt.Errorf("%w: %w", err, ErrRejected)
		}
		return nil, resp.StatusCode, err
	}
	return b, resp.StatusCode, nil
}

func runPath(run string) string { return "/runs/" + url.PathEscape(run) }

// Declare records that run has shards shards (409, ErrRejected, when it has another count).
func (c *Client) Declare(ctx context.Context, run string, shards int) error {
	body, _ := json.Marshal(Declaration{Shards: shards})
	_, _, err := c.do(ctx, http.MethodPut, runPath(run), body, 1<<20)
	return err
}

// Status returns what the service knows of run; an unknown run wraps ErrNotFound.
func (c *Client) Status(ctx context.Context, run string) (RunStatus, error) {
	var st RunStatus
	b, code, err := c.do(ctx, http.MethodGet, runPath(run), nil, 16<<20)
	if code == http.StatusNotFound {
		return st, fmt.Errorf("run %q: %w", run, ErrNotFound)
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("sink service: run %q: %w", run, err)
	}
	return st, nil
}

// Stats returns the summary of run's effects under prefix, and outside outsidePrefix when it
// is not "".
func (c *Client) Stats(ctx context.Context, run, prefix, outsidePrefix string) (StatsAnswer, error) {
	var st StatsAnswer
	q := url.Values{"prefix": {prefix}}
	if outsidePrefix != "" {
		q.Set("outside_prefix", outsidePrefix)
	}
	b, _, err := c.do(ctx, http.MethodGet, runPath(run)+"/stats?"+q.Encode(), nil, 1<<20)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("sink service: stats of %q: %w", run, err)
	}
	return st, nil
}

// Counts returns the distinct effects of every id of run under prefix (full ids), and of
// those, the effects that were not applied (stale).
func (c *Client) Counts(ctx context.Context, run, prefix string) (counts, stale map[string]int, err error) {
	b, _, err := c.do(ctx, http.MethodGet, runPath(run)+"/counts?"+url.Values{"prefix": {prefix}}.Encode(), nil, maxCountsBytes)
	if err != nil {
		return nil, nil, err
	}
	var ans struct {
		Prefix string         `json:"prefix"`
		Counts map[string]int `json:"counts"`
		Stale  map[string]int `json:"stale"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, nil, fmt.Errorf("sink service: counts of %q: %w", run, err)
	}
	counts = make(map[string]int, len(ans.Counts))
	for k, n := range ans.Counts {
		counts[prefix+k] = n
	}
	stale = make(map[string]int, len(ans.Stale))
	for k, n := range ans.Stale {
		stale[prefix+k] = n
	}
	return counts, stale, nil
}

// Deposit stores a shard's results file (its run.shard names the shard) under run.
func (c *Client) Deposit(ctx context.Context, run string, res *reports.Results) error {
	var buf bytes.Buffer
	if err := res.Write(&buf); err != nil {
		return err
	}
	index := 1
	if sh := res.Run.Shard; sh != nil && sh.Count > 1 {
		index = sh.Index
	}
	_, _, err := c.do(ctx, http.MethodPut, runPath(run)+"/shards/"+strconv.Itoa(index), buf.Bytes(), 1<<20)
	return err
}

// Results fetches the results file shard index deposited for run.
func (c *Client) Results(ctx context.Context, run string, index int) (*reports.Results, error) {
	b, _, err := c.do(ctx, http.MethodGet, runPath(run)+"/shards/"+strconv.Itoa(index), nil, MaxResultsBytes)
	if err != nil {
		return nil, err
	}
	res, err := reports.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("sink service: run %q shard %d: %w", run, index, err)
	}
	return res, nil
}

// Shared is the client bound to one run, as a load run reconciles against it
// (load.SharedSink).
type Shared struct {
	c   *Client
	run string
}

// ForRun binds c to run.
func (c *Client) ForRun(run string) Shared { return Shared{c: c, run: run} }

// Progress returns how many ids under prefix have an effect and how many distinct effects
// they have.
func (s Shared) Progress(ctx context.Context, prefix string) (ids, effects int, err error) {
	st, err := s.c.Stats(ctx, s.run, prefix, "")
	return st.IDs, st.Effects, err
}

// Effects returns id → distinct effects for every id under prefix, and the number of the
// run's ids that do not start with runPrefix (effects reported under ids no shard sent).
func (s Shared) Effects(ctx context.Context, prefix, runPrefix string) (map[string]int, int, error) {
	counts, _, err := s.c.Counts(ctx, s.run, prefix)
	if err != nil {
		return nil, 0, err
	}
	st, err := s.c.Stats(ctx, s.run, prefix, runPrefix)
	if err != nil {
		return nil, 0, err
	}
	foreign := 0
	if st.Outside != nil {
		foreign = st.Outside.IDs
	}
	return counts, foreign, nil
}
