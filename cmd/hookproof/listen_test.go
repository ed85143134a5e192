package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/badsender"
	"github.com/hookproof/hookproof/reference/event"
	refsender "github.com/hookproof/hookproof/reference/sender"
	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/suites/inspect"
)

// listenProc is `hookproof listen` running in a child process.
type listenProc struct {
	cmd  *exec.Cmd
	url  string
	out  *syncBuffer
	errb *syncBuffer
}

// startListen runs `hookproof listen --listen 127.0.0.1:0 args...` and waits until it listens.
func startListen(t *testing.T, args ...string) *listenProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := hookproofCommand(ctx, append([]string{"listen", "--listen", "127.0.0.1:0"}, args...)...)
	p := &listenProc{cmd: cmd, out: &syncBuffer{}, errb: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			p.url = m[1]
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen did not start:\n%s%s", p.out, p.errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deliveryLines are the console lines of deliveries (those with an answer: "→").
func (p *listenProc) deliveryLines() []string {
	var out []string
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(l, " → ") {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits for n delivery lines.
func (p *listenProc) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ls := p.deliveryLines(); len(ls) >= n {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d delivery lines, want %d:\n%s%s", len(p.deliveryLines()), n, p.out, p.errb)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sendRaw(t *testing.T, method, url string, h http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// apiCall posts v to a sender's API and decodes the answer into out.
func apiCall(t *testing.T, url string, v, out any) {
	t.Helper()
	raw, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// sendThrough registers listen's URL with the sender behind api and sends one event per object.
func sendThrough(t *testing.T, api, target string, objects ...string) {
	t.Helper()
	var ep refsender.Endpoint
	apiCall(t, api+"/endpoints", refsender.EndpointSpec{URL: target, Secret: senderTestSecret}, &ep)
	for i, o := range objects {
		apiCall(t, api+"/messages", refsender.SendRequest{EndpointID: ep.ID, Type: "order.updated",
			Data: json.RawMessage(fmt.Sprintf(`{"object_id":%q,"seq":%d}`, o, i+1))}, nil)
	}
}

// flakyEndpoint fails the first delivery of each object (500), then answers 200: the sender retries once.
func flakyEndpoint(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		o := event.Parse(b).ObjectID
		mu.Lock()
		first := !seen[o]
		seen[o] = true
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var lineID = regexp.MustCompile(` id=(\S+) `)

// TestListenSenders: the reference sender and known-bad senders deliver to `hookproof listen`
// through a flaky endpoint: every line is valid; the honest retry is a duplicate of its first
// attempt (one id), the new-id-per-retry sender's retry is not (a fresh id), and the one-id
// sender's second event is a duplicate of its first.
func TestListenSenders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs listen in subprocesses")
	}
	ref, err := refsender.Open(context.Background(), filepath.Join(t.TempDir(), "outbox.db"),
		refsender.WithSchedule(badsender.DefaultSchedule), refsender.WithRequestTimeout(5*time.Second), refsender.WithAllowPrivate())
	if err != nil {
		t.Fatal(err)
	}
	ref.Start()
	refAPI := httptest.NewServer(ref.Handler())
	t.Cleanup(func() { refAPI.Close(); ref.Close(context.Background()) })
	bad := func(t *testing.T, flaw string) string {
		s, err := badsender.New(flaw, badsender.WithRequestTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(s)
		t.Cleanup(func() { api.Close(); s.Close() })
		return api.URL
	}

	t.Run("reference", func(t *testing.T) {
		t.Parallel()
		l := startListen(t, "--secret", senderTestSecret, "--forward-to", flakyEndpoint(t).URL)
		sendThrough(t, refAPI.URL, l.url+"/hooks", "ord_ref")
		lines := l.waitLines(t, 2)
		for _, ln := range lines {
			if !strings.Contains(ln, " valid: signature valid (secret 1 of 1, entry 1 of 1)") || !strings.Contains(ln, "type=order.updated") {
				t.Errorf("not valid: %s", ln)
			}
		}
		if !strings.Contains(lines[0], "→ forwarded: 500") || !strings.Contains(lines[1], "→ forwarded: 204") {
			t.Errorf("forward statuses:\n%s", strings.Join(lines, "\n"))
		}
		if strings.Contains(lines[0], "duplicate") || !strings.Contains(lines[1], "duplicate: seen 1 time before, first at ") {
			t.Errorf("the honest retry is not a duplicate of its first attempt:\n%s", strings.Join(lines, "\n"))
		}
		if strings.Contains(l.out.String(), senderTestSecret) || strings.Contains(l.out.String(), "v1,") {
			t.Error("a secret or a signature on the console")
		}
	})
	t.Run("new-id-per-retry", func(t *testing.T) {
		t.Parallel()
		l := startListen(t, "--secret", senderTestSecret, "--forward-to", flakyEndpoint(t).URL)
		sendThrough(t, bad(t, "new-id-per-retry"), l.url+"/hooks", "ord_new")
		lines := l.waitLines(t, 2)
		a, b := lineID.FindStringSubmatch(lines[0]), lineID.FindStringSubmatch(lines[1])
		if a == nil || b == nil || a[1] == b[1] {
			t.Errorf("the retry kept its id:\n%s", strings.Join(lines, "\n"))
		}
		for _, ln := range lines {
			if !strings.Contains(ln, " valid: ") || strings.Contains(ln, "duplicate") {
				t.Errorf("want valid, no duplicate: %s", ln)
			}
		}
	})
	t.Run("one-id-for-all", func(t *testing.T) {
		t.Parallel()
		l := startListen(t, "--secret", senderTestSecret)
		sendThrough(t, bad(t, "one-id-for-all"), l.url+"/hooks", "ord_a", "ord_b")
		lines := l.waitLines(t, 2)
		dups := 0
		for _, ln := range lines {
			if !strings.Contains(ln, " valid: ") || !strings.HasSuffix(ln, "→ 200") {
				t.Errorf("want valid, answered 200: %s", ln)
			}
			if strings.Contains(ln, "duplicate: seen 1 time before") {
				dups++
			}
		}
		if dups != 1 {
			t.Errorf("two events under one id, %d duplicates:\n%s", dups, strings.Join(lines, "\n"))
		}
	})
}

// TestListenForgedDeliveries: on every scheme, hand-made deliveries to `hookproof listen`:
// valid 200, forged and stale and unsigned 401, malformed 400, each line saying why.
func TestListenForgedDeliveries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs listen in subprocesses")
	}
	for _, name := range signature.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			secret := signature.SecretFrom(name, []byte("listen-cli-forged-test-key-32byt"))
			l := startListen(t, "--scheme", name, "--secret", secret)
			mine, _ := signature.New(name, secret)
			other, _ := signature.New(name, signature.SecretFrom(name, []byte("listen-cli-forged-other-key-32by")))
			tr, an := mine.Traits(), signature.AnatomyOf(mine)
			body := func(id string) []byte {
				return []byte(`{"id":"` + id + `","event_id":"` + id + `","type":"order.updated","data":{}}`)
			}
			sign := func(s signature.Scheme, id string, at time.Time) http.Header {
				h, err := s.Sign(signature.Message{ID: id, Timestamp: at, Body: body(id)})
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			type tc struct {
				id     string
				h      http.Header
				status int
				want   string
			}
			bad := sign(mine, "evt_enc", time.Now())
			pre, sig := an.SplitSignature(bad.Get(tr.SignatureHeader))
			bad.Set(tr.SignatureHeader, pre+strings.Repeat("!", len(sig)))
			unsigned := sign(mine, "evt_nosig", time.Now())
			unsigned.Del(tr.SignatureHeader)
			cases := []tc{
				{"evt_ok", sign(mine, "evt_ok", time.Now()), 200, "valid: signature valid (secret 1 of 1"},
				{"evt_forged", sign(other, "evt_forged", time.Now()), 401, "invalid: signature: "},
				{"evt_enc", bad, 400, "malformed: " + tr.SignatureHeader + " is not in the scheme's form"},
				{"evt_nosig", unsigned, 401, "invalid: " + tr.SignatureHeader + " missing"},
			}
			if tr.Timestamped {
				lit, _ := an.SignLiteral("evt_ts", "1e9", body("evt_ts"))
				cases = append(cases,
					tc{"evt_stale", sign(mine, "evt_stale", time.Now().Add(-20*time.Minute)), 401, "s old, over the 300 s tolerance"},
					tc{"evt_future", sign(mine, "evt_future", time.Now().Add(20*time.Minute)), 401, "s in the future, over the 300 s tolerance"},
					tc{"evt_ts", lit, 400, `"1e9" is not unix seconds`})
			}
			for _, c := range cases {
				resp, b := sendRaw(t, http.MethodPost, l.url+"/"+name, c.h, body(c.id))
				if resp.StatusCode != c.status {
					t.Errorf("%s: %d, want %d: %s", c.id, resp.StatusCode, c.status, b)
				}
			}
			lines := l.waitLines(t, len(cases))
			for i, c := range cases {
				if !strings.Contains(lines[i], c.want) || !strings.HasSuffix(lines[i], fmt.Sprintf("→ %d", c.status)) {
					t.Errorf("%s: line lacks %q or → %d: %s", c.id, c.want, c.status, lines[i])
				}
			}
		})
	}
}

// TestListenForwardPreservesBytes: a delivery forwarded by `hookproof listen` reaches the
// endpoint with the same method, path and query (after the URL's), headers and body (sha256)
// as listen received it, and the sender gets the endpoint's status, headers and body.
func TestListenForwardPreservesBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs listen in a subprocess")
	}
	type seen struct {
		method, uri string
		header      http.Header
		sum         [32]byte
	}
	got := make(chan seen, 1)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), sha256.Sum256(b)}
		w.Header().Set("X-Endpoint", "yes")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("queued\x00\xff"))
	}))
	defer ep.Close()
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	l := startListen(t, "--forward-to", ep.URL+"/base/", "--record", rec, "--record-secrets")

	body := append([]byte(`{"id":"evt_fwd","type":"x"}`), 0xff, 0x00, '\r', '\n', 0xfe) // not UTF-8
	h := http.Header{
		"Webhook-Id":        {"msg_fwd"},
		"Webhook-Timestamp": {fmt.Sprint(time.Now().Unix())},
		"Webhook-Signature": {"v1,c2lnbmF0dXJl v1,b3RoZXI="},
		"X-Repeated":        {"one", "two"},
		"Content-Type":      {"application/octet-stream"},
		"User-Agent":        {"sender/1.0"},
		"Connection":        {"X-Hop"},
		"X-Hop":             {"not forwarded"},
	}
	resp, answer := sendRaw(t, http.MethodPut, l.url+"/a/b%20c?x=1&x=2", h, body)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Endpoint") != "yes" ||
		!slices.Equal(resp.Header.Values("Set-Cookie"), []string{"a=1", "b=2"}) || string(answer) != "queued\x00\xff" {
		t.Errorf("the sender got %d %v %q", resp.StatusCode, resp.Header, answer)
	}
	var s seen
	select {
	case s = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing reached the endpoint")
	}
	if s.method != http.MethodPut || s.uri != "/base/a/b%20c?x=1&x=2" {
		t.Errorf("endpoint saw %s %s", s.method, s.uri)
	}
	if s.sum != sha256.Sum256(body) {
		t.Error("the body changed on the way")
	}
	lines := l.waitLines(t, 1)
	if !strings.Contains(lines[0], "PUT /a/b%20c?x=1&x=2 id=msg_fwd type=- 32B unjudged") || !strings.Contains(lines[0], "→ forwarded: 202 in ") {
		t.Errorf("line: %s", lines[0])
	}
	// What listen received (its record) is what the endpoint got, header for header.
	f, err := os.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, _, err := inspect.ReadRecords(f)
	if err != nil || len(entries) != 1 {
		t.Fatalf("record: %d entries, %v", len(entries), err)
	}
	in := entries[0].Header
	in.Del("Connection")
	in.Del("X-Hop")
	if sha256.Sum256(entries[0].Body) != s.sum {
		t.Error("the recorded body differs from the forwarded one")
	}
	if s.header.Get("X-Hop") != "" || s.header.Get("Connection") != "" {
		t.Errorf("hop-by-hop headers forwarded: %v", s.header)
	}
	if fmt.Sprint(in) != fmt.Sprint(s.header) {
		t.Errorf("headers differ:\nlisten got   %v\nendpoint got %v", in, s.header)
	}
	if entries[0].Forward == nil || entries[0].Forward.Status != 202 || entries[0].Verdict.Outcome != inspect.Unjudged {
		t.Errorf("record: forward %+v verdict %+v", entries[0].Forward, entries[0].Verdict)
	}
}

// TestListenKill9LosesNoAnsweredDelivery: deliveries flow while `hookproof listen --record`
// is killed with SIGKILL; every delivery answered 2xx before the kill is in the record.
func TestListenKill9LosesNoAnsweredDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs listen in a subprocess")
	}
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	l := startListen(t, "--secret", senderTestSecret, "--record", rec)
	sch, _ := signature.New("standard", senderTestSecret)
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("msg_%d_%d", w, i)
				body := []byte(`{"type":"order.updated","data":{"n":` + fmt.Sprint(i) + `}}`)
				h, _ := sch.Sign(signature.Message{ID: id, Body: body})
				req, _ := http.NewRequest(http.MethodPost, l.url+"/hooks", bytes.NewReader(body))
				req.Header = h
				resp, err := client.Do(req)
				if err != nil {
					return // the listener is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d deliveries acknowledged", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := l.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	l.cmd.Wait()
	answered := acked // every 2xx the clients got: all before the kill, the last ones just before it

	f, err := os.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, truncated, err := inspect.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, e := range entries {
		onDisk[e.Verdict.ID] = true
		if e.Verdict.Outcome != inspect.Valid || e.Header.Get("Webhook-Signature") != inspect.Redacted {
			t.Errorf("entry %s: %s, signature %q", e.Verdict.ID, e.Verdict.Outcome, e.Header.Get("Webhook-Signature"))
		}
	}
	lost := 0
	for _, id := range answered {
		if !onDisk[id] {
			lost++
			t.Errorf("%s was answered 2xx but is not in the record", id)
		}
	}
	t.Logf("%d answered 2xx, %d recorded (last line cut: %v), %d lost", len(answered), len(entries), truncated, lost)
}

// TestListenStopsCleanly: SIGTERM stops listen with exit 0, the record closed and readable.
func TestListenStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs listen in a subprocess")
	}
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	l := startListen(t, "--record", rec, "--ui", "127.0.0.1:0", "--keep", "10")
	sendRaw(t, http.MethodPost, l.url, http.Header{"Webhook-Id": {"msg_1"}}, []byte(`{"type":"a"}`))
	l.waitLines(t, 1)
	ui := regexp.MustCompile(`live page on (http://\S+)\)`).FindStringSubmatch(l.out.String())
	if ui == nil {
		t.Fatalf("no live page address: %s", l.out)
	}
	if resp, _ := sendRaw(t, http.MethodGet, ui[1], nil, nil); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("the live page answers %d %q, CSP %q: want the page under its CSP", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
	}
	if resp, body := sendRaw(t, http.MethodGet, strings.TrimSuffix(ui[1], "/")+"/deliveries", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"msg_1"`) {
		t.Errorf("the live page's /deliveries: %d %s", resp.StatusCode, body)
	}
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := l.cmd.Wait()
	if err != nil {
		t.Fatalf("exit: %v\n%s%s", err, l.out, l.errb)
	}
	if !strings.Contains(l.out.String(), "hookproof listen: stopped") {
		t.Errorf("stdout: %s", l.out)
	}
	f, _ := os.Open(rec)
	defer f.Close()
	entries, truncated, err := inspect.ReadRecords(f)
	if err != nil || truncated || len(entries) != 1 {
		t.Errorf("record: %d entries, truncated %v, %v", len(entries), truncated, err)
	}
}

func TestListenUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--keep", "0"}, exitUsage, "--keep"},
		{[]string{"--scheme", "nope"}, exitUsage, "unknown scheme"},
		{[]string{"--secret", "not-whsec"}, exitUsage, "secret 1 of 1"},
		{[]string{"--forward-to", "127.0.0.1:8080"}, exitUsage, "--forward-to"},
		{[]string{"extra"}, exitUsage, "unexpected argument"},
		{[]string{"--listen", "127.0.0.1:99999"}, exitHarness, "listen on"},
		{[]string{"--listen", "127.0.0.1:0", "--record", filepath.Join(t.TempDir(), "no", "such", "dir")}, exitHarness, "--record"},
	} {
		e, _, stderr := senderEnv(nil)
		if code := runListen(context.Background(), e, c.args); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q lacks %q?", c.args, code, c.code, stderr, c.want)
		}
	}
}

// TestListenRecordReplays: the whole loop on one scheme per provider shape: deliveries signed
// by the scheme reach listen --record, and the record file listen wrote replays into the
// reference receiver with exactly one effect per id, directly and through chaos.
func TestListenRecordReplays(t *testing.T) {
	if testing.Short() {
		t.Skip("runs listen in a subprocess")
	}
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	l := startListen(t, "--record", rec, "--secret", replaySecret)
	s, _ := signature.New("standard", replaySecret)
	var ids, sigs []string
	for i := range 5 {
		id := fmt.Sprintf("msg_loop_%d", i)
		ev := event.Envelope{ID: id, Type: "order.updated", Timestamp: time.Now().UTC(), Data: json.RawMessage(fmt.Sprintf(`{"object_id":"ord_loop_%d","seq":1}`, i))}
		body := ev.AppendJSON(nil)
		h, _ := s.Sign(signature.Message{ID: id, Timestamp: time.Now(), Body: body})
		h.Set("Content-Type", "application/json")
		sigs = append(sigs, h.Get(s.Traits().SignatureHeader))
		if resp, _ := sendRaw(t, http.MethodPost, l.url+"/webhooks", h, body); resp.StatusCode != http.StatusOK {
			t.Fatalf("listen answered %d to a valid delivery", resp.StatusCode)
		}
		ids = append(ids, id)
	}
	l.waitLines(t, 5)
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range sigs {
		if bytes.Contains(b, []byte(sig)) || !bytes.Contains(b, []byte(inspect.Redacted)) {
			t.Fatalf("the record keeps signature values:\n%s", b)
		}
	}
	for _, chaosSpec := range []string{"", "drop=0.3,lost-ack=0.3,duplicate=0.5"} {
		url, effects := referenceReceiver(t)
		args := []string{"replay", rec, "--url", url, "--secret", replaySecret, "--seed", "3", "--max-attempts", "12"}
		if chaosSpec != "" {
			args = append(args, "--chaos", chaosSpec)
		}
		code, out, errs := runCLI(t, "", args...)
		if code != exitOK || !strings.Contains(out, "delivered 5/5") {
			t.Fatalf("replay (chaos %q): exit %d\n%s\n%s", chaosSpec, code, out, errs)
		}
		effectsExactlyOnce(t, effects, ids)
	}
}
