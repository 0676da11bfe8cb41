package backendtest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Budgets, quotas and admission at claim (issue 13).

func init() {
	register("Budgets/CreateGetIdempotent", testBudgetCreateGet)
	register("Budgets/Validation", testBudgetValidation)
	register("Budgets/UnknownRefsRefusedAtCreate", testBudgetUnknownRefs)
	register("Budgets/ReportOutcomes", testBudgetReportOutcomes)
	register("Budgets/TaskUsageFencedAgainstEveryBudget", testBudgetTaskUsage)
	register("Budgets/HardLimitBlocksResetUnblocks", testBudgetBlockReset)
	register("Budgets/RaisedLimitUnblocks", testBudgetRaiseUnblocks)
	register("Budgets/ResetReconciler", testBudgetResetReconciler)
	register("Budgets/DedupKeyExpires", testBudgetDedupExpiry)
	register("Budgets/BlockedOutOfClaimPath", testBudgetBlockedOutOfPath)
	register("Quotas/CreateGetValidation", testQuotaCreateGet)
	register("Quotas/ConcurrencyCapBlocksSlotFreeUnblocks", testQuotaConcurrency)
	register("Quotas/SlotReleasedOnEveryLeaseEnd", testQuotaReleaseEveryEnd)
	register("Quotas/RateWindowExact", testQuotaRateWindow)
	register("Quotas/RepairDrift", testQuotaRepairDrift)
	register("Quotas/ResumedClaimAdmittedWithSignals", testQuotaResumedClaim)
	register("Races/ClaimsUnderCapNeverExceedIt", testRaceCap)
	register("Races/SameDedupKeyAppliesOnce", testRaceDedup)
	register("Races/ResetRacingReport", testRaceResetReport)
	register("Races/BlockedUnblockedExactlyOnce", testRaceUnblockOnce)
}

// budgetEnv is env with budget helpers; it skips a store without
// budgets.
type budgetEnv struct{ *env }

func newBudgetEnv(t *testing.T, h Harness) budgetEnv {
	s := h.Backend.Capabilities().Supports
	if !s.BudgetAdmin || !s.QuotaAdmin {
		t.Skip("store without budgets and quotas")
	}
	return budgetEnv{newEnv(t, h)}
}

func (e budgetEnv) budget(id string, limits map[string]ff.BudgetLimit, resetMs int64) {
	e.t.Helper()
	res, err := e.b.CreateBudget(e.ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{
		ID: id, ScopeType: "tenant", ScopeID: "t1", Limits: limits, ResetIntervalMs: resetMs}})
	require.NoError(e.t, err)
	require.True(e.t, res.Created)
}

func (e budgetEnv) quota(q ff.QuotaDefinition) {
	e.t.Helper()
	res, err := e.b.CreateQuota(e.ctx, backend.CreateQuotaParams{QuotaDefinition: q})
	require.NoError(e.t, err)
	require.True(e.t, res.Created)
}

func (e budgetEnv) report(id string, dims map[string]int64, key string) ff.UsageResult {
	e.t.Helper()
	r, err := e.b.ReportUsage(e.ctx, backend.ReportUsageParams{BudgetID: id, Dimensions: dims, DedupKey: key})
	require.NoError(e.t, err)
	return r
}

func (e budgetEnv) status(id string) ff.BudgetStatus {
	e.t.Helper()
	st, err := e.b.GetBudget(e.ctx, backend.GetBudgetParams{BudgetID: id})
	require.NoError(e.t, err)
	return st
}

func (e budgetEnv) quotaStatus(id string) ff.QuotaStatus {
	e.t.Helper()
	st, err := e.b.GetQuota(e.ctx, backend.GetQuotaParams{QuotaID: id})
	require.NoError(e.t, err)
	return st
}

// gated creates an execution on lane under the budgets and quotas named.
func (e budgetEnv) gated(lane string, budgets, quotas []string) ff.ExecutionID {
	e.t.Helper()
	id := e.create(backend.CreateExecutionParams{Lane: lane, Policy: &ff.ExecutionPolicy{BudgetIDs: budgets, QuotaIDs: quotas}})
	if e.h.Hooks != nil {
		require.True(e.t, e.h.Hooks(e.t, id).Any(ff.HookAdmission), "a policy with budgets or quotas sets HookAdmission")
	}
	return id
}

// claimAll claims up to max on lane in one call.
func (e budgetEnv) claimAll(lane string, max int) []backend.ClaimedTask {
	e.t.Helper()
	p := claimParams("w1", lane)
	p.Max = max
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(e.t, err)
	return tasks
}

// blocked asserts id is rate_limited by the given eligibility.
func (e budgetEnv) blocked(id ff.ExecutionID, by ff.EligibilityState) {
	e.t.Helper()
	s := e.state(id, ff.PublicRateLimited)
	require.Equal(e.t, by, s.StateVector.EligibilityState)
	require.NotEmpty(e.t, s.BlockingDetail)
}

func (e budgetEnv) unblockDue() int {
	e.t.Helper()
	n, err := e.b.UnblockDue(e.ctx, backend.SweepParams{})
	require.NoError(e.t, err)
	return n
}

func testBudgetCreateGet(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b1", map[string]ff.BudgetLimit{"tokens": {Hard: 100, Soft: 80}, "calls": {Hard: 5}}, 60_000)
	st := e.status("b1")
	require.Equal(t, "tenant", st.ScopeType)
	require.Equal(t, map[string]int64{"tokens": 100, "calls": 5}, st.HardLimits)
	require.Equal(t, map[string]int64{"tokens": 80}, st.SoftLimits)
	require.Equal(t, map[string]int64{"tokens": 0, "calls": 0}, st.Usage)
	require.Equal(t, e.now()+60_000, st.NextResetAtMs)
	res, err := e.b.CreateBudget(e.ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{
		ID: "b1", Limits: map[string]ff.BudgetLimit{"tokens": {Hard: 1}}}})
	require.NoError(t, err)
	require.False(t, res.Created, "the same id again creates nothing")
	require.Equal(t, int64(100), e.status("b1").HardLimits["tokens"], "the existing definition is unchanged")
	_, err = e.b.GetBudget(e.ctx, backend.GetBudgetParams{BudgetID: "nope"})
	requireKind(t, err, ff.ErrNotFound)
	_, err = e.b.ReportUsage(e.ctx, backend.ReportUsageParams{BudgetID: "nope", Dimensions: map[string]int64{"x": 1}})
	requireKind(t, err, ff.ErrNotFound)
	_, err = e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "nope"})
	requireKind(t, err, ff.ErrNotFound)
	_, err = e.b.SetBudgetLimits(e.ctx, backend.SetBudgetLimitsParams{BudgetID: "nope", Limits: map[string]ff.BudgetLimit{"x": {Hard: 1}}})
	requireKind(t, err, ff.ErrNotFound)
}

func testBudgetValidation(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	bad := []ff.BudgetDefinition{
		{ID: ""},
		{ID: "has space"},
		{ID: "b", Limits: map[string]ff.BudgetLimit{"": {Hard: 1}}},
		{ID: "b", Limits: map[string]ff.BudgetLimit{"t": {Hard: -1}}},
		{ID: "b", Limits: map[string]ff.BudgetLimit{"t": {Soft: -1}}},
		{ID: "b", ResetIntervalMs: -1},
		{ID: "b\x00"},
	}
	for _, d := range bad {
		_, err := e.b.CreateBudget(e.ctx, backend.CreateBudgetParams{BudgetDefinition: d})
		requireKind(t, err, ff.ErrInvalidInput, "%+v", d)
	}
	for _, q := range []ff.QuotaDefinition{
		{ID: "q", MaxPerWindow: 5},
		{ID: "q", WindowMs: 1000},
		{ID: "q"},
		{ID: "q", MaxConcurrent: -1},
		{ID: "q", WindowMs: -1, MaxPerWindow: 1},
	} {
		_, err := e.b.CreateQuota(e.ctx, backend.CreateQuotaParams{QuotaDefinition: q})
		requireKind(t, err, ff.ErrInvalidInput, "%+v", q)
	}
	e.budget("b", map[string]ff.BudgetLimit{"t": {Hard: 10}}, 0)
	for _, dims := range []map[string]int64{nil, {"t": -1}, {"": 1}} {
		_, err := e.b.ReportUsage(e.ctx, backend.ReportUsageParams{BudgetID: "b", Dimensions: dims})
		requireKind(t, err, ff.ErrInvalidInput, "%v", dims)
	}
	_, err := e.b.SetBudgetLimits(e.ctx, backend.SetBudgetLimitsParams{BudgetID: "b"})
	requireKind(t, err, ff.ErrInvalidInput)
	require.Equal(t, int64(0), e.status("b").Usage["t"], "a refused report applies nothing")
}

func testBudgetUnknownRefs(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	for _, pol := range []*ff.ExecutionPolicy{{BudgetIDs: []string{"missing"}}, {QuotaIDs: []string{"missing"}}} {
		_, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "l", Kind: "k", Policy: pol})
		requireKind(t, err, ff.ErrInvalidInput)
	}
	_, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "l", Kind: "k",
		Policy: &ff.ExecutionPolicy{BudgetIDs: []string{"a", "a"}}})
	requireKind(t, err, ff.ErrInvalidPolicy, "a budget listed twice")
	e.nothingWritten()
}

func testBudgetReportOutcomes(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 100, Soft: 50}}, 0)
	require.Equal(t, ff.UsageOK, e.report("b", map[string]int64{"tokens": 40}, "k1").Outcome)
	r := e.report("b", map[string]int64{"tokens": 20, "calls": 1}, "")
	require.Equal(t, ff.UsageResult{BudgetID: "b", Outcome: ff.UsageSoftBreach, Dimension: "tokens", CurrentUsage: 60, Limit: 50}, r)
	r = e.report("b", map[string]int64{"tokens": 41, "calls": 1}, "k2")
	require.Equal(t, ff.UsageResult{BudgetID: "b", Outcome: ff.UsageHardBreach, Dimension: "tokens", CurrentUsage: 60, Limit: 100}, r)
	st := e.status("b")
	require.Equal(t, map[string]int64{"tokens": 60, "calls": 1}, st.Usage, "a hard breach applies no dimension")
	require.Equal(t, int64(1), st.BreachCount)
	require.Equal(t, int64(1), st.SoftBreachCount)
	require.Equal(t, "tokens", st.LastBreachDimension)
	require.Equal(t, ff.UsageAlreadyApplied, e.report("b", map[string]int64{"tokens": 40}, "k1").Outcome)
	require.Equal(t, int64(60), e.status("b").Usage["tokens"])
	require.Equal(t, ff.UsageSoftBreach, e.report("b", map[string]int64{"tokens": 40}, "k2").Outcome,
		"a key whose report was a hard breach is evaluated again")
	require.Equal(t, int64(100), e.status("b").Usage["tokens"])
	if h.Events != nil {
		var actions []string
		for _, ev := range h.Events(t) {
			if ev.Type == ff.EventBudget {
				actions = append(actions, ev.Action)
			}
		}
		require.Equal(t, []string{"ok", "soft_breach", "hard_breach", "soft_breach"}, actions, "one budget event per applied or refused report")
	}
}

func testBudgetTaskUsage(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("a", map[string]ff.BudgetLimit{"tokens": {Hard: 100}}, 0)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 10}}, 0)
	id := e.gated("l", []string{"a", "b"}, nil)
	task := e.claim("l")
	res, err := e.b.ReportTaskUsage(e.ctx, backend.ReportTaskUsageParams{Handle: task.Handle,
		Dimensions: map[string]int64{"tokens": 20}, DedupKey: "d1"})
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.Equal(t, ff.UsageOK, res[0].Outcome)
	require.Equal(t, "a", res[0].BudgetID)
	require.Equal(t, ff.UsageHardBreach, res[1].Outcome)
	require.Equal(t, int64(20), e.status("a").Usage["tokens"])
	require.Equal(t, int64(0), e.status("b").Usage["tokens"])
	res, err = e.b.ReportTaskUsage(e.ctx, backend.ReportTaskUsageParams{Handle: task.Handle,
		Dimensions: map[string]int64{"tokens": 20}, DedupKey: "d1"})
	require.NoError(t, err)
	require.Equal(t, ff.UsageAlreadyApplied, res[0].Outcome)
	stale := task.Handle
	stale.Lease.LeaseEpoch++
	_, err = e.b.ReportTaskUsage(e.ctx, backend.ReportTaskUsageParams{Handle: stale, Dimensions: map[string]int64{"tokens": 1}})
	requireKind(t, err, ff.ErrStaleLease)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	_, err = e.b.ReportTaskUsage(e.ctx, backend.ReportTaskUsageParams{Handle: task.Handle, Dimensions: map[string]int64{"tokens": 1}})
	require.Error(t, err, "after the attempt ended the report is refused")
	require.Equal(t, int64(20), e.status("a").Usage["tokens"])
	if h.Events != nil {
		n := 0
		for _, ev := range h.Events(t) {
			if ev.Type == ff.EventBudget && ev.ExecutionID == id {
				n++
			}
		}
		require.Equal(t, 3, n, "a worker's reports carry its execution")
	}
}

func testBudgetBlockReset(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 10}}, 0)
	id := e.gated("l", []string{"b"}, nil)
	e.report("b", map[string]int64{"tokens": 10}, "")
	e.claimNone("l")
	e.blocked(id, ff.BlockedByBudget)
	e.claimNone("l")
	res, err := e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Unblocked)
	require.Equal(t, int64(0), res.NextResetAtMs)
	e.state(id, ff.PublicWaiting)
	require.Equal(t, id, e.claim("l").ExecutionID)
	require.Equal(t, int64(0), e.status("b").Usage["tokens"])
}

func testBudgetRaiseUnblocks(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 10}, "calls": {Hard: 1}}, 0)
	id := e.gated("l", []string{"b"}, nil)
	e.report("b", map[string]int64{"tokens": 10, "calls": 1}, "")
	e.claimNone("l")
	e.blocked(id, ff.BlockedByBudget)
	_, err := e.b.SetBudgetLimits(e.ctx, backend.SetBudgetLimitsParams{BudgetID: "b", Limits: map[string]ff.BudgetLimit{"tokens": {Hard: 20}}})
	require.NoError(t, err)
	e.blocked(id, ff.BlockedByBudget) // calls is still at its limit
	st, err := e.b.SetBudgetLimits(e.ctx, backend.SetBudgetLimitsParams{BudgetID: "b", Limits: map[string]ff.BudgetLimit{"calls": {Hard: 0}}})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"tokens": 20}, st.HardLimits)
	e.state(id, ff.PublicWaiting)
	require.Equal(t, id, e.claim("l").ExecutionID)
}

func testBudgetResetReconciler(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 5}}, 1000)
	id := e.gated("l", []string{"b"}, nil)
	e.report("b", map[string]int64{"tokens": 5}, "")
	e.claimNone("l")
	e.blocked(id, ff.BlockedByBudget)
	e.advance(999)
	n, err := e.b.ResetDueBudgets(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 0, n)
	e.advance(1)
	n, err = e.b.ResetDueBudgets(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, e.now()+1000, e.status("b").NextResetAtMs)
	e.state(id, ff.PublicWaiting)
	n, err = e.b.ResetDueBudgets(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 0, n, "a reset budget is not due again")
}

func testBudgetDedupExpiry(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", nil, 0)
	e.report("b", map[string]int64{"x": 1}, "k")
	e.advance(ff.DefaultUsageDedupTTLMs - 1)
	require.Equal(t, ff.UsageAlreadyApplied, e.report("b", map[string]int64{"x": 1}, "k").Outcome)
	n, err := e.b.ExpireUsageDedup(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 0, n)
	e.advance(1)
	n, err = e.b.ExpireUsageDedup(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, ff.UsageOK, e.report("b", map[string]int64{"x": 1}, "k").Outcome)
	require.Equal(t, int64(2), e.status("b").Usage["x"])
}

// testBudgetBlockedOutOfPath: blocked executions leave the claim path, so
// plain work behind them is claimed in one call, and a reset brings all
// of them back.
func testBudgetBlockedOutOfPath(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"t": {Hard: 1}}, 0)
	e.report("b", map[string]int64{"t": 1}, "")
	const blocked = 60
	for range blocked {
		e.gated("l", []string{"b"}, nil)
	}
	for i := 0; i < 10 && len(e.claimAll("l", 50)) == 0; i++ {
	}
	plain := map[ff.ExecutionID]bool{}
	for range 5 {
		plain[e.createIn("l")] = true
	}
	tasks := e.claimAll("l", 5)
	require.Len(t, tasks, 5, "blocked executions do not take the places of ready ones")
	for _, task := range tasks {
		require.True(t, plain[task.ExecutionID])
	}
	res, err := e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
	require.NoError(t, err)
	require.Equal(t, blocked, res.Unblocked)
	require.Len(t, e.claimAll("l", 100), blocked)
}

func testQuotaCreateGet(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.quota(ff.QuotaDefinition{ID: "q", WindowMs: 1000, MaxPerWindow: 10, MaxConcurrent: 2})
	res, err := e.b.CreateQuota(e.ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: "q", MaxConcurrent: 9}})
	require.NoError(t, err)
	require.False(t, res.Created)
	st := e.quotaStatus("q")
	require.Equal(t, ff.QuotaDefinition{ID: "q", WindowMs: 1000, MaxPerWindow: 10, MaxConcurrent: 2}, st.QuotaDefinition)
	_, err = e.b.GetQuota(e.ctx, backend.GetQuotaParams{QuotaID: "none"})
	requireKind(t, err, ff.ErrNotFound)
}

func testQuotaConcurrency(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.quota(ff.QuotaDefinition{ID: "q", MaxConcurrent: 2})
	var ids []ff.ExecutionID
	for range 5 {
		ids = append(ids, e.gated("l", nil, []string{"q"}))
	}
	tasks := e.claimAll("l", 5)
	require.Len(t, tasks, 2)
	require.Equal(t, ids[:2], []ff.ExecutionID{tasks[0].ExecutionID, tasks[1].ExecutionID})
	for _, id := range ids[2:] {
		e.blocked(id, ff.BlockedByQuota)
	}
	st := e.quotaStatus("q")
	require.Equal(t, int64(2), st.ActiveConcurrency)
	require.Equal(t, int64(3), st.Blocked)
	if h.Hooks != nil {
		require.True(t, h.Hooks(t, tasks[0].ExecutionID).Any(ff.HookQuotaSlot))
	}
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
	e.state(ids[2], ff.PublicWaiting)
	e.blocked(ids[3], ff.BlockedByQuota)
	if h.Hooks != nil {
		require.False(t, h.Hooks(t, tasks[0].ExecutionID).Any(ff.HookQuotaSlot), "the release clears the hook")
	}
	next := e.claimAll("l", 5)
	require.Len(t, next, 1)
	require.Equal(t, ids[2], next[0].ExecutionID)
	require.Equal(t, int64(2), e.quotaStatus("q").ActiveConcurrency)
}

// testQuotaReleaseEveryEnd: every way a lease ends gives its slot back
// and unblocks the next execution.
func testQuotaReleaseEveryEnd(t *testing.T, h Harness) {
	ends := map[string]func(e budgetEnv, task backend.ClaimedTask){
		"complete": func(e budgetEnv, task backend.ClaimedTask) {
			require.NoError(e.t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
		},
		"fail": func(e budgetEnv, task backend.ClaimedTask) {
			_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
			require.NoError(e.t, err)
		},
		"cancel": func(e budgetEnv, task backend.ClaimedTask) {
			require.NoError(e.t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle}))
		},
		"delay": func(e budgetEnv, task backend.ClaimedTask) {
			require.NoError(e.t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: e.h.Clock.Now().Add(time.Hour)}))
		},
		"expiry": func(e budgetEnv, task backend.ClaimedTask) { e.expireLease(task) },
		"operator_cancel": func(e budgetEnv, task backend.ClaimedTask) {
			_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: task.ExecutionID})
			require.NoError(e.t, err)
		},
		"suspend": func(e budgetEnv, task backend.ClaimedTask) {
			_, err := e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "k1", Generate: true})
			require.NoError(e.t, err)
			_, err = e.b.Suspend(e.ctx, backend.SuspendParams{Handle: task.Handle,
				Request: ff.SuspendRequest{Condition: cond(`{"type":"operator_only"}`)}})
			require.NoError(e.t, err)
		},
		"revoke": func(e budgetEnv, task backend.ClaimedTask) {
			_, err := e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: task.ExecutionID})
			require.NoError(e.t, err)
		},
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			if name == "revoke" && !h.Backend.Capabilities().Supports.RevokeLease {
				t.Skip("store without revoke")
			}
			if name == "suspend" && !h.Backend.Capabilities().Supports.Waitpoints {
				t.Skip("store without waitpoints")
			}
			e := budgetEnv{newEnv(t, h)}
			q := "q-" + name
			e.quota(ff.QuotaDefinition{ID: q, MaxConcurrent: 1})
			first := e.gated(name, nil, []string{q})
			second := e.gated(name, nil, []string{q})
			tasks := e.claimAll(name, 2)
			require.Len(t, tasks, 1)
			require.Equal(t, first, tasks[0].ExecutionID)
			e.blocked(second, ff.BlockedByQuota)
			end(e, tasks[0])
			require.Equal(t, int64(0), e.quotaStatus(q).ActiveConcurrency, "the end of the lease released its slot")
			e.state(second, ff.PublicWaiting)
			e.consistent(first)
		})
	}
}

func testQuotaRateWindow(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.quota(ff.QuotaDefinition{ID: "r", WindowMs: 1000, MaxPerWindow: 3})
	var ids []ff.ExecutionID
	for range 5 {
		ids = append(ids, e.gated("l", nil, []string{"r"}))
	}
	require.Len(t, e.claimAll("l", 2), 2)
	e.advance(500)
	require.Len(t, e.claimAll("l", 5), 1, "the window holds 3")
	e.blocked(ids[3], ff.BlockedByQuota)
	e.blocked(ids[4], ff.BlockedByQuota)
	e.advance(499)
	require.Equal(t, 0, e.unblockDue(), "the window is full until its oldest admission is 1000 ms old")
	e.advance(1)
	require.Equal(t, 2, e.unblockDue(), "two admissions left the window at its due time")
	require.Len(t, e.claimAll("l", 5), 2)
	require.Equal(t, int64(3), e.quotaStatus("r").InWindow)
}

func testQuotaRepairDrift(t *testing.T, h Harness) {
	if h.SetHooks == nil {
		t.Skip("store without the hooks probe")
	}
	e := newBudgetEnv(t, h)
	e.quota(ff.QuotaDefinition{ID: "q", MaxConcurrent: 1})
	first := e.gated("l", nil, []string{"q"})
	second := e.gated("l", nil, []string{"q"})
	task := e.claimAll("l", 2)[0]
	e.blocked(second, ff.BlockedByQuota)
	// Drift: the slot's release is lost (the hook cleared behind the
	// store's back), so completing leaves the slot row.
	h.SetHooks(t, first, ff.HookAdmission)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	require.Equal(t, int64(1), e.quotaStatus("q").ActiveConcurrency)
	e.blocked(second, ff.BlockedByQuota)
	n, err := e.b.RepairQuotaSlots(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 2, n, "one slot deleted, one execution unblocked")
	require.Equal(t, int64(0), e.quotaStatus("q").ActiveConcurrency)
	e.state(second, ff.PublicWaiting)
}

// testRaceCap: workers claiming and completing under one concurrency cap
// never hold more than the cap.
func testRaceCap(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	const capN, total, workers = 3, 40, 6
	e.quota(ff.QuotaDefinition{ID: "q", MaxConcurrent: capN})
	for range total {
		e.gated("l", nil, []string{"q"})
	}
	var (
		held, peak, done atomic.Int64
		wg               sync.WaitGroup
		errs             = make(chan error, workers)
	)
	ctx := e.ctx
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := claimParams(fmt.Sprint("w", w), "l")
			p.Max = 2
			for i := 0; done.Load() < total && i < 2000; i++ {
				tasks, err := e.b.Claim(ctx, p)
				if err != nil {
					errs <- err
					return
				}
				if len(tasks) == 0 {
					if _, err := e.b.UnblockDue(ctx, backend.SweepParams{}); err != nil {
						errs <- err
						return
					}
					continue
				}
				n := held.Add(int64(len(tasks)))
				for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
				}
				for _, task := range tasks {
					held.Add(-1) // before the release: held never exceeds the slots taken
					if err := e.b.Complete(ctx, backend.CompleteParams{Handle: task.Handle}); err != nil {
						errs <- err
						return
					}
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(total), done.Load(), "every execution ran")
	require.LessOrEqual(t, peak.Load(), int64(capN), "never more than the cap held at once")
	require.Equal(t, int64(0), e.quotaStatus("q").ActiveConcurrency)
}

func testRaceDedup(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", nil, 0)
	for round := range 5 {
		key := fmt.Sprint("k", round)
		var wg sync.WaitGroup
		out := make([]ff.UsageResult, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], errs[i] = e.b.ReportUsage(e.ctx, backend.ReportUsageParams{BudgetID: "b",
					Dimensions: map[string]int64{"x": 7}, DedupKey: key})
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.ElementsMatch(t, []ff.UsageOutcome{ff.UsageOK, ff.UsageAlreadyApplied}, []ff.UsageOutcome{out[0].Outcome, out[1].Outcome})
	}
	require.Equal(t, int64(35), e.status("b").Usage["x"], "each key applied once")
}

func testRaceResetReport(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"x": {Hard: 1000}}, 0)
	for range 10 {
		var wg sync.WaitGroup
		var rerr, serr error
		var res ff.UsageResult
		wg.Add(2)
		go func() {
			defer wg.Done()
			res, rerr = e.b.ReportUsage(e.ctx, backend.ReportUsageParams{BudgetID: "b", Dimensions: map[string]int64{"x": 5}})
		}()
		go func() {
			defer wg.Done()
			_, serr = e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
		}()
		wg.Wait()
		require.NoError(t, rerr)
		require.NoError(t, serr)
		require.Equal(t, ff.UsageOK, res.Outcome)
		u := e.status("b").Usage["x"]
		require.Contains(t, []int64{0, 5}, u, "a report is either before the reset (wiped) or after it (kept whole)")
		_, err := e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
		require.NoError(t, err)
	}
}

// testRaceUnblockOnce: resets and the backstop sweep racing unblock a
// blocked execution exactly once.
func testRaceUnblockOnce(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"t": {Hard: 1}}, 0)
	e.report("b", map[string]int64{"t": 1}, "")
	id := e.gated("l", []string{"b"}, nil)
	e.claimNone("l")
	e.blocked(id, ff.BlockedByBudget)
	var (
		wg        sync.WaitGroup
		unblocked atomic.Int64
		errs      = make(chan error, 4)
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				res, err := e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
				unblocked.Add(int64(res.Unblocked))
				errs <- err
				return
			}
			n, err := e.b.RepairQuotaSlots(e.ctx, backend.SweepParams{})
			unblocked.Add(int64(n))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), unblocked.Load(), "unblocked exactly once")
	require.Equal(t, id, e.claim("l").ExecutionID)
	e.claimNone("l")
}

// testQuotaResumedClaim: a suspended execution under a quota releases its
// slot, and when a signal resumes it, its claim goes through admission
// again and still carries the resumed signals.
func testQuotaResumedClaim(t *testing.T, h Harness) {
	if !h.Backend.Capabilities().Supports.Waitpoints {
		t.Skip("store without waitpoints")
	}
	e := newBudgetEnv(t, h)
	_, err := e.b.SeedWaitpointKey(e.ctx, backend.SeedWaitpointKeyParams{Kid: "k1", Generate: true})
	require.NoError(t, err)
	e.quota(ff.QuotaDefinition{ID: "q", MaxConcurrent: 1})
	id := e.gated("l", nil, []string{"q"})
	out := e.suspend(e.claim("l"), ff.SuspendRequest{Condition: cond(`{"type":"single"}`)})
	require.Equal(t, int64(0), e.quotaStatus("q").ActiveConcurrency)
	require.Len(t, out.Waitpoints, 1)
	e.mustSignal(id, out.Waitpoints[0], "go", ff.EffectResumeConditionSatisfied)
	task := e.claim("l")
	require.Equal(t, ff.AttemptResume, task.AttemptType)
	require.Len(t, task.ResumedSignals, 1)
	require.Equal(t, "go", task.ResumedSignals[0].Name)
	require.Equal(t, int64(1), e.quotaStatus("q").ActiveConcurrency)
}
