package signature

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestAnatomy: for every scheme, what the anatomy says about a signature header agrees with
// what Sign writes and Verify accepts.
func TestAnatomy(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s := mustNew(t, name, testSecret(name), fixedClock(testNow))
			a := AnatomyOf(s)
			tr := s.Traits()
			body := envelope("evt_anatomy")
			h := mustSign(t, s, Message{ID: "msg_anatomy", Timestamp: testNow, Body: body})
			v := h.Get(tr.SignatureHeader)
			if !a.WellFormed(v) {
				t.Errorf("WellFormed(%q) = false for a header Sign wrote", v)
			}
			if a.WellFormed(v + "~") {
				t.Errorf("WellFormed accepts a stray character")
			}
			pre, sig := a.SplitSignature(v)
			if sig == "" || len(pre)+len(sig) > len(v) || v[:len(pre)] != pre {
				t.Errorf("SplitSignature(%q) = %q, %q", v, pre, sig)
			}
			if a.SignatureCount(v) != 1 {
				t.Errorf("SignatureCount = %d, want 1", a.SignatureCount(v))
			}
			if u := a.Unprefixed(v); u == v || a.WellFormed(u) {
				t.Errorf("Unprefixed(%q) = %q: still well formed", v, u)
			}
			if enc := a.SignatureEncoding(); enc != "hex" && enc != "base64" {
				t.Errorf("encoding %q", enc)
			}
			ts, timed := a.SignedTimestamp(h)
			if timed != tr.Timestamped || (timed && ts != strconv.FormatInt(testNow.Unix(), 10)) {
				t.Errorf("SignedTimestamp = %q, %v; Timestamped %v", ts, timed, tr.Timestamped)
			}
			lh, ok := a.SignLiteral("msg_anatomy", strconv.FormatInt(testNow.Unix(), 10), body)
			if ok != tr.Timestamped {
				t.Errorf("SignLiteral ok = %v, Timestamped %v", ok, tr.Timestamped)
			}
			if ok {
				if _, err := s.Verify(lh, body); err != nil {
					t.Errorf("SignLiteral over the integer timestamp does not verify: %v", err)
				}
			}
			for _, l := range a.SignatureLists(v, sig) {
				m := http.Header{}
				for k, vs := range h {
					m[k] = vs
				}
				m.Set(tr.SignatureHeader, l.Value)
				if _, err := s.Verify(m, body); err != nil {
					t.Errorf("list %q (%s) does not verify: %v", l.Note, l.Value, err)
				}
			}
		})
	}
}

// TestEntries: each entry Entries splits a signature list into verifies alone exactly when it
// is the valid signature, and a single signature is its own one entry.
func TestEntries(t *testing.T) {
	for _, name := range Names() {
		s := mustNew(t, name, testSecret(name))
		tr, an := s.Traits(), AnatomyOf(s)
		body := envelope("evt_entries")
		h := mustSign(t, s, Message{ID: "msg_entries", Timestamp: testNow, Body: body})
		valid := h.Get(tr.SignatureHeader)
		if got := an.Entries(valid); len(got) != 1 {
			t.Errorf("%s: one signature split into %d entries", name, len(got))
		}
		bogus := strings.Repeat("a", 64)
		if an.SignatureEncoding() == "base64" {
			bogus = strings.Repeat("A", 43) + "="
		}
		for _, l := range an.SignatureLists(valid, bogus) {
			ok := 0
			for _, e := range an.Entries(l.Value) {
				one := h.Clone()
				one.Set(tr.SignatureHeader, e)
				if _, err := s.Verify(one, body); err == nil {
					ok++
				}
			}
			if ok != 1 {
				t.Errorf("%s: %s: %d entries verify alone, want 1", name, l.Note, ok)
			}
		}
	}
}
