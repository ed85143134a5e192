package event

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// A Template is a sample event a user's endpoint really handles (copied from the provider's
// docs or from production), in the provider's shape. hookproof sends copies of it: in each
// copy it fills in the delivery id, the object id and the ordering key at the template's Paths,
// and leaves every other byte as it is.
//
// A template file holds either the event itself (a JSON object), or a wrapper
//
//	{"body": <the event>, "headers": {"X-GitHub-Event": "push"}, "paths": {"id": "…", "object": "…", "order": "…"}}
//
// whose headers are sent with every copy (besides the scheme's own, which they cannot replace:
// the signature, id and timestamp headers) and whose paths say where the parts are. Paths not
// given are found by the shape's defaults (DefaultPaths). A path is gjson's dotted syntax:
// "data.object.id", "items.0.id"; a key with a dot in it is escaped as "a\.b".
type Template struct {
	Name   string      // the file it came from
	Header http.Header // sent with every copy
	Paths  Paths       // where the parts are; "" for a part the template does not have
	body   []byte
	slots  []slot // sorted by start
}

// Paths say where a template's parts are.
type Paths struct {
	// ID is the delivery id's path. Where the scheme has an id header, the id goes there too;
	// where it has none (stripe, slack), the body's id is the delivery id, and a template
	// without one cannot be sent.
	ID string `json:"id,omitempty"`
	// Object is the path of the id of the business object the event is about (a Stripe
	// event's data.object.id).
	Object string `json:"object,omitempty"`
	// Order is the path of the ordering key of the object's events: a version number, or a
	// time (unix seconds or milliseconds, or RFC 3339 text).
	Order string `json:"order,omitempty"`
}

// Part names a part of a template.
type Part int

const (
	PartID Part = iota
	PartObject
	PartOrder
)

func (p Part) String() string { return [...]string{"id", "object", "order"}[p] }

// DefaultPaths are the candidate paths of each part for bodies of shape s, in order of
// preference: the first that a template has is taken. They are where the provider's own events
// carry them (a Stripe event: id, data.object.id, created; a Shopify order: id, updated_at; a
// Slack event_callback: event_id, event_time).
func (s Shape) DefaultPaths() (id, object, order []string) {
	switch s {
	case ShapeStripeEvent:
		return []string{"id"}, []string{"data.object.id"}, []string{"data.object.updated", "created"}
	case ShapeSlackEventCallback:
		return []string{"event_id"}, []string{"event.channel"}, []string{"event_time"}
	case ShapeShopifyOrder:
		// The delivery id travels in X-Shopify-Webhook-Id; the body is the resource.
		return nil, []string{"id"}, []string{"updated_at"}
	case ShapeGitHubRepositoryDispatch:
		// The delivery id travels in X-GitHub-Delivery; GitHub's events have no ordering key
		// common to all of them: give the paths with the file.
		return nil, nil, nil
	default:
		return []string{"id"}, []string{"data.object_id", "data.id"}, []string{"data.seq", "data.version", "timestamp"}
	}
}

// slot is one value of the template that copies replace.
type slot struct {
	part       Part
	start, end int // the value's bytes in body
	number     bool
	prefix     string // id and object strings: what precedes the first '_' (evt_, ord_), kept
	order      orderKind
	base       int64     // order: the template's value (a number, or unix seconds)
	baseTime   time.Time // order: the template's time
	layout     string    // order: the template's time layout
}

type orderKind int

const (
	orderCount     orderKind = iota // a version number: the copy's seq
	orderUnix                       // unix seconds: the template's + seq
	orderUnixMilli                  // unix milliseconds: the template's + seq seconds
	orderText                       // RFC 3339 text: the template's time + seq seconds
)

// maxTemplateBytes bounds a template file: a delivery is at most 1 MiB.
const maxTemplateBytes = 1 << 20

// ErrTemplate is wrapped by every template error.
var ErrTemplate = errors.New("event template")

// LoadTemplates reads templates from files and directories (every *.json file in a directory,
// in name order) for bodies of shape s. needID says the scheme has no id header, so every
// template must carry the delivery id in its body.
func LoadTemplates(paths []string, s Shape, needID bool) ([]*Template, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: directory %s holds no *.json file", ErrTemplate, p)
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	var out []*Template
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		t, err := ParseTemplate(f, b, s, needID)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseTemplate reads one template file's contents (see Template) named name.
func ParseTemplate(name string, b []byte, s Shape, needID bool) (*Template, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrTemplate, name, fmt.Sprintf(format, a...))
	}
	if len(b) > maxTemplateBytes {
		return nil, fail("%d bytes: a delivery is at most %d", len(b), maxTemplateBytes)
	}
	b = bytes.TrimSpace(b)
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !json.Valid(b) {
		return nil, fail("not valid JSON")
	}
	root := gjson.ParseBytes(b)
	if !root.IsObject() {
		return nil, fail("holds %s, not a JSON object (an event, or {\"body\":…,\"headers\":…,\"paths\":…})", kindOf(root))
	}
	t := &Template{Name: name, Header: http.Header{}, body: b}
	if isWrapper(root) {
		body := root.Get("body")
		switch {
		case body.Type == gjson.String && json.Valid([]byte(body.Str)) && gjson.Parse(body.Str).IsObject():
			t.body = []byte(body.Str)
		case body.IsObject():
			t.body = []byte(body.Raw)
		default:
			return nil, fail("its body is %s, not a JSON object", kindOf(body))
		}
		if h := root.Get("headers"); h.Exists() {
			if !h.IsObject() {
				return nil, fail("its headers are %s, not an object of names and strings", kindOf(h))
			}
			var bad error
			h.ForEach(func(k, v gjson.Result) bool {
				if v.Type != gjson.String || k.Str == "" || strings.ContainsAny(k.Str, " :\r\n") || strings.ContainsAny(v.Str, "\r\n") {
					bad = fail("header %q: a name and a one-line string value, please", k.Str)
					return false
				}
				t.Header.Set(k.Str, v.Str)
				return true
			})
			if bad != nil {
				return nil, bad
			}
		}
		if p := root.Get("paths"); p.Exists() {
			dec := json.NewDecoder(strings.NewReader(p.Raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&t.Paths); err != nil {
				return nil, fail("its paths: %v (known: id, object, order)", err)
			}
		}
	}
	ids, objects, orders := s.DefaultPaths()
	body := gjson.ParseBytes(t.body)
	for _, pp := range []struct {
		part  Part
		path  *string
		cands []string
	}{{PartID, &t.Paths.ID, ids}, {PartObject, &t.Paths.Object, objects}, {PartOrder, &t.Paths.Order, orders}} {
		if *pp.path != "" {
			if !body.Get(*pp.path).Exists() {
				return nil, fail("its %s path %q is not in the body", pp.part, *pp.path)
			}
		} else {
			for _, c := range pp.cands {
				if body.Get(c).Exists() {
					*pp.path = c
					break
				}
			}
		}
		if *pp.path == "" {
			continue
		}
		sl, err := newSlot(pp.part, body.Get(*pp.path))
		if err != nil {
			return nil, fail("%s at %q: %v", pp.part, *pp.path, err)
		}
		for _, o := range t.slots {
			if sl.start < o.end && o.start < sl.end {
				return nil, fail("its %s and %s paths name the same value", o.part, pp.part)
			}
		}
		t.slots = append(t.slots, sl)
	}
	if needID && t.Paths.ID == "" {
		want := "id"
		if len(ids) > 0 {
			want = strings.Join(ids, " or ")
		}
		return nil, fail("this scheme's deliveries carry their id in the body only, and the template has no %s: give paths.id", want)
	}
	slices.SortFunc(t.slots, func(a, b slot) int { return a.start - b.start })
	return t, nil
}

func isWrapper(root gjson.Result) bool {
	if !root.Get("body").Exists() {
		return false
	}
	wrapper := true
	root.ForEach(func(k, _ gjson.Result) bool {
		wrapper = slices.Contains([]string{"body", "headers", "paths"}, k.Str)
		return wrapper
	})
	return wrapper
}

func kindOf(r gjson.Result) string {
	switch {
	case !r.Exists():
		return "nothing"
	case r.IsObject():
		return "an object"
	case r.IsArray():
		return "an array"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.Type == gjson.Null:
		return "null"
	}
	return "a boolean"
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"}

func newSlot(p Part, v gjson.Result) (slot, error) {
	if v.Index <= 0 && v.Raw != "" {
		return slot{}, errors.New("the value could not be located in the body's bytes (a path through an array query?)")
	}
	sl := slot{part: p, start: v.Index, end: v.Index + len(v.Raw)}
	switch v.Type {
	case gjson.Number:
		sl.number = true
		if p == PartOrder {
			n, err := strconv.ParseInt(v.Raw, 10, 64)
			if err != nil {
				return slot{}, fmt.Errorf("%s is not an integer", v.Raw)
			}
			sl.base = n
			switch {
			case n >= 1e12 && n < 1e14:
				sl.order = orderUnixMilli
			case n >= 1e8 && n < 1e11:
				sl.order = orderUnix
			default:
				sl.order = orderCount
			}
		} else if _, err := strconv.ParseUint(v.Raw, 10, 64); err != nil {
			return slot{}, fmt.Errorf("%s is not a whole number", v.Raw)
		}
	case gjson.String:
		if p != PartOrder {
			if pre, _, ok := strings.Cut(v.Str, "_"); ok && len(pre) <= 8 {
				sl.prefix = pre + "_"
			}
			break
		}
		if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
			return slot{}, fmt.Errorf("%q is a number written as text: hookproof fills numbers or times (give the number unquoted)", strconv.FormatInt(n, 10))
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, v.Str); err == nil && t.Format(l) == v.Str {
				sl.order, sl.baseTime, sl.layout = orderText, t, l
				break
			}
		}
		if sl.layout == "" {
			return slot{}, fmt.Errorf("%q is neither a number nor an RFC 3339 time", v.Str)
		}
	default:
		return slot{}, fmt.Errorf("holds %s: a string or a number, please", kindOf(v))
	}
	return sl, nil
}

// Has reports whether the template has part p.
func (t *Template) Has(p Part) bool {
	return slices.ContainsFunc(t.slots, func(s slot) bool { return s.part == p })
}

func (t *Template) slotOf(p Part) (slot, bool) {
	for _, s := range t.slots {
		if s.part == p {
			return s, true
		}
	}
	return slot{}, false
}

// NewID makes a delivery id of the template's form from unique: the template's prefix (evt_)
// and hex; digits where the template's id is a number. A template without an id path gets a
// "msg_" id (it travels in the scheme's id header only).
func (t *Template) NewID(unique string) string { return t.newValue(PartID, "msg_", unique) }

// NewObject makes an object id of the template's form from unique, like NewID.
func (t *Template) NewObject(unique string) string { return t.newValue(PartObject, "ord_", unique) }

func (t *Template) newValue(p Part, def, unique string) string {
	s, ok := t.slotOf(p)
	switch {
	case !ok:
		return def + unique
	case s.number:
		// 15 digits from a hash of unique: JavaScript receivers read numbers as doubles.
		h := fnv.New64a()
		h.Write([]byte(unique))
		return strconv.FormatUint(1e14+h.Sum64()%9e14, 10)
	}
	if _, err := hex.DecodeString(unique); err != nil {
		unique = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' {
				return r
			}
			return '_'
		}, unique)
	}
	return s.prefix + unique
}

// Fill is what a copy of a template gets: its delivery id and object id (from NewID and
// NewObject) and its ordering key's seq. A part the template lacks is left out.
type Fill struct {
	ID     string
	Object string
	Seq    int64
}

// Append appends the template's body with f filled in to dst: every byte but the filled values
// is the template's. The ordering key is the template's own value moved on by seq: a version
// number becomes seq; unix seconds, milliseconds and RFC 3339 times move on by seq seconds.
func (t *Template) Append(dst []byte, f Fill) []byte {
	at := 0
	for _, s := range t.slots {
		dst = append(dst, t.body[at:s.start]...)
		switch s.part {
		case PartID, PartObject:
			v := f.ID
			if s.part == PartObject {
				v = f.Object
			}
			if s.number && isDigits(v) {
				dst = append(dst, v...)
			} else {
				dst = appendString(dst, v)
			}
		case PartOrder:
			switch s.order {
			case orderCount:
				dst = strconv.AppendInt(dst, f.Seq, 10)
			case orderUnix:
				dst = strconv.AppendInt(dst, s.base+f.Seq, 10)
			case orderUnixMilli:
				dst = strconv.AppendInt(dst, s.base+f.Seq*1000, 10)
			case orderText:
				dst = append(dst, '"')
				dst = s.baseTime.Add(time.Duration(f.Seq)*time.Second).AppendFormat(dst, s.layout)
				dst = append(dst, '"')
			}
		}
		at = s.end
	}
	return append(dst, t.body[at:]...)
}

// isDigits: a value that can stand as a JSON whole number. Another (a load run's text ids) is
// written as a string where the template has a number.
func isDigits(v string) bool {
	return v != "" && len(v) <= 19 && strings.Trim(v, "0123456789") == "" && (v == "0" || v[0] != '0')
}

// Len is the length of the template's body, for sizing buffers.
func (t *Template) Len() int { return len(t.body) }

// Body returns the template's body as given (nothing filled in).
func (t *Template) Body() []byte { return slices.Clone(t.body) }

// Ordering reads a received copy of t: the object id and ordering key at t's paths, the key as
// a number that grows as the template's does (a time in unix nanoseconds). ok is false when
// t has no object or order path, or body lacks them.
func (t *Template) Ordering(body []byte) (object string, key int64, ok bool) {
	if t.Paths.Object == "" || t.Paths.Order == "" {
		return "", 0, false
	}
	o, k := gjson.GetBytes(body, t.Paths.Object), gjson.GetBytes(body, t.Paths.Order)
	switch o.Type {
	case gjson.String:
		object = o.Str
	case gjson.Number:
		object = o.Raw
	default:
		return "", 0, false
	}
	if object == "" {
		return "", 0, false
	}
	switch k.Type {
	case gjson.Number:
		n, err := strconv.ParseInt(k.Raw, 10, 64)
		return object, n, err == nil
	case gjson.String:
		for _, l := range timeLayouts {
			if at, err := time.Parse(l, k.Str); err == nil {
				return object, at.UnixNano(), true
			}
		}
	}
	return "", 0, false
}

// ParserFor returns a Parse for copies of templates: a body is read as Parse reads it, and
// ordered by the first template whose object and ordering paths it has. The reference receiver
// uses it to order the events of a run made from --event templates.
func ParserFor(templates []*Template) func(body []byte) Received {
	return func(body []byte) Received {
		r := Parse(body)
		for _, t := range templates {
			if obj, key, ok := t.Ordering(body); ok {
				r.ObjectID, r.Seq, r.Ordered = obj, key, true
				break
			}
		}
		return r
	}
}
