package load

import (
	"testing"
	"time"
)

// The two per-attempt costs of a body: rendering the envelope, and rendering plus signing it.

func BenchmarkEnvelope(b *testing.B) {
	e := loadEvent{id: "msg_0123456789abcdef_1_4242", at: time.Date(2025, 11, 29, 10, 5, 0, 123000000, time.UTC), object: 7, seq: 3, amount: 1234}
	buf := make([]byte, 0, envelopeCap)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.envelope(buf[:0], "tag", 0)
	}
}

func BenchmarkSign(b *testing.B) {
	sg, err := newSigner("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wrongSecretFor("standard", 1, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "tag", nil)
	if err != nil {
		b.Fatal(err)
	}
	e := loadEvent{id: "msg_0123456789abcdef_1_4242", at: time.Now(), object: 7, seq: 3, amount: 1234}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := sg.sign(&e, "", now); err != nil {
			b.Fatal(err)
		}
	}
}
