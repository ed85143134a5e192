package knownbad

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookproof/hookproof/reference/store"
)

// TestLazyStoreAcksBeforeDurable shows the flaw without a container: Insert says "stored", yet
// a second handle on the same file (what a restarted process would open) sees nothing until the
// flush, and a graceful Close does write everything.
func TestLazyStoreAcksBeforeDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inbox.db")
	inner, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := NewLazyStore(inner, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ds := []store.Delivery{{ID: "msg_1", Body: []byte(`{}`)}, {ID: "msg_2", Body: []byte(`{}`)}, {ID: "msg_1", Body: []byte(`{}`)}}
	got, err := lazy.Insert(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("Insert = %v, want %v", got, want)
	}
	if n := lazy.Buffered(); n != 2 {
		t.Fatalf("Buffered = %d, want 2", n)
	}
	if st, err := lazy.Stats(ctx); err != nil || st.Inbox != 0 {
		t.Fatalf("inbox after an acknowledged insert = %+v, %v; want 0 rows (not durable yet)", st, err)
	}
	if err := lazy.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if st, err := again.Stats(ctx); err != nil || st.Inbox != 2 {
		t.Fatalf("inbox after Close = %+v, %v; want 2 rows", st, err)
	}
}

func TestLazyStoreFlushes(t *testing.T) {
	ctx := context.Background()
	inner, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "inbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := NewLazyStore(inner, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	if _, err := lazy.Insert(ctx, []store.Delivery{{ID: "msg_1", Body: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := lazy.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Inbox == 1 && lazy.Buffered() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flushed within 30 s: %+v, buffered %d", st, lazy.Buffered())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewLazyStoreNeedsInner(t *testing.T) {
	if _, err := NewLazyStore(nil, time.Second); err == nil {
		t.Fatal("NewLazyStore(nil) succeeded")
	}
}
