package inspect

import (
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The live page of hookproof listen --ui: one static HTML page (its CSS and script inline, no
// URL to anything else) that reads the deliveries from /events and builds every row from them
// with createElement and textContent. The server never writes a sender's data into HTML: it
// reaches the page only as JSON, and the Content-Security-Policy runs no script but the
// page's own (by its SHA-256), so even markup that got into the DOM could not execute.

//go:embed ui.html
var uiHTML string

//go:embed ui.css
var uiCSS string

//go:embed ui.js
var uiJS string

// uiPage is the page as served, and uiCSP the Content-Security-Policy it is served with.
var uiPage, uiCSP = buildUIPage()

// uiHeartbeat is how often /events writes a comment when no delivery arrives, so proxies and
// the browser see the stream alive and a gone client is noticed. Tests shorten it.
var uiHeartbeat = 15 * time.Second

func buildUIPage() ([]byte, string) {
	if strings.Contains(uiJS, "</script") || strings.Contains(uiCSS, "</style") {
		panic("inspect: the page's script or style closes its own element")
	}
	page := strings.NewReplacer("@@CSS@@", uiCSS, "@@JS@@", uiJS).Replace(uiHTML)
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src " + cspHash(uiJS),
		"style-src " + cspHash(uiCSS),
		"connect-src 'self'",
		"img-src data:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
	return []byte(page), csp
}

// cspHash is the CSP source that allows exactly the inline script or style s.
func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// uiHello is the first event of every /events stream: the Hub's bound, which server this is
// (a page that reconnects to a restarted listen starts over), and whether the stream resumes
// after the client's Last-Event-ID (else it begins with the whole Snapshot).
type uiHello struct {
	Keep     int    `json:"keep"`
	Instance string `json:"instance"`
	Resumed  bool   `json:"resumed"`
}

type ui struct {
	hub      *Hub
	instance string
}

// NewUI returns the handler of listen's live page, on the deliveries h holds:
//
//	GET /            the page (self-contained HTML under a strict Content-Security-Policy)
//	GET /events      server-sent events: a "hello" event, then each delivery of h's Snapshot
//	                 and each new one as it arrives, one JSON Item per event with id: <seq>;
//	                 a heartbeat comment every 15 s; it ends when the client goes
//	GET /deliveries  h's Snapshot as a JSON array of Items, oldest first
//
// A delivery's body is "body" (text) when it is valid UTF-8 and "body_base64" otherwise, as
// in a record file. Only GET and HEAD are answered (405 otherwise).
func NewUI(h *Hub) http.Handler {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &ui{hub: h, instance: hex.EncodeToString(b[:])}
}

func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the live page only answers GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/", "":
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", uiCSP)
		hdr.Set("Content-Length", strconv.Itoa(len(uiPage)))
		_, _ = w.Write(uiPage)
	case "/deliveries":
		hdr.Set("Content-Type", "application/json; charset=utf-8")
		// Encoder escapes <, > and & in strings: the JSON is safe even sniffed as HTML.
		_ = json.NewEncoder(w).Encode(u.hub.Snapshot())
	case "/events":
		u.events(w, r)
	default:
		http.NotFound(w, r)
	}
}

// events streams the deliveries as server-sent events (see NewUI).
func (u *ui) events(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives a server's WriteTimeout

	// Subscribe before the Snapshot, so nothing falls between them; what is in both is sent once.
	ch, stop := u.hub.Subscribe()
	defer stop()
	snap := u.hub.Snapshot()
	var latest int64
	if len(snap) > 0 {
		latest = snap[len(snap)-1].Seq
	}
	// A client that reconnects (EventSource sends the last id it saw) gets only what is newer,
	// unless it saw more than this server ever had (listen restarted): then everything.
	last, _ := strconv.ParseInt(strings.TrimSpace(r.Header.Get("Last-Event-ID")), 10, 64)
	resumed := last > 0 && last <= latest
	if !resumed {
		last = 0
	}

	w.WriteHeader(http.StatusOK)
	hello, _ := json.Marshal(uiHello{Keep: u.hub.Keep(), Instance: u.instance, Resumed: resumed})
	if _, err := fmt.Fprintf(w, "retry: 2000\nevent: hello\ndata: %s\n\n", hello); err != nil {
		return
	}
	send := func(items []Item) error {
		for _, it := range items {
			if it.Seq <= last {
				continue
			}
			if err := writeItem(w, it); err != nil {
				return err
			}
			last = it.Seq
		}
		return rc.Flush()
	}
	if err := send(snap); err != nil {
		return
	}
	tick := time.NewTicker(uiHeartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case it, ok := <-ch:
			if !ok {
				return
			}
			if it.Seq > last+1 || len(ch) == 0 && u.hub.Latest() > it.Seq {
				// This stream fell behind and the Hub dropped deliveries for it (before this
				// one, or after it with nothing left on ch): send what the Hub still holds, in
				// order; what comes later on ch is then skipped as sent.
				err = send(u.hub.Snapshot())
			} else {
				err = send([]Item{it})
			}
		case <-tick.C:
			if _, err = io.WriteString(w, ": heartbeat\n\n"); err == nil {
				err = rc.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// writeItem writes one event: id: <seq> and the Item as one line of JSON (Entry's JSON never
// holds a raw newline).
func writeItem(w io.Writer, it Item) error {
	b, err := json.Marshal(it)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", it.Seq, b)
	return err
}
