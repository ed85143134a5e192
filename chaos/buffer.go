package chaos

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// pooledBuf is a reusable body buffer: one per request body and one per upstream answer,
// so a fault-free exchange allocates no body storage in the steady state.
type pooledBuf struct{ b []byte }

var bufPool = sync.Pool{New: func() any { return &pooledBuf{b: make([]byte, 0, 4<<10)} }}

// maxPooled keeps one huge body from pinning its memory in the pool.
const maxPooled = 1 << 20

var errTooLarge = errors.New("body too large")

func getBuf() *pooledBuf { return bufPool.Get().(*pooledBuf) }

func (pb *pooledBuf) release() {
	if cap(pb.b) > maxPooled {
		return
	}
	pb.b = pb.b[:0]
	bufPool.Put(pb)
}

// readFrom reads r to EOF into pb, refusing more than limit bytes. hint is the expected
// length (-1 when unknown).
func (pb *pooledBuf) readFrom(r io.Reader, hint, limit int64) error {
	pb.b = pb.b[:0]
	if r == nil || r == http.NoBody {
		return nil
	}
	if hint > limit {
		return errTooLarge
	}
	if hint > 0 && int64(cap(pb.b)) < hint+1 {
		pb.b = make([]byte, 0, hint+1) // +1 lets the final Read see EOF without growing
	}
	for {
		if len(pb.b) == cap(pb.b) {
			pb.b = append(pb.b, 0)[:len(pb.b)]
		}
		n, err := r.Read(pb.b[len(pb.b):cap(pb.b)])
		pb.b = pb.b[:len(pb.b)+n]
		if int64(len(pb.b)) > limit {
			return errTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
