package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The cancel backlog of a flow cancelled without wait is worked by the
// flow_cancels reconciler, driven here through Sweep.
func TestSweepWorksFlowCancelBacklog(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		f, err := s.b.CreateFlow(ctx, backend.CreateFlowParams{Kind: "k", Members: []backend.FlowMemberParams{
			{Ref: "a", Execution: backend.CreateExecutionParams{Kind: "k"}},
			{Ref: "b", Execution: backend.CreateExecutionParams{Kind: "k"}, DependsOnRefs: []string{"a"}}}})
		require.NoError(t, err)
		res, err := s.b.CancelFlow(ctx, backend.CancelFlowParams{FlowID: f.FlowID})
		require.NoError(t, err)
		require.Equal(t, 2, res.Pending)
		sup, err := New(s.b, Config{Flows: s.b})
		require.NoError(t, err)
		counts, err := sup.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, counts["flow_cancels"])
		for _, id := range f.ExecutionIDs {
			st, err := s.b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: id})
			require.NoError(t, err)
			require.Equal(t, ff.PublicCancelled, st)
		}
		n, err := (&flowRepair{s.b, 10}).runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nothing to repair")
	})
}
