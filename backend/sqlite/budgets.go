package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/budgetcore"
)

// Budgets and quotas (issue 13): the orchestration is budgetcore's; this
// store supplies its statements. Every change is one write transaction:
// the writer lock makes each report, reset, admission and unblock
// atomic, so the budgetcore locks only read.

var _ budgetcore.Tx = (*sqTx)(nil)

// budgetOps is budgetcore.Ops under a name Backend embeds unexported:
// the budget operations of backend.Budgets written once in budgetcore
// (CreateBudget, GetBudget, ListBudgets, SetBudgetLimits, ResetBudget,
// ReportUsage, ReportTaskUsage, CreateQuota, GetQuota, ListQuotas,
// ResetDueBudgets, UnblockDue, RepairQuotaSlots), each in one
// transaction of runBudgets.
type budgetOps = budgetcore.Ops

func (b *Backend) newBudgetOps() budgetOps {
	return budgetOps{Tag: ff.BackendSQLite, Run: b.runBudgets}
}

// runBudgets is budgetcore's Runner over this store's transactions.
func (b *Backend) runBudgets(ctx context.Context, op string, fn func(budgetcore.Tx) error) error {
	return b.wpWrite(ctx, "sqlite: "+op, func(t *sqTx) error { return fn(t) })
}

// InsertEvent implements budgetcore.Tx.
func (t *sqTx) InsertEvent(ev ff.Event) error { return t.w.insertEvent(ev) }

// InsertBudget implements budgetcore.Tx.
func (t *sqTx) InsertBudget(def ff.BudgetDefinition, nextResetAtMs int64) (bool, error) {
	r, err := t.w.exec("sqlite: create budget", `INSERT INTO ff_budget (budget_id, scope_type, scope_id, reset_interval_ms,
		next_reset_at_ms, created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (budget_id) DO NOTHING`,
		def.ID, def.ScopeType, def.ScopeID, def.ResetIntervalMs, nextResetAtMs, t.w.now)
	return rowsChanged(r, err)
}

// rowsChanged tells whether a statement changed a row.
func rowsChanged(r sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// UpsertLimits implements budgetcore.Tx.
func (t *sqTx) UpsertLimits(id string, limits map[string]ff.BudgetLimit) error {
	for d, l := range limits {
		if err := t.exec("sqlite: budget limits", `INSERT INTO ff_budget_dim (budget_id, dimension, hard_limit, soft_limit)
			VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, dimension) DO UPDATE SET hard_limit = excluded.hard_limit,
			soft_limit = excluded.soft_limit`, id, d, l.Hard, l.Soft); err != nil {
			return err
		}
	}
	return nil
}

// TouchBudget implements budgetcore.Tx.
func (t *sqTx) TouchBudget(id string) error {
	return t.exec("sqlite: budget", `UPDATE ff_budget SET updated_at_ms = ? WHERE budget_id = ?`, t.w.now, id)
}

// LockBudget implements budgetcore.Tx (the writer lock is held already).
func (t *sqTx) LockBudget(id string, _ bool) (map[string]ff.BudgetDim, error) {
	var one int
	err := t.w.queryRow(`SELECT 1 FROM ff_budget WHERE budget_id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ff.NotFound("budget", "%s", id)
	}
	if err != nil {
		return nil, driverError("sqlite: budget", err)
	}
	return t.BudgetDims(id)
}

// BudgetDims implements budgetcore.Tx.
func (t *sqTx) BudgetDims(id string) (map[string]ff.BudgetDim, error) {
	rows, err := t.w.query("sqlite: budget", `SELECT dimension, hard_limit, soft_limit, usage FROM ff_budget_dim WHERE budget_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dims := map[string]ff.BudgetDim{}
	for rows.Next() {
		var (
			n string
			d ff.BudgetDim
		)
		if err := rows.Scan(&n, &d.Limit.Hard, &d.Limit.Soft, &d.Usage); err != nil {
			return nil, driverError("sqlite: budget", err)
		}
		dims[n] = d
	}
	return dims, driverError("sqlite: budget", rows.Err())
}

// BudgetStatus implements budgetcore.Tx.
func (t *sqTx) BudgetStatus(id string) (ff.BudgetStatus, error) {
	st := ff.BudgetStatus{ID: id}
	err := t.w.queryRow(`SELECT scope_type, scope_id, reset_interval_ms, next_reset_at_ms, breach_count,
		soft_breach_count, last_breach_dim, last_breach_at_ms, created_at_ms FROM ff_budget WHERE budget_id = ?`, id).
		Scan(&st.ScopeType, &st.ScopeID, &st.ResetIntervalMs, &st.NextResetAtMs, &st.BreachCount,
			&st.SoftBreachCount, &st.LastBreachDimension, &st.LastBreachAtMs, &st.CreatedAtMs)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ff.NotFound("budget", "%s", id)
	}
	if err != nil {
		return st, driverError("sqlite: budget", err)
	}
	dims, err := t.BudgetDims(id)
	if err != nil {
		return st, err
	}
	st.Usage, st.HardLimits, st.SoftLimits = ff.NewBudgetStatus(dims)
	return st, nil
}

// ZeroUsage implements budgetcore.Tx.
func (t *sqTx) ZeroUsage(id string) (int64, error) {
	if err := t.exec("sqlite: reset budget", `UPDATE ff_budget_dim SET usage = 0 WHERE budget_id = ? AND usage <> 0`, id); err != nil {
		return 0, err
	}
	var next int64
	err := t.w.queryRow(`UPDATE ff_budget SET last_breach_dim = '', last_breach_at_ms = 0, updated_at_ms = ?1,
		next_reset_at_ms = CASE WHEN reset_interval_ms > 0 THEN ?1 + reset_interval_ms ELSE 0 END
		WHERE budget_id = ?2 RETURNING next_reset_at_ms`, t.w.now, id).Scan(&next)
	return next, driverError("sqlite: reset budget", err)
}

// DedupApplied implements budgetcore.Tx.
func (t *sqTx) DedupApplied(id, key string) (bool, error) {
	var one int
	err := t.w.queryRow(`SELECT 1 FROM ff_budget_dedup WHERE budget_id = ? AND dedup_key = ? AND expires_at_ms > ?`,
		id, key, t.w.now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, driverError("sqlite: report usage", err)
}

// PutDedup implements budgetcore.Tx.
func (t *sqTx) PutDedup(id, key string, expiresAtMs int64) error {
	return t.exec("sqlite: report usage", `INSERT INTO ff_budget_dedup (budget_id, dedup_key, applied_at_ms, expires_at_ms)
		VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, dedup_key) DO UPDATE SET applied_at_ms = excluded.applied_at_ms,
		expires_at_ms = excluded.expires_at_ms`, id, key, t.w.now, expiresAtMs)
}

// CountBreach implements budgetcore.Tx.
func (t *sqTx) CountBreach(id string, res ff.UsageResult) error {
	hard := res.Outcome == ff.UsageHardBreach
	return t.exec("sqlite: report usage", `UPDATE ff_budget SET updated_at_ms = ?1,
		breach_count = breach_count + ?2, soft_breach_count = soft_breach_count + ?3,
		last_breach_dim = CASE WHEN ?2 THEN ?4 ELSE last_breach_dim END,
		last_breach_at_ms = CASE WHEN ?2 THEN ?1 ELSE last_breach_at_ms END
		WHERE budget_id = ?5`, t.w.now, boolInt(hard), boolInt(res.Outcome == ff.UsageSoftBreach), res.Dimension, id)
}

// SetUsage implements budgetcore.Tx.
func (t *sqTx) SetUsage(id string, usage map[string]int64) error {
	for n, u := range usage {
		if err := t.exec("sqlite: report usage", `INSERT INTO ff_budget_dim (budget_id, dimension, usage) VALUES (?, ?, ?)
			ON CONFLICT (budget_id, dimension) DO UPDATE SET usage = excluded.usage`, id, n, u); err != nil {
			return err
		}
	}
	return nil
}

// DueBudgets implements budgetcore.Tx.
func (t *sqTx) DueBudgets(limit int) ([]string, error) {
	return t.w.strings(`SELECT budget_id FROM ff_budget WHERE next_reset_at_ms > 0 AND next_reset_at_ms <= ?
		ORDER BY next_reset_at_ms LIMIT ?`, t.w.now, limit)
}
