package flowfabric

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApplyUsage(t *testing.T) {
	dims := map[string]BudgetDim{"t": {Limit: BudgetLimit{Hard: 10, Soft: 5}, Usage: 4}}
	require.Equal(t, UsageResult{Outcome: UsageHardBreach, Dimension: "t", CurrentUsage: 4, Limit: 10},
		ApplyUsage(dims, map[string]int64{"t": 7, "x": 1}))
	require.Equal(t, int64(4), dims["t"].Usage, "a hard breach applies nothing")
	require.NotContains(t, dims, "x")
	require.Equal(t, UsageResult{Outcome: UsageSoftBreach, Dimension: "t", CurrentUsage: 10, Limit: 5},
		ApplyUsage(dims, map[string]int64{"t": 6, "x": 1}))
	require.Equal(t, int64(1), dims["x"].Usage)
	dim, full := BudgetExhausted(dims)
	require.True(t, full)
	require.Equal(t, "t", dim)
}

func TestAdmitQuotasPrefersTheWindow(t *testing.T) {
	qs := []QuotaDefinition{{ID: "a-cap", MaxConcurrent: 1}, {ID: "b-rate", WindowMs: 1000, MaxPerWindow: 2}, {ID: "c-cap", MaxConcurrent: 5}}
	r, passed := AdmitQuotas(qs, []QuotaUse{{ActiveSlots: 1}, {InWindow: 2, OldestInWin: 300}, {ActiveSlots: 1}})
	require.Equal(t, &AdmissionRefusal{By: BlockedByQuota, RefID: "b-rate", Detail: "quota b-rate: window full", DueAtMs: 1300}, r)
	require.Equal(t, []int{2}, passed)
	r, passed = AdmitQuotas(qs, []QuotaUse{{ActiveSlots: 1}, {InWindow: 1}, {}})
	require.Equal(t, "a-cap", r.RefID)
	require.Equal(t, []int{1, 2}, passed)
	r, _ = AdmitQuotas(qs, []QuotaUse{{}, {InWindow: 1}, {}})
	require.Nil(t, r)
	require.Equal(t, int64(1), qs[1].Free(QuotaUse{InWindow: 1}))
}

func TestBlockUnblock(t *testing.T) {
	e, err := NewExecution(CreateSpec{Kind: "k", Policy: &ExecutionPolicy{BudgetIDs: []string{"b"}}}, 1000)
	require.NoError(t, err)
	require.True(t, e.Hooks.Any(HookAdmission))
	require.NoError(t, e.BlockForAdmission(2000, AdmissionRefusal{By: BlockedByBudget, RefID: "b", Detail: "x"}))
	require.Equal(t, PublicRateLimited, e.State.PublicState)
	require.NoError(t, e.State.Check())
	require.False(t, e.Claimable())
	require.Error(t, e.BlockForAdmission(2000, AdmissionRefusal{By: BlockedByBudget}), "only ready work is blocked")
	require.True(t, e.Unblock(3000))
	require.False(t, e.Unblock(3000), "exactly once")
	require.Equal(t, PublicWaiting, e.State.PublicState)
	require.Equal(t, AttemptPendingFirst, e.State.AttemptState)
	_, _, err = e.Claim(4000, ClaimArgs{WorkerID: "w", LeaseTTLMs: 1000}, BackendSQLite)
	require.NoError(t, err)
	e.TakeQuotaSlots()
	require.False(t, e.SettleQuotaSlots(), "a live lease keeps its slots")
	_, _, err = e.Complete(4500, Fence{LeaseID: e.LeaseID, LeaseEpoch: e.LeaseEpoch, AttemptID: e.CurrentAttemptID}, nil)
	require.NoError(t, err)
	require.True(t, e.SettleQuotaSlots())
	require.False(t, e.Hooks.Any(HookQuotaSlot))
	require.False(t, e.SettleQuotaSlots())
}

func TestPolicyRefsValidation(t *testing.T) {
	require.ErrorIs(t, (&ExecutionPolicy{BudgetIDs: []string{"a", "a"}}).Validate(), ErrInvalidPolicy)
	require.ErrorIs(t, (&ExecutionPolicy{QuotaIDs: []string{""}}).Validate(), ErrInvalidPolicy)
	require.NoError(t, (&ExecutionPolicy{QuotaIDs: []string{"q1", "q2"}}).Validate())
}
