package signature

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// benchBody is a realistic ~1 KiB event envelope, the size hookproof sends under load.
func benchBody() []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W","type":"order.updated","timestamp":"2026-11-29T12:00:00Z","data":{"object_id":"ord_42","seq":3,"note":"`)
	for b.Len() < 1024-3 {
		b.WriteByte('x')
	}
	b.WriteString(`"}}`)
	return b.Bytes()
}

// BenchmarkVerify measures the cost of verifying one delivery per scheme: the work a receiver
// does on every request before it touches its database.
func BenchmarkVerify(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	body := benchBody()
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			s, err := New(name, testSecret(name), WithClock(func() time.Time { return now }))
			if err != nil {
				b.Fatal(err)
			}
			h, err := s.Sign(Message{ID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Timestamp: now, Body: body})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Verify(h, body); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Verify(h, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyEd25519 is the asymmetric Standard Webhooks variant (v1a), far costlier than v1.
func BenchmarkVerifyEd25519(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	body := benchBody()
	signer, err := New("standard", testSecretKey, WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := New("standard", testPublicKey, WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	h, err := signer.Sign(Message{ID: "msg_1", Timestamp: now, Body: body})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := verifier.Verify(h, body); err != nil {
			b.Fatal(fmt.Sprint(err))
		}
	}
}

// BenchmarkSign measures the cost of signing one delivery per scheme: the work a sender (and
// hookproof load, on every attempt) does before a request leaves.
func BenchmarkSign(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	body := benchBody()
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			s, err := New(name, testSecret(name), WithClock(func() time.Time { return now }))
			if err != nil {
				b.Fatal(err)
			}
			msg := Message{ID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Timestamp: now, Body: body}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := s.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
