package chaos

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
)

// quickAnswer reads the head of an upstream answer already in br's buffer when it is of the
// plain kind nearly every webhook receiver sends: HTTP/1.1, a final status with a body
// (200-599 but 204 and 304), one Content-Length, no Transfer-Encoding, Connection, Trailer
// or Pragma, and header lines http.ReadResponse would take as they are. It returns the
// answer with ContentLength set and no Body, and consumes the head; or nil, consuming
// nothing, for anything else, which http.ReadResponse then reads (and judges) as usual.
//
// The header it builds is the one ReadResponse would (canonical keys, values trimmed),
// with one string for all of it instead of one per line.
func quickAnswer(br *bufio.Reader, method string) *http.Response {
	resp := new(http.Response)
	if !quickAnswerInto(br, method, resp) {
		return nil
	}
	return resp
}

// quickAnswerInto is quickAnswer filling in resp, which it overwrites whole, instead of
// allocating one; false (resp untouched) for an answer it leaves to http.ReadResponse.
func quickAnswerInto(br *bufio.Reader, method string, resp *http.Response) bool {
	if method == http.MethodHead {
		return false
	}
	if _, err := br.Peek(1); err != nil { // wait for the answer to start
		return false
	}
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 || !bytes.HasPrefix(buf, http11) || end < 12 {
		return false
	}
	head := buf[:end+2] // the status line and each header line, every one ending in CRLF
	// Status line: "HTTP/1.1 " three digits, then a space and a reason, or nothing.
	eol := bytes.IndexByte(head, '\n')
	if eol < 12 || head[eol-1] != '\r' || (head[12] != ' ' && eol != 13) {
		return false
	}
	code := 0
	for _, c := range head[9:12] {
		if c < '0' || c > '9' {
			return false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	for _, c := range head[9 : eol-1] {
		if !validHeaderValueByte(c) {
			return false
		}
	}
	// Header lines: count and check them first.
	lines, lengthAt := 0, -1
	for rest := head[eol+1:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 1 || rest[i-1] != '\r' {
			return false
		}
		line := rest[:i-1]
		rest = rest[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon < 1 {
			return false
		}
		for _, c := range line[:colon] {
			if !isTokenByte(c) {
				return false
			}
		}
		for _, c := range line[colon+1:] {
			if !validHeaderValueByte(c) {
				return false
			}
		}
		switch k := line[:colon]; {
		case asciiEqualFold(k, "Content-Length"):
			if lengthAt >= 0 {
				return false
			}
			lengthAt = lines
		case asciiEqualFold(k, "Transfer-Encoding"), asciiEqualFold(k, "Connection"),
			asciiEqualFold(k, "Trailer"), asciiEqualFold(k, "Pragma"):
			return false
		}
		lines++
	}
	if lengthAt < 0 {
		return false
	}
	s := string(head)
	h := make(http.Header, lines)
	strs := make([]string, lines)
	length := int64(-1)
	at := eol + 1
	for n := 0; n < lines; n++ {
		i := at + strings.IndexByte(s[at:], '\n')
		line := s[at : i-1]
		at = i + 1
		colon := strings.IndexByte(line, ':')
		key := textproto.CanonicalMIMEHeaderKey(line[:colon]) // the line's own string when canonical
		value := trimOWS(line[colon+1:])
		if n == lengthAt {
			length = parseLength(value)
			if length < 0 {
				return false
			}
		}
		if vv, ok := h[key]; ok {
			h[key] = append(vv, value)
		} else {
			strs[0] = value
			h[key], strs = strs[:1:1], strs[1:]
		}
	}
	if _, err := br.Discard(end + 4); err != nil {
		return false // cannot happen: the bytes are buffered
	}
	*resp = http.Response{
		Status: s[9 : eol-1], StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, ContentLength: length,
	}
	return true
}

var (
	crlfcrlf = []byte("\r\n\r\n")
	http11   = []byte("HTTP/1.1 ")
)

// parseLength parses a Content-Length value as net/http does, -1 when it would refuse it.
func parseLength(v string) int64 {
	if v == "" || len(v) > 18 {
		return -1
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// trimOWS trims spaces and tabs at both ends, as textproto does to a header value.
func trimOWS(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// isTokenByte reports whether c may appear in a header field name (RFC 9110 tchar).
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c < 0x80 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validHeaderValueByte is textproto's: visible ASCII, space, tab, or obs-text (>= 0x80).
func validHeaderValueByte(c byte) bool {
	return c >= 0x80 || c == '\t' || (c >= 0x20 && c != 0x7f)
}
