package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// Request is one HTTP request a case sends. Header keys are sent as given (not canonicalised),
// so a case can craft exactly the header it means.
type Request struct {
	Note    string // what the request is for, kept with the evidence
	Method  string // POST when empty
	URL     string
	Header  http.Header
	Body    []byte
	Timeout time.Duration // 0: the client's default
}

// Response is what came back, or why nothing did. Body holds at most MaxResponseBytes.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Duration time.Duration // from sending to the end of the response headers
	Err      error
}

// OK reports whether the response is a 2xx acknowledgement. A redirect is not one: senders
// do not follow them.
func (r Response) OK() bool { return r.Err == nil && r.Status >= 200 && r.Status <= 299 }

// Is4xx reports whether the delivery was rejected as a client error.
func (r Response) Is4xx() bool { return r.Err == nil && r.Status >= 400 && r.Status <= 499 }

// Describe says in a few words what came back: "401 Unauthorized in 3ms" or the error.
func (r Response) Describe() string {
	if r.Err != nil {
		return fmt.Sprintf("no response after %s: %v", roundDuration(r.Duration), r.Err)
	}
	s := fmt.Sprintf("%d %s in %s", r.Status, http.StatusText(r.Status), roundDuration(r.Duration))
	if loc := r.Header.Get("Location"); r.Status >= 300 && r.Status <= 399 && loc != "" {
		s += " (redirect to " + loc + ")"
	}
	return s
}

// roundDuration keeps three significant figures or so: 312µs, 4.27ms, 5.503s.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

// MaxResponseBytes bounds how much of a response body is read.
const MaxResponseBytes = 64 << 10

// excerptBytes bounds bodies kept as evidence.
const excerptBytes = 2 << 10

// Bounds on headers. MaxResponseHeaderBytes is what the client reads of a response's headers
// (http.Transport.MaxResponseHeaderBytes; net/http's default is 10 MB): a target answering
// more gets no response, only an error, which is evidence. Evidence keeps at most
// MaxEvidenceHeaderValue bytes of each header value and MaxEvidenceHeaderBytes of names and
// values in all, per direction of an exchange; what is cut is said in the last value kept.
const (
	MaxResponseHeaderBytes = 64 << 10
	MaxEvidenceHeaderValue = 512
	MaxEvidenceHeaderBytes = 4 << 10
)

// CutHeaders bounds recorded headers (see MaxEvidenceHeaderBytes), in name order.
func CutHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	names := slices.Sorted(maps.Keys(h))
	out := make(map[string][]string, len(h))
	total, dropped, droppedBytes := 0, 0, 0
	for _, name := range names {
		for _, v := range h[name] {
			if total+len(name)+min(len(v), MaxEvidenceHeaderValue) > MaxEvidenceHeaderBytes {
				dropped++
				droppedBytes += len(name) + len(v)
				continue
			}
			v = reports.Excerpt([]byte(v), MaxEvidenceHeaderValue)
			total += len(name) + len(v)
			out[name] = append(out[name], v)
		}
	}
	if dropped > 0 {
		out["X-Hookproof-Truncated"] = []string{fmt.Sprintf("%d more header values (%d bytes) not kept", dropped, droppedBytes)}
	}
	return out
}

// DefaultTimeout is how long a delivery waits for its answer, as a sender would.
const DefaultTimeout = 10 * time.Second

// Client sends requests and records each exchange into the running case's Check. It never
// follows redirects (a 3xx answer is what the target said, and is not an ack). Safe for
// concurrent use.
type Client struct {
	hc      *http.Client
	timeout time.Duration
	secrets []string
	now     func() time.Time
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithTimeout sets the default per-request timeout (default DefaultTimeout).
func WithTimeout(d time.Duration) ClientOption { return func(c *Client) { c.timeout = d } }

// WithTransport sets the transport (default: a clone of http.DefaultTransport).
func WithTransport(rt http.RoundTripper) ClientOption {
	return func(c *Client) { c.hc.Transport = rt }
}

// WithTLSConfig sets the TLS configuration of the default transport (--ca, --cert,
// --insecure, --tls-server-name); nil keeps the defaults. Give it before WithTransport, which
// replaces the transport.
func WithTLSConfig(cfg *tls.Config) ClientOption {
	return func(c *Client) {
		if tr, ok := c.hc.Transport.(*http.Transport); ok && cfg != nil {
			tr.TLSClientConfig = cfg.Clone()
		}
	}
}

// WithSecrets lists secrets to redact from recorded evidence.
func WithSecrets(s ...string) ClientOption {
	return func(c *Client) { c.secrets = append(c.secrets, s...) }
}

// NewClient returns a recording client.
func NewClient(opts ...ClientOption) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxResponseHeaderBytes = MaxResponseHeaderBytes
	c := &Client{
		hc: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: DefaultTimeout,
		now:     time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Do sends r and records the exchange into chk (nil records nothing). Transport errors and
// timeouts are part of the Response, not a Go error: they are evidence too.
func (c *Client) Do(ctx context.Context, chk *Check, r Request) Response {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = c.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	at := c.now()
	x := reports.Exchange{
		Note:           r.Note,
		Method:         method,
		URL:            r.URL,
		RequestHeaders: CutHeaders(reports.RedactHeaders(r.Header)),
		RequestBody:    reports.RedactString(reports.Excerpt(r.Body, excerptBytes), c.secrets...),
		At:             at,
	}
	var resp Response
	req, err := http.NewRequestWithContext(ctx, method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		resp.Err = fmt.Errorf("building request: %w", err)
	} else {
		for k, v := range r.Header {
			req.Header[k] = v
		}
		start := time.Now()
		hr, err := c.hc.Do(req)
		resp.Duration = time.Since(start)
		if err != nil {
			resp.Err = err
		} else {
			resp.Status, resp.Header = hr.StatusCode, hr.Header
			resp.Body, err = io.ReadAll(io.LimitReader(hr.Body, MaxResponseBytes))
			_ = hr.Body.Close()
			if err != nil {
				// The status already arrived: that is the ack. A broken body is only noted.
				x.Error = "reading response body: " + err.Error()
			}
		}
	}
	x.DurationMS = float64(resp.Duration) / float64(time.Millisecond)
	if resp.Err != nil {
		x.Error = reports.RedactString(resp.Err.Error(), c.secrets...)
	} else {
		x.Status = resp.Status
		x.ResponseHeaders = CutHeaders(reports.RedactHeaders(resp.Header))
		x.ResponseBody = reports.RedactString(reports.Excerpt(resp.Body, excerptBytes), c.secrets...)
	}
	if chk != nil {
		chk.Record(x)
	}
	return resp
}
