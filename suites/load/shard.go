package load

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Shard is one part of a logical run split across machines: Index in 1..Count. The zero Shard
// is the whole run.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ErrShard is wrapped by every shard parsing error.
var ErrShard = errors.New("bad shard")

// maxShards bounds --shard: more machines than this for one webhook endpoint is a typo.
const maxShards = 1000

// ParseShard parses "i/n" with 1 <= i <= n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 1/4: %w", s, ErrShard)
	case n < 1 || n > maxShards:
		return Shard{}, fmt.Errorf("shard %q: the count %d is not in 1..%d: %w", s, n, maxShards, ErrShard)
	case i < 1 || i > n:
		return Shard{}, fmt.Errorf("shard %q: the index %d is not in 1..%d: %w", s, i, n, ErrShard)
	}
	return Shard{Index: i, Count: n}, nil
}

// Whole reports whether s is the whole run (no sharding).
func (s Shard) Whole() bool { return s.Count <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return "1/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// DeriveRunID names a logical run from what every shard of it shares: the seed and the command
// line without the flags that differ per shard (pass those already removed). Shards started
// with the same seed and arguments get the same run id without having to agree on one.
func DeriveRunID(seed int64, args []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "hookproof-load\x00%d", seed)
	for _, a := range args {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	return "load-" + hex.EncodeToString(h.Sum(nil)[:6])
}
