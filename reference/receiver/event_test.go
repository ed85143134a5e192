package receiver

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name, body string
		want       event
	}{
		{"envelope", `{"id":"a","type":"t","data":{"object_id":"o","seq":3}}`,
			event{typ: "t", data: json.RawMessage(`{"object_id":"o","seq":3}`), objectID: "o", seq: 3, ordered: true}},
		{"seq zero", `{"type":"t","data":{"object_id":"o","seq":0}}`,
			event{typ: "t", data: json.RawMessage(`{"object_id":"o","seq":0}`), objectID: "o", seq: 0, ordered: true}},
		{"seq not an integer", `{"type":"t","data":{"object_id":"o","seq":1.5}}`,
			event{typ: "t", data: json.RawMessage(`{"object_id":"o","seq":1.5}`)}},
		{"seq a string", `{"type":"t","data":{"object_id":"o","seq":"1"}}`,
			event{typ: "t", data: json.RawMessage(`{"object_id":"o","seq":"1"}`)}},
		{"object_id not a string", `{"type":"t","data":{"object_id":7,"seq":1}}`,
			event{typ: "t", data: json.RawMessage(`{"object_id":7,"seq":1}`)}},
		{"no data", `{"type":"t"}`, event{typ: "t", data: json.RawMessage(`{"type":"t"}`)}},
		{"type not a string", `{"type":1,"data":[1]}`, event{data: json.RawMessage(`[1]`)}},
		{"array", `[1,2]`, event{data: json.RawMessage(`[1,2]`)}},
		{"not JSON", `a=b`, event{data: json.RawMessage(`null`)}},
		{"empty", ``, event{data: json.RawMessage(`null`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseEvent([]byte(tt.body))
			if got.typ != tt.want.typ || string(got.data) != string(tt.want.data) || got.objectID != tt.want.objectID ||
				got.seq != tt.want.seq || got.ordered != tt.want.ordered {
				t.Errorf("parseEvent(%s) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","type":"t","data":{"object_id":"o","seq":3}}`,
		`{"data":{"object_id":"","seq":-1}}`, `{"data":null}`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev := parseEvent(b)
		// Whatever the body, the effect's data is valid JSON (a sink must be able to take it).
		if !json.Valid(ev.data) {
			t.Fatalf("data %q is not valid JSON", ev.data)
		}
		if ev.ordered && ev.objectID == "" {
			t.Fatal("ordered without an object_id")
		}
	})
}
