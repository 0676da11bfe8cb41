package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
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
// locked as they were, and what to wake once it commits: the lanes of
// the work it made claimable, and event followers when it wrote events.
type budgetTx struct {
	pgx.Tx
	ctx    context.Context
	now    int64
	nowArg any // the backend's clock argument (nil: the database's)
	before map[*ff.Execution]ff.Execution
	lanes  []string
	events bool
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
	if t.events {
		b.eventsCommitted()
	}
	if keep != nil {
		return keep.Err
	}
	return nil
}

// budgetOps is budgetcore.Ops under a name Backend embeds unexported:
// the budget operations of backend.Budgets written once in budgetcore
// (CreateBudget, GetBudget, ListBudgets, SetBudgetLimits, ResetBudget,
// ReportUsage, ReportTaskUsage, CreateQuota, GetQuota, ListQuotas,
// ResetDueBudgets, UnblockDue, RepairQuotaSlots), each in one
// transaction of runBudgets.
type budgetOps = budgetcore.Ops

func (b *Backend) newBudgetOps() budgetOps {
	return budgetOps{Tag: ff.BackendPostgres, Run: b.runBudgets}
}

// runBudgets is budgetcore's Runner over this store's transactions.
func (b *Backend) runBudgets(ctx context.Context, op string, fn func(budgetcore.Tx) error) error {
	return b.budgetTx(ctx, op, func(t *budgetTx) error { return fn(t) })
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
	t.events = t.events || (fx != nil && len(fx.Events) > 0)
	return batch, nil
}

// InsertEvent implements budgetcore.Tx.
func (t *budgetTx) InsertEvent(ev ff.Event) error {
	batch := &pgx.Batch{}
	if err := queueEvents(batch, []ff.Event{ev}); err != nil {
		return err
	}
	t.events = true
	return execBatch(t.ctx, t, batch)
}
