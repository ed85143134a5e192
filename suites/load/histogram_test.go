package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketEdges(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 65535, 1 << 20, maxMicros} {
		b := bucketOf(us)
		if b < prev || b >= numBucket {
			t.Fatalf("bucketOf(%d) = %d after %d (of %d)", us, b, prev, numBucket)
		}
		prev = b
		if up := upperOf(b); up < us || float64(up-us) > float64(us)/subBuckets+1 {
			t.Errorf("value %d in bucket %d whose upper edge is %d: more than 1/%d off", us, b, up, subBuckets)
		}
		if b > 0 && upperOf(b-1) >= us && bucketOf(upperOf(b-1)) != b-1 {
			t.Errorf("buckets %d and %d overlap at %d", b-1, b, us)
		}
	}
}

func TestHistQuantilesAreCloseAndNeverLow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h hist
	var exact []float64
	for range 20000 {
		// Log-normal around 20 ms with a tail, like acks under chaos.
		ms := math.Exp(rng.NormFloat64()*0.9 + math.Log(20))
		d := time.Duration(ms * float64(time.Millisecond))
		h.add(d)
		exact = append(exact, float64(d/time.Microsecond)/1000)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := exact[int(math.Ceil(q*float64(len(exact))))-1]
		got := h.quantileMS(q)
		if got < want || got > want*(1+1.0/subBuckets)+0.001 {
			t.Errorf("q%v = %v, exact %v: want within 1/%d above", q, got, want, subBuckets)
		}
	}
	if h.maxMS() != exact[len(exact)-1] {
		t.Errorf("max %v, want %v", h.maxMS(), exact[len(exact)-1])
	}
	total := 0
	for _, b := range h.buckets() {
		total += b.Count
	}
	if total != len(exact) {
		t.Errorf("report buckets hold %d values, want %d", total, len(exact))
	}
}

func TestHistEmptyAndMerge(t *testing.T) {
	var a, b hist
	if a.quantileMS(0.99) != 0 || a.meanMS() != 0 {
		t.Error("an empty histogram reports 0")
	}
	a.add(10 * time.Millisecond)
	b.add(30 * time.Millisecond)
	b.add(-time.Second) // clamped to 0, never negative
	a.merge(&b)
	if a.n != 3 || a.maxMS() != 30 || a.quantileMS(0.01) != 0 {
		t.Errorf("merged: n %d max %v min-quantile %v", a.n, a.maxMS(), a.quantileMS(0.01))
	}
	if got := a.meanMS(); math.Abs(got-40.0/3) > 0.01 {
		t.Errorf("mean %v", got)
	}
}

func TestReportBucketsNeverShowFaster(t *testing.T) {
	var h hist
	h.add(5*time.Millisecond + 40*time.Microsecond) // just over the 5 ms bound
	h.add(2 * time.Hour)                            // beyond the last bound: still counted
	bs := h.buckets()
	for _, b := range bs {
		if b.LeMS == 5 && b.Count != 0 {
			t.Errorf("5.04 ms counted as <= 5 ms")
		}
	}
	if bs[len(bs)-1].Count != 1 {
		t.Errorf("the slowest value is not in the last bucket: %+v", bs)
	}
}
