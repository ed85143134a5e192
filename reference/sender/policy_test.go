package sender

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	s := Backoff(5, 100*time.Millisecond, 300*time.Millisecond)
	if s.String() != "0s,100ms,200ms,300ms,300ms" {
		t.Fatalf("Backoff = %s", s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	if d, ok := s.Next(1, 0, 0, r); !ok || d != 100*time.Millisecond {
		t.Errorf("Next(1) = %s, %v", d, ok)
	}
	if d, ok := s.Next(2, 0, time.Second, r); !ok || d != time.Second {
		t.Errorf("Next with Retry-After 1s = %s, %v; want 1s", d, ok)
	}
	if d, ok := s.Next(2, 0.1, 0, r); !ok || d < 180*time.Millisecond || d > 220*time.Millisecond {
		t.Errorf("jittered Next = %s, %v", d, ok)
	}
	if _, ok := s.Next(5, 0, 0, r); ok {
		t.Error("Next after the last attempt: want the schedule exhausted")
	}
	for code, want := range map[int]Outcome{200: Success, 204: Success, 410: Gone, 500: Failure, 301: Failure, 429: Failure} {
		resp := &http.Response{StatusCode: code, Header: http.Header{"Retry-After": {"7"}}}
		o, _, ra := Classify(resp, time.Now(), 5*time.Second)
		if o != want {
			t.Errorf("%d: %s, want %s", code, o, want)
		}
		if code == 429 && ra != 5*time.Second {
			t.Errorf("429 Retry-After 7 capped at 5s: %s", ra)
		}
	}
}
