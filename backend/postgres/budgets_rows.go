package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
)

// The budget statements of budgetcore.Tx.

// InsertBudget implements budgetcore.Tx.
func (t *budgetTx) InsertBudget(def ff.BudgetDefinition, nextResetAtMs int64) (bool, error) {
	tag, err := t.Exec(t.ctx, `INSERT INTO ff_budget (budget_id, scope_type, scope_id, reset_interval_ms,
		next_reset_at_ms, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (budget_id) DO NOTHING`,
		def.ID, def.ScopeType, def.ScopeID, def.ResetIntervalMs, nextResetAtMs, t.now)
	return err == nil && tag.RowsAffected() == 1, err
}

// UpsertLimits implements budgetcore.Tx. The dimensions travel as
// parallel arrays (unnest): one statement whatever their number.
func (t *budgetTx) UpsertLimits(id string, limits map[string]ff.BudgetLimit) error {
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

// TouchBudget implements budgetcore.Tx.
func (t *budgetTx) TouchBudget(id string) error {
	_, err := t.Exec(t.ctx, `UPDATE ff_budget SET updated_at_ms = $2 WHERE budget_id = $1`, id, t.now)
	return err
}

// LockBudget implements budgetcore.Tx: FOR SHARE or FOR UPDATE.
func (t *budgetTx) LockBudget(id string, shared bool) (map[string]ff.BudgetDim, error) {
	mode := "UPDATE"
	if shared {
		mode = "SHARE"
	}
	var one int
	err := t.QueryRow(t.ctx, `SELECT 1 FROM ff_budget WHERE budget_id = $1 FOR `+mode, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("budget", "%s", id)
	}
	if err != nil {
		return nil, err
	}
	return t.BudgetDims(id)
}

// BudgetDims implements budgetcore.Tx.
func (t *budgetTx) BudgetDims(id string) (map[string]ff.BudgetDim, error) {
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

// BudgetStatus implements budgetcore.Tx.
func (t *budgetTx) BudgetStatus(id string) (ff.BudgetStatus, error) {
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
	dims, err := t.BudgetDims(id)
	if err != nil {
		return st, err
	}
	st.Usage, st.HardLimits, st.SoftLimits = ff.NewBudgetStatus(dims)
	return st, nil
}

// ZeroUsage implements budgetcore.Tx.
func (t *budgetTx) ZeroUsage(id string) (int64, error) {
	if _, err := t.Exec(t.ctx, `UPDATE ff_budget_dim SET usage = 0 WHERE budget_id = $1 AND usage <> 0`, id); err != nil {
		return 0, err
	}
	var next int64
	err := t.QueryRow(t.ctx, `UPDATE ff_budget SET last_breach_dim = '', last_breach_at_ms = 0, updated_at_ms = $2,
		next_reset_at_ms = CASE WHEN reset_interval_ms > 0 THEN $2 + reset_interval_ms ELSE 0 END
		WHERE budget_id = $1 RETURNING next_reset_at_ms`, id, t.now).Scan(&next)
	return next, err
}

// DedupApplied implements budgetcore.Tx.
func (t *budgetTx) DedupApplied(id, key string) (bool, error) {
	var one int
	err := t.QueryRow(t.ctx, `SELECT 1 FROM ff_budget_dedup WHERE budget_id = $1 AND dedup_key = $2 AND expires_at_ms > $3`,
		id, key, t.now).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// PutDedup implements budgetcore.Tx.
func (t *budgetTx) PutDedup(id, key string, expiresAtMs int64) error {
	_, err := t.Exec(t.ctx, `INSERT INTO ff_budget_dedup (budget_id, dedup_key, applied_at_ms, expires_at_ms)
		VALUES ($1, $2, $3, $4) ON CONFLICT (budget_id, dedup_key)
		DO UPDATE SET applied_at_ms = EXCLUDED.applied_at_ms, expires_at_ms = EXCLUDED.expires_at_ms`,
		id, key, t.now, expiresAtMs)
	return err
}

// CountBreach implements budgetcore.Tx.
func (t *budgetTx) CountBreach(id string, res ff.UsageResult) error {
	_, err := t.Exec(t.ctx, `UPDATE ff_budget SET updated_at_ms = $2,
		breach_count = breach_count + $3::boolean::int, soft_breach_count = soft_breach_count + $4::boolean::int,
		last_breach_dim = CASE WHEN $3::boolean THEN $5 ELSE last_breach_dim END,
		last_breach_at_ms = CASE WHEN $3::boolean THEN $2 ELSE last_breach_at_ms END
		WHERE budget_id = $1`, id, t.now, res.Outcome == ff.UsageHardBreach, res.Outcome == ff.UsageSoftBreach, res.Dimension)
	return err
}

// SetUsage implements budgetcore.Tx in one statement over unnest arrays.
func (t *budgetTx) SetUsage(id string, usage map[string]int64) error {
	var names []string
	var values []int64
	for n, u := range usage {
		names, values = append(names, n), append(values, u)
	}
	_, err := t.Exec(t.ctx, `INSERT INTO ff_budget_dim (budget_id, dimension, usage)
		SELECT $1, d, u FROM unnest($2::text[], $3::bigint[]) AS x(d, u)
		ON CONFLICT (budget_id, dimension) DO UPDATE SET usage = EXCLUDED.usage`, id, names, values)
	return err
}

// DueBudgets implements budgetcore.Tx (FOR UPDATE SKIP LOCKED).
func (t *budgetTx) DueBudgets(limit int) ([]string, error) {
	rows, err := t.Query(t.ctx, `SELECT budget_id FROM ff_budget WHERE next_reset_at_ms > 0 AND next_reset_at_ms <= $1
		ORDER BY next_reset_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED`, t.now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
