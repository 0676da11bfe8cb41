package ui

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func TestDecisionSignal(t *testing.T) {
	for _, c := range []struct {
		names           []string
		approve, reject string
		ok              bool
	}{
		{nil, "approve", "reject", true},
		{[]string{"approve", "reject"}, "approve", "reject", true},
		{[]string{"decision"}, "decision", "decision", true},
		{[]string{"review", "reject"}, "review", "reject", true},
		{[]string{"__operator_only__"}, "", "", false},
		{[]string{"__timeout_only__"}, "", "", false},
	} {
		a, okA := decisionSignal(c.names, true)
		r, okR := decisionSignal(c.names, false)
		require.Equal(t, []any{c.approve, c.ok, c.reject, c.ok}, []any{a, okA, r, okR}, "names %v", c.names)
	}
}

func TestBudgetViewScalesMeters(t *testing.T) {
	v := budgetViewOf(ff.BudgetStatus{ID: "b",
		Usage:               map[string]int64{"tokens": 700, "calls": 10, "free": 4},
		SoftLimits:          map[string]int64{"tokens": 500},
		HardLimits:          map[string]int64{"tokens": 1000, "calls": 10},
		LastBreachDimension: "tokens", LastBreachAtMs: 1_700_000_000_000})
	require.Equal(t, []dimView{
		{Name: "calls", Usage: 10, Hard: 10, Max: 10, AtHard: true},
		{Name: "free", Usage: 4, Max: 4},
		{Name: "tokens", Usage: 700, Soft: 500, Hard: 1000, Max: 1000, OverSoft: true},
	}, v.Dims)
}

func TestCountsText(t *testing.T) {
	require.Equal(t, "waiting 2 · completed 1", countsText([]stateCount{{ff.PublicWaiting, 2}, {ff.PublicCompleted, 1}}))
	require.Empty(t, countsText(nil))
}

// The approvals fingerprint names exactly what the page shows: the same
// items give the same one, another waitpoint or execution another.
func TestApprovalsFingerprint(t *testing.T) {
	a := approvalItem{ExecutionSummary: backend.ExecutionSummary{ExecutionID: ff.NewExecutionID("l")},
		Waitpoints: []approvalWaitpoint{{ID: "wp-1"}}}
	b := approvalItem{ExecutionSummary: backend.ExecutionSummary{ExecutionID: ff.NewExecutionID("l")}}
	base := approvalsFingerprint([]approvalItem{a, b})
	require.Equal(t, base, approvalsFingerprint([]approvalItem{a, b}))
	require.NotEqual(t, base, approvalsFingerprint([]approvalItem{a}))
	require.NotEqual(t, base, approvalsFingerprint([]approvalItem{b, a}))
	a2 := a
	a2.Waitpoints = append([]approvalWaitpoint{}, a.Waitpoints...)
	a2.Waitpoints = append(a2.Waitpoints, approvalWaitpoint{ID: "wp-2"})
	require.NotEqual(t, base, approvalsFingerprint([]approvalItem{a2, b}))
}
