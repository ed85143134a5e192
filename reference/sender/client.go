package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls a reference sender's API. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the API at base ("http://127.0.0.1:8081"); hc nil means a
// client with a 30 s timeout.
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sender client: %q is not an http or https base URL", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), hc: hc}, nil
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("sender API: %d: %s", e.Status, e.Message) }

// do sends a JSON request and decodes a JSON answer into out. Transport failures are
// returned as they are (the caller tells "unreachable" from an *APIError).
func (c *Client) do(ctx context.Context, method, path, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sender client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("sender client: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sender client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("sender client: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = truncate(printable(raw), 200)
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("sender client: %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// CreateEndpoint registers an endpoint; key (optional) makes the call idempotent.
func (c *Client) CreateEndpoint(ctx context.Context, spec EndpointSpec, key string) (Endpoint, error) {
	var e Endpoint
	err := c.do(ctx, http.MethodPost, "/endpoints", key, spec, &e)
	return e, err
}

// Endpoint fetches an endpoint.
func (c *Client) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	var e Endpoint
	err := c.do(ctx, http.MethodGet, "/endpoints/"+url.PathEscape(id), "", nil, &e)
	return e, err
}

// EnableEndpoint re-enables an endpoint.
func (c *Client) EnableEndpoint(ctx context.Context, id string) (Endpoint, error) {
	var e Endpoint
	err := c.do(ctx, http.MethodPost, "/endpoints/"+url.PathEscape(id)+"/enable", "", struct{}{}, &e)
	return e, err
}

// RotateSecret rotates an endpoint's secret.
func (c *Client) RotateSecret(ctx context.Context, id string, r Rotation) (Endpoint, error) {
	var e Endpoint
	err := c.do(ctx, http.MethodPost, "/endpoints/"+url.PathEscape(id)+"/rotate", "", r, &e)
	return e, err
}

// Send sends an event; key (optional) makes the call idempotent.
func (c *Client) Send(ctx context.Context, req SendRequest, key string) (Message, error) {
	var m Message
	err := c.do(ctx, http.MethodPost, "/messages", key, req, &m)
	return m, err
}

// Message fetches a message.
func (c *Client) Message(ctx context.Context, id string) (Message, error) {
	var m Message
	err := c.do(ctx, http.MethodGet, "/messages/"+url.PathEscape(id), "", nil, &m)
	return m, err
}

// Attempts lists a message's attempts.
func (c *Client) Attempts(ctx context.Context, id string) ([]Attempt, error) {
	var out struct {
		Attempts []Attempt `json:"attempts"`
	}
	err := c.do(ctx, http.MethodGet, "/messages/"+url.PathEscape(id)+"/attempts", "", nil, &out)
	return out.Attempts, err
}

// Replay sends a message again.
func (c *Client) Replay(ctx context.Context, id string) (Message, error) {
	var m Message
	err := c.do(ctx, http.MethodPost, "/messages/"+url.PathEscape(id)+"/replay", "", struct{}{}, &m)
	return m, err
}

// ReplayFailedSince replays every dead letter created since then (of one endpoint when set).
func (c *Client) ReplayFailedSince(ctx context.Context, since time.Time, endpointID string) (ReplayResult, error) {
	q := url.Values{"since": {since.UTC().Format(time.RFC3339)}}
	if endpointID != "" {
		q.Set("endpoint_id", endpointID)
	}
	var r ReplayResult
	err := c.do(ctx, http.MethodPost, "/replay?"+q.Encode(), "", struct{}{}, &r)
	return r, err
}

// DeadLetters lists dead letters, latest first.
func (c *Client) DeadLetters(ctx context.Context, endpointID string, limit int) ([]Message, error) {
	q := url.Values{}
	if endpointID != "" {
		q.Set("endpoint_id", endpointID)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	var out struct {
		DeadLetters []Message `json:"dead_letters"`
	}
	err := c.do(ctx, http.MethodGet, "/dead-letters?"+q.Encode(), "", nil, &out)
	return out.DeadLetters, err
}
