package flowfabric

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJoinDecide(t *testing.T) {
	cases := []struct {
		join JoinPolicy
		c    EdgeCounts
		want string
	}{
		{JoinPolicy{Policy: JoinAllOf}, EdgeCounts{Total: 2, Satisfied: 1}, GroupPending},
		{JoinPolicy{Policy: JoinAllOf}, EdgeCounts{Total: 2, Satisfied: 2}, GroupSatisfied},
		{JoinPolicy{Policy: JoinAllOf}, EdgeCounts{Total: 2, Satisfied: 1, Impossible: 1}, GroupImpossible},
		{JoinPolicy{Policy: JoinAnyOf}, EdgeCounts{Total: 3, Impossible: 2}, GroupPending},
		{JoinPolicy{Policy: JoinAnyOf}, EdgeCounts{Total: 3, Satisfied: 1}, GroupSatisfied},
		{JoinPolicy{Policy: JoinAnyOf}, EdgeCounts{Total: 3, Impossible: 3}, GroupImpossible},
		{JoinPolicy{Policy: JoinQuorum, N: 2}, EdgeCounts{Total: 3, Satisfied: 1, Impossible: 1}, GroupPending},
		{JoinPolicy{Policy: JoinQuorum, N: 2}, EdgeCounts{Total: 3, Impossible: 2}, GroupImpossible},
		{JoinPolicy{Policy: JoinQuorum, N: 2}, EdgeCounts{Total: 3, Satisfied: 2}, GroupSatisfied},
		{JoinPolicy{Policy: JoinAllOf}, EdgeCounts{}, GroupSatisfied},
	}
	for _, c := range cases {
		require.Equal(t, c.want, c.join.Decide(c.c), "%+v %+v", c.join, c.c)
	}
}

func TestJoinNormalize(t *testing.T) {
	j := JoinPolicy{}
	require.NoError(t, j.Normalize(2))
	require.Equal(t, JoinPolicy{Policy: JoinAllOf, OnSatisfied: OnSatisfiedLetRun}, j)
	for _, bad := range []JoinPolicy{{Policy: JoinQuorum, N: 0}, {Policy: JoinQuorum, N: 3}, {Policy: "most_of"},
		{Policy: JoinAnyOf, N: 1}, {Policy: JoinAnyOf, OnSatisfied: "cancel_all"}} {
		require.ErrorIs(t, bad.Normalize(2), ErrInvalidInput, "%+v", bad)
	}
	require.True(t, JoinPolicy{Policy: JoinAnyOf, OnSatisfied: OnSatisfiedCancelRemaining}.CancelsSiblings())
	require.False(t, JoinPolicy{Policy: JoinAllOf, OnSatisfied: OnSatisfiedCancelRemaining}.CancelsSiblings())
}

func TestDeriveFlowState(t *testing.T) {
	require.Equal(t, FlowOpen, DeriveFlowState(FlowOpen, nil))
	require.Equal(t, FlowOpen, DeriveFlowState(FlowOpen, map[PublicState]int{PublicWaiting: 1, PublicWaitingChildren: 2}))
	require.Equal(t, FlowRunning, DeriveFlowState(FlowOpen, map[PublicState]int{PublicActive: 1, PublicWaitingChildren: 2}))
	require.Equal(t, FlowRunning, DeriveFlowState(FlowOpen, map[PublicState]int{PublicCompleted: 1, PublicWaiting: 1}))
	require.Equal(t, FlowCompleted, DeriveFlowState(FlowOpen, map[PublicState]int{PublicCompleted: 2, PublicSkipped: 1}))
	require.Equal(t, FlowFailed, DeriveFlowState(FlowOpen, map[PublicState]int{PublicCompleted: 2, PublicFailed: 1}))
	require.Equal(t, FlowCancelled, DeriveFlowState(FlowCancelled, map[PublicState]int{PublicCompleted: 2}))
}

func TestEdgeResolution(t *testing.T) {
	require.Equal(t, EdgeSatisfied, EdgeResolution(EdgeSuccessOnly, OutcomeSuccess))
	require.Equal(t, EdgeImpossible, EdgeResolution(EdgeSuccessOnly, OutcomeSkipped))
	require.Equal(t, EdgeSatisfied, EdgeResolution(EdgeCompletion, OutcomeFailed))
}

// The flow transitions keep the state vector valid: C0 → W0, CI → RI,
// skip from active revokes the lease.
func TestFlowTransitions(t *testing.T) {
	e, err := NewExecution(CreateSpec{Kind: "k"}, 1000)
	require.NoError(t, err)
	require.NoError(t, e.BlockOnDependencies(1001))
	require.Equal(t, PublicWaitingChildren, e.State.PublicState)
	require.NoError(t, e.State.Check())
	require.False(t, e.Claimable())
	require.True(t, e.DependenciesSatisfied(1002))
	require.Equal(t, PublicWaiting, e.State.PublicState)
	require.Equal(t, AttemptPendingFirst, e.State.AttemptState)

	h, _, err := e.Claim(1003, ClaimArgs{WorkerID: "w", LeaseTTLMs: 10_000}, BackendSQLite)
	require.NoError(t, err)
	require.ErrorIs(t, e.BlockOnDependencies(1004), ErrNotEligible, "an edge into a started member")
	fx, _, err := e.WaitChildren(1004, h.Lease.Fence())
	require.NoError(t, err)
	require.Len(t, fx.Events, 1)
	require.Equal(t, PublicWaitingChildren, e.State.PublicState)
	require.Equal(t, AttemptInterrupted, e.State.AttemptState)
	require.NoError(t, e.State.Check())
	require.True(t, e.DependenciesSatisfied(1005))
	h2, _, err := e.Claim(1006, ClaimArgs{WorkerID: "w", LeaseTTLMs: 10_000}, BackendSQLite)
	require.NoError(t, err)
	require.Equal(t, HandleResumed, h2.Kind)

	sk := e.Skip(1007, SkipReasonImpossible)
	require.True(t, sk.EndedNow())
	require.Equal(t, PublicSkipped, e.State.PublicState)
	require.Equal(t, h2.Lease.LeaseEpoch, e.RevokedLeaseEpoch, "the held lease is revoked")
	require.NoError(t, e.State.Check())
	require.Nil(t, e.Skip(1008, "again"))
}
