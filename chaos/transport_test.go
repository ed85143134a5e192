package chaos

import (
	"bufio"
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
