package receiver

import (
	"encoding/json"
	"testing"
)

// The ack's body carries the delivery id as a JSON string: every printable ASCII id checkID
// lets through comes back from a JSON decoder unchanged.
func TestAppendJSONASCII(t *testing.T) {
	ids := []string{"msg_1", `a"b`, `back\slash`, `\"`, "~!@#$%^&*()_+{}|:<>?`-=[];',./"}
	var all []byte
	for c := byte(0x21); c <= 0x7e; c++ {
		all = append(all, c)
	}
	ids = append(ids, string(all))
	for _, id := range ids {
		if err := checkID(id); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		b := append(appendJSONASCII([]byte(`{"id":"`), id), `"}`...)
		var got struct{ ID string }
		if err := json.Unmarshal(b, &got); err != nil || got.ID != id {
			t.Errorf("%q: answer %s decodes to %q, %v", id, b, got.ID, err)
		}
	}
}
