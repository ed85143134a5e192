package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// macKey is one HMAC-SHA256 key with a pool of keyed hashes, so that signing or verifying a
// delivery does not rebuild the HMAC (five allocations) every time. Safe for concurrent use;
// never copied after construction.
type macKey struct {
	pool sync.Pool // of *macState
}

// macState is a keyed hash with its scratch space; one goroutine holds it between get and put.
type macState struct {
	h    hash.Hash
	buf  []byte                // the signed prefix (id, timestamp, separators), written before the body
	out  [sha256.Size]byte     // Sum's destination
	text [sha256.Size * 2]byte // the MAC encoded, for schemes that compare text
}

func newMACKey(key []byte) *macKey {
	k := append([]byte(nil), key...)
	m := &macKey{}
	m.pool.New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	return m
}

func newMACKeys(keys [][]byte) []*macKey {
	ks := make([]*macKey, len(keys))
	for i, k := range keys {
		ks[i] = newMACKey(k)
	}
	return ks
}

func (m *macKey) get() *macState   { return m.pool.Get().(*macState) }
func (m *macKey) put(st *macState) { m.pool.Put(st) }

// sum returns HMAC-SHA256(key, prefix[0]+prefix[1]+...+body). The result lives in st and is
// valid until st is put back. The body is streamed into the hash, never copied.
func (st *macState) sum(body []byte, prefix ...string) []byte {
	st.h.Reset()
	st.buf = st.buf[:0]
	for _, p := range prefix {
		st.buf = append(st.buf, p...)
	}
	st.h.Write(st.buf)
	st.h.Write(body)
	return st.h.Sum(st.out[:0])
}

// macOf returns a fresh copy of HMAC-SHA256(key, prefix+body), for signing.
func (m *macKey) macOf(body []byte, prefix ...string) []byte {
	st := m.get()
	defer m.put(st)
	return append([]byte(nil), st.sum(body, prefix...)...)
}

// matchAny reports whether got is the MAC of prefix+body under any of keys. Each comparison is
// constant-time, and every key is tried, so timing does not tell which key matched.
func matchAny(keys []*macKey, got, body []byte, prefix ...string) bool {
	ok := false
	for _, k := range keys {
		st := k.get()
		if hmac.Equal(got, st.sum(body, prefix...)) {
			ok = true
		}
		k.put(st)
	}
	return ok
}
