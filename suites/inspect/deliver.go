package inspect

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
)

// MaxAnswerBytes bounds how much of an endpoint's answer an Attempt keeps.
const MaxAnswerBytes = 64 << 10

// Defaults of a Deliverer, for a person waiting on a terminal: the reference sender's policy
// (which statuses retry, 410 stops, Retry-After, jitter) on a schedule of seconds, not hours.
const (
	DefaultAttempts      = 5
	DefaultFirstRetry    = 500 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultTimeout       = 10 * time.Second
)

// Outbound is one delivery to make: the body, byte for byte, and the headers to send with it
// besides the signature's (which every attempt signs anew).
type Outbound struct {
	URL    string
	ID     string      // the delivery id, for schemes with an id header (ignored by the others)
	Header http.Header // sent with every attempt; the scheme's own headers are set over it
	Body   []byte
}

// Attempt is one HTTP request of a delivery and its answer.
type Attempt struct {
	N          int
	Header     http.Header // the request's headers, as sent
	Status     int         // 0: no answer
	RespHeader http.Header
	RespBody   []byte // the first MaxAnswerBytes of the answer
	Cut        bool   // the answer was longer than RespBody
	Duration   time.Duration
	Outcome    sender.Outcome
	Detail     string // why, in one line: "status 503, Retry-After 2s", "transport: …"
	// Unreachable says no connection could be made (the dial failed): nothing listens there.
	Unreachable bool
	Wait        time.Duration // the wait before the next attempt; 0 when none follows
}

// Result is a delivery's outcome: its attempts, the last one's answer.
type Result struct {
	Attempts []Attempt
	Acked    bool // the last attempt got a 2xx
	Elapsed  time.Duration
}

// Last is the result's last attempt.
func (r Result) Last() Attempt {
	if len(r.Attempts) == 0 {
		return Attempt{}
	}
	return r.Attempts[len(r.Attempts)-1]
}

// Deliverer makes deliveries as the reference sender does: each attempt signed anew with a
// fresh timestamp and marked as a retry the provider's way (SetRetryHeaders), the answer read
// by sender.Classify, the waits from the schedule (sender.Schedule.Next: jitter, Retry-After).
// Safe for concurrent use.
type Deliverer struct {
	Client        *http.Client // nil: a client with Timeout
	Scheme        signature.Scheme
	Schedule      sender.Schedule // its length is the number of attempts; nil: one attempt
	Jitter        float64
	MaxRetryAfter time.Duration
	Timeout       time.Duration // of one attempt; 0: DefaultTimeout
	// OnAttempt, when set, sees every attempt as it ends (its Wait already decided).
	OnAttempt func(Attempt)

	mu  sync.Mutex
	rng *rand.Rand
}

// NewDeliverer returns a Deliverer for scheme on schedule, its jitter drawn from seed.
func NewDeliverer(scheme signature.Scheme, schedule sender.Schedule, seed uint64) *Deliverer {
	return &Deliverer{Scheme: scheme, Schedule: schedule, Jitter: sender.DefaultJitter,
		MaxRetryAfter: DefaultMaxRetryAfter, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (d *Deliverer) client() *http.Client {
	if d.Client != nil {
		return d.Client
	}
	return &http.Client{Timeout: d.timeout(), CheckRedirect: noRedirects}
}

func (d *Deliverer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

// noRedirects: a webhook sender does not follow redirects (the reference sender calls a 3xx a
// failure), so neither does a Deliverer.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient is the HTTP client a Deliverer uses by default: no redirects followed, each attempt
// bounded by timeout.
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: noRedirects}
}

// NewTLSClient is NewClient with the client TLS configuration cfg for https endpoints (--ca,
// --cert, --insecure, --tls-server-name); nil: the system roots.
func NewTLSClient(timeout time.Duration, cfg *tls.Config) *http.Client {
	c := NewClient(timeout)
	if cfg != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.Clone()
		c.Transport = tr
	}
	return c
}

func cloneTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	return cfg.Clone()
}

// Deliver makes o's attempts until one is acknowledged with a 2xx, the endpoint answers 410,
// the schedule is exhausted or ctx ends.
func (d *Deliverer) Deliver(ctx context.Context, o Outbound) Result {
	start := time.Now()
	var res Result
	attempts := max(len(d.Schedule), 1)
	for n := 1; n <= attempts; n++ {
		a := d.attempt(ctx, o, n)
		more := false
		if a.Outcome == sender.Failure && ctx.Err() == nil {
			d.mu.Lock()
			a.Wait, more = d.Schedule.Next(n, d.Jitter, a.retryAfter, d.rng)
			d.mu.Unlock()
		}
		res.Attempts = append(res.Attempts, a.Attempt)
		if d.OnAttempt != nil {
			d.OnAttempt(a.Attempt)
		}
		res.Acked = a.Outcome == sender.Success
		if !more {
			break // acknowledged, 410 Gone, interrupted, or the schedule is exhausted
		}
		t := time.NewTimer(a.Wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

type attempt struct {
	Attempt
	retryAfter time.Duration
}

// attempt makes attempt n of o.
func (d *Deliverer) attempt(ctx context.Context, o Outbound, n int) (a attempt) {
	a = attempt{Attempt: Attempt{N: n, Outcome: sender.Failure}}
	started := time.Now()
	defer func() { a.Duration = time.Since(started) }()
	h := o.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	signed, err := d.Scheme.Sign(signature.Message{ID: o.ID, Timestamp: started, Body: o.Body})
	if err != nil {
		a.Detail = "cannot sign: " + err.Error()
		return a
	}
	for k, v := range signed {
		h[k] = v
	}
	signature.SetRetryHeaders(d.Scheme.Name(), h, n)
	a.Header = h
	actx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, o.URL, bytes.NewReader(o.Body))
	if err != nil {
		a.Detail = "bad request: " + err.Error()
		return a
	}
	req.Header = h.Clone()
	resp, err := d.client().Do(req)
	if err != nil {
		a.Detail = sender.TransportError(err)
		if ctx.Err() != nil {
			a.Outcome, a.Detail = sender.Interrupted, "interrupted before an answer came"
		}
		var op *net.OpError
		a.Unreachable = errors.As(err, &op) && op.Op == "dial"
		return a
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if len(body) > MaxAnswerBytes {
		body, a.Cut = body[:MaxAnswerBytes], true
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // so the connection is reused
	a.Status, a.RespHeader, a.RespBody = resp.StatusCode, resp.Header, body
	if rerr != nil && actx.Err() != nil {
		// Our own timeout cut the answer: the endpoint did not answer in time.
		a.Detail = fmt.Sprintf("status %d, but the answer did not end within %s", resp.StatusCode, d.timeout())
		return a
	}
	a.Outcome, a.Detail, a.retryAfter = sender.Classify(resp, time.Now(), d.MaxRetryAfter)
	return a
}
