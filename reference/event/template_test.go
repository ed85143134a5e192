package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestTemplateStripeDefaults(t *testing.T) {
	ts, err := LoadTemplates([]string{"../../testdata/events/stripe-invoice-paid.json"}, ShapeStripeEvent, true)
	if err != nil {
		t.Fatal(err)
	}
	tp := ts[0]
	if tp.Paths != (Paths{ID: "id", Object: "data.object.id", Order: "created"}) {
		t.Fatalf("paths %+v", tp.Paths)
	}
	id, obj := tp.NewID("abc123"), tp.NewObject("0f0f")
	if id != "evt_abc123" || obj != "in_0f0f" {
		t.Fatalf("id %q object %q: the template's prefixes are kept", id, obj)
	}
	b := tp.Append(nil, Fill{ID: id, Object: obj, Seq: 3})
	if !json.Valid(b) {
		t.Fatalf("not JSON: %s", b)
	}
	r := gjson.ParseBytes(b)
	if r.Get("id").Str != id || r.Get("data.object.id").Str != obj || r.Get("created").Int() != 1686089973 {
		t.Fatalf("filled wrong: %s", b)
	}
	// Every other byte is the template's.
	want := strings.Replace(strings.Replace(strings.Replace(string(tp.Body()), "evt_1NG8Du2eZvKYlo2CUI79vXWy", id, 1),
		"in_1NG8Du2eZvKYlo2C0qpLhLfR", obj, 1), "1686089970", "1686089973", 1)
	if string(b) != want {
		t.Fatalf("bytes changed beyond the filled values:\n%s\nwant\n%s", b, want)
	}
	// Ordering keys grow with seq.
	b1, b2 := tp.Append(nil, Fill{ID: id, Object: obj, Seq: 1}), tp.Append(nil, Fill{ID: id, Object: obj, Seq: 2})
	if gjson.GetBytes(b1, "created").Int() >= gjson.GetBytes(b2, "created").Int() {
		t.Fatal("order key does not grow with seq")
	}
}

func TestTemplateWrapperAndTimes(t *testing.T) {
	ts, err := LoadTemplates([]string{"../../testdata/events/github-issues-edited.json"}, ShapeGitHubRepositoryDispatch, false)
	if err != nil {
		t.Fatal(err)
	}
	tp := ts[0]
	if tp.Header.Get("X-GitHub-Event") != "issues" || tp.Has(PartID) || !tp.Has(PartObject) || !tp.Has(PartOrder) {
		t.Fatalf("wrapper read wrong: %+v %v", tp.Paths, tp.Header)
	}
	obj := tp.NewObject("ord_x")
	if strings.Trim(obj, "0123456789") != "" || len(obj) != 15 {
		t.Fatalf("numeric object id expected, got %q", obj)
	}
	b := tp.Append(nil, Fill{ID: "ignored", Object: obj, Seq: 90})
	r := gjson.ParseBytes(b)
	if r.Get("issue.id").Raw != obj || r.Get("issue.updated_at").Str != "2011-04-22T13:35:18Z" || r.Get("issue.number").Int() != 1347 {
		t.Fatalf("filled wrong: %s", b)
	}
}

func TestTemplateErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body   string
		shape  Shape
		needID bool
		want   string
	}{
		"not json":        {`{"id":`, ShapeEnvelope, false, "not valid JSON"},
		"array":           {`[1]`, ShapeEnvelope, false, "not a JSON object"},
		"stripe no id":    {`{"object":"event","data":{"object":{}}}`, ShapeStripeEvent, true, "give paths.id"},
		"missing path":    {`{"body":{"a":1},"paths":{"object":"b"}}`, ShapeEnvelope, false, `object path "b" is not in the body`},
		"unknown path":    {`{"body":{"a":1},"paths":{"objekt":"a"}}`, ShapeEnvelope, false, "known: id, object, order"},
		"order text num":  {`{"body":{"a":"12"},"paths":{"order":"a"}}`, ShapeEnvelope, false, "number written as text"},
		"order bad":       {`{"body":{"a":"soon"},"paths":{"order":"a"}}`, ShapeEnvelope, false, "neither a number nor an RFC 3339 time"},
		"same value":      {`{"body":{"a":"x"},"paths":{"object":"a","id":"a"}}`, ShapeEnvelope, false, "name the same value"},
		"bad header":      {`{"body":{},"headers":{"X-A":1}}`, ShapeEnvelope, false, "one-line string value"},
		"object is bool":  {`{"body":{"a":true},"paths":{"object":"a"}}`, ShapeEnvelope, false, "a string or a number"},
		"body not object": {`{"body":[1]}`, ShapeEnvelope, false, "not a JSON object"},
	} {
		_, err := ParseTemplate("t.json", []byte(tc.body), tc.shape, tc.needID)
		if err == nil || !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}
