package inspect

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookproof/hookproof/chaos"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/harness"
	"github.com/hookproof/hookproof/suites/tlsconf"
)

// Errors of replay, for the exit codes: ErrReplayInput is a record file or an option replay
// cannot use (bad usage, exit 2); ErrUnreachable means nothing accepted a connection at the
// URL before the first delivery (the harness could not run, exit 3).
var (
	ErrReplayInput = errors.New("replay")
	ErrUnreachable = errors.New("unreachable")
)

// ReplayDelivery is one delivery of a record file, ready to be sent again.
type ReplayDelivery struct {
	Line   int    // its line in the file
	ID     string // its delivery id, as recorded
	SendID string // the id it is sent with: ID, or a fresh one (PlanOptions.NewIDs)
	Header http.Header
	Body   []byte // the recorded body; with NewIDs, for a scheme whose id is in the body, its id rewritten
}

// PlanOptions choose what is replayed.
type PlanOptions struct {
	// NewIDs sends every delivery under a fresh id (a new event for the receiver). For schemes
	// with an id header only the header changes, the body stays as recorded; for schemes whose
	// id is in the body only (stripe, slack) the body's id member is rewritten in place
	// (signature.WithBodyID), and a body where that cannot be done safely is an error.
	NewIDs bool
	// Only keeps the deliveries with these recorded ids; an id no record carries is an error.
	Only []string
}

// ReplayPlan is what a record file replays: one delivery per id, in recorded order.
type ReplayPlan struct {
	Deliveries []ReplayDelivery
	Records    int  // records read
	Repeats    int  // records skipped because an earlier one has the same id (retries, duplicates)
	Filtered   int  // records left out by Only
	Truncated  bool // the file's last line was cut short (a crash while writing) and skipped
}

// hopHeaders are never replayed: they described the recorded connection, not the delivery
// (RFC 9110 §7.6.1), or are the transport's to set.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host"}

// PlanReplay reads a record file (Writer's lines, or plain {"headers":…,"body":…} objects;
// see ParseEntry) and plans its replay under scheme:
//
//   - a delivery's id is signature.DeliveryID (the scheme's id header, else the body's id);
//     a record without one is an error, unless NewIDs gives it a fresh one;
//   - the first record of each id is replayed, later ones (the sender's retries, duplicates)
//     are counted as Repeats and skipped;
//   - its headers are the recorded ones minus hop-by-hop headers, Content-Length and Host, minus
//     the scheme's id, timestamp and signature headers (legacy ones too) and retry marks (every
//     attempt signs and marks its own), minus headers whose values were REDACTED; the
//     provider's headers (signature.SetProviderHeaders) are added where the record lacks them.
//
// Every error names the line it is about and wraps ErrReplayInput (or ErrRecord).
func PlanReplay(r io.Reader, scheme signature.Scheme, opt PlanOptions) (*ReplayPlan, error) {
	name, tr := scheme.Name(), scheme.Traits()
	drop := slices.Concat(hopHeaders, []string{tr.IDHeader, tr.TimestampHeader, tr.SignatureHeader},
		tr.LegacySignatureHeaders, signature.RetryHeaders(name))
	only := map[string]bool{}
	for _, id := range opt.Only {
		only[id] = false
	}
	p := &ReplayPlan{}
	seen := map[string]bool{}
	truncated, err := ScanRecords(r, func(line int, e Entry) error {
		p.Records++
		id := signature.DeliveryID(name, e.Header, e.Body)
		if len(opt.Only) > 0 {
			if _, ok := only[id]; !ok {
				p.Filtered++
				return nil
			}
			only[id] = true
		}
		if id != "" && seen[id] {
			p.Repeats++
			return nil
		}
		seen[id] = true
		d := ReplayDelivery{Line: line, ID: id, SendID: id, Header: replayHeader(e.Header, drop), Body: e.Body}
		switch {
		case opt.NewIDs && tr.IDHeader == "":
			d.SendID = freshID(id)
			b, err := signature.WithBodyID(name, e.Body, d.SendID)
			if err != nil {
				return fmt.Errorf("%w: --new-ids: %s carries its id in the body only, and %v", ErrReplayInput, name, err)
			}
			d.Body = b
		case opt.NewIDs:
			d.SendID = freshID(id)
		case id == "" && tr.IDHeader != "":
			return fmt.Errorf("%w: no delivery id: no %s header and no top-level \"id\" in the body (--new-ids gives it one)", ErrReplayInput, tr.IDHeader)
		case id == "":
			return fmt.Errorf("%w: no delivery id: %s carries it in the body, which has none", ErrReplayInput, name)
		}
		ph := http.Header{}
		signature.SetProviderHeaders(name, ph, signature.Delivery{ID: d.SendID, At: e.At, Attempt: 1})
		for k, v := range ph {
			if _, ok := d.Header[k]; !ok {
				d.Header[k] = v
			}
		}
		p.Deliveries = append(p.Deliveries, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.Truncated = truncated
	var unknown []string
	for _, id := range opt.Only {
		if !only[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: --only: no record carries the id %s", ErrReplayInput, strings.Join(unknown, ", "))
	}
	return p, nil
}

// replayHeader is a record's headers as replay sends them (see PlanReplay).
func replayHeader(rec http.Header, drop []string) http.Header {
	h := rec.Clone()
	if h == nil {
		h = http.Header{}
	}
	for _, c := range h.Values("Connection") {
		for _, n := range strings.Split(c, ",") {
			h.Del(strings.TrimSpace(n))
		}
	}
	for _, n := range drop {
		if n != "" {
			h.Del(n)
		}
	}
	for k, vs := range h {
		if !slices.ContainsFunc(vs, func(v string) bool { return v != Redacted }) {
			delete(h, k)
		}
	}
	return h
}

// freshID makes a new delivery id of old's form: its prefix (evt_, msg_) and random hex.
func freshID(old string) string {
	prefix := "msg_"
	if i := strings.IndexByte(old, '_'); i > 0 && i < 16 && strings.Trim(old[:i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == "" {
		prefix = old[:i+1]
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ReplayConfig says where and how a plan is replayed.
type ReplayConfig struct {
	URL       string
	Deliverer *Deliverer
	// Interval starts a delivery every Interval (--rate), each with its own retries; 0 sends
	// them one after the other, each once the previous one was acknowledged or given up.
	Interval time.Duration
	// Chaos, when set, is a chaos spec or scenario file (chaos.ParseSpecOrFile): the deliveries
	// go through an in-process chaos proxy seeded with Seed.
	Chaos string
	Seed  int64
	// TLS is the client TLS configuration for an https URL, of the chaos proxy's upstream and
	// of the probe (the Deliverer's client has its own); nil: the system roots.
	TLS *tls.Config
	// OnResult, when set, sees each delivery's result as it ends (i is its index in the plan);
	// calls are serialised.
	OnResult func(i int, d ReplayDelivery, r Result)
}

// ReplaySummary is what a replay did.
type ReplaySummary struct {
	Deliveries int      // in the plan
	Delivered  int      // acknowledged with a 2xx
	Attempts   int      // requests made, the first attempts included
	Retries    int      // attempts after the first
	Failed     []string // ids (as sent) not acknowledged, in plan order; not attempted ones included
	Elapsed    time.Duration
}

// OK reports whether every delivery was acknowledged.
func (s ReplaySummary) OK() bool { return s.Delivered == s.Deliveries }

// probeTimeout bounds the connection Replay tries before the first delivery.
const probeTimeout = 5 * time.Second

// Replay sends the plan's deliveries to cfg.URL. Before the first it checks that something
// accepts a TCP connection there (it sends nothing): when nothing does, it returns an
// ErrUnreachable error. Once under way, a delivery whose attempts all fail, the endpoint
// unreachable included, counts as not acknowledged. Errors are about the configuration
// (ErrReplayInput) or the harness; the deliveries' outcomes are in the summary.
func Replay(ctx context.Context, plan *ReplayPlan, cfg ReplayConfig) (ReplaySummary, error) {
	start := time.Now()
	sum := ReplaySummary{Deliveries: len(plan.Deliveries)}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sum, fmt.Errorf("%w: --url %q: want an http:// or https:// URL", ErrReplayInput, cfg.URL)
	}
	target := cfg.URL
	if cfg.Chaos != "" {
		sc, err := chaos.ParseSpecOrFile(cfg.Chaos)
		if err != nil {
			return sum, fmt.Errorf("%w: --chaos: %w", ErrReplayInput, err)
		}
		base := &url.URL{Scheme: u.Scheme, Host: u.Host}
		proxy, err := chaos.NewProxy(base.String(), chaos.WithSeed(cfg.Seed), chaos.WithFaults(sc.Faults...), chaos.WithTLSConfig(cfg.TLS))
		if err != nil {
			return sum, fmt.Errorf("%w: --chaos: %w", ErrReplayInput, err)
		}
		srv, err := harness.ServeHandler(proxy, "")
		if err != nil {
			_ = proxy.Close()
			return sum, err
		}
		defer func() {
			_ = proxy.Close()
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Close(cctx)
		}()
		target = srv.URL() + u.EscapedPath()
		if u.RawQuery != "" {
			target += "?" + u.RawQuery
		}
	}
	if err := probe(ctx, u, cfg.TLS); err != nil {
		return sum, err
	}

	results := make([]*Result, len(plan.Deliveries))
	var mu sync.Mutex
	one := func(i int) {
		d := plan.Deliveries[i]
		r := cfg.Deliverer.Deliver(ctx, Outbound{URL: target, ID: d.SendID, Header: d.Header, Body: d.Body})
		mu.Lock()
		defer mu.Unlock()
		results[i] = &r
		if cfg.OnResult != nil {
			cfg.OnResult(i, d, r)
		}
	}
	if cfg.Interval <= 0 {
		for i := range plan.Deliveries {
			if ctx.Err() != nil {
				break
			}
			one(i)
		}
	} else {
		var wg sync.WaitGroup
		tick := time.NewTicker(cfg.Interval)
	send:
		for i := range plan.Deliveries {
			if i > 0 {
				select {
				case <-ctx.Done():
					break send
				case <-tick.C:
				}
			}
			wg.Add(1)
			go func() { defer wg.Done(); one(i) }()
		}
		tick.Stop()
		wg.Wait()
	}
	for i, r := range results {
		if r == nil {
			sum.Failed = append(sum.Failed, plan.Deliveries[i].SendID)
			continue
		}
		sum.Attempts += len(r.Attempts)
		sum.Retries += max(len(r.Attempts)-1, 0)
		if r.Acked {
			sum.Delivered++
		} else {
			sum.Failed = append(sum.Failed, plan.Deliveries[i].SendID)
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// probe checks that something accepts a TCP connection at u's host, sending nothing; for an
// https URL it makes a TLS handshake with cfg too, and a certificate that does not verify is
// a *tlsconf.Error (wrapping tlsconf.ErrTLS) that names the flag that fixes it.
func probe(ctx context.Context, u *url.URL, cfg *tls.Config) error {
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: probeTimeout}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("%w: nothing accepts connections at %s: %v", ErrUnreachable, host, err)
	}
	if u.Scheme == "https" {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		_, err := tlsconf.Handshake(ctx, c, host, cfg)
		if errors.Is(err, tlsconf.ErrTLS) {
			return err
		}
		return nil // anything else is the deliveries' to meet and report
	}
	return c.Close()
}
