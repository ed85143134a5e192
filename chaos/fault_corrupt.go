package chaos

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hookproof/hookproof/reference/signature"
)

func init() {
	Register(FaultType{
		Name:    "corrupt",
		Summary: "flip one bit of the body or change one character of the signature header",
		Kind:    KindCorrupts,
		Params: map[string]string{
			"target": "body (default) or signature",
			"header": "signature header to change (default: the first present of " + signatureHeaderList + ")",
		},
		New: func(c *Config) (Fault, error) {
			header := ""
			c.Custom("header", func(v string) error {
				if !validHeaderName(v) {
					return errors.New("not a header name (a token: no spaces, colons, CR or LF)")
				}
				header = http.CanonicalHeaderKey(v)
				return nil
			})
			return corrupt{target: c.Enum("target", "body", "body", "signature"), header: header}, nil
		},
	})
}

// signatureHeaders are the signature headers of the schemes hookproof knows (the signature
// package's), in canonical form; signatureHeaderList names them as the providers spell them.
var (
	signatureHeaders    = canonical(signature.SignatureHeaders())
	signatureHeaderList = strings.Join(signature.SignatureHeaders(), ", ")
)

func canonical(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = http.CanonicalHeaderKey(n)
	}
	return out
}

// corrupt damages a request in transit, so that a receiver verifying signatures over the
// raw bytes must reject it.
type corrupt struct {
	target string
	header string
}

func (c corrupt) Apply(x *Exchange, next Next) Result {
	r := x.Rand()
	if c.target == "body" {
		if len(x.Body) == 0 {
			x.Note("empty body, nothing to flip")
			return next(x)
		}
		b := slices.Clone(x.Body) // the original may be shared with copies
		i, bit := r.IntN(len(b)), r.IntN(8)
		b[i] ^= 1 << bit
		x.SetBody(b)
		x.Note("flipped bit %d of body byte %d", bit, i)
		return next(x)
	}
	name := c.header
	if name == "" {
		for _, h := range signatureHeaders {
			if len(x.Header[h]) > 0 {
				name = h
				break
			}
		}
	}
	vs := x.Header[name]
	if name == "" || len(vs) == 0 {
		x.Note("no signature header, nothing to change")
		return next(x)
	}
	v, pos, ok := changeChar(vs[0], r.IntN)
	if !ok {
		x.Note("header %s has no character to change", name)
		return next(x)
	}
	x.Header[name] = append([]string{v}, vs[1:]...)
	x.Note("changed character %d of header %s", pos, name)
	return next(x)
}

// changeChar replaces one letter or digit of v by another of the same class (a hex digit by
// a hex digit), so the header stays well-formed but no longer matches. It skips the last
// three alphanumerics, which in base64 may carry only padding bits that lenient decoders
// ignore.
func changeChar(v string, intn func(int) int) (string, int, bool) {
	var idx []int
	for i := 0; i < len(v); i++ {
		if isAlnum(v[i]) {
			idx = append(idx, i)
		}
	}
	if len(idx) > 3 {
		idx = idx[:len(idx)-3]
	}
	if len(idx) == 0 {
		return v, 0, false
	}
	i := idx[intn(len(idx))]
	b := []byte(v)
	b[i] = other(b[i], 1+intn(9))
	return string(b), i, true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// other returns a character of c's class, shifted by k (1..9) within it, never c itself.
func other(c byte, k int) byte {
	switch {
	case c >= '0' && c <= '9':
		return '0' + byte((int(c-'0')+k)%10)
	case c >= 'a' && c <= 'f':
		return 'a' + byte((int(c-'a')+k%5+1)%6)
	case c >= 'A' && c <= 'F':
		return 'A' + byte((int(c-'A')+k%5+1)%6)
	case c >= 'a' && c <= 'z':
		return 'g' + byte((int(c-'g')+k)%20)
	default:
		return 'G' + byte((int(c-'G')+k)%20)
	}
}

// validHeaderName reports whether s is an HTTP header field name: a non-empty token (RFC 9110
// §5.1), so no space, colon, CR or LF can reach a request line.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
