// Package inspect is what hookproof listen, replay and send share: the record file of
// deliveries (one JSON object per line), the verdict a delivery gets against its scheme's
// rules, and reading records back for replay.
package inspect

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// RecordVersion is the version of the record format written by Writer ("v" of each line).
const RecordVersion = 1

// MaxBodyBytes bounds a delivery's body, as the reference receiver bounds it.
const MaxBodyBytes = 1 << 20

// maxLineBytes bounds one record line: a body of MaxBodyBytes, base64 (4/3), plus headers.
const maxLineBytes = 2*MaxBodyBytes + 256<<10

// Entry is one delivery as listen saw it: what arrived, the verdict, and the forward's answer.
// In a record file it is one line of JSON:
//
//	{"v":1,"at":"2026-12-03T10:00:00.123Z","method":"POST","path":"/webhooks","remote":"127.0.0.1:5123",
//	 "headers":{"Webhook-Id":["msg_1"],"Webhook-Signature":["REDACTED"]},"body":"{\"type\":…}",
//	 "verdict":{…},"forward":{"status":204,"ms":1.8}}
//
// The body is "body" (a string) when it is valid UTF-8, else "body_base64". Signature values
// are REDACTED unless listen was asked to keep them (--record-secrets).
type Entry struct {
	V       int         `json:"v"`
	At      time.Time   `json:"at"`
	Method  string      `json:"method,omitempty"`
	Path    string      `json:"path,omitempty"`
	Remote  string      `json:"remote,omitempty"`
	Header  http.Header `json:"headers"`
	Body    []byte      `json:"-"`
	Verdict *Verdict    `json:"verdict,omitempty"`
	Forward *Forward    `json:"forward,omitempty"`
}

// Forward is the answer of the endpoint a delivery was forwarded to.
type Forward struct {
	Status int     `json:"status,omitempty"` // 0: no answer
	MS     float64 `json:"ms"`
	Error  string  `json:"error,omitempty"`
}

// Verdict is a delivery judged against its scheme's rules.
type Verdict struct {
	Scheme string `json:"scheme"`
	// Outcome is one word for filters: valid, invalid, unjudged (no secret), malformed.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"` // one line: why
	ID      string `json:"id,omitempty"`
	Type    string `json:"type,omitempty"`
	// Signature says how the signature fared: "valid (secret 1, entry 2)", "no entry matches",
	// "missing", "not judged (no --secret)".
	Signature string `json:"signature,omitempty"`
	// SkewSeconds is arrival time minus the signed timestamp (positive: signed in the past),
	// with the scheme's tolerance; absent for schemes without one.
	SkewSeconds *float64 `json:"skew_s,omitempty"`
	Tolerance   float64  `json:"tolerance_s,omitempty"`
	// Seen is how many deliveries of this id arrived before this one, and FirstAt the first.
	Seen     int        `json:"seen,omitempty"`
	FirstAt  *time.Time `json:"first_at,omitempty"`
	Retry    string     `json:"retry,omitempty"`    // the provider's retry marks, as sent
	Problems []string   `json:"problems,omitempty"` // malformed headers and the like
}

// wire is Entry's JSON form.
type wire struct {
	V          int             `json:"v"`
	At         time.Time       `json:"at"`
	Method     string          `json:"method,omitempty"`
	Path       string          `json:"path,omitempty"`
	Remote     string          `json:"remote,omitempty"`
	Header     json.RawMessage `json:"headers"`
	Body       json.RawMessage `json:"body,omitempty"`
	BodyBase64 string          `json:"body_base64,omitempty"`
	Verdict    *Verdict        `json:"verdict,omitempty"`
	Forward    *Forward        `json:"forward,omitempty"`
}

// MarshalJSON writes e as one record line (without the newline).
func (e Entry) MarshalJSON() ([]byte, error) {
	w := wire{V: e.V, At: e.At, Method: e.Method, Path: e.Path, Remote: e.Remote, Verdict: e.Verdict, Forward: e.Forward}
	if w.V == 0 {
		w.V = RecordVersion
	}
	h := e.Header
	if h == nil {
		h = http.Header{}
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	w.Header = hb
	if utf8.Valid(e.Body) {
		b, err := json.Marshal(string(e.Body))
		if err != nil {
			return nil, err
		}
		w.Body = b
	} else {
		w.BodyBase64 = base64.StdEncoding.EncodeToString(e.Body)
	}
	return json.Marshal(w)
}

// ErrRecord is wrapped by every error about a record line that cannot be read.
var ErrRecord = errors.New("bad record")

// ParseEntry reads one record line: an Entry as Writer writes it, or a plain
// {"headers":{…},"body":…} object where headers map names to a string or a list of strings and
// body is a string (the exact bytes), any other JSON value (its JSON text, as written), or
// absent with body_base64.
func ParseEntry(line []byte) (Entry, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Entry{}, fmt.Errorf("%w: data after the JSON object", ErrRecord)
	}
	e := Entry{V: w.V, At: w.At, Method: w.Method, Path: w.Path, Remote: w.Remote, Verdict: w.Verdict, Forward: w.Forward}
	var err error
	if e.Header, err = parseHeaders(w.Header); err != nil {
		return Entry{}, err
	}
	switch {
	case len(w.Body) > 0 && w.BodyBase64 != "":
		return Entry{}, fmt.Errorf("%w: both body and body_base64", ErrRecord)
	case w.BodyBase64 != "":
		if e.Body, err = base64.StdEncoding.DecodeString(w.BodyBase64); err != nil {
			return Entry{}, fmt.Errorf("%w: body_base64: %v", ErrRecord, err)
		}
	case len(w.Body) > 0 && w.Body[0] == '"':
		var s string
		if err := json.Unmarshal(w.Body, &s); err != nil {
			return Entry{}, fmt.Errorf("%w: body: %v", ErrRecord, err)
		}
		e.Body = []byte(s)
	case len(w.Body) > 0 && !bytes.Equal(w.Body, []byte("null")):
		e.Body = bytes.Clone(w.Body)
	default:
		return Entry{}, fmt.Errorf("%w: no body (give \"body\" or \"body_base64\")", ErrRecord)
	}
	if len(e.Body) > MaxBodyBytes {
		return Entry{}, fmt.Errorf("%w: body of %d bytes, over the limit of %d", ErrRecord, len(e.Body), MaxBodyBytes)
	}
	return e, nil
}

func parseHeaders(raw json.RawMessage) (http.Header, error) {
	h := http.Header{}
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return h, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: headers: want an object of names and strings (or lists of strings)", ErrRecord)
	}
	for k, v := range m {
		if k == "" || strings.ContainsAny(k, " :\r\n\t") {
			return nil, fmt.Errorf("%w: header name %q", ErrRecord, k)
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(v, &one) == nil:
			many = []string{one}
		case json.Unmarshal(v, &many) == nil:
		default:
			return nil, fmt.Errorf("%w: header %q: want a string or a list of strings", ErrRecord, k)
		}
		for _, s := range many {
			if strings.ContainsAny(s, "\r\n") {
				return nil, fmt.Errorf("%w: header %q holds a line break", ErrRecord, k)
			}
			h.Add(k, s)
		}
	}
	return h, nil
}

// ReadRecords reads every record of r, one per line; blank lines and lines starting with # are
// skipped. A line that cannot be read is an error naming its number; a record file cut in the
// middle of its last line (a crash while writing) is read up to that line, and the cut line
// is reported by truncated.
func ReadRecords(r io.Reader) (entries []Entry, truncated bool, err error) {
	truncated, err = ScanRecords(r, func(_ int, e Entry) error {
		entries = append(entries, e)
		return nil
	})
	return entries, truncated, err
}

// ScanRecords is ReadRecords calling each with every record and its line number (from 1) as it
// is read; an error from each stops the scan and is returned with the line's number.
func ScanRecords(r io.Reader, each func(line int, e Entry) error) (truncated bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, rerr := readLine(br)
		if rerr != nil && rerr != io.EOF {
			return false, fmt.Errorf("line %d: %w", n, rerr)
		}
		complete := rerr == nil
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			e, perr := ParseEntry(t)
			switch {
			case perr != nil && !complete:
				return true, nil // the last line, cut short
			case perr != nil:
				return false, fmt.Errorf("line %d: %w", n, perr)
			}
			if err := each(n, e); err != nil {
				return false, fmt.Errorf("line %d: %w", n, err)
			}
		}
		if !complete {
			return false, nil
		}
	}
}

// readLine reads one line without its newline; io.EOF with the rest when there is no newline.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLineBytes {
			return nil, fmt.Errorf("%w: a line over %d bytes", ErrRecord, maxLineBytes)
		}
		switch err {
		case nil:
			return bytes.TrimSuffix(out, []byte("\n")), nil
		case bufio.ErrBufferFull:
			continue
		default:
			return out, err
		}
	}
}

// Writer appends entries to a record file, one line each, each written in one write call and
// synced before Write returns: a crash loses at most the entry being written.
type Writer struct {
	f interface {
		io.Writer
		Sync() error
	}
}

// NewWriter appends to f (an *os.File opened with O_APPEND).
func NewWriter(f interface {
	io.Writer
	Sync() error
}) *Writer {
	return &Writer{f: f}
}

// Write appends e and syncs it to disk.
func (w *Writer) Write(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return w.f.Sync()
}

// Redacted is what a redacted header value reads as in a record file.
const Redacted = "REDACTED"

// RedactHeaders returns a copy of h whose named headers' values are Redacted.
func RedactHeaders(h http.Header, names []string) http.Header {
	out := h.Clone()
	for _, n := range names {
		if vs := out.Values(n); len(vs) > 0 {
			red := make([]string, len(vs))
			for i := range red {
				red[i] = Redacted
			}
			out[http.CanonicalHeaderKey(n)] = red
		}
	}
	return out
}
