package knownbad

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hookproof/hookproof/reference/signature"
)

// reserialize-body parses the JSON body and verifies the signature over its re-encoding, the
// classic framework mistake (verify(JSON.stringify(req.body))). The re-encoding keeps key order
// and number literals, so compact bodies survive it; whitespace and string escapes do not.
func init() {
	register(flaw{
		name:   "reserialize-body",
		breaks: "verifies the signature over the raw bytes received, not a re-serialized body",
		apply: func(b *behaviour, env flawEnv) error {
			b.verify = func(h http.Header, body []byte) (signature.Verified, error) {
				re, err := reencode(body)
				if err != nil {
					return signature.Verified{}, fmt.Errorf("parsing body: %w", signature.ErrMalformedHeader)
				}
				return env.strict.Verify(h, re)
			}
			return nil
		},
	})
}

// reencode decodes one JSON value and encodes it again, compactly, in the same key order.
func reencode(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	// stack holds, per open container, whether it is an object and how many tokens it has
	// seen, which decides where commas and colons go.
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
			if len(stack) == 0 {
				break // one value, as a JSON parser reads it
			}
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			switch {
			case top.object && top.n%2 == 1:
				out.WriteByte(':')
			case top.n > 0:
				out.WriteByte(',')
			}
			top.n++
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(v))
			stack = append(stack, frame{object: v == '{'})
		case json.Number:
			out.WriteString(v.String())
		default:
			enc, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			out.Write(enc)
		}
		if len(stack) == 0 {
			break
		}
	}
	return out.Bytes(), nil
}
