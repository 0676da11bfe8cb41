package worker

import (
	"context"
	"errors"
	"fmt"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// UsageReporter is implemented by a Transport that carries usage reports
// (backend.Backend and the HTTP client in package client both do).
type UsageReporter interface {
	ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error)
}

// ErrBudgetExceeded matches the error ReportUsage returns when a budget
// refused a report at its hard limit (errors.Is).
var ErrBudgetExceeded = errors.New("worker: budget hard limit reached")

// BudgetExceededError is the error of a report that hit a budget's hard
// limit: the increment was not applied to that budget. A handler may
// return it as is: the attempt fails like any error (retried per the
// policy), and a retry is admitted only once the budget has room again
// (it waits rate_limited until a reset or a raised limit).
type BudgetExceededError struct {
	Result ff.UsageResult // the first hard breach
}

func (e *BudgetExceededError) Error() string {
	return fmt.Sprintf("worker: budget %s at its hard limit on %s (%d of %d)",
		e.Result.BudgetID, e.Result.Dimension, e.Result.CurrentUsage, e.Result.Limit)
}

// Is makes a *BudgetExceededError match ErrBudgetExceeded.
func (e *BudgetExceededError) Is(target error) bool { return target == ErrBudgetExceeded }

// ReportUsage reports usage (an increment per dimension, each >= 0) under
// the lease against every budget of the execution's policy.budget_ids,
// and returns one outcome per budget, in the policy's order: ok,
// soft_breach, or hard_breach (nothing applied to that budget). When a
// budget refused the report, the outcomes come with a
// *BudgetExceededError a handler can return. An error showing that the
// lease is gone also cancels the handler's context, as Progress does.
func (t *Task) ReportUsage(ctx context.Context, dims map[string]int64) ([]ff.UsageResult, error) {
	return t.ReportUsageOnce(ctx, "", dims)
}

// ReportUsageOnce is ReportUsage with a dedup key: a report whose key a
// budget already applied answers already_applied there (keys are kept
// 24 hours), so a report retried after a lost answer counts once.
func (t *Task) ReportUsageOnce(ctx context.Context, dedupKey string, dims map[string]int64) ([]ff.UsageResult, error) {
	ur, ok := t.w.transport.(UsageReporter)
	if !ok {
		return nil, ff.Unavailable("report_usage")
	}
	res, err := ur.ReportTaskUsage(ctx, backend.ReportTaskUsageParams{Handle: t.handle, Dimensions: dims, DedupKey: dedupKey})
	if err != nil {
		if cause := lostCause(err); cause != nil {
			t.lose(t.w.renewer.refine(t.w.ioCtx, t, cause))
		}
		return nil, fmt.Errorf("report usage of %s: %w", t.ExecutionID, err)
	}
	for _, r := range res {
		if r.Outcome == ff.UsageHardBreach {
			return res, &BudgetExceededError{Result: r}
		}
	}
	return res, nil
}
