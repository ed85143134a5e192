package chaos

import "math/rand/v2"

// Decisions are hashes, not draws from a shared stream: f(seed, instance, key, attempt,
// copy) gives the same answer whatever order the requests arrive in.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix is SplitMix64's finaliser: a bijection that spreads every input bit.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// hashString folds s into h (FNV-1a), then mixes.
func hashString(h uint64, s string) uint64 {
	h ^= fnvOffset
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix(h)
}

// decision is the hash behind one instance's choices for one exchange.
func decision(seed, salt uint64, key string, attempt, copy int) uint64 {
	h := hashString(seed^salt, key)
	h = mix(h ^ uint64(attempt)*0x9e3779b97f4a7c15)
	return mix(h ^ uint64(copy)*0xd1b54a32d192ed03)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// splitmix is a rand.Source: SplitMix64 from a hashed state.
type splitmix struct{ s uint64 }

func (s *splitmix) Uint64() uint64 {
	s.s += 0x9e3779b97f4a7c15
	return mix(s.s)
}

func newRand(h uint64) *rand.Rand { return rand.New(&splitmix{s: h}) }
