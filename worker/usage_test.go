package worker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// ReportUsage reports against the execution's budgets under the lease;
// a hard breach comes back as a *BudgetExceededError the handler returns.
func TestReportUsage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		_, err := b.CreateBudget(t.Context(), backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{
			ID: "tokens", Limits: map[string]ff.BudgetLimit{"tokens": {Hard: 10, Soft: 8}}}})
		require.NoError(t, err)
		outcomes := make(chan []ff.UsageResult, 2)
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("llm", func(ctx context.Context, tk *worker.Task) (any, error) {
				res, err := tk.ReportUsageOnce(ctx, tk.ExecutionID.String(), map[string]int64{"tokens": 6})
				outcomes <- res
				if err != nil {
					return nil, err
				}
				return map[string]string{"outcome": string(res[0].Outcome)}, nil
			})
		})
		pol := &ff.ExecutionPolicy{BudgetIDs: []string{"tokens"}}
		first := submit(t, b, "llm", map[string]int{}, pol)
		waitState(t, b, first, ff.PublicCompleted)
		require.Equal(t, ff.UsageOK, (<-outcomes)[0].Outcome)
		second := submit(t, b, "llm", map[string]int{}, pol)
		waitState(t, b, second, ff.PublicFailed)
		res := <-outcomes
		require.Equal(t, ff.UsageResult{BudgetID: "tokens", Outcome: ff.UsageHardBreach, Dimension: "tokens", CurrentUsage: 6, Limit: 10}, res[0])
		snap, err := b.DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: second})
		require.NoError(t, err)
		require.Contains(t, snap.FailureReason, "budget tokens at its hard limit")
		st, err := b.GetBudget(t.Context(), backend.GetBudgetParams{BudgetID: "tokens"})
		require.NoError(t, err)
		require.Equal(t, int64(6), st.Usage["tokens"])
	})
}

func TestBudgetExceededErrorIs(t *testing.T) {
	err := error(&worker.BudgetExceededError{Result: ff.UsageResult{BudgetID: "b", Dimension: "d", CurrentUsage: 1, Limit: 1}})
	require.ErrorIs(t, err, worker.ErrBudgetExceeded)
	var be *worker.BudgetExceededError
	require.True(t, errors.As(err, &be))
	require.Equal(t, "b", be.Result.BudgetID)
}
