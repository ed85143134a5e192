package event

import (
	"encoding/json"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, body string
		want       Received
	}{
		{"envelope", `{"id":"a","type":"t","data":{"object_id":"o","seq":3}}`,
			Received{Type: "t", Data: json.RawMessage(`{"object_id":"o","seq":3}`), ObjectID: "o", Seq: 3, Ordered: true, JSON: true}},
		{"seq zero", `{"type":"t","data":{"object_id":"o","seq":0}}`,
			Received{Type: "t", Data: json.RawMessage(`{"object_id":"o","seq":0}`), ObjectID: "o", Seq: 0, Ordered: true, JSON: true}},
		{"seq not an integer", `{"type":"t","data":{"object_id":"o","seq":1.5}}`,
			Received{Type: "t", Data: json.RawMessage(`{"object_id":"o","seq":1.5}`), JSON: true}},
		{"seq a string", `{"type":"t","data":{"object_id":"o","seq":"1"}}`,
			Received{Type: "t", Data: json.RawMessage(`{"object_id":"o","seq":"1"}`), JSON: true}},
		{"object_id not a string", `{"type":"t","data":{"object_id":7,"seq":1}}`,
			Received{Type: "t", Data: json.RawMessage(`{"object_id":7,"seq":1}`), JSON: true}},
		{"no data", `{"type":"t"}`, Received{Type: "t", Data: json.RawMessage(`{"type":"t"}`), JSON: true}},
		{"type not a string", `{"type":1,"data":[1]}`, Received{Data: json.RawMessage(`[1]`), JSON: true}},
		{"array", `[1,2]`, Received{Data: json.RawMessage(`[1,2]`), JSON: true}},
		{"not JSON", `a=b`, Received{Data: json.RawMessage(`null`)}},
		{"empty", ``, Received{Data: json.RawMessage(`null`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse([]byte(tt.body))
			if got.Type != tt.want.Type || string(got.Data) != string(tt.want.Data) || got.ObjectID != tt.want.ObjectID ||
				got.Seq != tt.want.Seq || got.Ordered != tt.want.Ordered || got.JSON != tt.want.JSON {
				t.Errorf("Parse(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","type":"t","data":{"object_id":"o","seq":3}}`,
		`{"data":{"object_id":"","seq":-1}}`, `{"data":null}`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev := Parse(b)
		// Whatever the body, the effect's data is valid JSON (a sink must be able to take it).
		if !json.Valid(ev.Data) {
			t.Fatalf("data %q is not valid JSON", ev.Data)
		}
		if ev.Ordered && ev.ObjectID == "" {
			t.Fatal("ordered without an object_id")
		}
	})
}
