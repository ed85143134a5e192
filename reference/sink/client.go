package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ErrRejected is wrapped by Report when the sink answered a status other than 2xx.
var ErrRejected = errors.New("sink did not accept the effect")

// Client reports effects to a sink. It is safe for concurrent use.
type Client struct {
	url string
	hc  *http.Client
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 10 s timeout per report).
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.hc = hc } }

// NewClient returns a Client posting to rawURL. rawURL is the sink's base URL or its full
// effects URL: an empty path (or "/") gets /effects appended; any other path is used as is.
func NewClient(rawURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sink: url %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sink: url %q: want http://host:port[/path]", rawURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/effects"
	}
	c := &Client{url: u.String(), hc: &http.Client{Timeout: 10 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL returns the URL reports are posted to.
func (c *Client) URL() string { return c.url }

// Report posts e once. nil means the sink answered 2xx; on any error the caller retries (the
// same effect_id makes a retry count once).
func (c *Client) Report(ctx context.Context, e Effect) error {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("null")
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("sink: encoding effect of %q: %w", e.WebhookID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sink: report %q: %w", e.WebhookID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sink: report %q: %w", e.WebhookID, err)
	}
	defer resp.Body.Close()
	// Read a little of the answer: the reason on a rejection, and drained for connection reuse.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sink: report %q: status %d: %s: %w", e.WebhookID, resp.StatusCode, bytes.TrimSpace(msg), ErrRejected)
	}
	return nil
}
