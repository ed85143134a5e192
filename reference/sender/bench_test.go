package sender

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSend measures POST /messages through the library: one durable insert (fsync) per
// message, reported as messages/s.
func BenchmarkSend(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir()+"/outbox.db", WithAllowPrivate())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	ep, _, err := s.CreateEndpoint(context.Background(), EndpointSpec{URL: "http://127.0.0.1:1/hook", Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		if _, _, err := s.Send(context.Background(), SendRequest{EndpointID: ep.ID, Type: "order.updated",
			Data: []byte(`{"object_id":"ord_1","seq":1}`)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkDeliver measures end-to-end delivery: b.N messages stored, then delivered by the
// running sender to a receiver that answers 204 at once, reported as deliveries/s.
func BenchmarkDeliver(b *testing.B) {
	var got atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	s, err := Open(context.Background(), b.TempDir()+"/outbox.db", WithSchedule(Schedule{0, time.Second}), WithAllowPrivate())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	ep, _, err := s.CreateEndpoint(context.Background(), EndpointSpec{URL: recv.URL, Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if _, _, err := s.Send(context.Background(), SendRequest{EndpointID: ep.ID, Type: "order.updated", Data: []byte(`{}`)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	s.Start()
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}
