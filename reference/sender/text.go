package sender

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// checkJSONText refuses JSON text that is not valid UTF-8, or whose strings escape a lone
// UTF-16 surrogate (\ud800 without its pair): encoding/json would quietly turn either into
// U+FFFD, so what was signed and delivered would not be what the caller sent. RFC 8259 §8.1
// asks for UTF-8, and I-JSON (RFC 7493 §2.1) forbids unpaired surrogates.
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("not valid UTF-8 (byte %d)", i)
			}
			i += n
		}
		return errors.New("not valid UTF-8")
	}
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(b):
			i++
			if b[i] != 'u' {
				continue
			}
			r, ok := hex4(b, i+1)
			if !ok {
				continue // not valid JSON: the parser says so
			}
			i += 4
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00:
				// a high surrogate must be followed by \u and a low one
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if lo, ok := hex4(b, i+3); ok && lo >= 0xdc00 && lo <= 0xdfff {
						i += 6
						continue
					}
				}
				return fmt.Errorf("a string escapes an unpaired UTF-16 surrogate (\\u%04x at byte %d)", r, i-5)
			case utf16.IsSurrogate(r):
				return fmt.Errorf("a string escapes an unpaired UTF-16 surrogate (\\u%04x at byte %d)", r, i-5)
			}
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}
