package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 123000000, time.UTC)
	for _, body := range [][]byte{[]byte(`{"type":"x","note":"Grüße <script>"}`), {0xff, 0xfe, 0, 'a'}, {}} {
		e := Entry{At: at, Method: "POST", Path: "/w?x=1", Header: http.Header{"Webhook-Id": {"msg_1"}, "X-Multi": {"a", "b"}}, Body: body,
			Verdict: &Verdict{Scheme: "standard", Outcome: "valid", Reason: "signature valid"}, Forward: &Forward{Status: 204, MS: 1.5}}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsRune(b, '\n') {
			t.Fatalf("a record is one line: %s", b)
		}
		got, err := ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, e.Body) || !reflect.DeepEqual(got.Header, e.Header) || !got.At.Equal(at) || got.V != RecordVersion ||
			got.Verdict.Outcome != "valid" || got.Forward.Status != 204 {
			t.Fatalf("round trip changed the entry:\n%+v\n%+v", e, got)
		}
	}
}

func TestParsePlainObjects(t *testing.T) {
	for in, want := range map[string]string{
		`{"headers":{"webhook-id":"msg_1"},"body":"{\"a\": 1}"}`:     `{"a": 1}`,
		`{"headers":{"webhook-id":["msg_1"]},"body":{"a":  [1, 2]}}`: `{"a":  [1, 2]}`,
		`{"body_base64":"/w=="}`:                                     "\xff",
	} {
		e, err := ParseEntry([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if string(e.Body) != want {
			t.Errorf("%s: body %q, want %q", in, e.Body, want)
		}
	}
	for in, want := range map[string]string{
		`{"headers":{"a":1},"body":"x"}`:      "want a string or a list",
		`{"headers":{"a b":"1"},"body":"x"}`:  "header name",
		`{"headers":{"a":"x\ny"},"body":"x"}`: "line break",
		`{"headers":{}}`:                      "no body",
		`{"body":"x","body_base64":"eA=="}`:   "both body",
		`{"body":"x"} {"body":"y"}`:           "data after",
		`[1]`:                                 "bad record",
	} {
		if _, err := ParseEntry([]byte(in)); err == nil || !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", in, err, want)
		}
	}
}

func TestReadRecordsCutLastLine(t *testing.T) {
	in := "# a comment\n{\"body\":\"one\"}\n\n{\"body\":\"two\"}\n{\"body\":\"thr"
	es, truncated, err := ReadRecords(strings.NewReader(in))
	if err != nil || !truncated || len(es) != 2 || string(es[1].Body) != "two" {
		t.Fatalf("entries %d, truncated %v, err %v", len(es), truncated, err)
	}
	if _, _, err := ReadRecords(strings.NewReader("{\"body\":\"one\"}\n{oops}\n{\"body\":\"x\"}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a bad line in the middle is an error naming it: %v", err)
	}
}

func TestRedactHeaders(t *testing.T) {
	h := http.Header{"Webhook-Signature": {"v1,abc"}, "Webhook-Id": {"msg_1"}}
	r := RedactHeaders(h, []string{"webhook-signature"})
	if r.Get("Webhook-Signature") != Redacted || r.Get("Webhook-Id") != "msg_1" || h.Get("Webhook-Signature") != "v1,abc" {
		t.Fatalf("redacted %v from %v", r, h)
	}
}

// FuzzReadRecords: any input is read or refused with an error, never a panic, and what is read
// writes back to records that read the same.
func FuzzReadRecords(f *testing.F) {
	f.Add([]byte(`{"v":1,"at":"2026-12-03T10:00:00Z","headers":{"A":["b"]},"body":"x"}` + "\n"))
	f.Add([]byte(`{"headers":{"webhook-id":"1"},"body":{"a":1}}`))
	f.Add([]byte(`{"body_base64":"/w=="}` + "\n#c\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		es, _, err := ReadRecords(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, e := range es {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("an entry read does not write: %v", err)
			}
			back, err := ParseEntry(b)
			if err != nil {
				t.Fatalf("an entry written does not read back: %v\n%s", err, b)
			}
			if !bytes.Equal(back.Body, e.Body) || len(back.Header) != len(e.Header) {
				t.Fatalf("round trip changed the entry: %q → %q", e.Body, back.Body)
			}
		}
	})
}

func TestHubKeepsTheLatest(t *testing.T) {
	h := NewHub(3)
	ch, stop := h.Subscribe()
	for i := 0; i < 5; i++ {
		h.Add(Entry{Body: []byte{byte('a' + i)}})
	}
	got := h.Snapshot()
	if len(got) != 3 || got[0].Seq != 3 || string(got[2].Entry.Body) != "e" {
		t.Fatalf("snapshot %+v", got)
	}
	if it := <-ch; it.Seq != 1 {
		t.Fatalf("first item seq %d", it.Seq)
	}
	stop()
	stop()
}
