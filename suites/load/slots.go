package load

import "strconv"

// The targeters hand each attempt to the recording transport through a slot: they park its
// token in a free slot (under the run's lock) and give Vegeta the slot's URL, the attack URL
// with the slot's number in its fragment, which a client never sends. The transport reads
// the token back, and the slot is free again once the attempt's outcome is recorded (under
// the lock too). So a slot is held by one attempt in flight at a time, the slots are as many
// as the attempts ever in flight at once, and their URLs are made once, not per attempt.

const (
	slotChunkBits = 10
	slotChunk     = 1 << slotChunkBits
	// maxSlots bounds the attempts in flight at once (each one is a goroutine of Vegeta's).
	maxSlots = 1 << 22
)

// attemptSlot is one slot: the token of the attempt holding it, and its URL.
type attemptSlot struct {
	tok token
	url string
}

// attemptSlots stores slots in fixed chunks under a fixed array of chunk pointers: a slot
// never moves, and the transport reads a slot it was handed without the lock.
type attemptSlots struct {
	chunks [maxSlots / slotChunk]*[slotChunk]attemptSlot
	n      uint32   // slots made
	free   []uint32 // slots made and not held
}

// parkLocked puts tok in a free slot and returns the URL that names it; false when maxSlots
// attempts are in flight already. Called with the run's lock held.
func (s *attemptSlots) parkLocked(base string, tok token) (string, bool) {
	var i uint32
	if k := len(s.free); k > 0 {
		i = s.free[k-1]
		s.free = s.free[:k-1]
	} else {
		if s.n >= maxSlots {
			return "", false
		}
		i = s.n
		s.n++
		c := &s.chunks[i>>slotChunkBits]
		if *c == nil {
			*c = new([slotChunk]attemptSlot)
		}
		(*c)[i&(slotChunk-1)].url = base + "#" + slotPrefix + strconv.FormatUint(uint64(i), 10)
	}
	tok.slot = i
	sl := &s.chunks[i>>slotChunkBits][i&(slotChunk-1)]
	sl.tok = tok
	return sl.url, true
}

// releaseLocked frees the slot of an attempt whose outcome has been recorded.
func (s *attemptSlots) releaseLocked(i uint32) {
	s.free = append(s.free, i)
}

// slotPrefix opens a slot's fragment.
const slotPrefix = "hookproof-attempt-"

// taken returns the token parked in the slot a request URL's fragment names; false when the
// fragment names no slot (a request of hookproof's own, as the probe). The slot must be held
// by the caller's attempt, parked before the caller's request was made.
func (s *attemptSlots) taken(fragment string) (token, bool) {
	if len(fragment) <= len(slotPrefix) || fragment[:len(slotPrefix)] != slotPrefix {
		return token{}, false
	}
	var i uint64
	for _, c := range []byte(fragment[len(slotPrefix):]) {
		if c < '0' || c > '9' || i >= maxSlots {
			return token{}, false
		}
		i = i*10 + uint64(c-'0')
	}
	if i >= maxSlots {
		return token{}, false
	}
	c := s.chunks[i>>slotChunkBits]
	if c == nil {
		return token{}, false
	}
	tok := c[i&(slotChunk-1)].tok
	return tok, tok.kind != 0 // a slot never parked in holds no attempt
}
