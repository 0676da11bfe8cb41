package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func txFlow(lane string) backend.CreateFlowParams {
	return backend.CreateFlowParams{Kind: "order", Members: []backend.FlowMemberParams{
		{Ref: "charge", Execution: backend.CreateExecutionParams{Lane: lane, Kind: "charge"}},
		{Ref: "receipt", Execution: backend.CreateExecutionParams{Lane: lane, Kind: "receipt"}, DependsOnRefs: []string{"charge"}}}}
}

// A flow and its DAG created in the caller's transaction exist only after
// its commit; the head member is claimable then, its downstream not yet.
func TestCreateFlowTxExistsOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	tx := begin(t, b)
	res, err := b.CreateFlowTx(ctx, tx, txFlow("txf"))
	require.NoError(t, err)
	require.Len(t, res.ExecutionIDs, 2)
	require.Empty(t, claimIDs(t, b, "txf"), "claimable before the caller committed")
	_, err = b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: res.FlowID})
	require.ErrorIs(t, err, ff.ErrNotFound, "visible before the caller committed")
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, []ff.ExecutionID{res.ExecutionIDs["charge"]}, claimIDs(t, b, "txf"))
	snap, err := b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: res.FlowID})
	require.NoError(t, err)
	require.Len(t, snap.Members, 2)
	require.Len(t, snap.Edges, 1)
}

// A rollback leaves no flow, member, edge or event behind, and a refused
// DAG leaves the caller's transaction usable.
func TestCreateFlowTxRollbackAndRefusal(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	events := rowCount(t, b, "ff_event", "true")
	tx := begin(t, b)
	res, err := b.CreateFlowTx(ctx, tx, txFlow("txr"))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	_, err = b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: res.FlowID})
	require.ErrorIs(t, err, ff.ErrNotFound)
	require.Zero(t, rowCount(t, b, "ff_execution", "lane = $1", "txr"))
	require.Equal(t, events, rowCount(t, b, "ff_event", "true"), "no stray event")

	tx = begin(t, b)
	cyclic := backend.CreateFlowParams{Kind: "bad", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: backend.CreateExecutionParams{Lane: "txr", Kind: "a"}, DependsOnRefs: []string{"b"}},
		{Ref: "b", Execution: backend.CreateExecutionParams{Lane: "txr", Kind: "b"}, DependsOnRefs: []string{"a"}}}}
	_, err = b.CreateFlowTx(ctx, tx, cyclic)
	require.Error(t, err)
	ok, err := b.CreateFlowTx(ctx, tx, txFlow("txr"))
	require.NoError(t, err, "the caller's transaction is still usable")
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, []ff.ExecutionID{ok.ExecutionIDs["charge"]}, claimIDs(t, b, "txr"))
}
