package inspect

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/signature"
)

var judgeNow = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func secretOf(scheme, who string) string {
	return signature.SecretFrom(scheme, []byte(fmt.Sprintf("%-32s", "judge-test-"+who)))
}

// testBody carries the id where schemes without an id header look for it (id; slack: event_id).
func testBody(id string) []byte {
	return []byte(`{"id":"` + id + `","event_id":"` + id + `","type":"order.updated","data":{"object_id":"o1","seq":1}}`)
}

// signed is a delivery of scheme signed with secret who at ts.
func signed(t *testing.T, scheme, who, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	s, err := signature.New(scheme, secretOf(scheme, who), signature.WithClock(func() time.Time { return ts }))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Sign(signature.Message{ID: id, Timestamp: ts, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	return h
}

func newTestJudge(t *testing.T, scheme string, secrets ...string) *Judge {
	t.Helper()
	j, err := NewJudge(scheme, secrets, WithJudgeClock(func() time.Time { return judgeNow }))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func expect(t *testing.T, what string, v Verdict, outcome string, reason ...string) {
	t.Helper()
	if v.Outcome != outcome {
		t.Errorf("%s: outcome %s, want %s (reason: %s)", what, v.Outcome, outcome, v.Reason)
	}
	for _, r := range reason {
		if !strings.Contains(v.Reason, r) {
			t.Errorf("%s: reason %q lacks %q", what, v.Reason, r)
		}
	}
	if strings.ContainsAny(v.Reason, "\r\n") {
		t.Errorf("%s: reason on more than one line: %q", what, v.Reason)
	}
}

// TestJudgeEveryScheme judges, on every scheme, deliveries made to be valid, forged, stale,
// from the future, duplicated, malformed and unsigned, with and without a secret.
func TestJudgeEveryScheme(t *testing.T) {
	for _, name := range signature.Names() {
		t.Run(name, func(t *testing.T) {
			mine := secretOf(name, "mine")
			probe, _ := signature.New(name, mine)
			tr, an := probe.Traits(), signature.AnatomyOf(probe)
			fresh := judgeNow.Add(-2 * time.Second)

			j := newTestJudge(t, name, mine)
			body := testBody("evt_valid")
			v := j.Judge(signed(t, name, "mine", "evt_valid", fresh, body), body, time.Time{})
			expect(t, "valid", v, Valid, "signature valid (secret 1 of 1, entry 1 of 1)")
			if v.ID != "evt_valid" || v.Type != "order.updated" || v.Scheme != name {
				t.Errorf("valid: id %q type %q scheme %q", v.ID, v.Type, v.Scheme)
			}
			if tr.Timestamped {
				if v.SkewSeconds == nil || *v.SkewSeconds != 2 || v.Tolerance != 300 {
					t.Errorf("valid: skew %v tolerance %v, want 2 and 300", v.SkewSeconds, v.Tolerance)
				}
				expect(t, "valid", v, Valid, "skew 2 s within 300 s")
			} else if v.SkewSeconds != nil {
				t.Errorf("valid: a skew on a scheme without a timestamp")
			}

			// The same delivery again, twice: duplicates, with the first arrival's time.
			later := judgeNow.Add(time.Second)
			v = j.Judge(signed(t, name, "mine", "evt_valid", fresh, body), body, later)
			expect(t, "duplicate", v, Valid, "duplicate: seen 1 time before, first at 2026-12-03T10:00:00.000Z")
			v = j.Judge(signed(t, name, "mine", "evt_valid", fresh, body), body, later)
			expect(t, "duplicate", v, Valid, "seen 2 times before")
			if v.Seen != 2 || v.FirstAt == nil || !v.FirstAt.Equal(judgeNow) {
				t.Errorf("duplicate: seen %d first %v", v.Seen, v.FirstAt)
			}

			// Rotation: the second secret signs.
			rot := newTestJudge(t, name, secretOf(name, "old"), mine)
			body = testBody("evt_rot")
			expect(t, "rotated", rot.Judge(signed(t, name, "mine", "evt_rot", fresh, body), body, time.Time{}), Valid, "secret 2 of 2")

			// Forged: another secret.
			body = testBody("evt_forged")
			v = j.Judge(signed(t, name, "other", "evt_forged", fresh, body), body, time.Time{})
			expect(t, "forged", v, Invalid, "signature: ")
			if !strings.Contains(v.Signature, "match") {
				t.Errorf("forged: signature %q", v.Signature)
			}
			// The body changed after signing.
			h := signed(t, name, "mine", "evt_forged", fresh, body)
			expect(t, "tampered", j.Judge(h, append(testBody("evt_forged"), ' '), time.Time{}), Invalid, "signature: ")

			// Missing signature.
			h = signed(t, name, "mine", "evt_nosig", fresh, testBody("evt_nosig"))
			h.Del(tr.SignatureHeader)
			for _, l := range tr.LegacySignatureHeaders {
				h.Del(l)
			}
			v = j.Judge(h, testBody("evt_nosig"), time.Time{})
			expect(t, "missing", v, Invalid, tr.SignatureHeader+" missing")
			if len(tr.LegacySignatureHeaders) > 0 {
				h = signed(t, name, "mine", "evt_legacy", fresh, testBody("evt_legacy"))
				h.Del(tr.SignatureHeader)
				expect(t, "legacy only", j.Judge(h, testBody("evt_legacy"), time.Time{}), Invalid, "only the legacy")
			}

			// Malformed: the signature not in the scheme's encoding.
			h = signed(t, name, "mine", "evt_enc", fresh, testBody("evt_enc"))
			pre, sig := an.SplitSignature(h.Get(tr.SignatureHeader))
			h.Set(tr.SignatureHeader, pre+strings.Repeat("!", len(sig)))
			expect(t, "bad encoding", j.Judge(h, testBody("evt_enc"), time.Time{}), Malformed, "is not in the scheme's form (a "+an.SignatureEncoding())

			if tr.IDHeader != "" {
				h = signed(t, name, "mine", "evt_noid", fresh, testBody("evt_noid"))
				h.Del(tr.IDHeader)
				expect(t, "no id header", j.Judge(h, testBody("evt_noid"), time.Time{}), Malformed, tr.IDHeader+" missing")
				h = signed(t, name, "mine", "evt_twice", fresh, testBody("evt_twice"))
				h.Add(tr.IDHeader, "evt_other")
				expect(t, "id twice", j.Judge(h, testBody("evt_twice"), time.Time{}), Malformed, tr.IDHeader+" sent 2 times")
			}

			if tr.Timestamped {
				body = testBody("evt_stale")
				v = j.Judge(signed(t, name, "mine", "evt_stale", judgeNow.Add(-10*time.Minute), body), body, time.Time{})
				expect(t, "stale", v, Invalid, "timestamp 600 s old, over the 300 s tolerance", "signature valid (secret 1 of 1")
				if v.SkewSeconds == nil || *v.SkewSeconds != 600 {
					t.Errorf("stale: skew %v", v.SkewSeconds)
				}
				body = testBody("evt_future")
				v = j.Judge(signed(t, name, "mine", "evt_future", judgeNow.Add(7*time.Minute), body), body, time.Time{})
				expect(t, "future", v, Invalid, "timestamp 420 s in the future, over the 300 s tolerance")
				body = testBody("evt_both")
				v = j.Judge(signed(t, name, "other", "evt_both", judgeNow.Add(-time.Hour), body), body, time.Time{})
				expect(t, "forged and stale", v, Invalid, "signature: ", "timestamp 3600 s old")
				// Just inside the tolerance, either way.
				body = testBody("evt_edge")
				expect(t, "edge", j.Judge(signed(t, name, "mine", "evt_edge", judgeNow.Add(-299*time.Second), body), body, time.Time{}), Valid, "skew 299 s")

				// Malformed: a timestamp that is not unix seconds, signed over as text.
				body = testBody("evt_badts")
				lit, ok := an.SignLiteral("evt_badts", "12ab", body)
				if !ok {
					t.Fatal("SignLiteral")
				}
				h = http.Header{}
				for k, vs := range lit {
					h[k] = vs
				}
				v = j.Judge(h, body, time.Time{})
				expect(t, "bad timestamp", v, Malformed, `"12ab" is not unix seconds`)
				if tr.TimestampHeader != "" {
					h = signed(t, name, "mine", "evt_nots", fresh, testBody("evt_nots"))
					h.Del(tr.TimestampHeader)
					expect(t, "no timestamp", j.Judge(h, testBody("evt_nots"), time.Time{}), Malformed, tr.TimestampHeader+" missing")
				}
			}

			// A list of signatures: which entry matched.
			h = signed(t, name, "mine", "evt_list", fresh, testBody("evt_list"))
			valid := h.Get(tr.SignatureHeader)
			bogusSig := strings.Repeat("a", 64)
			if an.SignatureEncoding() == "base64" {
				bogusSig = strings.Repeat("A", 43) + "="
			}
			for i, l := range an.SignatureLists(valid, bogusSig) {
				h.Set(tr.SignatureHeader, l.Value)
				v = j.Judge(h, testBody("evt_list"), time.Time{})
				want := "entry 1 of 2"
				if i > 0 {
					want = fmt.Sprintf("entry %d of %d", an.SignatureCount(l.Value), an.SignatureCount(l.Value))
				}
				expect(t, "list "+l.Note, v, Valid, want)
			}

			// Retry marks, where the provider sends them.
			body = testBody("evt_retry")
			h = signed(t, name, "mine", "evt_retry", fresh, body)
			signature.SetRetryHeaders(name, h, 3)
			v = j.Judge(h, body, time.Time{})
			if len(tr.RetryHeaders) > 0 {
				expect(t, "retry", v, Valid, "retry (X-Slack-Retry-Num: 2, X-Slack-Retry-Reason: http_error)")
				if v.Retry != "X-Slack-Retry-Num: 2, X-Slack-Retry-Reason: http_error" {
					t.Errorf("retry: %q", v.Retry)
				}
			} else if v.Retry != "" {
				t.Errorf("retry marks on %s: %q", name, v.Retry)
			}

			// No secret: the signature is shown, not judged; the rest still is.
			open := newTestJudge(t, name)
			body = testBody("evt_open")
			v = open.Judge(signed(t, name, "other", "evt_open", fresh, body), body, time.Time{})
			expect(t, "unjudged", v, Unjudged, "signature not judged (no --secret)")
			if tr.Timestamped {
				body = testBody("evt_open_stale")
				expect(t, "unjudged stale", open.Judge(signed(t, name, "other", "evt_open_stale", judgeNow.Add(-time.Hour), body), body, time.Time{}),
					Invalid, "timestamp 3600 s old")
			}
			h = signed(t, name, "other", "evt_open_enc", fresh, testBody("evt_open_enc"))
			pre, sig = an.SplitSignature(h.Get(tr.SignatureHeader))
			h.Set(tr.SignatureHeader, pre+strings.Repeat("!", len(sig)))
			expect(t, "unjudged malformed", open.Judge(h, testBody("evt_open_enc"), time.Time{}), Malformed, "not in the scheme's form")
			body = testBody("evt_open")
			expect(t, "unjudged duplicate", open.Judge(signed(t, name, "other", "evt_open", fresh, body), body, time.Time{}), Unjudged, "seen 1 time before")
		})
	}
}

// TestJudgeNeverShowsSecretsOrSignatures: no verdict carries a secret or a signature value.
func TestJudgeNeverShowsSecretsOrSignatures(t *testing.T) {
	for _, name := range signature.Names() {
		mine := secretOf(name, "mine")
		j := newTestJudge(t, name, mine)
		for _, who := range []string{"mine", "other"} {
			body := testBody("evt_" + who)
			h := signed(t, name, who, "evt_"+who, judgeNow, body)
			v := j.Judge(h, body, time.Time{})
			text := fmt.Sprintf("%+v", v)
			_, sig := signature.AnatomyOf(mustScheme(t, name, mine)).SplitSignature(h.Get(mustScheme(t, name, mine).Traits().SignatureHeader))
			if strings.Contains(text, mine) || strings.Contains(text, secretOf(name, "other")) || strings.Contains(text, sig) {
				t.Errorf("%s/%s: the verdict shows a secret or the signature: %s", name, who, text)
			}
		}
	}
}

func mustScheme(t *testing.T, name, secret string) signature.Scheme {
	t.Helper()
	s, err := signature.New(name, secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJudgeForgetsOldIDs: the ids remembered for duplicates are bounded; the oldest goes.
func TestJudgeForgetsOldIDs(t *testing.T) {
	j, err := NewJudge("standard", nil, WithMaxIDs(3), WithJudgeClock(func() time.Time { return judgeNow }))
	if err != nil {
		t.Fatal(err)
	}
	judge := func(id string) Verdict {
		h := signed(t, "standard", "any", id, judgeNow, testBody(id))
		return j.Judge(h, testBody(id), time.Time{})
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		judge(id)
	}
	if n := j.IDsRemembered(); n != 3 {
		t.Errorf("%d ids remembered, want 3", n)
	}
	if v := judge("b"); v.Seen != 1 {
		t.Errorf("b: seen %d, want 1", v.Seen)
	}
	if v := judge("a"); v.Seen != 0 {
		t.Errorf("a (forgotten): seen %d, want 0", v.Seen)
	}
}

func TestNewJudgeRefusesBadInput(t *testing.T) {
	if _, err := NewJudge("nope", nil); err == nil {
		t.Error("unknown scheme accepted")
	}
	if _, err := NewJudge("standard", []string{"not-a-whsec"}); err == nil || !strings.Contains(err.Error(), "secret 1 of 1") {
		t.Errorf("bad secret: %v", err)
	}
}
