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

// JobIndexEnv is the variable a Kubernetes Indexed Job sets in each pod: the pod's completion
// index, 0-based.
const JobIndexEnv = "JOB_COMPLETION_INDEX"

// ShardCountEnv gives the shard count to "--shard auto" (an Indexed Job's completions).
const ShardCountEnv = "HOOKPROOF_SHARDS"

// ParseShardFlag parses --shard: "i/n" as ParseShard does, or "auto/n" (the index is
// $JOB_COMPLETION_INDEX + 1, so that pod 0 of an Indexed Job runs shard 1/n), or "auto" (the
// count too comes from $HOOKPROOF_SHARDS).
func ParseShardFlag(s string, getenv func(string) string) (Shard, error) {
	a, b, hasCount := strings.Cut(strings.TrimSpace(s), "/")
	if strings.TrimSpace(a) != "auto" {
		return ParseShard(s)
	}
	count := strings.TrimSpace(b)
	if !hasCount {
		count = strings.TrimSpace(getenv(ShardCountEnv))
		if count == "" {
			return Shard{}, fmt.Errorf("shard auto: give the count, auto/N, or set $%s: %w", ShardCountEnv, ErrShard)
		}
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > maxShards {
		return Shard{}, fmt.Errorf("shard %q: the count %q is not in 1..%d: %w", s, count, maxShards, ErrShard)
	}
	v := strings.TrimSpace(getenv(JobIndexEnv))
	if v == "" {
		return Shard{}, fmt.Errorf("shard %q: $%s is not set (it is set in the pods of a Kubernetes Indexed Job): %w", s, JobIndexEnv, ErrShard)
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: $%s=%q is not a completion index in 0..%d: %w", s, JobIndexEnv, v, n-1, ErrShard)
	}
	return Shard{Index: i + 1, Count: n}, nil
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
