package event

import (
	"encoding/json"
	"testing"
	"time"
)

// plain is the struct the envelope was marshalled from before this package: AppendJSON must
// write the same bytes, since senders store and re-send them.
type plain struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func TestAppendJSONIsEncodingJSON(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 5, 0, 123000000, time.UTC)
	paris := time.FixedZone("CET", 3600)
	for _, e := range []Envelope{
		{ID: "msg_1", Type: "order.updated", Timestamp: at, Data: json.RawMessage(`{"object_id":"ord_1","seq":3,"amount":12}`)},
		{ID: "msg_2", Type: "endpoint.disabled", Timestamp: at.In(paris), Data: json.RawMessage(`{}`)},
		{ID: "msg_3", Type: "t", Timestamp: at.Truncate(time.Second)},
		{ID: `we"ird\id<&>é` + "\u2028\x01", Type: "a.b", Timestamp: at, Data: json.RawMessage(`[1,"x"]`)},
	} {
		want, err := json.Marshal(plain(e))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON = %s\nencoding/json = %s", got, want)
		}
		if got, err := json.Marshal(e); err != nil || string(got) != string(want) {
			t.Errorf("json.Marshal(Envelope) = %s %v\nwant %s", got, err, want)
		}
		var back Envelope
		if err := json.Unmarshal(want, &back); err != nil || back.ID != e.ID || !back.Timestamp.Equal(e.Timestamp) {
			t.Errorf("decode %s: %+v %v", want, back, err)
		}
	}
}

func TestMarshalRefusesInvalidData(t *testing.T) {
	if _, err := json.Marshal(Envelope{ID: "a", Data: json.RawMessage(`{`)}); err == nil {
		t.Error("invalid data marshalled")
	}
}

func TestAppendJSONDoesNotAllocate(t *testing.T) {
	e := Envelope{ID: "msg_0123456789abcdef_1_42", Type: "order.updated", Timestamp: time.Now().UTC(),
		Data: json.RawMessage(`{"object_id":"ord_tag_7","seq":3,"amount":1234}`)}
	buf := make([]byte, 0, 320)
	if n := testing.AllocsPerRun(100, func() { buf = e.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON allocates %.0f times into a buffer with room", n)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("msg_1", "order.updated", int64(1764410700123000000), `{"object_id":"o","seq":1}`)
	f.Add("a<b", "\xff", int64(0), `{"x":"<&>"}`)
	f.Fuzz(func(t *testing.T, id, typ string, ns int64, data string) {
		e := Envelope{ID: id, Type: typ, Timestamp: time.Unix(0, ns).UTC(), Data: json.RawMessage(data)}
		want, err := json.Marshal(plain(e))
		if err != nil {
			return // data not valid JSON, or a year encoding/json refuses
		}
		got := e.AppendJSON(nil)
		if !json.Valid(got) {
			t.Fatalf("AppendJSON wrote invalid JSON: %s", got)
		}
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal(want, &b)
		if ja, _ := json.Marshal(a); string(ja) != string(must(json.Marshal(b))) {
			t.Fatalf("AppendJSON = %s, encoding/json = %s", got, want)
		}
	})
}

func must(b []byte, _ error) []byte { return b }
