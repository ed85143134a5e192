package inspect

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hookproof/hookproof/reference/signature"
)

// DefaultForwardTimeout bounds a forward: how long listen waits for the endpoint's answer.
const DefaultForwardTimeout = 30 * time.Second

// ListenerConfig configures a Listener.
type ListenerConfig struct {
	Judge *Judge // required
	Hub   *Hub   // recent deliveries; nil keeps none
	// Record, when set, gets every delivery before the sender is answered.
	Record *Writer
	// RecordSecrets keeps signature header values in the record and the hub; by default they
	// are Redacted (every scheme's signature headers, legacy ones too).
	RecordSecrets bool
	// ForwardTo, when set, is the endpoint every delivery is forwarded to, byte for byte.
	ForwardTo      *url.URL
	ForwardTimeout time.Duration // default DefaultForwardTimeout
	// ForwardTLS is the client TLS configuration for an https ForwardTo (--ca, --cert,
	// --insecure, --tls-server-name); nil: the system roots.
	ForwardTLS *tls.Config
	// Console gets one line per delivery (nil: none).
	Console io.Writer
	Now     func() time.Time
}

// Listener is the http.Handler of hookproof listen: each request is a delivery, judged
// (Judge), recorded, kept in the hub, printed as one console line, and answered, in that
// order, so that a delivery answered 2xx is on disk.
//
// What the sender is answered:
//
//   - a body over MaxBodyBytes: 413, as the reference receiver answers (not recorded);
//   - with ForwardTo: the endpoint's status, headers (hop-by-hop ones aside) and body (cut
//     at MaxBodyBytes), whatever the verdict; an endpoint that does not answer (refused,
//     reset, ForwardTimeout passed): 502 with the reason;
//   - without ForwardTo and with secrets: 200 to a valid delivery, 401 to an invalid one (no
//     signature, none that verifies, a timestamp out of the tolerance), 400 to a malformed one
//     (headers no verifier reads), so that the sender under test is told the truth;
//   - without ForwardTo nor secrets: 200 (nothing can be judged that a sender should act on);
//   - a Slack url_verification challenge that is valid or unjudged, without ForwardTo: 200
//     with the challenge, as Slack requires;
//   - a delivery that could not be recorded: 500, so that no 2xx is given for it.
type Listener struct {
	cfg     ListenerConfig
	redact  []string
	client  *http.Client
	recMu   sync.Mutex
	conMu   sync.Mutex
	forward *url.URL
}

// NewListener returns a Listener.
func NewListener(cfg ListenerConfig) (*Listener, error) {
	if cfg.Judge == nil {
		return nil, errors.New("inspect: a Listener needs a Judge")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ForwardTimeout <= 0 {
		cfg.ForwardTimeout = DefaultForwardTimeout
	}
	l := &Listener{cfg: cfg}
	if !cfg.RecordSecrets {
		l.redact = SignatureHeaderNames()
	}
	if cfg.ForwardTo != nil {
		if cfg.ForwardTo.Scheme != "http" && cfg.ForwardTo.Scheme != "https" || cfg.ForwardTo.Host == "" {
			return nil, fmt.Errorf("inspect: forward to %q: want an http:// or https:// URL", cfg.ForwardTo.Redacted())
		}
		l.forward = cfg.ForwardTo
		l.client = &http.Client{
			Transport: &http.Transport{
				Proxy:               nil, // the endpoint is addressed directly, never through $HTTP_PROXY
				TLSClientConfig:     cloneTLS(cfg.ForwardTLS),
				DisableCompression:  true,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
			Timeout: cfg.ForwardTimeout,
			// A redirect is the endpoint's answer, passed to the sender as it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return l, nil
}

// SignatureHeaderNames lists every scheme's signature headers, the legacy ones too: what a
// record redacts.
func SignatureHeaderNames() []string {
	var out []string
	for _, n := range signature.Names() {
		s, err := signature.New(n, signature.SecretFrom(n, []byte("hookproof-listen-redacted-headers")))
		if err != nil {
			continue
		}
		tr := s.Traits()
		for _, h := range append([]string{tr.SignatureHeader}, tr.LegacySignatureHeaders...) {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

// answer is what the sender gets.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := l.cfg.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			l.console("%s %s %s refused: body over %d bytes → 413", at.Format(consoleTime), r.Method, printable(r.URL.RequestURI()), MaxBodyBytes)
			http.Error(w, fmt.Sprintf("hookproof listen: body over %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		l.console("%s %s %s refused: reading the body: %v → 400", at.Format(consoleTime), r.Method, printable(r.URL.RequestURI()), err)
		http.Error(w, "hookproof listen: reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	v := l.cfg.Judge.Judge(r.Header, body, at)
	e := Entry{V: RecordVersion, At: at.UTC(), Method: r.Method, Path: r.URL.RequestURI(), Remote: r.RemoteAddr,
		Header: RedactHeaders(r.Header, l.redact), Body: body, Verdict: &v}

	var ans answer
	if l.forward != nil {
		var fw Forward
		ans, fw = l.forwardOne(r, body)
		e.Forward = &fw
	} else {
		ans = l.own(v, body)
	}
	if l.cfg.Record != nil {
		l.recMu.Lock()
		err := l.cfg.Record.Write(e)
		l.recMu.Unlock()
		if err != nil {
			ans = answer{status: http.StatusInternalServerError, body: []byte("hookproof listen: could not record the delivery: " + err.Error() + "\n")}
			l.console("%s → 500 (not recorded: %v)", l.line(e), err)
			writeAnswer(w, ans)
			return
		}
	}
	if l.cfg.Hub != nil {
		l.cfg.Hub.Add(e)
	}
	if e.Forward != nil {
		if e.Forward.Status == 0 {
			l.console("%s → forward failed after %s ms: %s → 502", l.line(e), ms(e.Forward.MS), e.Forward.Error)
		} else {
			l.console("%s → forwarded: %d in %s ms", l.line(e), e.Forward.Status, ms(e.Forward.MS))
		}
	} else {
		l.console("%s → %d", l.line(e), ans.status)
	}
	writeAnswer(w, ans)
}

// own is listen's own answer, without a forward.
func (l *Listener) own(v Verdict, body []byte) answer {
	if v.Outcome == Valid || v.Outcome == Unjudged {
		if c, ok := urlVerification(l.cfg.Judge.Traits(), body); ok {
			return answer{status: http.StatusOK, header: http.Header{"Content-Type": {"text/plain"}}, body: []byte(c)}
		}
	}
	status := http.StatusOK
	if l.cfg.Judge.Judged() {
		switch v.Outcome {
		case Invalid:
			status = http.StatusUnauthorized
		case Malformed:
			status = http.StatusBadRequest
		}
	}
	return answer{status: status, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		body: []byte("hookproof listen: " + v.Outcome + ": " + v.Reason + "\n")}
}

// urlVerification returns the challenge of a url_verification request, for schemes whose
// provider sends one (signature.Traits.URLVerification), as the reference receiver reads it.
func urlVerification(tr signature.Traits, body []byte) (string, bool) {
	if !tr.URLVerification {
		return "", false
	}
	var m struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(body, &m) != nil || m.Type != "url_verification" || m.Challenge == "" {
		return "", false
	}
	return m.Challenge, true
}

func writeAnswer(w http.ResponseWriter, a answer) {
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// hopByHop are the headers of one connection, not of the message (RFC 9110 7.6.1), which a
// forward neither passes on nor answers with.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// endToEnd is h without its hop-by-hop headers (those Connection names too).
func endToEnd(h http.Header) http.Header {
	out := h.Clone()
	for _, c := range h.Values("Connection") {
		for _, n := range strings.Split(c, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out.Del(n)
			}
		}
	}
	for _, n := range hopByHop {
		out.Del(n)
	}
	return out
}

// ForwardURL is where a request for requestURI (path and query) goes when forwarding to
// target: the request's path appended to target's path (a trailing slash of target's
// dropped), and the request's query after target's own.
func ForwardURL(target *url.URL, r *url.URL) *url.URL {
	u := *target
	base, rawBase := strings.TrimSuffix(target.Path, "/"), strings.TrimSuffix(target.EscapedPath(), "/")
	u.Path = base + r.Path
	u.RawPath = rawBase + r.EscapedPath()
	if u.RawPath == u.Path {
		u.RawPath = ""
	}
	switch {
	case target.RawQuery == "":
		u.RawQuery = r.RawQuery
	case r.RawQuery != "":
		u.RawQuery = target.RawQuery + "&" + r.RawQuery
	}
	u.Fragment, u.RawFragment = "", ""
	return &u
}

// forwardOne sends the delivery on, byte for byte: the method, the path and query (ForwardURL),
// every header but the hop-by-hop ones and the exact body.
func (l *Listener) forwardOne(r *http.Request, body []byte) (answer, Forward) {
	// The sender hanging up does not stop the forward: the endpoint's answer is still recorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), l.cfg.ForwardTimeout)
	defer cancel()
	target := ForwardURL(l.forward, r.URL)
	req, err := http.NewRequestWithContext(ctx, r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return failed(err, 0)
	}
	req.Header = endToEnd(r.Header)
	req.Header.Del("Content-Length")
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // Go would send its own otherwise
	}
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return failed(err, time.Since(start))
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	took := time.Since(start)
	fw := Forward{Status: resp.StatusCode, MS: msOf(took)}
	h := endToEnd(resp.Header)
	switch {
	case err != nil:
		fw.Error = "reading the answer's body: " + err.Error()
		h.Del("Content-Length")
	case len(rb) > MaxBodyBytes:
		rb = rb[:MaxBodyBytes]
		fw.Error = fmt.Sprintf("the answer's body was cut at %d bytes", MaxBodyBytes)
		h.Del("Content-Length")
	}
	return answer{status: resp.StatusCode, header: h, body: rb}, fw
}

func failed(err error, took time.Duration) (answer, Forward) {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error() // without the URL again
	}
	return answer{status: http.StatusBadGateway, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			body: []byte("hookproof listen: the endpoint did not answer: " + msg + "\n")},
		Forward{MS: msOf(took), Error: oneLine(msg)}
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ms(v float64) string { return fmt.Sprintf("%.1f", v) }

// consoleTime is the time of a console line: local, milliseconds.
const consoleTime = "15:04:05.000"

// line is a delivery on the console, without what it was answered: time, method, path,
// delivery id, event type, body size, verdict and reason. No secret nor signature value is in it.
func (l *Listener) line(e Entry) string {
	v := e.Verdict
	id, typ := "-", "-"
	if v.ID != "" {
		id = printable(v.ID)
	}
	if v.Type != "" {
		typ = printable(v.Type)
	}
	return fmt.Sprintf("%s %s %s id=%s type=%s %dB %s: %s", e.At.Local().Format(consoleTime), e.Method, printable(e.Path),
		id, typ, len(e.Body), v.Outcome, v.Reason)
}

func (l *Listener) console(format string, a ...any) {
	if l.cfg.Console == nil {
		return
	}
	l.conMu.Lock()
	defer l.conMu.Unlock()
	fmt.Fprintf(l.cfg.Console, format+"\n", a...)
}

// printable keeps an untrusted value (an id, a type, a path) on one readable console line:
// control and space characters become '?', and it is cut at 100 bytes.
func printable(s string) string {
	const max = 100
	cut := len(s) > max
	if cut {
		s = s[:max]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return '?'
		}
		return r
	}, s)
	if cut {
		s += "…"
	}
	return s
}
