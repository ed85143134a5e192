package signature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// BodyID returns the top-level JSON "id" string of body, or "" when there is none: body is not
// a valid JSON object, has no key spelled exactly "id" (unlike encoding/json's case-insensitive
// field matching), or its value is not a string. With a repeated key the last one wins, as in
// encoding/json. Schemes without an id header (stripe, slack) identify a delivery this way.
func BodyID(body []byte) string { return bodyField(body, "id") }

// bodyIDKeys is the body member each scheme without an id header names a delivery by: Slack's
// Events API calls it event_id (its body's own "id" does not exist); the others "id".
var bodyIDKeys = map[string]string{"slack": "event_id"}

// SchemeBodyID is BodyID for scheme: its delivery id in the body (slack: event_id, else id).
func SchemeBodyID(scheme string, body []byte) string {
	if k := bodyIDKeys[scheme]; k != "" {
		if id := bodyField(body, k); id != "" {
			return id
		}
	}
	return BodyID(body)
}

// bodyField returns the top-level JSON string member named exactly key, as BodyID does for "id".
func bodyField(body []byte, key string) string {
	if !json.Valid(body) {
		return ""
	}
	// body is valid JSON from here on: the walk only has to find boundaries, never check them.
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return ""
	}
	var raw []byte
	for i = skipSpace(body, i+1); body[i] != '}'; i = skipSpace(body, i+1) {
		k := i
		i = skipString(body, i)
		name := body[k:i]
		i = skipSpace(body, skipSpace(body, i)+1) // past ':'
		v := i
		i = skipValue(body, i)
		if isKey(name, key) {
			raw = body[v:i]
		}
		if i = skipSpace(body, i); body[i] == '}' {
			break
		}
		// body[i] is ',': the loop steps past it.
	}
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	if plain(raw[1 : len(raw)-1]) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// isKey reports whether a quoted JSON key decodes to exactly name.
func isKey(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

// plain reports whether the inside of a JSON string needs no decoding: printable ASCII, no escape.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that opens at b[i].
func skipString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// ErrBodyID is wrapped by WithBodyID's errors.
var ErrBodyID = errors.New("cannot rewrite the body's id")

// WithBodyID returns a copy of body whose delivery id in the body (SchemeBodyID's member:
// slack's event_id, else id) is id, every other byte unchanged. It refuses (ErrBodyID) a body
// that is not a JSON object, whose id member is absent, repeated or not a string, or an id
// that needs escaping: only the id's own bytes change, so the result is the body a provider
// would have sent for that id.
func WithBodyID(scheme string, body []byte, id string) ([]byte, error) {
	key := "id"
	if k := bodyIDKeys[scheme]; k != "" && bodyField(body, k) != "" {
		key = k
	}
	if !plain([]byte(id)) || id == "" || strings.ContainsRune(id, '"') {
		return nil, fmt.Errorf("%w: id %s is not plain printable ASCII", ErrBodyID, clip(id))
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("%w: the body is not JSON", ErrBodyID)
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return nil, fmt.Errorf("%w: the body is not a JSON object", ErrBodyID)
	}
	start, end, n := 0, 0, 0
	for i = skipSpace(body, i+1); body[i] != '}'; i = skipSpace(body, i+1) {
		k := i
		i = skipString(body, i)
		name := body[k:i]
		i = skipSpace(body, skipSpace(body, i)+1) // past ':'
		v := i
		i = skipValue(body, i)
		if isKey(name, key) {
			start, end, n = v, i, n+1
		}
		if i = skipSpace(body, i); body[i] == '}' {
			break
		}
	}
	switch {
	case n == 0:
		return nil, fmt.Errorf("%w: the body has no top-level %q", ErrBodyID, key)
	case n > 1:
		return nil, fmt.Errorf("%w: the body has %d top-level %q members", ErrBodyID, n, key)
	case body[start] != '"':
		return nil, fmt.Errorf("%w: the body's %q is not a string", ErrBodyID, key)
	}
	out := make([]byte, 0, len(body)-(end-start)+len(id)+2)
	out = append(out, body[:start]...)
	out = append(out, '"')
	out = append(out, id...)
	out = append(out, '"')
	return append(out, body[end:]...), nil
}
