package server_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestBudgetRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		body := map[string]any{"budget_id": "tenant-1", "scope_type": "tenant", "scope_id": "t1",
			"limits": map[string]any{"tokens": map[string]any{"hard": 100, "soft": 50}}, "reset_interval_ms": 0}
		r := e.post("/v1/budgets", body)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		require.JSONEq(t, `{"budget_id":"tenant-1"}`, string(r.body))
		require.Equal(t, http.StatusOK, e.post("/v1/budgets", body).status)

		var out wire.UsageOutcome
		r = e.post("/v1/budgets/tenant-1/usage", map[string]any{"dimensions": map[string]any{"tokens": 60}, "dedup_key": "k"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r.json(t, &out)
		require.Equal(t, wire.UsageOutcome{BudgetID: "tenant-1", Outcome: ff.UsageSoftBreach, Dimension: "tokens", CurrentUsage: 60, Limit: 50}, out)
		r = e.post("/v1/budgets/tenant-1/usage", map[string]any{"dimensions": map[string]any{"tokens": 60}, "dedup_key": "k"})
		r.json(t, &out)
		require.Equal(t, ff.UsageAlreadyApplied, out.Outcome)
		r = e.post("/v1/budgets/tenant-1/usage", map[string]any{"dimensions": map[string]any{"tokens": 41}})
		r.json(t, &out)
		require.Equal(t, ff.UsageHardBreach, out.Outcome)

		// An execution under the exhausted budget is refused at claim and
		// waits rate_limited; raising the limit brings it back.
		id := e.create(map[string]any{"lane": "llm", "policy": map[string]any{"budget_ids": []string{"tenant-1"}}})
		require.Equal(t, http.StatusOK, e.post("/v1/budgets/tenant-1/usage", map[string]any{"dimensions": map[string]any{"tokens": 40}}).status)
		require.Empty(t, e.claim("w1", "llm", 5))
		var snap wire.ExecutionSnapshot
		e.get(execPath(id, "")).json(t, &snap)
		require.Equal(t, ff.PublicRateLimited, snap.PublicState)

		var b wire.Budget
		r = e.get("/v1/budgets/tenant-1")
		require.Equal(t, http.StatusOK, r.status)
		r.json(t, &b)
		require.Equal(t, map[string]int64{"tokens": 100}, b.Usage)
		require.Equal(t, int64(1), b.BreachCount)
		require.Equal(t, "tokens", b.LastBreachDimension)

		r = e.do(http.MethodPut, "/v1/budgets/tenant-1/limits", map[string]any{"limits": map[string]any{"tokens": map[string]any{"hard": 200}}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		task := e.claimOne("llm")
		require.Equal(t, id, task.ExecutionID.String())

		var outs wire.TaskUsageResponse
		r = e.post("/v1/tasks/usage", map[string]any{"handle": task.Handle, "dimensions": map[string]any{"tokens": 5}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r.json(t, &outs)
		require.Equal(t, []wire.UsageOutcome{{BudgetID: "tenant-1", Outcome: ff.UsageOK}}, outs.Outcomes)

		var reset wire.ResetBudgetResponse
		r = e.post("/v1/budgets/tenant-1/reset", nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r.json(t, &reset)
		require.Equal(t, int64(0), reset.NextResetAtMs)
		require.Equal(t, http.StatusNotFound, e.get("/v1/budgets/none").status)
		require.Equal(t, "budget", e.post("/v1/budgets/none/reset", nil).apiError(t).Entity)
	})
}

func TestQuotaRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		r := e.post("/v1/quotas", map[string]any{"quota_id": "api", "max_concurrent": 1, "window_ms": 60_000, "max_per_window": 10})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		require.Equal(t, http.StatusOK, e.post("/v1/quotas", map[string]any{"quota_id": "api", "max_concurrent": 1}).status)
		a := e.create(map[string]any{"lane": "q", "policy": map[string]any{"quota_ids": []string{"api"}}})
		b := e.create(map[string]any{"lane": "q", "policy": map[string]any{"quota_ids": []string{"api"}}})
		tasks := e.claim("w1", "q", 2)
		require.Len(t, tasks, 1)
		require.Equal(t, a, tasks[0].ExecutionID.String())
		var q wire.Quota
		e.get("/v1/quotas/api").json(t, &q)
		require.Equal(t, wire.Quota{QuotaID: "api", WindowMs: 60_000, MaxPerWindow: 10, MaxConcurrent: 1, InWindow: 1,
			ActiveConcurrency: 1, Blocked: 1, CreatedAtMs: q.CreatedAtMs}, q)
		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": tasks[0].Handle}).status)
		require.Equal(t, b, e.claimOne("q").ExecutionID.String(), "the released slot unblocked the next one")
		require.Equal(t, http.StatusNotFound, e.get("/v1/quotas/none").status)
	})
}

func TestBudgetRoutesRefuseBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		require.Equal(t, http.StatusCreated, e.post("/v1/budgets", map[string]any{"budget_id": "b"}).status)
		for _, c := range []struct {
			path string
			body any
		}{
			{"/v1/budgets", map[string]any{"budget_id": "x", "limits": map[string]any{"t": map[string]any{"hard": -1}}}},
			{"/v1/budgets", `{"budget_id":"x","limits":{"t":{"hard":1.5}}}`},
			{"/v1/budgets", map[string]any{"budget_id": "x", "limits": map[string]any{"": map[string]any{"hard": 1}}}},
			{"/v1/budgets", map[string]any{"budget_id": ""}},
			{"/v1/budgets", map[string]any{"budget_id": "x", "bogus": 1}},
			{"/v1/budgets/b/usage", map[string]any{"dimensions": map[string]any{"t": -1}}},
			{"/v1/budgets/b/usage", `{"dimensions":{"t":0.5}}`},
			{"/v1/budgets/b/usage", map[string]any{"dimensions": map[string]any{}}},
			{"/v1/quotas", map[string]any{"quota_id": "q", "max_per_window": 5}},
			{"/v1/quotas", map[string]any{"quota_id": "q", "max_concurrent": -1}},
			{"/v1/executions", map[string]any{"kind": "k", "policy": map[string]any{"budget_ids": []string{"missing"}}}},
			{"/v1/executions", map[string]any{"kind": "k", "policy": map[string]any{"quota_ids": []string{"missing"}}}},
		} {
			r := e.post(c.path, c.body)
			require.Equal(t, http.StatusBadRequest, r.status, "%s %v: %s", c.path, c.body, r.body)
		}
		r := e.post("/v1/budgets/none/usage", map[string]any{"dimensions": map[string]any{"t": 1}})
		require.Equal(t, http.StatusNotFound, r.status)
		var b wire.Budget
		e.get("/v1/budgets/b").json(t, &b)
		require.Empty(t, b.Usage, "nothing applied by a refused report")
	})
}

// The client's budget and quota methods round-trip the routes.
func TestBudgetClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		c := e.client()
		ctx := t.Context()
		res, err := c.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: "b",
			Limits: map[string]ff.BudgetLimit{"tokens": {Hard: 10, Soft: 5}}, ResetIntervalMs: 60_000}})
		require.NoError(t, err)
		require.True(t, res.Created)
		res, err = c.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: "b"}})
		require.NoError(t, err)
		require.False(t, res.Created)
		u, err := c.ReportUsage(ctx, backend.ReportUsageParams{BudgetID: "b", Dimensions: map[string]int64{"tokens": 6}})
		require.NoError(t, err)
		require.Equal(t, ff.UsageResult{BudgetID: "b", Outcome: ff.UsageSoftBreach, Dimension: "tokens", CurrentUsage: 6, Limit: 5}, u)
		st, err := c.SetBudgetLimits(ctx, backend.SetBudgetLimitsParams{BudgetID: "b", Limits: map[string]ff.BudgetLimit{"tokens": {Hard: 20}}})
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"tokens": 20}, st.HardLimits)
		st, err = c.GetBudget(ctx, backend.GetBudgetParams{BudgetID: "b"})
		require.NoError(t, err)
		require.Equal(t, int64(6), st.Usage["tokens"])
		require.Equal(t, int64(60_000), st.ResetIntervalMs)
		r, err := c.ResetBudget(ctx, backend.ResetBudgetParams{BudgetID: "b"})
		require.NoError(t, err)
		require.Positive(t, r.NextResetAtMs)
		_, err = c.GetBudget(ctx, backend.GetBudgetParams{BudgetID: "zz"})
		require.ErrorIs(t, err, ff.ErrNotFound)

		qr, err := c.CreateQuota(ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: "q", MaxConcurrent: 3}})
		require.NoError(t, err)
		require.True(t, qr.Created)
		q, err := c.GetQuota(ctx, backend.GetQuotaParams{QuotaID: "q"})
		require.NoError(t, err)
		require.Equal(t, int64(3), q.MaxConcurrent)
		_, err = c.CreateQuota(ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: "bad", WindowMs: 5}})
		require.ErrorIs(t, err, ff.ErrInvalidInput)

		e.create(map[string]any{"lane": "cl", "policy": map[string]any{"budget_ids": []string{"b"}}})
		task := e.claimOne("cl")
		h, err := ff.ParseHandle(task.Handle)
		require.NoError(t, err)
		outs, err := c.ReportTaskUsage(ctx, backend.ReportTaskUsageParams{Handle: h, Dimensions: map[string]int64{"tokens": 3}, DedupKey: "x"})
		require.NoError(t, err)
		require.Equal(t, []ff.UsageResult{{BudgetID: "b", Outcome: ff.UsageOK}}, outs)
	})
}

func TestBudgetMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, func(b backend.Backend, reg *prometheus.Registry) backend.Backend {
			return instrument.Wrap(b, reg)
		})
		e.post("/v1/budgets", map[string]any{"budget_id": "b", "limits": map[string]any{"tokens": map[string]any{"hard": 10, "soft": 5}}})
		e.post("/v1/quotas", map[string]any{"quota_id": "q", "max_concurrent": 1})
		e.post("/v1/budgets/b/usage", map[string]any{"dimensions": map[string]any{"tokens": 6}})
		e.post("/v1/budgets/b/usage", map[string]any{"dimensions": map[string]any{"tokens": 6}})
		e.post("/v1/budgets/b/usage", map[string]any{"dimensions": map[string]any{"tokens": 4}})
		e.create(map[string]any{"lane": "m", "policy": map[string]any{"budget_ids": []string{"b"}}})
		e.create(map[string]any{"lane": "m2", "policy": map[string]any{"quota_ids": []string{"q"}}})
		e.create(map[string]any{"lane": "m2", "policy": map[string]any{"quota_ids": []string{"q"}}})
		require.Empty(t, e.claim("w1", "m", 1))
		require.Len(t, e.claim("w1", "m2", 2), 1)
		m := e.scrape()
		require.Equal(t, 10.0, m[`ff_budget_usage_total{budget="b",dimension="tokens"}`])
		require.Equal(t, 1.0, m[`ff_budget_breaches_total{budget="b",kind="hard"}`])
		require.Equal(t, 2.0, m[`ff_budget_breaches_total{budget="b",kind="soft"}`])
		require.Equal(t, 1.0, m[`ff_admission_blocked{reason="budget"}`])
		require.Equal(t, 1.0, m[`ff_admission_blocked{reason="quota"}`])
		require.Equal(t, 1.0, m[`ff_admission_refusals_total{reason="budget"}`])
		require.Equal(t, 1.0, m[`ff_admission_refusals_total{reason="quota"}`])
	})
}
