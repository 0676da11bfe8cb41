package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The events of budgets: which ones are written, and that their commit
// wakes event followers like any other event's.

func init() {
	register("Budgets/ResetEventManualAndDue", testBudgetResetEvents)
	register("Budgets/EventsWakeFollowersAtCommit", testBudgetEventsWake)
}

func testBudgetResetEvents(t *testing.T, h Harness) {
	if h.Events == nil {
		t.Skip("harness without an event reader")
	}
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 5}}, 1000)
	_, err := e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
	require.NoError(t, err)
	e.advance(1000)
	n, err := e.b.ResetDueBudgets(e.ctx, backend.SweepParams{})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var resets []ff.Event
	for _, ev := range h.Events(t) {
		if ev.Type == ff.EventBudget {
			resets = append(resets, ev)
		}
	}
	require.Len(t, resets, 2, "a manual reset and a due one each write one budget event")
	for _, ev := range resets {
		require.Equal(t, ff.BudgetEventReset, ev.Action)
	}
}

// testBudgetEventsWake checks the wake-up is there as soon as the call
// returns: the in-process wake happens at commit, while one from another
// process (on Postgres, any schema's) arrives later and rarely in every
// round.
func testBudgetEventsWake(t *testing.T, h Harness) {
	e := newBudgetEnv(t, h)
	e.budget("b", map[string]ff.BudgetLimit{"tokens": {Hard: 1000}}, 0)
	ch, stop := e.b.SubscribeEvents(e.ctx)
	defer stop()
	for round := 0; round < 5; round++ {
		drain(ch)
		e.report("b", map[string]int64{"tokens": 1}, "")
		require.True(t, drain(ch), "round %d: a usage report's event did not wake followers at commit", round)
		_, err := e.b.ResetBudget(e.ctx, backend.ResetBudgetParams{BudgetID: "b"})
		require.NoError(t, err)
		require.True(t, drain(ch), "round %d: a reset's event did not wake followers at commit", round)
	}
}
