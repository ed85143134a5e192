package knownbad

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hookproof/hookproof/reference/store"
)

// AckBeforeDurable names the flaw of a receiver that acknowledges a delivery before its write
// is durable. Unlike the in-memory flaws above it needs a real store and a crash to show: a
// graceful shutdown flushes and loses nothing, a SIGKILL loses every acknowledged delivery still
// in memory, which the sender will never retry. The crash-consistency suite must catch it.
const AckBeforeDurable = "ack-before-durable"

// DefaultFlushEvery is how long an acknowledged delivery may wait in memory before LazyStore
// writes it: long enough that a crash during a load run always catches some.
const DefaultFlushEvery = 2 * time.Second

// LazyStore wraps a receiver's store.Store and breaks its one promise: Insert returns at once,
// reporting every delivery stored, while the real, durable insert happens in the background
// every flushEvery. Everything else is passed through. Build it with NewLazyStore; it is safe
// for concurrent use; Close flushes what is buffered, then closes the inner store.
type LazyStore struct {
	inner store.Store
	every time.Duration

	mu      sync.Mutex
	buf     []store.Delivery
	pending map[string]bool // ids in buf

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var _ store.Store = (*LazyStore)(nil)

// NewLazyStore returns inner behind the ack-before-durable flaw, flushing every flushEvery
// (DefaultFlushEvery when zero or less).
func NewLazyStore(inner store.Store, flushEvery time.Duration) (*LazyStore, error) {
	if inner == nil {
		return nil, errors.New("knownbad: lazy store: no inner store")
	}
	if flushEvery <= 0 {
		flushEvery = DefaultFlushEvery
	}
	s := &LazyStore{inner: inner, every: flushEvery, pending: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.flushLoop()
	return s, nil
}

// Insert is the flaw: it keeps ds in memory and says they are stored. A delivery already
// waiting in memory is reported as not inserted, like the honest store's duplicate.
func (s *LazyStore) Insert(_ context.Context, ds []store.Delivery) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inserted := make([]bool, len(ds))
	for i, d := range ds {
		if s.pending[d.ID] {
			continue
		}
		s.pending[d.ID] = true
		s.buf = append(s.buf, d)
		inserted[i] = true
	}
	return inserted, nil
}

func (s *LazyStore) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = s.flush(context.Background())
		case <-s.stop:
			return
		}
	}
}

// flush writes what is buffered; on error it keeps the buffer for the next tick.
func (s *LazyStore) flush(ctx context.Context) error {
	s.mu.Lock()
	batch := s.buf
	s.buf = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if _, err := s.inner.Insert(ctx, batch); err != nil {
		s.mu.Lock()
		s.buf = append(batch, s.buf...)
		s.mu.Unlock()
		return fmt.Errorf("knownbad: lazy store: flush %d deliveries: %w", len(batch), err)
	}
	s.mu.Lock()
	for _, d := range batch {
		delete(s.pending, d.ID)
	}
	s.mu.Unlock()
	return nil
}

// Buffered counts deliveries acknowledged and not yet written: what a crash now would lose.
func (s *LazyStore) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// Pending implements store.Store.
func (s *LazyStore) Pending(ctx context.Context, after int64, limit int) ([]store.Row, error) {
	return s.inner.Pending(ctx, after, limit)
}

// Process implements store.Store.
func (s *LazyStore) Process(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.inner.Process(ctx, fn)
}

// Outbox implements store.Store.
func (s *LazyStore) Outbox(ctx context.Context, limit int) ([]store.Queued, error) {
	return s.inner.Outbox(ctx, limit)
}

// Reported implements store.Store.
func (s *LazyStore) Reported(ctx context.Context, seqs []int64) error {
	return s.inner.Reported(ctx, seqs)
}

// Effects implements store.Store.
func (s *LazyStore) Effects(ctx context.Context, webhookID string) ([]store.Effect, error) {
	return s.inner.Effects(ctx, webhookID)
}

// Stats implements store.Store; deliveries still in memory are not counted.
func (s *LazyStore) Stats(ctx context.Context) (store.Stats, error) { return s.inner.Stats(ctx) }

// Close stops the background flusher, writes what is left, and closes the inner store.
func (s *LazyStore) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = errors.Join(s.flush(ctx), s.inner.Close())
	})
	return err
}
