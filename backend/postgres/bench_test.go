package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
)

// BenchmarkClaimComplete measures claim+complete cycles on a pre-filled
// lane: W workers each loop claim(batch) -> complete(batch) until the
// backlog is drained. It reports cycles/s; compare runs made on the same
// machine in the same invocation, not absolute numbers.
func BenchmarkClaimComplete(b *testing.B) {
	for _, workers := range []int{1, 16} {
		for _, batch := range []int{1, 16} {
			name := fmt.Sprintf("workers=%d/batch=%d", workers, batch)
			b.Run(name, func(b *testing.B) { benchClaimComplete(b, workers, batch) })
		}
	}
}

func benchClaimComplete(b *testing.B, workers, batch int) {
	ctx := context.Background()
	b.StopTimer()
	pg, _ := openFresh(b, nil)
	fill(b, pg, b.N)
	var done atomic.Int64
	var wg sync.WaitGroup
	b.StartTimer()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for done.Load() < int64(b.N) {
				tasks, err := pg.Claim(ctx, backend.ClaimParams{WorkerID: fmt.Sprintf("w%d", w), Lanes: []string{"bench"}, Max: batch, LeaseTTL: 60_000 * time.Millisecond})
				if err != nil {
					b.Error(err)
					return
				}
				if len(tasks) == 0 {
					if done.Load() >= int64(b.N) {
						return
					}
					continue
				}
				ps := make([]backend.CompleteParams, len(tasks))
				for i, t := range tasks {
					ps[i] = backend.CompleteParams{Handle: t.Handle, Result: []byte(`{}`)}
				}
				for _, err := range pg.CompleteMany(ctx, ps) {
					if err != nil {
						b.Error(err)
						return
					}
				}
				done.Add(int64(len(tasks)))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cycles/s")
}

func fill(b *testing.B, be backend.Backend, n int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	per := (n + 15) / 16
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g * per; i < min(n, (g+1)*per); i++ {
				if _, err := be.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "bench", Kind: "noop", Input: []byte(`{}`)}); err != nil {
					b.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// BenchmarkClaim measures the claim statement alone (one worker, batch 1
// and 16) on a pre-filled lane of plain executions; it reports claimed
// executions per second.
func BenchmarkClaim(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			b.StopTimer()
			pg, _ := openFresh(b, nil)
			fill(b, pg, b.N*batch)
			b.StartTimer()
			start := time.Now()
			for range b.N {
				tasks, err := pg.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"bench"}, Max: batch, LeaseTTL: time.Minute})
				if err != nil || len(tasks) != batch {
					b.Fatalf("claim: %d tasks, %v", len(tasks), err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "claims/s")
		})
	}
}
