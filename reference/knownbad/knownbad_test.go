package knownbad

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
	"github.com/hookproof/hookproof/reference/sink"
	"github.com/hookproof/hookproof/reports"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fixture is one receiver behind an httptest server, reporting to an in-process sink.
type fixture struct {
	t      *testing.T
	srv    *httptest.Server
	sink   *sink.Collector
	scheme signature.Scheme
	now    time.Time
	flaw   string
}

func newFixture(t *testing.T, flaw string, opts ...Option) *fixture {
	t.Helper()
	return newSchemeFixture(t, flaw, "standard", testSecret, opts...)
}

// newSchemeFixture is newFixture for another scheme and secret.
func newSchemeFixture(t *testing.T, flaw, scheme, secret string, opts ...Option) *fixture {
	t.Helper()
	col := sink.NewCollector()
	sinkSrv := httptest.NewServer(col)
	t.Cleanup(sinkSrv.Close)
	now := time.Now()
	r, err := New(flaw, scheme, secret, append([]Option{WithSink(sinkSrv.URL), WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	s, err := signature.New(scheme, secret)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, srv: srv, sink: col, scheme: s, now: now, flaw: flaw}
}

// post signs body as delivery id at ts (zero: the fixture's now), lets edit change the
// request, and returns the status.
func (f *fixture) post(id string, ts time.Time, body string, edit func(h http.Header, b *string)) int {
	f.t.Helper()
	return f.postAnswer(id, ts, body, edit, nil)
}

// postAnswer is post that also keeps the answer's body in *answer (when answer is not nil).
func (f *fixture) postAnswer(id string, ts time.Time, body string, edit func(h http.Header, b *string), answer *string) int {
	f.t.Helper()
	if ts.IsZero() {
		ts = f.now
	}
	h, err := f.scheme.Sign(signature.Message{ID: id, Timestamp: ts, Body: []byte(body)})
	if err != nil {
		f.t.Fatal(err)
	}
	if edit != nil {
		edit(h, &body)
	}
	req, err := http.NewRequest(http.MethodPost, f.srv.URL, bytes.NewReader([]byte(body)))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if answer != nil {
		b, _ := io.ReadAll(resp.Body)
		*answer = string(b)
	}
	return resp.StatusCode
}

func eventBody(id, obj string, seq int) string {
	return `{"id":"` + id + `","type":"order.updated","timestamp":"2026-01-01T00:00:00Z","data":{"object_id":"` + obj + `","seq":` + strconv.Itoa(seq) + `}}`
}

// probes are the behaviours each flaw changes; every flaw must differ from the control on
// exactly its own probe.
var probes = map[string]func(f *fixture) bool{
	// true when a validly signed github delivery without X-GitHub-Delivery is rejected (the
	// flaw shows only where the id header is not signed, so the probe runs on github).
	"id-optional": func(f *fixture) bool {
		g := newSchemeFixture(f.t, f.flaw, "github", "github-probe-secret")
		return g.post("msg_noid", time.Time{}, eventBody("msg_noid", "o", 1), func(h http.Header, _ *string) {
			h.Del(signature.HeaderGitHubDelivery)
		}) == http.StatusBadRequest
	},
	// true when a delivery with a wrong signature is rejected.
	"no-signature-check": func(f *fixture) bool {
		return f.post("msg_sig", time.Time{}, eventBody("msg_sig", "o", 1), func(h http.Header, _ *string) {
			h.Set("webhook-signature", "v1,"+strings.Repeat("A", 44))
		}) == 401
	},
	// true when a body with odd whitespace verifies.
	"reserialize-body": func(f *fixture) bool {
		return f.post("msg_ws", time.Time{}, "{ \"id\": \"msg_ws\",\n \"type\":\"x\", \"data\": {} }", nil) == 200
	},
	// true when a timestamp 6 minutes old is rejected.
	"ignore-timestamp": func(f *fixture) bool {
		return f.post("msg_old", f.now.Add(-6*time.Minute), eventBody("msg_old", "o", 1), nil) == 401
	},
	// true when a timestamp 6 minutes ahead is rejected.
	"accept-future": func(f *fixture) bool {
		return f.post("msg_fut", f.now.Add(6*time.Minute), eventBody("msg_fut", "o", 1), nil) == 401
	},
	// true when a duplicate causes no second effect.
	"double-process": func(f *fixture) bool {
		f.post("msg_dup", time.Time{}, eventBody("msg_dup", "od", 1), nil)
		f.post("msg_dup", time.Time{}, eventBody("msg_dup", "od", 1), nil)
		return f.sink.Distinct("msg_dup") == 1
	},
	// true when the ack comes in under 200 ms (the test's ack delay is 300 ms).
	"slow-ack": func(f *fixture) bool {
		start := time.Now()
		f.post("msg_slow", time.Time{}, eventBody("msg_slow", "os", 1), nil)
		return time.Since(start) < 200*time.Millisecond
	},
	// true when the answer to a forgery holds no encoding of the secret.
	"leak-secret": func(f *fixture) bool {
		var answer string
		f.postAnswer("msg_leak", time.Time{}, eventBody("msg_leak", "o", 1), func(h http.Header, _ *string) {
			h.Set("webhook-signature", "v1,"+strings.Repeat("A", 44))
		}, &answer)
		for _, form := range reports.SecretForms(testSecret) {
			if strings.Contains(answer, form) {
				return false
			}
		}
		return true
	},
	// true when a non-integer timestamp gets 4xx.
	"500-on-malformed": func(f *fixture) bool {
		st := f.post("msg_mal", time.Time{}, eventBody("msg_mal", "o", 1), func(h http.Header, _ *string) {
			h.Set("webhook-timestamp", "12.5")
		})
		return st/100 == 4
	},
	// true when a stale event is not applied.
	"apply-stale": func(f *fixture) bool {
		f.post("msg_s2", time.Time{}, eventBody("msg_s2", "ost", 2), nil)
		f.post("msg_s1", time.Time{}, eventBody("msg_s1", "ost", 1), nil)
		seqs := f.sink.AppliedSeq("ost")
		return len(seqs) == 1 && seqs[0] == 2
	},
}

func TestEveryFlawHasAProbe(t *testing.T) {
	for _, name := range Flaws() {
		if probes[name] == nil {
			t.Errorf("flaw %s has no probe", name)
		}
		if b, ok := Describe(name); !ok || b == "" {
			t.Errorf("flaw %s has no description", name)
		}
	}
	if len(probes) != len(Flaws()) {
		t.Errorf("%d probes for %d flaws", len(probes), len(Flaws()))
	}
}

// alsoBreaks lists the probes a flaw fails besides its own, because they are part of what it
// skips: a receiver that never verifies never checks the signed timestamp either, and one
// that ignores timestamps accepts future ones.
var alsoBreaks = map[string][]string{
	"no-signature-check": {"ignore-timestamp", "accept-future", "500-on-malformed", "id-optional"},
	"ignore-timestamp":   {"accept-future"},
}

// TestFlawsBreakOnlyTheirOwnProbe runs every probe against every receiver: the control passes
// all of them, each flawed receiver fails its own (and those in alsoBreaks) and passes the rest.
func TestFlawsBreakOnlyTheirOwnProbe(t *testing.T) {
	for _, flaw := range append([]string{None}, Flaws()...) {
		t.Run(flaw, func(t *testing.T) {
			t.Parallel()
			for probe, check := range probes {
				f := newFixture(t, flaw, WithAckDelay(300*time.Millisecond))
				got := check(f)
				want := probe != flaw && !slices.Contains(alsoBreaks[flaw], probe)
				if got != want {
					t.Errorf("probe %s: got %v, want %v", probe, got, want)
				}
			}
		})
	}
}

func TestControlProcessesOnceAndReports(t *testing.T) {
	f := newFixture(t, "")
	for i := 0; i < 3; i++ {
		if st := f.post("msg_1", time.Time{}, eventBody("msg_1", "o1", 1), nil); st != 200 {
			t.Fatalf("attempt %d: status %d, want 200", i+1, st)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.sink.WaitDistinct(ctx, "msg_1", 1); err != nil {
		t.Fatal(err)
	}
	if got := f.sink.Distinct("msg_1"); got != 1 {
		t.Errorf("distinct effects = %d, want 1", got)
	}
	if st := f.post("msg_2", time.Time{}, eventBody("msg_2", "o1", 2), func(_ http.Header, b *string) { *b += " " }); st != 401 {
		t.Errorf("tampered body: status %d, want 401", st)
	}
}

func TestHandshake(t *testing.T) {
	f := newFixture(t, "")
	req, _ := http.NewRequest(http.MethodOptions, f.srv.URL, nil)
	req.Header.Set(HeaderRequestOrigin, "eventemitter.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(HeaderAllowedOrigin) != "eventemitter.example.com" {
		t.Errorf("handshake: %d, allowed origin %q", resp.StatusCode, resp.Header.Get(HeaderAllowedOrigin))
	}
}

func TestNewRejectsUnknowns(t *testing.T) {
	for _, tc := range []struct{ flaw, scheme, secret string }{
		{"no-such-flaw", "standard", testSecret},
		{"", "no-such-scheme", testSecret},
		{"", "standard", ""},
	} {
		if _, err := New(tc.flaw, tc.scheme, tc.secret); err == nil {
			t.Errorf("New(%q, %q, ...) = nil error", tc.flaw, tc.scheme)
		}
	}
}

func TestReencodeKeepsCompactBodies(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"id":"a","data":{"n":1.50,"l":[1,2,{}],"s":"é"}}`, `{"id":"a","data":{"n":1.50,"l":[1,2,{}],"s":"é"}}`},
		{"{ \"b\" : 1 ,\n\"a\":[ ] }", `{"b":1,"a":[]}`},
		{`{"s":"\u00e9"}`, `{"s":"é"}`},
	} {
		got, err := reencode([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("reencode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzReencode: whatever the input, reencode either refuses it or returns compact JSON that
// decodes to the same value, and re-encoding that output changes nothing.
func FuzzReencode(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{ \"b\" : [1, 2.50, {}],\n\"a\":null }", `"x"`, `[]`, `{"s":"\u00e9\/"}`, `{`, `1 2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := reencode(in)
		if err != nil {
			return
		}
		var a, b any
		if json.Unmarshal(in, &a) != nil {
			return // reencode reads one value; trailing text is the verifier's problem
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("reencode(%q) = %q, not JSON: %v", in, out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("reencode(%q) = %q, a different value", in, out)
		}
		again, err := reencode(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("reencode is not idempotent on %q: %q, %v", out, again, err)
		}
	})
}

func TestWithFailingIDsFailsTheSameHalfForever(t *testing.T) {
	f := newFixture(t, None, WithFailingIDs(0.5))
	failed := 0
	for i := range 200 {
		id := "msg_half_" + strconv.Itoa(i)
		first := f.post(id, time.Time{}, eventBody(id, "ord_"+strconv.Itoa(i), 1), nil)
		again := f.post(id, time.Time{}, eventBody(id, "ord_"+strconv.Itoa(i), 1), nil)
		if first != again {
			t.Fatalf("%s: %d then %d; a failing id must fail on every retry", id, first, again)
		}
		switch first {
		case http.StatusInternalServerError:
			failed++
			if n := f.sink.Distinct(id); n != 0 {
				t.Errorf("%s: answered 500 but has %d effects", id, n)
			}
		case http.StatusOK:
		default:
			t.Fatalf("%s: status %d", id, first)
		}
	}
	if failed < 70 || failed > 130 {
		t.Errorf("%d of 200 ids failed, want about half", failed)
	}
	// A forged delivery is still rejected first: the flaw is availability, not authenticity.
	if code := f.post("msg_half_x", time.Time{}, eventBody("msg_half_x", "ord_x", 1), func(h http.Header, b *string) { *b += " " }); code != http.StatusUnauthorized {
		t.Errorf("tampered delivery: %d, want 401", code)
	}
}
