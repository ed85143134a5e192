package load

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Cap: time.Second}
	tests := []struct {
		attempt  int
		u        float64
		min, max time.Duration
	}{
		{2, 0, 50 * time.Millisecond, 50 * time.Millisecond},
		{2, 0.999, 50 * time.Millisecond, 100 * time.Millisecond},
		{3, 0.5, 100 * time.Millisecond, 200 * time.Millisecond},
		{5, 0, 400 * time.Millisecond, 400 * time.Millisecond},
		{6, 1, time.Second, time.Second}, // 1.6 s capped
		{50, 0.3, 500 * time.Millisecond, time.Second},
		{1, 0, 50 * time.Millisecond, 50 * time.Millisecond}, // below 2 counts as the first retry
	}
	for _, tt := range tests {
		got := b.Delay(tt.attempt, tt.u)
		if got < tt.min || got > tt.max {
			t.Errorf("Delay(%d, %v) = %s, want %s..%s", tt.attempt, tt.u, got, tt.min, tt.max)
		}
	}
	if d := (Backoff{}).Delay(3, 0.5); d != 0 {
		t.Errorf("a zero backoff waits %s", d)
	}
	if b.Delay(4, 0.25) != b.Delay(4, 0.25) {
		t.Error("the same draw must give the same delay")
	}
}

func TestRetryQueueOrderAndBlocking(t *testing.T) {
	q := newRetryQueue(time.Now)
	now := time.Now()
	q.push(retry{n: 3, attempt: 2, due: now.Add(60 * time.Millisecond)})
	q.push(retry{n: 1, attempt: 2, due: now.Add(-time.Second)})
	q.push(retry{n: 2, attempt: 2, due: now.Add(20 * time.Millisecond)})
	ctx := context.Background()
	var got []uint64
	for range 3 {
		r, err := q.pop(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().Before(r.due) {
			t.Errorf("retry %d popped before it was due", r.n)
		}
		got = append(got, r.n)
	}
	if got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("popped %v, want due order 1 2 3", got)
	}
}

func TestRetryQueueWakesOnPushAndClose(t *testing.T) {
	q := newRetryQueue(time.Now)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := q.pop(context.Background())
			errs <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	q.push(retry{n: 9, due: time.Now()})
	if err := <-errs; err != nil {
		t.Fatalf("a waiter did not get the pushed retry: %v", err)
	}
	q.close()
	wg.Wait()
	for range 2 {
		if err := <-errs; !errors.Is(err, errQueueClosed) {
			t.Errorf("waiter ended with %v, want errQueueClosed", err)
		}
	}
	q.push(retry{n: 10, due: time.Now()}) // ignored once closed
	if q.len() != 0 {
		t.Error("a closed queue took a push")
	}
}

func TestRetryQueueHonoursContext(t *testing.T) {
	q := newRetryQueue(time.Now)
	q.push(retry{n: 1, due: time.Now().Add(time.Hour)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := q.pop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pop = %v, want the context's error", err)
	}
	if len(q.left()) != 1 {
		t.Error("the retry not yet due must stay queued")
	}
}
