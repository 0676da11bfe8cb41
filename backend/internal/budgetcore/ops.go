package budgetcore

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/txrun"
)

// Runner runs fn in one store transaction named op (for errors) and
// commits it; a *wpcore.CommitThen from fn commits too and returns its
// Err.
type Runner = txrun.Runner[Tx]

// Ops is the part of backend.Budgets written here: each method
// validates its input and runs the operation in one transaction of Run.
// A store keeps one and forwards to it.
type Ops struct {
	Tag ff.BackendTag
	Run Runner
}

// inTx runs fn in one transaction and returns its result.
func inTx[T any](ctx context.Context, o Ops, op string, fn func(Tx) (T, error)) (T, error) {
	return txrun.In(ctx, o.Run, op, fn)
}

// CreateBudget implements backend.Budgets.
func (o Ops) CreateBudget(ctx context.Context, p backend.CreateBudgetParams) (backend.CreateResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CreateResult{}, err
	}
	return inTx(ctx, o, "create budget", func(t Tx) (backend.CreateResult, error) { return CreateBudget(t, p) })
}

// GetBudget implements backend.Budgets.
func (o Ops) GetBudget(ctx context.Context, p backend.GetBudgetParams) (ff.BudgetStatus, error) {
	if err := p.Validate(); err != nil {
		return ff.BudgetStatus{}, err
	}
	return inTx(ctx, o, "get budget", func(t Tx) (ff.BudgetStatus, error) { return t.BudgetStatus(p.BudgetID) })
}

// ListBudgets implements backend.Budgets: one more id than a page is
// read, so the page knows whether another follows.
func (o Ops) ListBudgets(ctx context.Context, p backend.ListByIDParams) (backend.BudgetPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.BudgetPage{}, err
	}
	return inTx(ctx, o, "list budgets", func(t Tx) (page backend.BudgetPage, err error) {
		ids, err := t.BudgetIDs(p.Cursor, p.Limit+1)
		if err == nil {
			page.Budgets, page.NextCursor, err = backend.ReadPage(p, ids, t.BudgetStatus)
		}
		return page, err
	})
}

// ListQuotas implements backend.Budgets, as ListBudgets.
func (o Ops) ListQuotas(ctx context.Context, p backend.ListByIDParams) (backend.QuotaPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.QuotaPage{}, err
	}
	return inTx(ctx, o, "list quotas", func(t Tx) (page backend.QuotaPage, err error) {
		ids, err := t.QuotaIDs(p.Cursor, p.Limit+1)
		if err == nil {
			page.Quotas, page.NextCursor, err = backend.ReadPage(p, ids, t.QuotaStatus)
		}
		return page, err
	})
}

// SetBudgetLimits implements backend.Budgets.
func (o Ops) SetBudgetLimits(ctx context.Context, p backend.SetBudgetLimitsParams) (ff.BudgetStatus, error) {
	if err := p.Normalize(); err != nil {
		return ff.BudgetStatus{}, err
	}
	return inTx(ctx, o, "set budget limits", func(t Tx) (ff.BudgetStatus, error) { return SetLimits(t, p) })
}

// ResetBudget implements backend.Budgets.
func (o Ops) ResetBudget(ctx context.Context, p backend.ResetBudgetParams) (backend.ResetBudgetResult, error) {
	if err := p.Validate(); err != nil {
		return backend.ResetBudgetResult{}, err
	}
	return inTx(ctx, o, "reset budget", func(t Tx) (backend.ResetBudgetResult, error) { return Reset(t, p.BudgetID) })
}

// ReportUsage implements backend.Budgets.
func (o Ops) ReportUsage(ctx context.Context, p backend.ReportUsageParams) (ff.UsageResult, error) {
	if err := p.Normalize(); err != nil {
		return ff.UsageResult{}, err
	}
	return inTx(ctx, o, "report usage", func(t Tx) (ff.UsageResult, error) {
		return Report(t, p.BudgetID, p.Dimensions, p.DedupKey, nil)
	})
}

// ReportTaskUsage implements backend.Budgets.
func (o Ops) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	return inTx(ctx, o, "report usage", func(t Tx) ([]ff.UsageResult, error) { return ReportTask(t, o.Tag, p) })
}

// CreateQuota implements backend.Budgets.
func (o Ops) CreateQuota(ctx context.Context, p backend.CreateQuotaParams) (backend.CreateResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CreateResult{}, err
	}
	return inTx(ctx, o, "create quota", func(t Tx) (backend.CreateResult, error) {
		created, err := t.InsertQuota(p.QuotaDefinition)
		return backend.CreateResult{Created: created}, err
	})
}

// GetQuota implements backend.Budgets.
func (o Ops) GetQuota(ctx context.Context, p backend.GetQuotaParams) (ff.QuotaStatus, error) {
	if err := p.Validate(); err != nil {
		return ff.QuotaStatus{}, err
	}
	return inTx(ctx, o, "get quota", func(t Tx) (ff.QuotaStatus, error) { return t.QuotaStatus(p.QuotaID) })
}

// ResetDueBudgets implements backend.Budgets.
func (o Ops) ResetDueBudgets(ctx context.Context, p backend.SweepParams) (int, error) {
	return o.sweep(ctx, "reset due budgets", p, ResetDue)
}

// UnblockDue implements backend.Budgets.
func (o Ops) UnblockDue(ctx context.Context, p backend.SweepParams) (int, error) {
	return o.sweep(ctx, "unblock due", p, UnblockDue)
}

// RepairQuotaSlots implements backend.Budgets.
func (o Ops) RepairQuotaSlots(ctx context.Context, p backend.SweepParams) (int, error) {
	return o.sweep(ctx, "repair quota slots", p, RepairSlots)
}

func (o Ops) sweep(ctx context.Context, op string, p backend.SweepParams, fn func(Tx, int) (int, error)) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	return inTx(ctx, o, op, func(t Tx) (int, error) { return fn(t, p.Limit) })
}
