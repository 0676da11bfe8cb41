package bench

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func TestChainRunsEveryMember(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		c := baseConfig(tg, ModeChain, 1, 4)
		c.Flows, c.ChainLength = 6, 5
		report := run(t, c)
		require.Contains(t, report, "mode=chain jobs=30 workers=4\n")
		require.Contains(t, report, "completed=30 ")
		require.Contains(t, report, "flows=6 chain_length=5\n")
		require.Contains(t, report, "chain_to_plain_ratio=")
		completed, live := countCompleted(t, tg)
		require.Equal(t, 60, completed, "the plain drain's 30 and the chains' 30")
		require.Zero(t, live)
	})
}

func TestFlowCancelCancelsEveryMember(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		c := baseConfig(tg, ModeFlowCancel, 1, 1)
		c.Flows, c.Members = 3, 10
		report := run(t, c)
		require.Contains(t, report, "mode=flow-cancel jobs=30 ")
		require.Contains(t, report, "flows=3 members=10\n")
		require.Contains(t, report, "flow_cancel_latency_ms p50=")
		b := tg.reopen(t)
		defer func() { require.NoError(t, b.Close()) }()
		page, err := b.ListExecutions(t.Context(), backend.ListExecutionsParams{Lane: Lane, PublicState: ff.PublicCancelled, Limit: 100})
		require.NoError(t, err)
		require.Len(t, page.Executions, 30, "every member cancelled")
	})
}
