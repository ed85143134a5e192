package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
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

// macEncoding is how a scheme writes a MAC into a header.
type macEncoding bool

const (
	hexMAC    macEncoding = false
	base64MAC macEncoding = true // standard alphabet, padded
)

// appendMAC appends HMAC-SHA256(key, prefix[0]+prefix[1]+...+body), encoded, to dst: for
// signing, with a pooled keyed hash and no copy of the MAC.
func (m *macKey) appendMAC(dst []byte, enc macEncoding, body []byte, prefix ...string) []byte {
	st := m.get()
	mac := st.sum(body, prefix...)
	if enc == base64MAC {
		dst = base64.StdEncoding.AppendEncode(dst, mac)
	} else {
		dst = hex.AppendEncode(dst, mac)
	}
	m.put(st)
	return dst
}

// signedHeader makes the header Sign returns from canonical keys and their values, given as
// key, value, key, value...: the keys are net/http's spelling already, so no Header.Set
// (which canonicalises, allocating for every lower-case name), and the one-value slices share
// one backing array (each capped at one, so that an Add to one never overwrites the next).
func signedHeader(kv ...string) http.Header {
	vs := make([]string, len(kv)/2)
	h := make(http.Header, len(vs))
	for i := range vs {
		vs[i] = kv[2*i+1]
		h[kv[2*i]] = vs[i : i+1 : i+1]
	}
	return h
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
