package load

import (
	"math"
	"math/bits"
	"time"

	"github.com/hookproof/hookproof/reports"
)

// hist is a log-linear latency histogram over microseconds: exact below 64 µs, then 64
// sub-buckets per power of two, so any quantile it reports is within 1/64 (1.6 %) above the
// true one. Quantiles report a bucket's upper edge, clamped to the largest value seen, so a
// latency threshold can only err on the strict side. Not safe for concurrent use.
type hist struct {
	counts []uint32
	n      uint64
	sum    float64 // µs
	min    uint64
	max    uint64
}

const (
	subBits    = 6
	subBuckets = 1 << subBits // 64
	// maxMicros caps recorded values at about 71 minutes, longer than any bounded run.
	maxMicros = 1<<32 - 1
	numBucket = (32-subBits+1)*subBuckets + subBuckets
)

func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	e := bits.Len64(us) - subBits - 1 // us>>e is in [64, 128)
	return (e+1)*subBuckets + int(us>>e) - subBuckets
}

// upperOf is the largest value that falls in bucket i.
func upperOf(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return (m+1)<<e - 1
}

func (h *hist) add(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	if us > maxMicros {
		us = maxMicros
	}
	if h.counts == nil {
		h.counts = make([]uint32, numBucket)
		h.min = us
	}
	h.counts[bucketOf(us)]++
	h.n++
	h.sum += float64(us)
	h.min = min(h.min, us)
	h.max = max(h.max, us)
}

func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint32, numBucket)
		h.min = o.min
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// quantileMS returns the q-quantile (0 < q <= 1) in milliseconds: the value at rank ceil(q·n).
func (h *hist) quantileMS(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var cum uint64
	for i, c := range h.counts {
		cum += uint64(c)
		if cum >= rank {
			return float64(min(upperOf(i), h.max)) / 1000
		}
	}
	return float64(h.max) / 1000
}

func (h *hist) meanMS() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n) / 1000
}

func (h *hist) maxMS() float64 { return float64(h.max) / 1000 }

func (h *hist) latency() reports.Latency {
	return reports.Latency{
		P50: round3(h.quantileMS(0.50)), P90: round3(h.quantileMS(0.90)), P99: round3(h.quantileMS(0.99)),
		Max: round3(h.maxMS()), Mean: round3(h.meanMS()),
	}
}

// reportBounds are the fixed bins of the results file's histogram, in ms. Every run uses the
// same bins so that shards merge exactly (reports.Merge sums them bin by bin); the last bin
// holds everything slower than a minute.
var reportBounds = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 3_600_000}

// buckets folds h into the report's bins: each fine bucket counts in the first bin whose bound
// is at or above the fine bucket's upper edge, so no value is shown as faster than it was.
func (h *hist) buckets() []reports.Bucket {
	out := make([]reports.Bucket, len(reportBounds))
	for i, b := range reportBounds {
		out[i].LeMS = b
	}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		ms := float64(upperOf(i)) / 1000
		j := 0
		for j < len(reportBounds)-1 && ms > reportBounds[j] {
			j++
		}
		out[j].Count += int(c)
	}
	return out
}
