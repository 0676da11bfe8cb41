package workload

import (
	"math"
	"slices"
	"time"
)

// Summary describes a latency sample.
type Summary struct {
	Count int
	P50   time.Duration
	P95   time.Duration
	P99   time.Duration
	Max   time.Duration
	Mean  time.Duration
}

// Summarize returns the percentiles of ds (nearest rank, see Percentile).
// ds is not modified. An empty sample summarizes to zeros.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var sum float64
	for _, d := range sorted {
		sum += float64(d)
	}
	return Summary{
		Count: len(sorted),
		P50:   Percentile(sorted, 50),
		P95:   Percentile(sorted, 95),
		P99:   Percentile(sorted, 99),
		Max:   sorted[len(sorted)-1],
		Mean:  time.Duration(sum / float64(len(sorted))),
	}
}

// Percentile returns the p-th percentile of an ascending sample by the
// nearest-rank method: the smallest value such that at least p percent
// of the sample is less than or equal to it, i.e. sorted[ceil(p/100*n)-1].
// p is clamped to [0, 100]; p = 0 gives the minimum. An empty sample
// gives 0. No interpolation: every reported value was observed.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	p = min(max(p, 0), 100)
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}
