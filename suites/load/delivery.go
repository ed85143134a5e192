package load

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reference/signature"
)

// Invalid is a way of getting a signature wrong. Every invalid delivery has exactly one.
type Invalid string

const (
	InvalidWrongSecret      Invalid = "wrong-secret"      // signed with another secret of the same shape
	InvalidFlippedSignature Invalid = "flipped-signature" // one character of the signature changed
	InvalidTamperedBody     Invalid = "tampered-body"     // the body changed after signing
	InvalidStaleTimestamp   Invalid = "stale-timestamp"   // signed an hour ago (timestamped schemes only)
	InvalidMissingSignature Invalid = "missing-signature" // the signature header left out
)

// invalidKinds lists the kinds in the order deliveries cycle through them.
var invalidKinds = []Invalid{InvalidWrongSecret, InvalidFlippedSignature, InvalidTamperedBody, InvalidStaleTimestamp, InvalidMissingSignature}

// staleBy is how old a stale timestamp is: far outside any tolerance a receiver should allow.
const staleBy = time.Hour

// EventType is the type of every event a load run publishes.
const EventType = "order.updated"

// objectsPerRun is how many distinct object_ids the events of a run update; each object's seq
// grows with event time, as the event envelope (reference/event) has it.
const objectsPerRun = 64

// envelopeCap fits a whole envelope (about 200 bytes) so that building one allocates only
// its copy.
const envelopeCap = 320

// loadEvent is what is needed to rebuild one delivery's body byte for byte, on every attempt.
type loadEvent struct {
	id     string
	at     time.Time // event time, RFC 3339 in the body
	object int
	seq    int64
	amount int64
}

// envelope appends the delivery's body, an event.Envelope whose data is
// {"object_id":"ord_<run tag>_<object>","seq":…,"amount":…}, to dst. The data is rendered on
// the stack and the envelope by AppendJSON, so a dst with room means no allocation. Run tags
// and object ids are made of [A-Za-z0-9_] only, so no escaping is needed.
func (e *loadEvent) envelope(dst []byte, runTag string, amountDelta int64) []byte {
	return e.body(dst, event.ShapeEnvelope, runTag, amountDelta)
}

// body is envelope laid out in the scheme's body shape (a Stripe event, a Slack event_callback).
func (e *loadEvent) body(dst []byte, shape event.Shape, runTag string, amountDelta int64) []byte {
	var room [128]byte
	data := append(room[:0], `{"object_id":"ord_`...)
	data = append(data, runTag...)
	data = append(data, '_')
	data = strconv.AppendInt(data, int64(e.object), 10)
	data = append(data, `","seq":`...)
	data = strconv.AppendInt(data, e.seq, 10)
	data = append(data, `,"amount":`...)
	data = strconv.AppendInt(data, e.amount+amountDelta, 10)
	data = append(data, '}')
	env := event.Envelope{ID: e.id, Type: EventType, Timestamp: e.at.UTC(), Data: data}
	return shape.Append(dst, &env)
}

// signer makes the headers and body of each attempt: valid, or invalid in a chosen way.
type signer struct {
	scheme signature.Scheme
	wrong  signature.Scheme // keyed with a secret that is not the receiver's
	traits signature.Traits
	runTag string
	// kinds are the invalid kinds that apply to the scheme (no stale timestamp without one).
	kinds []Invalid
	// provider: the scheme's provider sends headers of its own (signature.SetProviderHeaders).
	provider bool
	shape    event.Shape // the provider's body layout
	// templates are the --event templates: events are copies of them (an object's events all
	// of the same one), none for hookproof's own events.
	templates []*event.Template
}

func newSigner(scheme, secret string, wrongSecret string, runTag string, events []string) (*signer, error) {
	s, err := signature.New(scheme, secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	w, err := signature.New(scheme, wrongSecret)
	if err != nil {
		return nil, fmt.Errorf("load: wrong-secret signer for %s: %w", scheme, err)
	}
	sg := &signer{scheme: s, wrong: w, traits: s.Traits(), runTag: runTag, provider: signature.HasProviderHeaders(scheme),
		shape: event.Shape(s.Traits().BodyShape)}
	for _, k := range invalidKinds {
		if k == InvalidStaleTimestamp && !sg.traits.Timestamped {
			continue
		}
		sg.kinds = append(sg.kinds, k)
	}
	if len(events) > 0 {
		if sg.templates, err = event.LoadTemplates(events, sg.shape, sg.traits.IDHeader == ""); err != nil {
			return nil, fmt.Errorf("%w: --event: %w", ErrConfig, err)
		}
	}
	return sg, nil
}

// bodyOf renders e's body: hookproof's event in the scheme's shape, or a copy of the
// event's template. changed makes the body of a tampered delivery (other bytes, same id).
func (sg *signer) bodyOf(e *loadEvent, changed bool) []byte {
	if len(sg.templates) == 0 {
		var delta int64
		if changed {
			delta = 1
		}
		// Rendered on the stack, then copied into a body of its own size: bodies live until
		// their attempt is written, so every byte of room left over would be garbage per attempt.
		var room [envelopeCap]byte
		return bytes.Clone(e.body(room[:0], sg.shape, sg.runTag, delta))
	}
	t := sg.templates[e.object%len(sg.templates)]
	obj := t.NewObject(sg.runTag + "_" + strconv.Itoa(e.object))
	b := t.Append(make([]byte, 0, t.Len()+32), event.Fill{ID: e.id, Object: obj, Seq: e.seq})
	if changed {
		// A member added at the end: the JSON still parses, the bytes are not those signed.
		if i := bytes.LastIndexByte(b, '}'); i > 0 {
			b = append(b[:i:i], `,"tampered":true}`...)
		}
	}
	return b
}

// templateOf returns the template of e, nil without templates.
func (sg *signer) templateOf(e *loadEvent) *event.Template {
	if len(sg.templates) == 0 {
		return nil
	}
	return sg.templates[e.object%len(sg.templates)]
}

// sign returns the headers and body of one attempt of e at time now. kind "" is valid.
func (sg *signer) sign(e *loadEvent, kind Invalid, now time.Time) (http.Header, []byte, error) {
	body := sg.bodyOf(e, false)
	msg := signature.Message{ID: e.id, Timestamp: now, Body: body}
	scheme := sg.scheme
	switch kind {
	case InvalidWrongSecret:
		scheme = sg.wrong
	case InvalidStaleTimestamp:
		msg.Timestamp = now.Add(-staleBy)
	}
	h, err := scheme.Sign(msg)
	if err != nil {
		return nil, nil, fmt.Errorf("load: signing %s: %w", e.id, err)
	}
	switch kind {
	case InvalidTamperedBody:
		body = sg.bodyOf(e, true)
	case InvalidFlippedSignature:
		v := h.Get(sg.traits.SignatureHeader)
		f, err := flipOne(v)
		if err != nil {
			return nil, nil, fmt.Errorf("load: %s header of %s: %w", sg.traits.SignatureHeader, e.id, err)
		}
		h.Set(sg.traits.SignatureHeader, f)
		for _, l := range sg.traits.LegacySignatureHeaders {
			h.Del(l) // a library may fall back to the legacy signature, which is still valid
		}
	case InvalidMissingSignature:
		h.Del(sg.traits.SignatureHeader)
		for _, l := range sg.traits.LegacySignatureHeaders {
			h.Del(l)
		}
	}
	t := sg.templateOf(e)
	var signed []string
	if t != nil {
		signed = slices.Collect(maps.Keys(h))
	}
	// Canonical keys and shared values: Vegeta copies them into each request.
	h["Content-Type"] = contentTypeJSON
	h["User-Agent"] = userAgent
	if sg.provider {
		// The provider's own headers (event, hook, User-Agent), as its official libraries expect.
		signature.SetProviderHeaders(sg.scheme.Name(), h, signature.Delivery{ID: e.id, At: now})
	}
	if t != nil {
		// The headers given with the template, but never the scheme's signed ones.
		for k, v := range t.Header {
			if !slices.Contains(signed, k) {
				h[k] = v
			}
		}
	}
	return h, body, nil
}

var (
	contentTypeJSON = []string{"application/json"}
	userAgent       = []string{"hookproof-load"}
)

// flipOne changes the character in the middle of a signature header value into another of
// the same class, so that a hex MAC stays hex and base64 stays base64 (changed in a character
// that carries data bits: the middle, never the padding): what is left is well-formed and wrong.
func flipOne(v string) (string, error) {
	if len(v) < 8 {
		return "", errors.New("too short to flip a character in")
	}
	b := []byte(v)
	for off := 0; off < len(b)/2; off++ {
		for _, i := range []int{len(b)/2 + off, len(b)/2 - off} {
			if c, ok := flipChar(b[i]); ok {
				b[i] = c
				return string(b), nil
			}
		}
	}
	return "", errors.New("no character to flip")
}

func flipChar(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '8':
		return c + 1, true
	case c == '9':
		return '0', true
	case c >= 'a' && c <= 'e', c >= 'A' && c <= 'E':
		return c + 1, true
	case c == 'f':
		return 'a', true
	case c == 'F':
		return 'A', true
	case c > 'f' && c < 'z', c > 'F' && c < 'Z':
		return c + 1, true
	case c == 'z':
		return 'g', true
	case c == 'Z':
		return 'G', true
	case c == '+':
		return '/', true
	case c == '/':
		return '+', true
	}
	return 0, false
}

// token is what the recording transport needs to know about an attempt. It is parked in a
// slot that the request URL's fragment names (attemptSlots), which a client never sends: the
// target sees only the delivery. It carries the delivery's part of the ledger that its event
// is rebuilt from, so that the transport signs the attempt without taking the ledger's lock.
type token struct {
	kind    byte   // tokFirst, tokRetry, tokDup or tokInvalid
	n       uint64 // delivery number
	attempt int    // 1 for the first attempt of a delivery
	sched   int64  // scheduled send time, ns since the run's start (retries, or an unpaced attack)
	at      int64  // event time, ns since the run's start (delivery.at)
	seq     int64  // the event's seq within its object (delivery.seq)
	object  uint16 // delivery.object
	inv     uint8  // delivery.invalid: 0 for a valid event, else 1 + index into invalidKinds
	slot    uint32 // the attempt's slot (see attemptSlots)
}

const (
	tokFirst   = 'v' // first attempt of a new valid event
	tokRetry   = 'r' // a retry of a valid event
	tokDup     = 'd' // a re-send of an earlier valid event (--duplicate)
	tokInvalid = 'i' // a delivery with an invalid signature
)

// valid reports whether the attempt carries a valid signature.
func (t token) valid() bool { return t.kind != tokInvalid }
