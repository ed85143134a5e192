package load

import (
	"io"
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The per-attempt costs of the engine, without a network, for profiling: what the main
// targeter adds to a Vegeta target (the ledger and the token; compare BenchmarkPlainTarget),
// and what the recording transport adds around a round trip (signing the attempt included).

func BenchmarkMainTargeter(b *testing.B) {
	cfg := Config{URL: "http://127.0.0.1:1/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Duration: time.Second}
	cfg.withDefaults()
	r := &run{cfg: cfg, start: time.Now(), attackURL: cfg.URL, idPrefix: "msg_0123456789abcdef_1_"}
	r.sg, _ = newSigner("standard", cfg.Secret, wrongSecretFor("standard", 1, cfg.Secret), "tag", nil)
	r.queue = newRetryQueue(time.Now)
	b.ReportAllocs()
	for b.Loop() {
		var tgt vegeta.Target
		if err := r.mainTargeter(&tgt); err != nil {
			b.Fatal(err)
		}
		if _, err := tgt.Request(); err != nil {
			b.Fatal(err)
		}
		// As the attempt's outcome is recorded: its slot is free again.
		tok, _ := r.slots.taken(tgt.URL[len(r.attackURL)+1:])
		r.mu.Lock()
		r.slots.releaseLocked(tok.slot)
		r.mu.Unlock()
	}
}

func BenchmarkPlainTarget(b *testing.B) {
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: "http://127.0.0.1:1/hook", Body: make([]byte, 190)})
	b.ReportAllocs()
	for b.Loop() {
		var tgt vegeta.Target
		if err := tr(&tgt); err != nil {
			b.Fatal(err)
		}
		if _, err := tgt.Request(); err != nil {
			b.Fatal(err)
		}
	}
}

// cannedRT answers every request 200 with an empty body, at once.
type cannedRT struct{}

func (cannedRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

func BenchmarkRecorder(b *testing.B) {
	cfg := Config{URL: "http://127.0.0.1:1/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Duration: time.Second}
	cfg.withDefaults()
	r := &run{cfg: cfg, start: time.Now(), attackURL: cfg.URL, idPrefix: "msg_0123456789abcdef_1_", interval: time.Millisecond}
	r.sg, _ = newSigner("standard", cfg.Secret, wrongSecretFor("standard", 1, cfg.Secret), "tag", nil)
	r.queue = newRetryQueue(time.Now)
	defer r.initSends()()
	rec := &recorder{base: cannedRT{}, r: r}
	var tgt vegeta.Target
	if err := r.mainTargeter(&tgt); err != nil {
		b.Fatal(err)
	}
	tok, _ := r.slots.taken(tgt.URL[len(r.attackURL)+1:])
	b.ReportAllocs()
	for b.Loop() {
		// The attempt's slot is freed when it is recorded: park it again, as a targeter would.
		r.mu.Lock()
		tgt.URL, _ = r.slots.parkLocked(r.attackURL, tok)
		r.mu.Unlock()
		req, _ := tgt.Request()
		req.Header.Set("X-Vegeta-Seq", "12")
		resp, err := rec.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
