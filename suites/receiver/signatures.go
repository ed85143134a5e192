package receiver

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookproof/hookproof/reference/event"
	"github.com/hookproof/hookproof/reports"
	"github.com/hookproof/hookproof/suites/harness"
	. "github.com/onsi/ginkgo/v2"
)

// forged is one request a rejection case sends: a valid delivery broken in one way.
type forged struct {
	note   string
	header http.Header
	body   []byte
}

// forgery breaks a valid delivery d (signed as h at ts) in the ways one requirement names.
type forgery func(e *env, c *harness.Check, d delivery, h http.Header, ts time.Time) []forged

// Signatures: Standard Webhooks "Verifying webhook authenticity" and "Signature scheme", and
// the provider docs for the other schemes. Every case here is about the status code; whether a
// rejected delivery still had an effect is RCV-SIG-014, which needs the sink.
func (e *env) signatures() {
	Describe("Signatures", Label("signatures"), func() {
		harness.Case("RCV-SIG-001", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			resp := e.accept(ctx, c, "correctly signed delivery", d, 0)
			c.Assert(resp.OK(), "a 2xx acknowledgement", resp.Describe())
		})

		harness.Table("a broken signature is rejected with 4xx", func(ctx SpecContext, c *harness.Check, f forgery) {
			d := e.event("", 1)
			ts := time.Now()
			h := e.sign(d, ts)
			e.expectRejected(ctx, c, f(e, c, d, h, ts))
		},
			harness.Row[forgery]("RCV-SIG-002", forgeWrongSignature),
			harness.Row[forgery]("RCV-SIG-003", forgeOtherSecret),
			harness.Row[forgery]("RCV-SIG-004", forgeMissingHeaders),
			harness.Row[forgery]("RCV-SIG-005", forgeTruncated),
			harness.Row[forgery]("RCV-SIG-006", forgeMalformed),
			harness.Row[forgery]("RCV-SIG-007", forgeEmpty),
			harness.Row[forgery]("RCV-SIG-008", forgeNonIntegerTimestamp),
			harness.Row[forgery]("RCV-SIG-011", forgeChangedBody),
			harness.Row[forgery]("RCV-SIG-012", forgeOversized),
			harness.Row[forgery]("RCV-SIG-013", forgeNonASCII),
			harness.Row[forgery]("RCV-SIG-016", forgeMissingUnsignedID),
		)

		harness.Case("RCV-SIG-009", func(ctx SpecContext, c *harness.Check) {
			lists := e.signatureLists()
			var bad []string
			for _, l := range lists {
				d := e.event("", 1)
				resp := e.deliver(ctx, c, viaChaos, wantAccept, func(int) harness.Request {
					h := e.sign(d, time.Time{})
					return e.request(l.note, e.withSignature(h, l.build(h, d)), d.Body)
				})
				if !resp.OK() {
					bad = append(bad, l.note+": "+resp.Describe())
				}
			}
			c.Assert(len(bad) == 0, fmt.Sprintf("2xx for each of the %d signature lists", len(lists)), strings.Join(bad, "\n"))
		})

		harness.Case("RCV-SIG-010", func(ctx SpecContext, c *harness.Check) {
			var d delivery
			if len(e.templates) > 0 {
				// The user's own event, laid out oddly: same JSON value, other bytes.
				d = e.event("", 1)
				d.Body = oddLayout(d.Body)
			} else {
				id, obj := e.newID(), e.newObject()
				d = delivery{ID: id, ObjectID: obj, Seq: 1, Body: e.oddBody(id, obj, 1)}
				if e.sink != nil {
					e.sink.Register(id, obj, 1)
				}
			}
			resp := e.accept(ctx, c, "body with non-ASCII UTF-8, odd whitespace, unusual key order and escapes", d, 0)
			c.Assert(resp.OK(), "a 2xx acknowledgement (the signature covers these exact bytes)",
				resp.Describe()+"\n(a receiver that parses and re-serializes the body before verifying fails here)")
		})

		harness.Case("RCV-SIG-014", func(ctx SpecContext, c *harness.Check) {
			var ids []string
			for _, f := range []forgery{forgeWrongSignature, forgeOtherSecret, forgeChangedBody, forgeStale, forgeMissingSignature} {
				d := e.event("", 1)
				ts := time.Now()
				for _, fr := range f(e, c, d, e.sign(d, ts), ts) {
					e.reject(ctx, c, fr.note, fr.header, fr.body)
				}
				ids = append(ids, d.ID)
			}
			// A valid marker sent after the forgeries: once its effect is in, the receiver has
			// had time to act on what came before it.
			// Without the marker's ack or effect, an effect of a forgery still fails the case,
			// but their absence proves nothing: the case is not observable.
			marker := e.event("", 1)
			resp := e.accept(ctx, c, "valid marker delivery", marker, 0)
			seen := resp.OK() && e.awaitEffect(ctx, marker.ID)
			e.noEffects(ctx, c, ids)
			switch {
			case !resp.OK():
				notAcked("valid marker", "RCV-SIG-001", resp)
			case !seen:
				noEffectReported("the acked marker")
			}
		})

		harness.Case("RCV-SIG-015", func(ctx SpecContext, c *harness.Check) {
			d := e.event("", 1)
			ts := time.Now()
			valid := e.sign(d, ts)
			_, want := e.sigParts(valid)
			resp := e.reject(ctx, c, "delivery signed with another secret", e.signWith(e.otherSch, d.ID, d.Body, ts), d.Body)
			if resp.Err != nil {
				// No answer reveals nothing, and proves nothing either.
				harness.NotObservable("no answer to the forgery; see RCV-SIG-003 (nothing to look at: %s)", resp.Describe())
			}
			var leaked []string
			seen := string(resp.Body)
			for k, vs := range resp.Header {
				seen += "\n" + k + ": " + strings.Join(vs, ",")
			}
			if len(want) >= 8 && strings.Contains(seen, want) {
				leaked = append(leaked, "the expected signature")
			}
			// The secret in any encoding (raw, base64 of either alphabet padded or not, hex,
			// URL encoding; for a whsec_ secret also its key bytes in each of them).
			for _, form := range reports.SecretForms(e.secret) {
				if strings.Contains(seen, form) {
					leaked = append(leaked, "the secret (in one of its encodings)")
					break
				}
			}
			c.Assert(len(leaked) == 0, "a rejection that reveals nothing a forger could use",
				"the answer contains "+strings.Join(leaked, " and "))
		})
	})
}

// expectRejected sends each forged request and requires a 4xx for every one.
func (e *env) expectRejected(ctx SpecContext, c *harness.Check, fs []forged) {
	var bad, all []string
	for _, f := range fs {
		resp := e.reject(ctx, c, f.note, f.header, f.body)
		line := f.note + ": " + resp.Describe()
		all = append(all, line)
		if !resp.Is4xx() {
			bad = append(bad, line)
		}
	}
	if len(fs) == 1 {
		c.Assert(len(bad) == 0, "a 4xx rejection (never 2xx, never 5xx)", strings.Join(bad, "\n"))
		return
	}
	c.Assert(len(bad) == 0, fmt.Sprintf("a 4xx rejection (never 2xx, never 5xx) for each of %d requests", len(fs)),
		strings.Join(bad, "\n"))
}

func forgeWrongSignature(e *env, _ *harness.Check, d delivery, h http.Header, ts time.Time) []forged {
	other, _ := changeBody(d.Body)
	return []forged{{"signature of other content (same id and timestamp)", e.signWith(e.scheme, d.ID, other, ts), d.Body}}
}

func forgeOtherSecret(e *env, _ *harness.Check, d delivery, _ http.Header, ts time.Time) []forged {
	return []forged{{"signed with another secret", e.signWith(e.otherSch, d.ID, d.Body, ts), d.Body}}
}

func forgeMissingHeaders(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	var out []forged
	// An id header the signature does not cover is RCV-SIG-016's (SHOULD): without it the
	// delivery is still authentic.
	for _, name := range []string{e.signedIDHeader(), e.traits.TimestampHeader, e.traits.SignatureHeader} {
		if name == "" {
			continue
		}
		m := h.Clone()
		m.Del(name)
		note := "without " + name
		if name == e.traits.SignatureHeader {
			for _, l := range e.traits.LegacySignatureHeaders {
				m.Del(l) // a library may fall back to it (go-github: the sha1 X-Hub-Signature)
				note += " and " + l
			}
		}
		out = append(out, forged{note, m, d.Body})
	}
	return out
}

// signedIDHeader is the scheme's id header when its signature covers it, else "".
func (e *env) signedIDHeader() string {
	if e.traits.IDSigned {
		return e.traits.IDHeader
	}
	return ""
}

// forgeMissingUnsignedID drops an id header the signature does not cover (github, shopify):
// still authentic, but with nothing to deduplicate on.
func forgeMissingUnsignedID(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	if e.traits.IDHeader == "" || e.traits.IDSigned {
		return nil
	}
	m := h.Clone()
	m.Del(e.traits.IDHeader)
	return []forged{{"validly signed, without " + e.traits.IDHeader, m, d.Body}}
}

func forgeMissingSignature(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	m := h.Clone()
	m.Del(e.traits.SignatureHeader)
	for _, l := range e.traits.LegacySignatureHeaders {
		m.Del(l)
	}
	return []forged{{"without " + e.traits.SignatureHeader, m, d.Body}}
}

func forgeStale(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	if !e.traits.Timestamped {
		return nil
	}
	return []forged{{"timestamp a minute past the tolerance", e.sign(d, time.Now().Add(-e.tolerance-time.Minute)), d.Body}}
}

func forgeTruncated(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	pre, sig := e.sigParts(h)
	return []forged{{"signature cut to half its length", e.withSignature(h, pre+sig[:len(sig)/2]), d.Body}}
}

func forgeMalformed(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	pre, sig := e.sigParts(h)
	unprefixed := e.anatomy.Unprefixed(h.Get(e.traits.SignatureHeader))
	return []forged{
		{"signature that is not " + e.encoding(), e.withSignature(h, pre+strings.Repeat("~", len(sig))), d.Body},
		{"signature without its version prefix", e.withSignature(h, unprefixed), d.Body},
	}
}

func forgeEmpty(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	pre, _ := e.sigParts(h)
	return []forged{{fmt.Sprintf("empty signature entry %q", pre), e.withSignature(h, pre), d.Body}}
}

func forgeNonIntegerTimestamp(e *env, c *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	ts := unixNow() + ".5"
	if signed, ok := e.signLiteral(d.ID, ts, d.Body); ok {
		return []forged{{"timestamp " + ts + ", correctly signed over that text", signed, d.Body}}
	}
	// Without an HMAC key (an ed25519 secret) the literal cannot be signed: swap the header,
	// which also breaks the signature, and say so.
	c.Note("the non-integer timestamp could not be signed with this secret; the signature is also invalid")
	m := h.Clone()
	m.Set(e.traits.TimestampHeader, ts)
	return []forged{{"timestamp " + ts, m, d.Body}}
}

func forgeChangedBody(_ *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	changed, how := changeBody(d.Body)
	return []forged{{"body changed after signing (" + how + ")", h.Clone(), changed}}
}

// changeBody returns body with its content changed, and how: hookproof's events get their
// status changed from updated to refunded; an --event template's copy gets a member added
// first (its values are the user's, and any JSON object takes one more).
func changeBody(body []byte) ([]byte, string) {
	if c := bytes.Replace(body, []byte(`"status":"updated"`), []byte(`"status":"refunded"`), 1); !bytes.Equal(c, body) {
		return c, "status updated → refunded"
	}
	i := bytes.IndexByte(body, '{')
	if i < 0 {
		return append(slices.Clip(body), ' '), "a space added"
	}
	sep := ","
	if bytes.HasPrefix(bytes.TrimSpace(body[i+1:]), []byte("}")) {
		sep = ""
	}
	out := append(slices.Clip(body[:i+1]), `"refunded":true`+sep...)
	return append(out, body[i+1:]...), `member "refunded":true added`
}

func forgeOversized(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	pre, _ := e.sigParts(h)
	return []forged{{"16 KiB signature header", e.withSignature(h, pre+strings.Repeat("A", 16<<10)), d.Body}}
}

func forgeNonASCII(e *env, _ *harness.Check, d delivery, h http.Header, _ time.Time) []forged {
	pre, sig := e.sigParts(h)
	return []forged{{"signature header with non-ASCII bytes", e.withSignature(h, pre+"sïgnätürë✓"+sig), d.Body}}
}

// encoding names how the scheme encodes a signature.
func (e *env) encoding() string { return e.anatomy.SignatureEncoding() }

// sigList is one signature header holding several entries, one of them valid.
type sigList struct {
	note  string
	build func(valid http.Header, d delivery) string
}

// signatureLists are the lists RCV-SIG-009 sends, as the scheme lays out a list: the valid
// entry first, last, and after an entry of a version the receiver does not know.
func (e *env) signatureLists() []sigList {
	bogus := func(d delivery, valid http.Header) string {
		ts := time.Now()
		if e.traits.Timestamped {
			ts = validTimestamp(e, valid)
		}
		_, s := e.sigParts(e.signWith(e.otherSch, d.ID, d.Body, ts))
		return s
	}
	var out []sigList
	for i, l := range e.anatomy.SignatureLists("", "") {
		out = append(out, sigList{note: l.Note, build: func(h http.Header, d delivery) string {
			return e.anatomy.SignatureLists(h.Get(e.traits.SignatureHeader), bogus(d, h))[i].Value
		}})
	}
	return out
}

// validTimestamp reads the signed timestamp back from valid headers.
func validTimestamp(e *env, h http.Header) time.Time {
	v, _ := e.anatomy.SignedTimestamp(h)
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		return time.Now()
	}
	return time.Unix(n, 0)
}

// oddBody is a valid envelope no JSON encoder would produce: CRLF and tabs, spaces before
// colons, keys out of the usual order, non-ASCII UTF-8, escapes (\u00e9, \/) and a number in
// exponent form. Only a receiver that verifies the bytes it received accepts it.
// For a provider shape (a Stripe event, a Slack event_callback) the odd bytes are its data's.
func (e *env) oddBody(id, obj string, seq int64) []byte {
	if shape := event.Shape(e.traits.BodyShape); shape != event.ShapeEnvelope {
		data := []byte("{ \"seq\": " + fmt.Sprint(seq) + " , \"object_id\":\"" + obj + "\",\t\"status\" : \"updated\",\n" +
			"     \"note\":\"Grüße aus Köln — 東京 ✓\", \"escaped\":\"caf\\u00e9 \\/ <b>&amp;\", \"z\": 1.0e0 }")
		env := event.Envelope{ID: id, Type: "order.updated", Timestamp: time.Now().UTC(), Data: data}
		return shape.Append(nil, &env)
	}
	return oddBody(id, obj, seq)
}

// oddLayout lays a JSON object out the way no encoder would, keeping its value: CRLF and tabs
// after commas, spaces around colons, slashes in strings escaped (\/), and a member with
// non-ASCII UTF-8 and escapes added first (providers add members to their events without
// notice, so receivers ignore unknown ones).
func oddLayout(b []byte) []byte {
	out := make([]byte, 0, len(b)*5/4+96)
	inString, escaped := false, false
	added := len(bytes.TrimSpace(b)) < 3 // {} gets no member: it would need no comma
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			case c == '/':
				out = append(out, '\\')
			}
			out = append(out, c)
		case c == '"':
			inString = true
			out = append(out, c)
		case c == '{' && !added:
			added = true
			out = append(out, "{\r\n\t\"hookproof_note\" :\"Grüße aus Köln — 東京 ✓ caf\\u00e9 \\/ <b>&amp;\" ,"...)
		case c == ',':
			out = append(out, ",\r\n\t"...)
		case c == ':':
			out = append(out, " :  "...)
		default:
			out = append(out, c)
		}
	}
	return out
}

func oddBody(id, obj string, seq int64) []byte {
	return []byte("{\r\n\t\"type\" :  \"order.updated\",\n" +
		"  \"data\":{ \"seq\": " + fmt.Sprint(seq) + " , \"object_id\":\"" + obj + "\",\t\"status\" : \"updated\",\n" +
		"     \"note\":\"Grüße aus Köln — 東京 ✓\", \"escaped\":\"caf\\u00e9 \\/ <b>&amp;\", \"z\": 1.0e0 },\n" +
		" \"id\" : \"" + id + "\" ,\"timestamp\":\"2026-01-02T03:04:05.000+00:00\"   }\n")
}
