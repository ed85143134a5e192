package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const (
	maxBody      = 1 << 20 // bytes
	maxID        = 255     // bytes, webhook-id and object_id (the MySQL columns are VARCHAR(255))
	pollInterval = 500 * time.Millisecond
	queueLen     = 64
)

type app struct {
	st     *store
	wh     *standardwebhooks.Webhook
	out    *lineLog
	errlog *log.Logger
	wake   chan struct{} // a delivery was stored
}

func newApp(st *store, secret string, out *lineLog, errlog *log.Logger) (*app, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, errors.New("the secret is not a Standard Webhooks secret (whsec_ and base64)")
	}
	return &app{st: st, wh: wh, out: out, errlog: errlog, wake: make(chan struct{}, 1)}, nil
}

// ServeHTTP receives a delivery: verify, store, acknowledge. Processing happens later, in the
// workers.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	if err := a.wh.Verify(body, r.Header); err != nil {
		switch {
		case errors.Is(err, standardwebhooks.ErrRequiredHeaders):
			http.Error(w, "missing webhook-id, webhook-timestamp or webhook-signature", http.StatusBadRequest)
		case errors.Is(err, standardwebhooks.ErrInvalidHeaders):
			http.Error(w, "malformed webhook-timestamp", http.StatusBadRequest)
		case errors.Is(err, standardwebhooks.ErrMessageTooOld), errors.Is(err, standardwebhooks.ErrMessageTooNew):
			http.Error(w, "timestamp outside the tolerance", http.StatusUnauthorized)
		default:
			http.Error(w, "invalid signature", http.StatusUnauthorized)
		}
		return
	}
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	if len(id) > maxID || !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		http.Error(w, "webhook-id: want up to 255 bytes of UTF-8 text", http.StatusBadRequest)
		return
	}
	if _, err := parseEvent(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := a.st.receive(r.Context(), id, body); err != nil {
		a.errlog.Printf("store delivery %q: %v", id, err)
		http.Error(w, "could not store the delivery", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// event is what processing needs from a Standard Webhooks envelope's data.
type event struct {
	objectID sql.NullString
	seq      sql.NullInt64
}

// parseEvent reads {"type":…,"data":{"object_id":…,"seq":…,…}}. object_id and seq are optional;
// object_id is a string or a number, seq an integer.
func parseEvent(body []byte) (event, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return event{}, errors.New("the body is not a JSON object")
	}
	var ev event
	if len(env.Data) == 0 || bytes.Equal(env.Data, []byte("null")) {
		return ev, nil
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return ev, nil // data that is not an object: nothing to order by
	}
	if raw, ok := data["object_id"]; ok && !bytes.Equal(raw, []byte("null")) {
		var s string
		var n json.Number
		switch {
		case json.Unmarshal(raw, &s) == nil:
		case json.Unmarshal(raw, &n) == nil:
			s = n.String()
		default:
			return ev, errors.New("data.object_id: want a string or a number")
		}
		if s == "" || len(s) > maxID || strings.ContainsRune(s, 0) {
			return ev, fmt.Errorf("data.object_id: want 1 to %d bytes of text", maxID)
		}
		ev.objectID = sql.NullString{String: s, Valid: true}
	}
	if raw, ok := data["seq"]; ok && !bytes.Equal(raw, []byte("null")) {
		n, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
		if err != nil {
			return ev, errors.New("data.seq: want an integer")
		}
		ev.seq = sql.NullInt64{Int64: n, Valid: true}
	}
	return ev, nil
}

type job struct {
	row inboxRow
	ev  event
}

// runWorkers processes the inbox until ctx is done. A dispatcher reads pending rows in arrival
// order and hands each to one of n workers by its object, so one object's events are processed
// by one worker, in order; events without an object are spread by webhook id.
func (a *app) runWorkers(ctx context.Context, n int) {
	queues := make([]chan job, n)
	var (
		mu       sync.Mutex
		inflight = map[int64]bool{} // dispatched, not yet done
		wg       sync.WaitGroup
	)
	for i := range queues {
		queues[i] = make(chan job, queueLen)
		wg.Go(func() {
			for j := range queues[i] {
				a.processWithRetry(ctx, j)
				mu.Lock()
				delete(inflight, j.row.id)
				mu.Unlock()
			}
		})
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()

	for {
		// One pass over everything pending, from the start: a row whose transaction committed
		// after a later row's is picked up too.
		var after int64
		for ctx.Err() == nil {
			rows, err := a.st.pending(ctx, after, 256)
			if err != nil {
				if ctx.Err() == nil {
					a.errlog.Printf("read the inbox: %v", err)
				}
				break
			}
			for _, r := range rows {
				after = r.id
				mu.Lock()
				busy := inflight[r.id]
				inflight[r.id] = true
				mu.Unlock()
				if busy {
					continue
				}
				ev, _ := parseEvent(r.body) // checked on receipt; a bad one is processed without an object
				key := r.webhookID
				if ev.objectID.Valid {
					key = "o:" + ev.objectID.String
				}
				h := fnv.New32a()
				h.Write([]byte(key))
				select {
				case queues[h.Sum32()%uint32(n)] <- job{r, ev}:
				case <-ctx.Done():
					return
				}
			}
			if len(rows) < 256 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-time.After(pollInterval):
		}
	}
}

// processWithRetry processes one delivery, retrying (in place, so the object's later events
// wait) until it commits or the app stops.
func (a *app) processWithRetry(ctx context.Context, j job) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		// The transaction is not cut short by a stop: it finishes or fails on its own.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		res, done, err := a.st.process(tctx, j.row, j.ev)
		cancel()
		if err == nil {
			if done {
				a.out.Processed("processed webhook_id=%s object=%s seq=%s applied=%t",
					logValue(res.webhookID, true), logValue(res.objectID.String, res.objectID.Valid),
					logValue(strconv.FormatInt(res.seq.Int64, 10), res.seq.Valid), res.applied)
			}
			return
		}
		a.errlog.Printf("process inbox row %d (webhook_id %q): %v; retrying in %s", j.row.id, j.row.webhookID, err, backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// logValue is v as the log line shows it: "-" when absent, quoted when it has spaces or other
// characters that would break the key=value line.
func logValue(v string, valid bool) string {
	if !valid {
		return "-"
	}
	if v == "" || v == "-" || strings.ContainsFunc(v, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '=' || r == 0x7f || r > '~'
	}) {
		return strconv.Quote(v)
	}
	return v
}

// lineLog writes whole lines to stdout and, with -log, appends them to a file too. Each line is
// one write: nothing is buffered in the process.
type lineLog struct {
	mu   sync.Mutex
	out  io.Writer
	file *os.File
}

func newLineLog(out io.Writer, path string) (*lineLog, error) {
	l := &lineLog{out: out}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("-log: %w", err)
		}
		l.file = f
	}
	return l, nil
}

// Printf writes a line to stdout only.
func (l *lineLog) Printf(format string, args ...any) {
	line := fmt.Appendf(nil, format+"\n", args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out.Write(line)
}

// Processed writes a processed line to stdout and to the -log file.
func (l *lineLog) Processed(format string, args ...any) {
	line := fmt.Appendf(nil, format+"\n", args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out.Write(line)
	if l.file != nil {
		if _, err := l.file.Write(line); err != nil {
			fmt.Fprintf(os.Stderr, "exampleapp: -log: %v\n", err)
		}
	}
}

func (l *lineLog) Close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}
