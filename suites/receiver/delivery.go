package receiver

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/harness"
)

// delivery is one event as hookproof sends it (an event.Envelope): the id is the scheme's id header where it has
// one and always the body's "id" (stripe and slack identify deliveries by it).
type delivery struct {
	ID       string
	ObjectID string
	Seq      int64
	Body     []byte
}

// eventData is the data of the events the suite sends: the envelope's ordering keys and a status.
type eventData struct {
	ObjectID string `json:"object_id"`
	Seq      int64  `json:"seq"`
	Status   string `json:"status"`
}

// hexID draws n random bytes from the run's seeded source, as hex.
func (e *env) hexID(n int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(e.rng.Uint32())
	}
	return hex.EncodeToString(b)
}

func (e *env) newID() string { return "msg_" + e.hexID(12) }

// newObject makes an object id for the events of one object: with --event templates, of the
// ordering template's form (numeric where its object id is a number).
func (e *env) newObject() string {
	if e.orderT != nil {
		return e.orderT.NewObject(e.hexID(8))
	}
	return "ord_" + e.hexID(8)
}

// event makes a delivery for object obj at seq (a fresh object when obj is ""). With --event
// templates it is a copy of one of them (in turn; the ordering template when obj is given),
// filled in with a fresh id, the object and seq. The sink learns which object and seq the
// delivery is, so effects observed without data (a database row, a log line) are ordered too.
func (e *env) event(obj string, seq int64) delivery {
	var d delivery
	if len(e.templates) > 0 {
		t := e.orderT
		if obj == "" || t == nil {
			e.mu.Lock()
			t = e.templates[e.next%len(e.templates)]
			e.next++
			e.mu.Unlock()
		}
		if obj == "" {
			obj = t.NewObject(e.hexID(8))
		}
		d = delivery{ID: t.NewID(e.hexID(12)), ObjectID: obj, Seq: seq}
		d.Body = t.Append(nil, event.Fill{ID: d.ID, Object: obj, Seq: seq})
		e.mu.Lock()
		e.fromT[d.ID] = t
		e.mu.Unlock()
	} else {
		if obj == "" {
			obj = e.newObject()
		}
		d = delivery{ID: e.newID(), ObjectID: obj, Seq: seq}
		// A struct of strings and integers always marshals.
		data, _ := json.Marshal(eventData{ObjectID: obj, Seq: seq, Status: "updated"})
		env := event.Envelope{ID: d.ID, Type: "order.updated", Timestamp: time.Now().UTC(), Data: data}
		d.Body = event.Shape(e.traits.BodyShape).Append(nil, &env) // as the provider lays out its events
	}
	if e.sink != nil {
		e.sink.Register(d.ID, d.ObjectID, d.Seq)
	}
	return d
}

// template returns the --event template delivery id was made from, nil for hookproof's own.
func (e *env) template(id string) *event.Template {
	if e.fromT == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fromT[id]
}

// canOrder ends an ordering case as not applicable when the --event templates give no object
// id and ordering key to fill in.
func (e *env) canOrder() {
	if len(e.templates) > 0 && e.orderT == nil {
		_, obj, ord := event.Shape(e.traits.BodyShape).DefaultPaths()
		harness.NotApplicable("no --event template with object and order paths (give paths.object and paths.order with a file; the %s defaults are object %s, order %s)",
			e.schemeName, orNone(obj), orNone(ord))
	}
}

func orNone(paths []string) string {
	if len(paths) == 0 {
		return "none"
	}
	return strings.Join(paths, " or ")
}

// sign returns the scheme's headers for d at ts (zero: now), signed with the run's secret.
func (e *env) sign(d delivery, ts time.Time) http.Header {
	return e.signWith(e.scheme, d.ID, d.Body, ts)
}

func (e *env) signWith(s signature.Scheme, id string, body []byte, ts time.Time) http.Header {
	if ts.IsZero() {
		ts = time.Now()
	}
	h, err := s.Sign(signature.Message{ID: id, Timestamp: ts, Body: body})
	if err != nil {
		// The scheme was built from this secret and the id is never empty: Sign cannot fail
		// unless the secret cannot sign (an ed25519 public key), which the case reports.
		h = http.Header{}
	}
	// What the provider sends besides the signature (event and hook headers, its User-Agent):
	// receivers built on the providers' libraries may need it.
	signed := slices.Collect(maps.Keys(h))
	h.Set("User-Agent", "hookproof-conform")
	signature.SetProviderHeaders(e.schemeName, h, signature.Delivery{ID: id, At: ts})
	e.templateHeaders(id, h, signed)
	return h
}

// templateHeaders sets the headers given with the --event template of delivery id on h,
// except those the scheme's signing set (signed): signature, id and timestamp stay the suite's.
func (e *env) templateHeaders(id string, h http.Header, signed []string) {
	t := e.template(id)
	if t == nil {
		return
	}
	for k, v := range t.Header {
		if !slices.Contains(signed, k) {
			h[k] = slices.Clone(v)
		}
	}
}

// request makes the POST of body with headers h to the target.
func (e *env) request(note string, h http.Header, body []byte) harness.Request {
	return harness.Request{Note: note, URL: e.url, Header: h, Body: body}
}

// route says whether a request may go through the chaos proxy.
type route int

const (
	// viaChaos: through the proxy when --chaos is set, with sender-like retries.
	viaChaos route = iota
	// direct: always straight to the target, one attempt (timing and replay cases).
	direct
)

// maxChaosAttempts bounds the retries a case makes under chaos, as a sender would.
const maxChaosAttempts = 5

// expectation is what the case wants, which decides what a retry under chaos is for.
type expectation int

const (
	wantAccept expectation = iota // retry anything but a 2xx
	wantReject                    // retry only what the network or an overloaded server says
)

// deliver sends the request mk builds. Without chaos, or on the direct route, it sends once.
// Through chaos it behaves like a sender: it retries (calling mk again, so an accepted
// delivery gets a fresh timestamp and signature) while the answer is a transport error, and
// also a 5xx or 429 when a rejection is expected, or any non-2xx when acceptance is.
func (e *env) deliver(ctx context.Context, c *harness.Check, r route, want expectation, mk func(attempt int) harness.Request) harness.Response {
	if e.chaosBase == "" || r == direct {
		return e.client.Do(ctx, c, mk(1))
	}
	var resp harness.Response
	for attempt := 1; attempt <= maxChaosAttempts; attempt++ {
		req := mk(attempt)
		if attempt > 1 && req.Header != nil {
			signature.SetRetryHeaders(e.schemeName, req.Header, attempt) // as the provider marks a retry
		}
		req.URL = e.chaosBase + e.path
		if attempt > 1 {
			req.Note = fmt.Sprintf("%s (attempt %d, through chaos)", req.Note, attempt)
		} else {
			req.Note += " (through chaos)"
		}
		resp = e.client.Do(ctx, c, req)
		retry := resp.Err != nil
		switch want {
		case wantAccept:
			retry = retry || !resp.OK()
		case wantReject:
			retry = retry || resp.Status >= 500 || resp.Status == http.StatusTooManyRequests
		}
		if !retry || ctx.Err() != nil {
			return resp
		}
		select {
		case <-ctx.Done():
			return resp
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	return resp
}

// accept delivers d signed at now-offset (offset 0: now), re-signing on each attempt.
func (e *env) accept(ctx context.Context, c *harness.Check, note string, d delivery, offset time.Duration) harness.Response {
	return e.deliver(ctx, c, viaChaos, wantAccept, func(int) harness.Request {
		return e.request(note, e.sign(d, time.Now().Add(-offset)), d.Body)
	})
}

// reject sends the fixed request (h, body) that must be rejected.
func (e *env) reject(ctx context.Context, c *harness.Check, note string, h http.Header, body []byte) harness.Response {
	return e.deliver(ctx, c, viaChaos, wantReject, func(int) harness.Request {
		return e.request(note, h.Clone(), body)
	})
}

// otherSecret makes a second secret with the same shape as the run's, from the seeded source.
func (e *env) otherSecret() string {
	b, _ := hex.DecodeString(e.hexID(32))
	return signature.SecretFrom(e.schemeName, b)
}

// sigParts splits the signature header of h into what precedes the signature proper (version
// tag, stripe's t=) and the signature itself, for the first signature of the header, as the
// scheme lays it out.
func (e *env) sigParts(h http.Header) (prefix, sig string) {
	return e.anatomy.SplitSignature(h.Get(e.traits.SignatureHeader))
}

// withSignature returns a copy of h whose signature header is v. A legacy signature the
// provider also sends (github's sha1) is dropped: a library that falls back to it would
// otherwise find a valid signature in a delivery whose signature was tampered with.
func (e *env) withSignature(h http.Header, v string) http.Header {
	h = h.Clone()
	h.Set(e.traits.SignatureHeader, v)
	for _, l := range e.traits.LegacySignatureHeaders {
		h.Del(l)
	}
	return h
}

// signLiteral signs body with the run's secret over a timestamp given as a literal string (not
// necessarily an integer), for the schemes that sign one. ok is false when it cannot: another
// scheme, or a Standard Webhooks secret that is not a whsec_ HMAC key.
func (e *env) signLiteral(id, ts string, body []byte) (h http.Header, ok bool) {
	h, ok = e.anatomy.SignLiteral(id, ts, body)
	if !ok {
		return nil, false
	}
	signed := slices.Collect(maps.Keys(h))
	h.Set("User-Agent", "hookproof-conform")
	signature.SetProviderHeaders(e.schemeName, h, signature.Delivery{ID: id})
	e.templateHeaders(id, h, signed)
	return h, true
}

// unixNow is the current time as unix seconds text.
func unixNow() string { return strconv.FormatInt(time.Now().Unix(), 10) }
