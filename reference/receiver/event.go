package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// event is what processing needs from a body. The envelope hookproof sends is
//
//	{"id":"…","type":"order.updated","timestamp":"…","data":{"object_id":"ord_…","seq":3,…}}
//
// A verified body of another shape is still processed: its whole JSON (or null when it is not
// JSON) becomes the effect's data, and it takes no part in ordering.
type event struct {
	typ      string
	data     json.RawMessage
	objectID string
	seq      int64
	ordered  bool // data has a string object_id and an integer seq
}

func parseEvent(body []byte) event {
	// One pass decodes the envelope. A field of the wrong JSON type (a numeric "type", an
	// array at the top) is only a type error: the body is still JSON, just not the envelope.
	var env struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	switch err := json.Unmarshal(body, &env); {
	case err != nil && !isTypeError(err):
		return event{data: json.RawMessage("null")} // not JSON
	case len(env.Data) == 0:
		return event{typ: env.Type, data: json.RawMessage(bytes.TrimSpace(body))}
	}
	ev := event{typ: env.Type, data: env.Data}
	if env.Data[0] != '{' {
		return ev
	}
	var d struct {
		ObjectID string          `json:"object_id"`
		Seq      json.RawMessage `json:"seq"`
	}
	if err := json.Unmarshal(env.Data, &d); (err != nil && !isTypeError(err)) || d.ObjectID == "" {
		return ev
	}
	// seq must be a JSON integer: strconv refuses 1.5, 1e3 and "1".
	seq, err := strconv.ParseInt(string(d.Seq), 10, 64)
	if err != nil {
		return ev
	}
	ev.objectID, ev.seq, ev.ordered = d.ObjectID, seq, true
	return ev
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}
