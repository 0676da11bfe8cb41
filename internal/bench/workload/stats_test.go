package workload

import (
	"testing"
	"time"
)

func durs(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	// 1..100 ms: the p-th percentile is p ms exactly.
	var hundred []int
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, i)
	}
	cases := []struct {
		name   string
		sample []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", durs(7), 50, 7 * time.Millisecond},
		{"single p99", durs(7), 99, 7 * time.Millisecond},
		{"hundred p50", durs(hundred...), 50, 50 * time.Millisecond},
		{"hundred p95", durs(hundred...), 95, 95 * time.Millisecond},
		{"hundred p99", durs(hundred...), 99, 99 * time.Millisecond},
		{"hundred p100", durs(hundred...), 100, 100 * time.Millisecond},
		{"p0 is the minimum", durs(3, 4, 5), 0, 3 * time.Millisecond},
		// n=4: p50 -> rank ceil(2)=2 -> second value, no interpolation.
		{"even n p50", durs(10, 20, 30, 40), 50, 20 * time.Millisecond},
		// n=4: p95 -> rank ceil(3.8)=4.
		{"even n p95", durs(10, 20, 30, 40), 95, 40 * time.Millisecond},
		// n=10: p99 -> rank ceil(9.9)=10, the max.
		{"ten p99", durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		// n=10: p95 -> rank ceil(9.5)=10.
		{"ten p95", durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 95, 10 * time.Millisecond},
		// n=10: p50 -> rank 5.
		{"ten p50", durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
		{"clamped above", durs(1, 2), 250, 2 * time.Millisecond},
		{"clamped below", durs(1, 2), -5, 1 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Percentile(c.sample, c.p); got != c.want {
				t.Fatalf("Percentile(%v, %g) = %v, want %v", c.sample, c.p, got, c.want)
			}
		})
	}
}

func TestSummarizeSortsACopy(t *testing.T) {
	in := durs(30, 10, 20, 40, 1000)
	s := Summarize(in)
	if s.Count != 5 || s.P50 != 30*time.Millisecond || s.P95 != time.Second || s.P99 != time.Second || s.Max != time.Second {
		t.Fatalf("summary = %+v", s)
	}
	if s.Mean != 220*time.Millisecond {
		t.Fatalf("mean = %v, want 220ms", s.Mean)
	}
	if in[0] != 30*time.Millisecond {
		t.Fatalf("input was reordered: %v", in)
	}
	if z := Summarize(nil); z != (Summary{}) {
		t.Fatalf("empty summary = %+v", z)
	}
}

func TestProbeCountsEachJobOnce(t *testing.T) {
	pr := NewProbe(3)
	now := time.Unix(100, 0)
	pr.now = func() time.Time { return now }
	p := Payload{T: time.Unix(99, 0).UnixNano(), N: 1}
	pr.Started(p)
	now = now.Add(time.Second)
	pr.Started(p) // a reclaim: the first start is kept
	pr.Completed(p)
	pr.Completed(p) // a replayed ack: ignored
	pr.Started(Payload{N: 3})
	pr.Completed(Payload{N: -1})
	if pr.StartedCount() != 1 || pr.CompletedCount() != 1 || pr.Stray() != 2 {
		t.Fatalf("started=%d completed=%d stray=%d", pr.StartedCount(), pr.CompletedCount(), pr.Stray())
	}
	pickup, e2e := pr.Latencies()
	if len(pickup) != 1 || pickup[0] != time.Second {
		t.Fatalf("pickup = %v, want [1s]", pickup)
	}
	if len(e2e) != 1 || e2e[0] != 2*time.Second {
		t.Fatalf("e2e = %v, want [2s]", e2e)
	}
	if w := pr.Window(); w != time.Second {
		t.Fatalf("window = %v, want 1s (first start at 100s, last ack at 101s)", w)
	}
}
