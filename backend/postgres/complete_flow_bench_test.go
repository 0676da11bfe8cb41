package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// BenchmarkCompleteFlowUpstreams completes batches of 20 claimed flow
// upstreams per op through CompleteMany ("statement": completeFlowSQL,
// then resolveLeftEdges for what it leaves) and through the generic
// transaction ("generic": completeSlowMany, the path every upstream took
// before the statement existed), in the same process: compare the two of
// one shape, not absolute numbers. Shapes: "sole", each downstream's only
// inbound edge is its upstream's; "fan-in", each downstream has a second
// upstream that already completed, so the statement leaves its join to
// resolveLeftEdges.
func BenchmarkCompleteFlowUpstreams(b *testing.B) {
	for _, shape := range []string{"sole", "fan-in"} {
		for _, path := range []string{"statement", "generic"} {
			b.Run(shape+"/"+path, func(b *testing.B) { benchCompleteFlow(b, shape == "fan-in", path == "generic") })
		}
	}
}

const flowBenchBatch = 20

func benchCompleteFlow(b *testing.B, fanIn, generic bool) {
	ctx := context.Background()
	pg, err := Open(ctx, Options{URL: pgtest.Schema(b), AutoMigrate: true})
	require.NoError(b, err)
	b.Cleanup(func() { _ = pg.Close() })
	b.StopTimer()
	for range b.N {
		ps := claimUpstreams(b, pg, fanIn)
		b.StartTimer()
		if generic {
			errs := make([]error, len(ps))
			idx := make([]int, len(ps))
			for i := range idx {
				idx[i] = i
			}
			pg.completeSlowMany(ctx, ps, idx, errs)
			requireNoErrors(b, errs)
		} else {
			requireNoErrors(b, pg.CompleteMany(ctx, ps))
		}
		b.StopTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*flowBenchBatch), "µs/upstream")
}

// claimUpstreams creates flowBenchBatch flows of an upstream a and a
// downstream d (with fanIn, d also depends on x, completed here), claims
// every a and returns their completions.
func claimUpstreams(b *testing.B, pg *Backend, fanIn bool) []backend.CompleteParams {
	ctx := context.Background()
	lane := fmt.Sprintf("fb%d", time.Now().UnixNano())
	for range flowBenchBatch {
		ms := []backend.FlowMemberParams{
			{Ref: "a", Execution: backend.CreateExecutionParams{Lane: lane, Kind: "a"}},
			{Ref: "d", Execution: backend.CreateExecutionParams{Lane: lane, Kind: "d"}, DependsOnRefs: []string{"a"}},
		}
		if fanIn {
			ms = append(ms, backend.FlowMemberParams{Ref: "x", Execution: backend.CreateExecutionParams{Lane: lane + "x", Kind: "x"}})
			ms[1].DependsOnRefs = []string{"a", "x"}
		}
		_, err := pg.CreateFlow(ctx, backend.CreateFlowParams{Kind: "bench", Members: ms})
		require.NoError(b, err)
	}
	if fanIn {
		xs := claimLane(b, pg, lane+"x")
		requireNoErrors(b, pg.CompleteMany(ctx, xs))
	}
	return claimLane(b, pg, lane)
}

func claimLane(b *testing.B, pg *Backend, lane string) []backend.CompleteParams {
	tasks, err := pg.Claim(context.Background(), backend.ClaimParams{WorkerID: "w", Lanes: []string{lane},
		Max: flowBenchBatch, LeaseTTL: time.Minute})
	require.NoError(b, err)
	require.Len(b, tasks, flowBenchBatch)
	ps := make([]backend.CompleteParams, len(tasks))
	for i, t := range tasks {
		ps[i] = backend.CompleteParams{Handle: t.Handle, Result: []byte(`{}`)}
	}
	return ps
}

func requireNoErrors(b *testing.B, errs []error) {
	for _, err := range errs {
		require.NoError(b, err)
	}
}
