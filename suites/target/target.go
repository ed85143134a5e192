package target

import (
	"context"
	"fmt"
	"net/url"
)

// Target is an endpoint under test. URL is fixed for the Target's life; Logs returns what the
// endpoint printed so far, when hookproof started it (empty otherwise); Close releases whatever
// hookproof started and is safe to call more than once and after ctx is cancelled.
// Implementations are safe for concurrent use.
type Target interface {
	URL() string
	Logs(ctx context.Context) (string, error)
	Close(ctx context.Context) error
}

// Remote is a Target that somebody else runs: hookproof only knows its URL.
type Remote struct{ url string }

// FromURL checks that raw is an absolute http or https URL and returns it as a Target.
func FromURL(raw string) (*Remote, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("target url %q: no host", raw)
	}
	return &Remote{url: u.String()}, nil
}

// URL returns the endpoint's URL.
func (r *Remote) URL() string { return r.url }

// Logs returns nothing: hookproof did not start the endpoint, so it cannot see its output.
func (r *Remote) Logs(context.Context) (string, error) { return "", nil }

// Close does nothing: hookproof did not start the endpoint.
func (r *Remote) Close(context.Context) error { return nil }
