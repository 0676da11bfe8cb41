package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
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

// BenchmarkClaimBesideBlocked claims 1000 ready plain executions on a
// lane that also holds 0 or 10 000 executions blocked by an exhausted
// budget (moved to their blocked state in one statement, as admission
// leaves them: out of the claim index, one ff_admission_block row each),
// and, as the control, 10 000 leased ones (as many rows, not blocked).
func BenchmarkClaimBesideBlocked(b *testing.B) {
	for _, tc := range []struct {
		name            string
		blocked, leased int
	}{{"blocked=0", 0, 0}, {"blocked=10000", 10_000, 0}, {"leased=10000", 0, 10_000}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.StopTimer()
			pg, url := openFresh(b, nil)
			if tc.blocked > 0 {
				blockMany(b, pg, url, tc.blocked)
			}
			if tc.leased > 0 { // the control: as many rows, not blocked but leased
				fill(b, pg, tc.leased)
				for got := 0; got < tc.leased; {
					tasks, err := pg.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"bench"}, Max: 500, LeaseTTL: time.Hour})
					if err != nil || len(tasks) == 0 {
						b.Fatalf("claim: %d tasks, %v", len(tasks), err)
					}
					got += len(tasks)
				}
				vacuum(b, url)
			}
			const ready, batch = 1000, 16
			var total time.Duration
			for range b.N {
				fill(b, pg, ready)
				b.StartTimer()
				start := time.Now()
				for got := 0; got < ready; {
					tasks, err := pg.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"bench"}, Max: batch, LeaseTTL: time.Minute})
					if err != nil || len(tasks) == 0 {
						b.Fatalf("claim: %d tasks, %v", len(tasks), err)
					}
					got += len(tasks)
				}
				total += time.Since(start)
				b.StopTimer()
			}
			b.ReportMetric(float64(b.N*ready)/total.Seconds(), "claims/s")
		})
	}
}

// blockMany creates n executions under an exhausted budget on lane
// "bench" and moves them to their blocked state.
func blockMany(b *testing.B, pg *postgres.Backend, url string, n int) {
	ctx := context.Background()
	_, err := pg.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: "spent",
		Limits: map[string]ff.BudgetLimit{"t": {Hard: 1}}}})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	// They are created as plain executions, then given the hooks, state
	// and blocked rows a claim's refusal writes (blocking 10 000 through
	// claims would only make the setup slow).
	fill(b, pg, n)
	for _, q := range []string{
		`INSERT INTO ff_admission_block (execution_id, kind, ref_id, lane, priority, seq, blocked_at_ms)
			SELECT id, 'budget', 'spent', lane, priority, seq, 0 FROM ff_execution WHERE lane = 'bench'`,
		`UPDATE ff_execution SET hooks = 8, eligibility_state = 'blocked_by_budget', blocking_reason = 'waiting_for_budget',
			public_state = 'rate_limited', ready = false, blocking_detail = 'budget spent at its hard limit on t'
			WHERE lane = 'bench'`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	vacuum(b, url)
}

// vacuum runs VACUUM ANALYZE on ff_execution, as autovacuum would: the
// index entries of the rows' old versions go.
func vacuum(b *testing.B, url string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE ff_execution`); err != nil {
		b.Fatal(err)
	}
}
