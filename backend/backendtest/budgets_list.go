package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func init() {
	register("Budgets/ListPagesByID", testBudgetList)
	register("Quotas/ListPagesByID", testQuotaList)
}

// testBudgetList: budgets page by id, each as GetBudget answers it.
func testBudgetList(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	for _, id := range []string{"b-c", "b-a", "b-b"} {
		e.budget(id, map[string]ff.BudgetLimit{"tokens": {Hard: 100, Soft: 50}}, 0)
	}
	e.report("b-b", map[string]int64{"tokens": 60}, "k1")
	first, err := e.b.ListBudgets(e.ctx, backend.ListByIDParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []ff.BudgetStatus{e.status("b-a"), e.status("b-b")}, first.Budgets)
	require.Equal(t, "b-b", first.NextCursor)
	rest, err := e.b.ListBudgets(e.ctx, backend.ListByIDParams{Cursor: first.NextCursor, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []ff.BudgetStatus{e.status("b-c")}, rest.Budgets)
	require.Empty(t, rest.NextCursor)
	_, err = e.b.ListBudgets(e.ctx, backend.ListByIDParams{Limit: 1001})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
}

// testQuotaList: quotas page by id, each as GetQuota answers it.
func testQuotaList(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.quota(ff.QuotaDefinition{ID: "q-b", MaxConcurrent: 2})
	e.quota(ff.QuotaDefinition{ID: "q-a", WindowMs: 60_000, MaxPerWindow: 5})
	all, err := e.b.ListQuotas(e.ctx, backend.ListByIDParams{})
	require.NoError(t, err)
	require.Equal(t, []ff.QuotaStatus{e.quotaStatus("q-a"), e.quotaStatus("q-b")}, all.Quotas)
	require.Empty(t, all.NextCursor)
	page, err := e.b.ListQuotas(e.ctx, backend.ListByIDParams{Cursor: "q-a"})
	require.NoError(t, err)
	require.Equal(t, []ff.QuotaStatus{e.quotaStatus("q-b")}, page.Quotas)
}
