package receiver

import (
	"bytes"
	"encoding/json"
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
	trimmed := bytes.TrimSpace(body)
	if !json.Valid(trimmed) {
		return event{data: json.RawMessage("null")}
	}
	ev := event{data: json.RawMessage(trimmed)}
	var env struct {
		Type json.RawMessage `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &env) != nil {
		return ev
	}
	_ = json.Unmarshal(env.Type, &ev.typ) // a type that is not a string stays ""
	if len(env.Data) == 0 {
		return ev
	}
	ev.data = env.Data
	var d struct {
		ObjectID json.RawMessage `json:"object_id"`
		Seq      json.RawMessage `json:"seq"`
	}
	if env.Data[0] != '{' || json.Unmarshal(env.Data, &d) != nil {
		return ev
	}
	if json.Unmarshal(d.ObjectID, &ev.objectID) != nil || ev.objectID == "" {
		ev.objectID = ""
		return ev
	}
	seq, err := strconv.ParseInt(string(d.Seq), 10, 64)
	if err != nil {
		ev.objectID = ""
		return ev
	}
	ev.seq, ev.ordered = seq, true
	return ev
}
