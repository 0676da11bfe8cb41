package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func init() {
	register("Reads/ListExecutionsByKindTagFlow", testReadsListNarrowing)
	register("Reads/DescribeWithInput", testReadsDescribeWithInput)
}

// Kind, tag and flow narrow a listing, alone and with the other filters.
func testReadsListNarrowing(t *testing.T, h Harness) {
	e := newEnv(t, h)
	mail := e.create(backend.CreateExecutionParams{Lane: "n", Kind: "mail.send", Tags: map[string]string{"acme.team": "growth", "acme.x": "1"}})
	other := e.create(backend.CreateExecutionParams{Lane: "n", Kind: "mail.send", Tags: map[string]string{"acme.team": "ops"}})
	report := e.create(backend.CreateExecutionParams{Lane: "m", Kind: "report.build", Tags: map[string]string{"acme.team": "growth"}})
	flow, err := e.b.CreateFlow(e.ctx, backend.CreateFlowParams{Kind: "pipeline", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: backend.CreateExecutionParams{Lane: "n", Kind: "mail.send"}}}})
	require.NoError(t, err)
	member := flow.ExecutionIDs["a"]

	ids := func(p backend.ListExecutionsParams) []ff.ExecutionID {
		var out []ff.ExecutionID
		for _, s := range e.listAll(p) {
			out = append(out, s.ExecutionID)
		}
		return out
	}
	growth := backend.TagFilter{Key: "acme.team", Value: "growth"}
	require.ElementsMatch(t, []ff.ExecutionID{mail, other, member}, ids(backend.ListExecutionsParams{Kind: "mail.send"}))
	require.ElementsMatch(t, []ff.ExecutionID{mail, report}, ids(backend.ListExecutionsParams{Tag: growth}))
	require.ElementsMatch(t, []ff.ExecutionID{mail}, ids(backend.ListExecutionsParams{Tag: growth, Kind: "mail.send", Lane: "n"}))
	require.Empty(t, ids(backend.ListExecutionsParams{Tag: backend.TagFilter{Key: "acme.team", Value: "grow"}}))
	require.ElementsMatch(t, []ff.ExecutionID{member}, ids(backend.ListExecutionsParams{FlowID: flow.FlowID}))
	require.Empty(t, ids(backend.ListExecutionsParams{FlowID: flow.FlowID, Kind: "report.build"}))

	for name, p := range map[string]backend.ListExecutionsParams{
		"bad kind":    {Kind: "a\x00b"},
		"bad tag key": {Tag: backend.TagFilter{Key: "team", Value: "x"}},
		"bad flow id": {FlowID: "not-a-uuid"},
	} {
		_, err := e.b.ListExecutions(e.ctx, p)
		require.Error(t, err, name)
	}
}

// WithInput reads the stored input; without it the snapshot has none.
func testReadsDescribeWithInput(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "in", Input: []byte(`{"to":"ada"}`)})
	snap, err := e.b.DescribeExecution(e.ctx, backend.DescribeExecutionParams{ExecutionID: id, WithInput: true})
	require.NoError(t, err)
	require.Equal(t, `{"to":"ada"}`, string(snap.Input))
	snap, err = e.b.DescribeExecution(e.ctx, backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Nil(t, snap.Input)
}
