package chaos

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func syncGet(t *testing.T, tr *syncTransport, url string) (int, string, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("hello"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), err
}

func TestSyncTransportReusesConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/chunked":
			w.Write(b)
			w.(http.Flusher).Flush() // forces chunked encoding
			w.Write([]byte("!"))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write(b)
		default:
			w.Write(b)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := newSyncTransport()
	defer tr.CloseIdleConnections()
	for _, path := range []string{"/", "/", "/chunked", "/", "/close", "/"} {
		status, body, err := syncGet(t, tr, srv.URL+path)
		want := "hello"
		if path == "/chunked" {
			want = "hello!"
		}
		if err != nil || status != 200 || body != want {
			t.Fatalf("%s: %d %q %v", path, status, body, err)
		}
	}
	// One connection for everything up to /close, which the server closed; one after.
	if n := conns.Load(); n != 2 {
		t.Errorf("opened %d connections, want 2", n)
	}
}

// TestSyncTransportSkipsClosedIdle: a connection the upstream closed while idle is not
// written to; the request goes out on a fresh one and nothing fails.
func TestSyncTransportSkipsClosedIdle(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	tr := newSyncTransport()
	defer tr.CloseIdleConnections()
	if _, _, err := syncGet(t, tr, srv.URL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(peekAfter + 100*time.Millisecond) // the server closes the idle connection meanwhile
	if status, _, err := syncGet(t, tr, srv.URL); err != nil || status != 200 {
		t.Fatalf("after idle close: %d, %v", status, err)
	}
}

func TestSyncTransportInterimAndCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				if req.URL.Path == "/hang" {
					io.Copy(io.Discard, br) // never answers
					return
				}
				fmt.Fprint(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	tr := newSyncTransport()
	base := "http://" + ln.Addr().String()
	if status, body, err := syncGet(t, tr, base+"/"); err != nil || status != 201 || body != "ok" {
		t.Errorf("interim answer: %d %q %v, want the final 201", status, body, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/hang", strings.NewReader("x"))
	start := time.Now()
	if _, err := tr.RoundTrip(req); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("hung upstream: err %v after %s, want a cancellation soon after 100ms", err, time.Since(start))
	}
	if _, err := tr.RoundTrip(httptest.NewRequest("GET", "https://x/", nil)); err == nil {
		t.Error("https: want an error")
	}
}

func TestWriteRequest(t *testing.T) {
	cases := []struct {
		method, url, body string
		header            http.Header
	}{
		{"POST", "http://up:81/hooks/a%2Fb?x=1&y=%20", `{"id":"evt"}`, http.Header{"Webhook-Id": {"msg_1"}, "X-Multi": {"a", "b"}, "User-Agent": {""}}},
		{"GET", "http://up/", "", http.Header{"Accept": {"*/*"}}},
		{"POST", "http://up/empty", "", nil},
		{"PUT", "http://up/p", "x", http.Header{"User-Agent": {"sender/1"}}},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		if tc.body != "" {
			req.Body = io.NopCloser(bytes.NewReader([]byte(tc.body)))
			req.ContentLength = int64(len(tc.body))
		}
		if tc.header != nil {
			req.Header = tc.header
		}
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		if err := writeRequest(bw, req); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		got, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf.Bytes())))
		if err != nil {
			t.Fatalf("%s %s: written request does not parse: %v\n%s", tc.method, tc.url, err, buf.String())
		}
		b, _ := io.ReadAll(got.Body)
		wantUA := ""
		if ua := tc.header["User-Agent"]; len(ua) > 0 {
			wantUA = ua[0]
		}
		if got.Method != tc.method || got.RequestURI != req.URL.RequestURI() || got.Host != req.URL.Host ||
			string(b) != tc.body || got.UserAgent() != wantUA {
			t.Errorf("%s %s: read back %s %s host %s body %q UA %q", tc.method, tc.url, got.Method, got.RequestURI, got.Host, b, got.UserAgent())
		}
		for k, vs := range tc.header {
			if k != "User-Agent" && strings.Join(got.Header[k], ",") != strings.Join(vs, ",") {
				t.Errorf("header %s = %v, want %v", k, got.Header[k], vs)
			}
		}
		if hasCL := got.Header.Get("Content-Length") != ""; hasCL != (tc.body != "" || tc.method != "GET") {
			t.Errorf("%s %s: Content-Length present = %v", tc.method, tc.url, hasCL)
		}
	}
	req, _ := http.NewRequest("POST", "http://up/", nil)
	req.Body = io.NopCloser(bytes.NewReader([]byte("short")))
	req.ContentLength = 10
	if err := writeRequest(bufio.NewWriter(io.Discard), req); err == nil {
		t.Error("a body shorter than Content-Length: want an error")
	}
}
