package ui_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
)

// Seeds of the Flows, Approvals and Budgets pages, written through the
// backend seam as a worker and an operator would.

// seededFlow is a diamond extract → transform-a, transform-b → load on
// its own lane, so a claim there only finds its claimable members.
type seededFlow struct {
	ID   string
	Lane string
	Refs map[string]ff.ExecutionID
}

func seedFlow(t *testing.T, b backend.Backend, lane string) seededFlow {
	t.Helper()
	member := func(ref string, ups ...string) backend.FlowMemberParams {
		return backend.FlowMemberParams{Ref: ref, DependsOnRefs: ups,
			Execution: backend.CreateExecutionParams{Lane: lane, Kind: "etl." + ref, Input: []byte(`{}`)}}
	}
	res, err := b.CreateFlow(context.Background(), backend.CreateFlowParams{Kind: "etl", Members: []backend.FlowMemberParams{
		member("extract"), member("transform-a", "extract"), member("transform-b", "extract"),
		member("load", "transform-a", "transform-b")}})
	require.NoError(t, err)
	return seededFlow{ID: res.FlowID, Lane: lane, Refs: res.ExecutionIDs}
}

// completeOn claims and completes the claimable execution of lane and
// returns its id.
func completeOn(t *testing.T, b backend.Backend, lane string) ff.ExecutionID {
	t.Helper()
	task := uitest.Claim(t, b, lane)
	uitest.Complete(t, b, task, []byte(`{"ok":true}`))
	return task.ExecutionID
}

// eachStore runs f on every store of the dashboard tests.
func eachStore(t *testing.T, f func(t *testing.T, st uitest.Store, b backend.Backend)) {
	for _, st := range uitest.Stores() {
		t.Run(st.Name, func(t *testing.T) { f(t, st, st.Open(t)) })
	}
}

// publicState reads an execution's public state.
func publicState(t *testing.T, b backend.Backend, id ff.ExecutionID) ff.PublicState {
	t.Helper()
	return uitest.Describe(t, b, id).PublicState
}

// seedSuspended creates an execution on lane and suspends it on a
// waitpoint keyed "review" that any signal satisfies, as
// examples/approval-gate does.
func seedSuspended(t *testing.T, b backend.Backend, lane string) ff.ExecutionID {
	t.Helper()
	ctx := context.Background()
	_, err := b.SeedWaitpointKey(ctx, backend.SeedWaitpointKeyParams{Generate: true})
	require.NoError(t, err)
	uitest.Create(t, b, backend.CreateExecutionParams{Lane: lane, Kind: "publish", Input: []byte(`{"topic":"v1.4"}`)})
	task := uitest.Claim(t, b, lane)
	out, err := b.Suspend(ctx, backend.SuspendParams{Handle: task.Handle, Request: ff.SuspendRequest{WaitpointKeys: []string{"review"}}})
	require.NoError(t, err)
	require.False(t, out.AlreadySatisfied)
	return task.ExecutionID
}

// seedBudget creates a budget with tokens soft 500 / hard 1000 and
// reports 700 tokens: a soft breach.
func seedBudget(t *testing.T, b backend.Backend, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := b.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: id, ScopeType: "tenant",
		ScopeID: "acme", Limits: map[string]ff.BudgetLimit{"tokens": {Hard: 1000, Soft: 500}, "calls": {Hard: 10}}}})
	require.NoError(t, err)
	res, err := b.ReportUsage(ctx, backend.ReportUsageParams{BudgetID: id, Dimensions: map[string]int64{"tokens": 700, "calls": 3}, DedupKey: "seed"})
	require.NoError(t, err)
	require.Equal(t, ff.UsageSoftBreach, res.Outcome)
}

// seedQuota creates a quota of 5 per minute and 2 at once.
func seedQuota(t *testing.T, b backend.Backend, id string) {
	t.Helper()
	_, err := b.CreateQuota(context.Background(), backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: id,
		WindowMs: 60_000, MaxPerWindow: 5, MaxConcurrent: 2}})
	require.NoError(t, err)
}
