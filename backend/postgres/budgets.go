package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Budgets and quotas (issue 13). Every change runs in one transaction
// that locks the budget (or quota) row first: FOR UPDATE for a report, a
// reset or a limit change, FOR SHARE for admission. Unblocking locks the
// blocked executions with SKIP LOCKED after that, so the lock order is
// always execution → budget/quota → blocked executions and never waits
// in a cycle.

// budgetTx is a transaction with its statement time and the lanes to wake
// once it commits.
type budgetTx struct {
	pgx.Tx
	ctx    context.Context
	now    int64
	nowArg any // the backend's clock argument (nil: the database's)
	lanes  []string
}

// budgetTx runs fn in one transaction stamped with the backend's clock, then
// wakes the lanes fn unblocked work on.
func (b *Backend) budgetTx(ctx context.Context, op string, fn func(t *budgetTx) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	t := &budgetTx{Tx: tx, ctx: ctx, nowArg: b.nowArg()}
	if t.now, err = b.txNow(ctx, tx); err != nil {
		return mapPgError(op, err)
	}
	if err := fn(t); err != nil {
		return opErr(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return mapPgError(op, err)
	}
	b.wake(t.lanes...)
	return nil
}

// CreateBudget implements backend.Budgets.
func (b *Backend) CreateBudget(ctx context.Context, p backend.CreateBudgetParams) (backend.CreateResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CreateResult{}, err
	}
	var res backend.CreateResult
	err := b.budgetTx(ctx, "create budget", func(t *budgetTx) error {
		tag, err := t.Exec(ctx, `INSERT INTO ff_budget (budget_id, scope_type, scope_id, reset_interval_ms,
			next_reset_at_ms, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (budget_id) DO NOTHING`,
			p.ID, p.ScopeType, p.ScopeID, p.ResetIntervalMs, ff.NextResetMs(t.now, p.ResetIntervalMs), t.now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		res.Created = true
		return t.upsertLimits(p.ID, p.Limits)
	})
	return res, err
}

// upsertLimits writes the limits of the dimensions named, keeping their
// usage. The dimensions travel as parallel arrays (unnest): one statement
// whatever their number.
func (t *budgetTx) upsertLimits(id string, limits map[string]ff.BudgetLimit) error {
	var dims []string
	var hard, soft []int64
	for d, l := range limits {
		dims, hard, soft = append(dims, d), append(hard, l.Hard), append(soft, l.Soft)
	}
	_, err := t.Exec(t.ctx, `INSERT INTO ff_budget_dim (budget_id, dimension, hard_limit, soft_limit)
		SELECT $1, d, h, s FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS x(d, h, s)
		ON CONFLICT (budget_id, dimension) DO UPDATE SET hard_limit = EXCLUDED.hard_limit, soft_limit = EXCLUDED.soft_limit`,
		id, dims, hard, soft)
	return err
}

// lockBudget locks a budget row (mode "UPDATE" or "SHARE") and returns its
// dimensions; an unknown budget is not_found.
func (t *budgetTx) lockBudget(id, mode string) (map[string]ff.BudgetDim, error) {
	var one int
	err := t.QueryRow(t.ctx, `SELECT 1 FROM ff_budget WHERE budget_id = $1 FOR `+mode, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("budget", "%s", id)
	}
	if err != nil {
		return nil, err
	}
	return t.budgetDims(id)
}

func (t *budgetTx) budgetDims(id string) (map[string]ff.BudgetDim, error) {
	rows, err := t.Query(t.ctx, `SELECT dimension, hard_limit, soft_limit, usage FROM ff_budget_dim WHERE budget_id = $1`, id)
	if err != nil {
		return nil, err
	}
	dims := map[string]ff.BudgetDim{}
	var (
		name string
		d    ff.BudgetDim
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &d.Limit.Hard, &d.Limit.Soft, &d.Usage}, func() error {
		dims[name] = d
		return nil
	})
	return dims, err
}

// GetBudget implements backend.Budgets.
func (b *Backend) GetBudget(ctx context.Context, p backend.GetBudgetParams) (ff.BudgetStatus, error) {
	if err := p.Validate(); err != nil {
		return ff.BudgetStatus{}, err
	}
	var st ff.BudgetStatus
	err := b.budgetTx(ctx, "get budget", func(t *budgetTx) error {
		var err error
		st, err = t.budgetStatus(p.BudgetID)
		return err
	})
	return st, err
}

func (t *budgetTx) budgetStatus(id string) (ff.BudgetStatus, error) {
	st := ff.BudgetStatus{ID: id}
	err := t.QueryRow(t.ctx, `SELECT scope_type, scope_id, reset_interval_ms, next_reset_at_ms, breach_count,
		soft_breach_count, last_breach_dim, last_breach_at_ms, created_at_ms FROM ff_budget WHERE budget_id = $1`, id).
		Scan(&st.ScopeType, &st.ScopeID, &st.ResetIntervalMs, &st.NextResetAtMs, &st.BreachCount,
			&st.SoftBreachCount, &st.LastBreachDimension, &st.LastBreachAtMs, &st.CreatedAtMs)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ff.NotFound("budget", "%s", id)
	}
	if err != nil {
		return st, err
	}
	dims, err := t.budgetDims(id)
	if err != nil {
		return st, err
	}
	st.Usage, st.HardLimits, st.SoftLimits = ff.NewBudgetStatus(dims)
	return st, nil
}

// SetBudgetLimits implements backend.Budgets.
func (b *Backend) SetBudgetLimits(ctx context.Context, p backend.SetBudgetLimitsParams) (ff.BudgetStatus, error) {
	if err := p.Normalize(); err != nil {
		return ff.BudgetStatus{}, err
	}
	var st ff.BudgetStatus
	err := b.budgetTx(ctx, "set budget limits", func(t *budgetTx) error {
		if _, err := t.lockBudget(p.BudgetID, "UPDATE"); err != nil {
			return err
		}
		if err := t.upsertLimits(p.BudgetID, p.Limits); err != nil {
			return err
		}
		if _, err := t.Exec(ctx, `UPDATE ff_budget SET updated_at_ms = $2 WHERE budget_id = $1`, p.BudgetID, t.now); err != nil {
			return err
		}
		if _, err := t.unblockBudget(p.BudgetID); err != nil {
			return err
		}
		var err error
		st, err = t.budgetStatus(p.BudgetID)
		return err
	})
	return st, err
}

// ResetBudget implements backend.Budgets.
func (b *Backend) ResetBudget(ctx context.Context, p backend.ResetBudgetParams) (backend.ResetBudgetResult, error) {
	if err := p.Validate(); err != nil {
		return backend.ResetBudgetResult{}, err
	}
	var res backend.ResetBudgetResult
	err := b.budgetTx(ctx, "reset budget", func(t *budgetTx) error {
		if _, err := t.lockBudget(p.BudgetID, "UPDATE"); err != nil {
			return err
		}
		var err error
		if res, err = t.resetBudget(p.BudgetID); err != nil {
			return err
		}
		return t.budgetEvent(ff.BudgetResetEvent(p.BudgetID, t.now))
	})
	return res, err
}

// resetBudget zeroes the usage of a locked budget, schedules its next
// reset and unblocks its executions.
func (t *budgetTx) resetBudget(id string) (backend.ResetBudgetResult, error) {
	var res backend.ResetBudgetResult
	if _, err := t.Exec(t.ctx, `UPDATE ff_budget_dim SET usage = 0 WHERE budget_id = $1 AND usage <> 0`, id); err != nil {
		return res, err
	}
	err := t.QueryRow(t.ctx, `UPDATE ff_budget SET last_breach_dim = '', last_breach_at_ms = 0, updated_at_ms = $2,
		next_reset_at_ms = CASE WHEN reset_interval_ms > 0 THEN $2 + reset_interval_ms ELSE 0 END
		WHERE budget_id = $1 RETURNING next_reset_at_ms`, id, t.now).Scan(&res.NextResetAtMs)
	if err != nil {
		return res, err
	}
	res.Unblocked, err = t.unblockBudget(id)
	return res, err
}

// ReportUsage implements backend.Budgets.
func (b *Backend) ReportUsage(ctx context.Context, p backend.ReportUsageParams) (ff.UsageResult, error) {
	if err := p.Normalize(); err != nil {
		return ff.UsageResult{}, err
	}
	var res ff.UsageResult
	err := b.budgetTx(ctx, "report usage", func(t *budgetTx) error {
		var err error
		res, err = t.report(p.BudgetID, p.Dimensions, p.DedupKey, nil)
		return err
	})
	return res, err
}

// ReportTaskUsage implements backend.Budgets: the fence is checked on the
// locked execution (an expired lease is marked and committed), then each
// budget of its policy gets the report.
func (b *Backend) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return nil, err
	}
	var (
		out    []ff.UsageResult
		fenced error
	)
	err := b.budgetTx(ctx, "report usage", func(t *budgetTx) error {
		e, err := t.lockExecution(p.Handle.Lease.ExecutionID)
		if err != nil {
			return err
		}
		before := *e
		fr, ferr := e.CheckFence(t.now, p.Handle.Lease.Fence())
		if ferr != nil {
			if !fr.MarkedExpired {
				return ferr
			}
			fenced = ferr
			return t.writeRecord(&before, e, fr.Effects)
		}
		for _, id := range e.Policy.Budgets() {
			r, err := t.report(id, p.Dimensions, p.DedupKey, e)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err == nil {
		err = fenced
	}
	return out, err
}

// lockExecution loads an execution under its row lock; with input, its
// input too.
func (t *budgetTx) lockExecution(id ff.ExecutionID, input ...*[]byte) (*ff.Execution, error) {
	cols, extra := recordColumns, []any{}
	if len(input) > 0 {
		cols, extra = recordColumns+`, e.input`, []any{input[0]}
	}
	e, err := scanRecord(t.QueryRow(t.ctx, `SELECT `+cols+recordFrom+` WHERE e.id = $1 FOR UPDATE OF e`, id.String()), extra...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	return e, err
}

// writeRecord writes a transition's record and effects in the
// transaction.
func (t *budgetTx) writeRecord(before, e *ff.Execution, fx *ff.Effects) error {
	batch := &pgx.Batch{}
	if err := queueRecordWrite(batch, before, e, fx); err != nil {
		return err
	}
	if e.Claimable() {
		t.lanes = append(t.lanes, e.Lane)
	}
	return execBatch(t.ctx, t, batch)
}

// report applies one usage report to one budget (exec is the reporting
// execution, nil for an operator). A key already applied answers
// already_applied; a hard breach changes only the breach counters; the
// key is remembered only when the report applied, so a retry after a
// hard breach is evaluated again.
func (t *budgetTx) report(id string, deltas map[string]int64, key string, exec *ff.Execution) (ff.UsageResult, error) {
	dims, err := t.lockBudget(id, "UPDATE")
	if err != nil {
		return ff.UsageResult{}, err
	}
	if key != "" {
		var one int
		err := t.QueryRow(t.ctx, `SELECT 1 FROM ff_budget_dedup WHERE budget_id = $1 AND dedup_key = $2 AND expires_at_ms > $3`,
			id, key, t.now).Scan(&one)
		if err == nil {
			return ff.UsageResult{BudgetID: id, Outcome: ff.UsageAlreadyApplied}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return ff.UsageResult{}, err
		}
	}
	res := ff.ApplyUsage(dims, deltas)
	res.BudgetID = id
	if err := t.writeUsage(id, res, dims, deltas, key); err != nil {
		return res, err
	}
	return res, t.usageEvent(res, deltas, exec)
}

// writeUsage stores a report's outcome: the breach counters, and unless
// it was a hard breach the new usage (one statement over unnest arrays)
// and the dedup key.
func (t *budgetTx) writeUsage(id string, res ff.UsageResult, dims map[string]ff.BudgetDim, deltas map[string]int64, key string) error {
	hard := res.Outcome == ff.UsageHardBreach
	if _, err := t.Exec(t.ctx, `UPDATE ff_budget SET updated_at_ms = $2,
		breach_count = breach_count + $3::boolean::int, soft_breach_count = soft_breach_count + $4::boolean::int,
		last_breach_dim = CASE WHEN $3::boolean THEN $5 ELSE last_breach_dim END,
		last_breach_at_ms = CASE WHEN $3::boolean THEN $2 ELSE last_breach_at_ms END
		WHERE budget_id = $1`, id, t.now, hard, res.Outcome == ff.UsageSoftBreach, res.Dimension); err != nil {
		return err
	}
	if hard {
		return nil
	}
	var names []string
	var usage []int64
	for n := range deltas {
		names, usage = append(names, n), append(usage, dims[n].Usage)
	}
	if _, err := t.Exec(t.ctx, `INSERT INTO ff_budget_dim (budget_id, dimension, usage)
		SELECT $1, d, u FROM unnest($2::text[], $3::bigint[]) AS x(d, u)
		ON CONFLICT (budget_id, dimension) DO UPDATE SET usage = EXCLUDED.usage`, id, names, usage); err != nil {
		return err
	}
	if key == "" {
		return nil
	}
	_, err := t.Exec(t.ctx, `INSERT INTO ff_budget_dedup (budget_id, dedup_key, applied_at_ms, expires_at_ms)
		VALUES ($1, $2, $3, $4) ON CONFLICT (budget_id, dedup_key)
		DO UPDATE SET applied_at_ms = EXCLUDED.applied_at_ms, expires_at_ms = EXCLUDED.expires_at_ms`,
		id, key, t.now, ff.AddMs(t.now, ff.DefaultUsageDedupTTLMs))
	return err
}

// usageEvent writes the budget event of a report.
func (t *budgetTx) usageEvent(res ff.UsageResult, deltas map[string]int64, exec *ff.Execution) error {
	batch := &pgx.Batch{}
	if err := queueEvents(batch, []ff.Event{ff.UsageEvent(res, deltas, exec, t.now)}); err != nil {
		return err
	}
	return execBatch(t.ctx, t, batch)
}
