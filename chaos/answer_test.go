package chaos

import (
	"bufio"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestQuickAnswerAgreesWithReadResponse: for every answer quickAnswer takes, it builds what
// http.ReadResponse would (status, header, length) and leaves the body on the reader; the
// rest it leaves untouched, for ReadResponse.
func TestQuickAnswerAgreesWithReadResponse(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		quick bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"received\":true}", true},
		{"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", true},
		{"HTTP/1.1 503 Service Unavailable\r\ncontent-length:  3 \r\nx-a: 1\r\nX-A:\t2\r\nRetry-After: 5\r\n\r\nno\n", true},
		{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nDate: Mon, 01 Jan 2026 00:00:00 GMT\r\nX-Empty:\r\n\r\n", true},
		{"HTTP/1.1 299 Whatever \xc3\xa9\r\nContent-Length: 1\r\nX-Obs: caf\xc3\xa9\r\n\r\nx", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nX-Upstream: yes\r\n\r\nhello", true},
		// Left to ReadResponse.
		{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 204 No Content\r\n\r\n", false},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\n\r\nuntil the end", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n folded\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nBad Key: 1\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false},
		{"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 20x OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", false}, // head not whole yet
	} {
		br := bufio.NewReader(strings.NewReader(tc.raw))
		got := quickAnswer(br, http.MethodPost)
		if (got != nil) != tc.quick {
			t.Errorf("%q: quick %v, want %v", tc.raw, got != nil, tc.quick)
			continue
		}
		if got == nil {
			if rest, _ := io.ReadAll(br); string(rest) != tc.raw {
				t.Errorf("%q: consumed %q", tc.raw, tc.raw[:len(tc.raw)-len(rest)])
			}
			continue
		}
		want, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tc.raw)), &http.Request{Method: http.MethodPost})
		if err != nil {
			t.Errorf("%q: ReadResponse: %v", tc.raw, err)
			continue
		}
		wantBody, _ := io.ReadAll(want.Body)
		gotBody := make([]byte, got.ContentLength)
		if _, err := io.ReadFull(br, gotBody); err != nil {
			t.Errorf("%q: body: %v", tc.raw, err)
		}
		if got.Status != want.Status || got.StatusCode != want.StatusCode || got.ContentLength != want.ContentLength ||
			got.Proto != want.Proto || got.Close != want.Close || !reflect.DeepEqual(got.Header, want.Header) ||
			string(gotBody) != string(wantBody) {
			t.Errorf("%q:\n got %q %d %d %#v %q\nwant %q %d %d %#v %q", tc.raw, got.Status, got.StatusCode, got.ContentLength, got.Header, gotBody,
				want.Status, want.StatusCode, want.ContentLength, want.Header, wantBody)
		}
	}
	if quickAnswer(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")), http.MethodHead) != nil {
		t.Error("HEAD: an answer to HEAD has no body whatever its Content-Length; ReadResponse knows")
	}
}
