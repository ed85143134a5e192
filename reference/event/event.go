package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Envelope is an event in the standard body shape (see the package documentation). Its JSON
// form, by AppendJSON or encoding/json, has the members in the documented order.
type Envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"` // a JSON object; nil is written as null
}

// AppendJSON appends the envelope's JSON to dst and returns the extended slice. It allocates
// only to grow dst, so a caller that reuses a buffer renders bodies without allocating. The
// bytes are those encoding/json writes for the same Envelope whenever Data is compact JSON
// without the characters encoding/json escapes for HTML (<, >, &, U+2028, U+2029); Data is
// copied as it is, not checked, so it must be valid JSON.
func (e *Envelope) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"timestamp":"`...)
	dst = e.Timestamp.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","data":`...)
	if len(e.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Data...)
	}
	return append(dst, '}')
}

// MarshalJSON is AppendJSON for encoding/json, which then compacts and HTML-escapes the result
// as it does for any value.
func (e Envelope) MarshalJSON() ([]byte, error) {
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return nil, errors.New("event: envelope data is not valid JSON")
	}
	return e.AppendJSON(make([]byte, 0, 96+len(e.ID)+len(e.Type)+len(e.Data))), nil
}

// appendString appends s as a JSON string, escaped as encoding/json escapes it.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			// A string always marshals. The copy keeps s from escaping, so that an Envelope
			// (and the Data it points to) may live on the caller's stack.
			b, _ := json.Marshal(strings.Clone(s))
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// Received is what a receiver reads from a body it has verified.
type Received struct {
	Type string          // the envelope's type; "" when absent or not a string
	Data json.RawMessage // the envelope's data; the whole body when it has none; null when the body is not JSON
	// ObjectID and Seq are data.object_id and data.seq; Ordered says whether data had both,
	// object_id a non-empty string and seq a JSON integer (not 1.5, 1e3 or "1").
	ObjectID string
	Seq      int64
	Ordered  bool
	// JSON is false when the body is not JSON at all.
	JSON bool
}

// Parse reads body leniently, in any Shape. A body of another shape is still read: a member of the wrong
// JSON type (a numeric "type", an array at the top) only leaves its field empty, a body
// without "data" is its own data, and only an envelope with object_id and seq takes part in
// ordering.
func Parse(body []byte) Received {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil && !isTypeError(err) {
		return Received{Data: json.RawMessage("null")} // not JSON
	}
	// A provider-shaped body (a Stripe event, a Slack event_callback) carries the event's data
	// inside it: see Shape.
	if typ, data, ok := env.unwrap(); ok {
		r := Received{Type: typ, Data: data, JSON: true}
		r.ObjectID, r.Seq, r.Ordered = Ordering(data)
		return r
	}
	if len(env.Data) == 0 {
		// Its own data (a Shopify resource, say): its top-level object_id and seq order it.
		r := Received{Type: env.Type, Data: json.RawMessage(bytes.TrimSpace(body)), JSON: true}
		r.ObjectID, r.Seq, r.Ordered = Ordering(r.Data)
		return r
	}
	r := Received{Type: env.Type, Data: env.Data, JSON: true}
	r.ObjectID, r.Seq, r.Ordered = Ordering(env.Data)
	return r
}

// Ordering reads data.object_id and data.seq from an envelope's data; ok is false unless
// data is an object with a non-empty string object_id and an integer seq.
func Ordering(data json.RawMessage) (objectID string, seq int64, ok bool) {
	if len(data) == 0 || data[0] != '{' {
		return "", 0, false
	}
	var d struct {
		ObjectID string          `json:"object_id"`
		Seq      json.RawMessage `json:"seq"`
	}
	if err := json.Unmarshal(data, &d); (err != nil && !isTypeError(err)) || d.ObjectID == "" {
		return "", 0, false
	}
	// seq must be a JSON integer: strconv refuses 1.5, 1e3 and "1".
	seq, err := strconv.ParseInt(string(d.Seq), 10, 64)
	if err != nil {
		return "", 0, false
	}
	return d.ObjectID, seq, true
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}
