package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/budgetcore"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// Budgets and quotas (issue 13): the orchestration is budgetcore's; this
// store supplies its statements. Every change runs in one transaction
// that locks the budget (or quota) row first: FOR UPDATE for a report, a
// reset or a limit change, FOR SHARE for admission. Unblocking locks the
// blocked executions with SKIP LOCKED after that, so the lock order is
// always execution → budget/quota → blocked executions and never waits
// in a cycle.

// budgetTx is a transaction with its statement time, the records it
// locked as they were, and the lanes to wake once it commits.
type budgetTx struct {
	pgx.Tx
	ctx    context.Context
	now    int64
	nowArg any // the backend's clock argument (nil: the database's)
	before map[*ff.Execution]ff.Execution
	lanes  []string
}

var _ budgetcore.Tx = (*budgetTx)(nil)

// budgetTx runs fn in one transaction stamped with the backend's clock,
// then wakes the lanes fn unblocked work on. A *wpcore.CommitThen
// from fn commits and returns its error.
func (b *Backend) budgetTx(ctx context.Context, op string, fn func(t *budgetTx) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	t := &budgetTx{Tx: tx, ctx: ctx, nowArg: b.nowArg(), before: map[*ff.Execution]ff.Execution{}}
	if t.now, err = b.txNow(ctx, tx); err != nil {
		return mapPgError(op, err)
	}
	ferr := fn(t)
	var keep *wpcore.CommitThen
	if ferr != nil && !errors.As(ferr, &keep) {
		return opErr(op, ferr)
	}
	if err := tx.Commit(ctx); err != nil {
		return mapPgError(op, err)
	}
	b.wake(t.lanes...)
	if keep != nil {
		return keep.Err
	}
	return nil
}

// budgets is the budget area written once in budgetcore, over this
// store's transactions.
func (b *Backend) budgets() budgetcore.Ops {
	return budgetcore.Ops{Tag: ff.BackendPostgres, Run: func(ctx context.Context, op string, fn func(budgetcore.Tx) error) error {
		return b.budgetTx(ctx, op, func(t *budgetTx) error { return fn(t) })
	}}
}

// CreateBudget implements backend.Budgets.
func (b *Backend) CreateBudget(ctx context.Context, p backend.CreateBudgetParams) (backend.CreateResult, error) {
	return b.budgets().CreateBudget(ctx, p)
}

// GetBudget implements backend.Budgets.
func (b *Backend) GetBudget(ctx context.Context, p backend.GetBudgetParams) (ff.BudgetStatus, error) {
	return b.budgets().GetBudget(ctx, p)
}

// SetBudgetLimits implements backend.Budgets.
func (b *Backend) SetBudgetLimits(ctx context.Context, p backend.SetBudgetLimitsParams) (ff.BudgetStatus, error) {
	return b.budgets().SetBudgetLimits(ctx, p)
}

// ResetBudget implements backend.Budgets.
func (b *Backend) ResetBudget(ctx context.Context, p backend.ResetBudgetParams) (backend.ResetBudgetResult, error) {
	return b.budgets().ResetBudget(ctx, p)
}

// ReportUsage implements backend.Budgets.
func (b *Backend) ReportUsage(ctx context.Context, p backend.ReportUsageParams) (ff.UsageResult, error) {
	return b.budgets().ReportUsage(ctx, p)
}

// ReportTaskUsage implements backend.Budgets.
func (b *Backend) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	return b.budgets().ReportTaskUsage(ctx, p)
}

// CreateQuota implements backend.Budgets.
func (b *Backend) CreateQuota(ctx context.Context, p backend.CreateQuotaParams) (backend.CreateResult, error) {
	return b.budgets().CreateQuota(ctx, p)
}

// GetQuota implements backend.Budgets.
func (b *Backend) GetQuota(ctx context.Context, p backend.GetQuotaParams) (ff.QuotaStatus, error) {
	return b.budgets().GetQuota(ctx, p)
}

// ResetDueBudgets implements backend.Budgets.
func (b *Backend) ResetDueBudgets(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.budgets().ResetDueBudgets(ctx, p)
}

// UnblockDue implements backend.Budgets.
func (b *Backend) UnblockDue(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.budgets().UnblockDue(ctx, p)
}

// RepairQuotaSlots implements backend.Budgets.
func (b *Backend) RepairQuotaSlots(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.budgets().RepairQuotaSlots(ctx, p)
}

func (t *budgetTx) Now() int64 { return t.now }

// LockExecution implements budgetcore.Tx.
func (t *budgetTx) LockExecution(id ff.ExecutionID) (*ff.Execution, error) {
	return t.lockExecution(id)
}

// lockExecution loads an execution under its row lock and remembers it
// as it was; with input, its input too.
func (t *budgetTx) lockExecution(id ff.ExecutionID, input ...*[]byte) (*ff.Execution, error) {
	cols, extra := recordColumns, []any{}
	if len(input) > 0 {
		cols, extra = recordColumns+`, e.input`, []any{input[0]}
	}
	e, err := scanRecord(t.QueryRow(t.ctx, `SELECT `+cols+recordFrom+` WHERE e.id = $1 FOR UPDATE OF e`, id.String()), extra...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, err
	}
	t.before[e] = *e
	return e, nil
}

// SaveExecution implements budgetcore.Tx.
func (t *budgetTx) SaveExecution(e *ff.Execution, fx *ff.Effects) error {
	batch, err := t.recordBatch(e, fx)
	if err != nil {
		return err
	}
	return execBatch(t.ctx, t, batch)
}

// recordBatch queues the write of a locked record and its effects, and
// wakes its lane at commit when it is claimable.
func (t *budgetTx) recordBatch(e *ff.Execution, fx *ff.Effects) (*pgx.Batch, error) {
	before, ok := t.before[e]
	if !ok {
		return nil, ff.Bug("save of an execution not locked in this transaction")
	}
	batch := &pgx.Batch{}
	if err := queueRecordWrite(batch, &before, e, fx); err != nil {
		return nil, err
	}
	if e.Claimable() {
		t.lanes = append(t.lanes, e.Lane)
	}
	return batch, nil
}

// InsertEvent implements budgetcore.Tx.
func (t *budgetTx) InsertEvent(ev ff.Event) error {
	batch := &pgx.Batch{}
	if err := queueEvents(batch, []ff.Event{ev}); err != nil {
		return err
	}
	return execBatch(t.ctx, t, batch)
}
