package instrument_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
)

func TestFlowMetrics(t *testing.T) {
	raw, _ := openSQLite(t)
	reg := prometheus.NewRegistry()
	b := instrument.Wrap(raw, reg)
	ctx := context.Background()
	p := backend.CreateFlowParams{FlowID: "0d6f2d4e-5a1b-4c3d-8e9f-0a1b2c3d4e5f", Kind: "k", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: backend.CreateExecutionParams{Kind: "k"}},
		{Ref: "b", Execution: backend.CreateExecutionParams{Kind: "k"}, DependsOnRefs: []string{"a"}}}}
	_, err := b.CreateFlow(ctx, p)
	require.NoError(t, err)
	_, err = b.CreateFlow(ctx, p)
	require.NoError(t, err)
	_, err = b.CancelFlow(ctx, backend.CancelFlowParams{FlowID: p.FlowID, Wait: true})
	require.NoError(t, err)
	_, err = b.CancelFlow(ctx, backend.CancelFlowParams{FlowID: p.FlowID})
	require.NoError(t, err)
	v := values(t, reg)
	require.Equal(t, 1.0, v["ff_flows_created_total{}"], "the repeat is not a new flow")
	require.Equal(t, 1.0, v["ff_flow_cancels_total{policy=cancel_all}"])
	require.Equal(t, 2.0, v["ff_flow_members_cancelled_total{by=cancel}"])
	require.Equal(t, 2.0, v["ff_flow_operation_seconds_count{op=cancel_flow}"])
	require.Equal(t, 1.0, v["ff_flows{public_flow_state=cancelled}"])
	require.Equal(t, 1.0, v["ff_flow_edges{state=impossible}"], "the cancelled upstream's edge")

	q := backend.CreateFlowParams{Kind: "k", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: backend.CreateExecutionParams{Kind: "k"}},
		{Ref: "b", Execution: backend.CreateExecutionParams{Kind: "k"}, DependsOnRefs: []string{"a"}}}}
	_, err = b.CreateFlow(ctx, q)
	require.NoError(t, err)
	v = values(t, reg)
	require.Equal(t, 1.0, v["ff_flows{public_flow_state=open}"])
	require.Equal(t, 1.0, v["ff_flow_edges{state=unresolved}"])
}
