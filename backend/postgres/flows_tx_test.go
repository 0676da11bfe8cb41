package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// A flow member is created in its flow's transaction, never in a
// caller's: the transactional enqueue refuses the flow fields instead of
// creating a plain execution.
func TestCreateExecutionTxRefusesFlowMembers(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	f, err := b.CreateFlow(ctx, backend.CreateFlowParams{Kind: "k"})
	require.NoError(t, err)
	tx := begin(t, b)
	_, err = b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Kind: "k", FlowID: f.FlowID})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
	_, err = b.CreateExecutionsTx(ctx, tx, []backend.CreateExecutionParams{{Kind: "k", Join: &ff.JoinPolicy{}}})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
	require.NoError(t, tx.Commit(ctx))
	require.Zero(t, rowCount(t, b, "ff_execution", "true"))
}
