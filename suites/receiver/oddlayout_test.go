package receiver

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestOddLayoutKeepsTheValue(t *testing.T) {
	for _, in := range []string{
		`{"id":"evt_1","data":{"object":{"id":"in_1","url":"https://x/y","n":[1,2,{"a":"b\"c:d,e"}]}},"created":1686089970}`,
		`{}`,
		`{"a":"\\/"}`,
	} {
		out := oddLayout([]byte(in))
		var a, b any
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("%s → not JSON: %v\n%s", in, err, out)
		}
		if m, ok := b.(map[string]any); ok {
			delete(m, "hookproof_note")
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("value changed:\n%s\n%s", in, out)
		}
		if len(in) > 2 && (bytes.Equal(out, []byte(in)) || utf8.RuneCount(out) == len(out)) {
			t.Fatalf("layout not odd or no non-ASCII: %s", out)
		}
	}
}
