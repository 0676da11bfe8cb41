package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/clock"
)

// BenchmarkClaimComplete measures claim→complete cycles on a file with a
// backlog of b.N ready executions: "single" claims and completes one at a
// time, "batched" claims 16 and completes them with one CompleteMany.
func BenchmarkClaimComplete(b *testing.B) {
	b.Run("single", func(b *testing.B) { benchClaimComplete(b, 1) })
	b.Run("batched", func(b *testing.B) { benchClaimComplete(b, 16) })
}

func benchClaimComplete(b *testing.B, batch int) {
	be, _ := openTemp(b, clock.Real{})
	ctx := context.Background()
	for range b.N {
		if _, err := be.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "bench", Kind: "k", Input: []byte(`{"n":1}`)}); err != nil {
			b.Fatal(err)
		}
	}
	claim := backend.ClaimParams{WorkerID: "w", Lanes: []string{"bench"}, LeaseTTL: 60_000 * time.Millisecond}
	params := make([]backend.CompleteParams, 0, batch)
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		claim.Max = min(batch, b.N-done)
		tasks, err := be.Claim(ctx, claim)
		if err != nil {
			b.Fatal(err)
		}
		if len(tasks) == 0 {
			b.Fatalf("backlog empty after %d of %d", done, b.N)
		}
		if batch == 1 {
			if err := be.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`"ok"`)}); err != nil {
				b.Fatal(err)
			}
		} else {
			params = params[:0]
			for _, t := range tasks {
				params = append(params, backend.CompleteParams{Handle: t.Handle, Result: []byte(`"ok"`)})
			}
			for _, err := range be.CompleteMany(ctx, params) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		done += len(tasks)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cycles/s")
}
