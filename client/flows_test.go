package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Every flow method round-trips over a real server.
func TestFlowMethods(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.c
	id := uuid.NewString()
	p := backend.CreateFlowParams{FlowID: id, Kind: "etl", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: backend.CreateExecutionParams{Kind: "a", Lane: "f", Input: []byte(`{"x":1}`)}},
		{Ref: "b", Execution: backend.CreateExecutionParams{Kind: "b", Lane: "f"}, DependsOnRefs: []string{"a"},
			Join: &ff.JoinPolicy{Policy: ff.JoinAllOf}}}}
	f, err := c.CreateFlow(ctx, p)
	require.NoError(t, err)
	require.False(t, f.Existing)
	again, err := c.CreateFlow(ctx, p)
	require.NoError(t, err)
	require.True(t, again.Existing)
	require.Equal(t, f.ExecutionIDs, again.ExecutionIDs)
	a, b := f.ExecutionIDs["a"], f.ExecutionIDs["b"]

	x, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "x", Lane: "f", FlowID: id, DependsOn: []ff.ExecutionID{a}})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaitingChildren, x.PublicState)
	u, _ := uuid.Parse(id)
	loose, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "y", Lane: "f", ExecutionID: ff.NewFlowMemberID(u)})
	require.NoError(t, err)
	added, err := c.AddExecutionToFlow(ctx, backend.AddExecutionToFlowParams{FlowID: id, ExecutionID: loose.ExecutionID})
	require.NoError(t, err)
	edge, err := c.AddFlowEdge(ctx, backend.AddFlowEdgeParams{FlowID: id, Upstream: b, Downstream: loose.ExecutionID, ExpectedGraphRevision: &added.GraphRevision})
	require.NoError(t, err)
	require.Equal(t, added.GraphRevision+1, edge.GraphRevision)
	_, err = c.AddFlowEdge(ctx, backend.AddFlowEdgeParams{FlowID: id, Upstream: loose.ExecutionID, Downstream: a})
	require.ErrorIs(t, err, ff.ErrCycleDetected)

	snap, err := c.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: id})
	require.NoError(t, err)
	require.Len(t, snap.Members, 4)
	require.Len(t, snap.Edges, 3)
	edges, err := c.ListFlowEdges(ctx, backend.ListFlowEdgesParams{FlowID: id, Upstream: a})
	require.NoError(t, err)
	require.Len(t, edges, 2)
	page, err := c.ListFlows(ctx, backend.ListFlowsParams{Limit: 5})
	require.NoError(t, err)
	require.Len(t, page.Flows, 1)

	tasks, err := c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"f"}, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, a, tasks[0].ExecutionID)
	kids, err := c.SpawnChildren(ctx, backend.SpawnChildrenParams{Handle: tasks[0].Handle,
		Children: []backend.CreateExecutionParams{{Kind: "kid", Lane: "kids"}}})
	require.NoError(t, err)
	require.Len(t, kids, 1)
	wait, err := c.WaitChildren(ctx, backend.WaitChildrenParams{Handle: tasks[0].Handle})
	require.NoError(t, err)
	require.False(t, wait.Ready)
	kid, err := c.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"kids"}})
	require.NoError(t, err)
	require.NoError(t, c.Complete(ctx, backend.CompleteParams{Handle: kid[0].Handle, Result: []byte(`"kid"`)}))
	ups, err := c.UpstreamResults(ctx, backend.UpstreamResultsParams{ExecutionID: a})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	require.Equal(t, `"kid"`, string(ups[0].Result))

	res, err := c.CancelFlow(ctx, backend.CancelFlowParams{FlowID: id, Wait: true})
	require.NoError(t, err)
	require.Equal(t, ff.CancelFlowAll, res.Policy)
	require.Len(t, res.Members, 4)
	_, err = c.WorkFlowCancels(ctx, backend.SweepParams{})
	require.ErrorIs(t, err, ff.ErrUnavailable)
	_, err = c.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: uuid.NewString()})
	require.ErrorIs(t, err, ff.ErrNotFound)
}
