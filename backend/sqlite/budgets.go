package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Budgets and quotas (issue 13). Every change is one write transaction:
// the writer lock makes each report, reset, admission and unblock atomic.

// CreateBudget implements backend.Budgets.
func (b *Backend) CreateBudget(ctx context.Context, p backend.CreateBudgetParams) (backend.CreateResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CreateResult{}, err
	}
	var res backend.CreateResult
	err := b.write(ctx, "sqlite: create budget", func(w *writeTx) error {
		r, err := w.exec("sqlite: create budget", `INSERT INTO ff_budget (budget_id, scope_type, scope_id, reset_interval_ms,
			next_reset_at_ms, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (budget_id) DO NOTHING`,
			p.ID, p.ScopeType, p.ScopeID, p.ResetIntervalMs, ff.NextResetMs(w.now, p.ResetIntervalMs), w.now, w.now)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		res.Created = true
		return w.upsertLimits(p.ID, p.Limits)
	})
	return res, err
}

func (w *writeTx) upsertLimits(id string, limits map[string]ff.BudgetLimit) error {
	for d, l := range limits {
		if _, err := w.exec("sqlite: budget limits", `INSERT INTO ff_budget_dim (budget_id, dimension, hard_limit, soft_limit)
			VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, dimension) DO UPDATE SET hard_limit = excluded.hard_limit,
			soft_limit = excluded.soft_limit`, id, d, l.Hard, l.Soft); err != nil {
			return err
		}
	}
	return nil
}

// budgetDims returns a budget's dimensions; an unknown budget is
// not_found.
func (w *writeTx) budgetDims(id string) (map[string]ff.BudgetDim, error) {
	var one int
	err := w.queryRow(`SELECT 1 FROM ff_budget WHERE budget_id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ff.NotFound("budget", "%s", id)
	}
	if err != nil {
		return nil, driverError("sqlite: budget", err)
	}
	rows, err := w.query("sqlite: budget", `SELECT dimension, hard_limit, soft_limit, usage FROM ff_budget_dim WHERE budget_id = ?`, id)
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

// GetBudget implements backend.Budgets.
func (b *Backend) GetBudget(ctx context.Context, p backend.GetBudgetParams) (ff.BudgetStatus, error) {
	if err := p.Validate(); err != nil {
		return ff.BudgetStatus{}, err
	}
	var st ff.BudgetStatus
	err := b.write(ctx, "sqlite: get budget", func(w *writeTx) error {
		var err error
		st, err = w.budgetStatus(p.BudgetID)
		return err
	})
	return st, err
}

func (w *writeTx) budgetStatus(id string) (ff.BudgetStatus, error) {
	st := ff.BudgetStatus{ID: id}
	dims, err := w.budgetDims(id)
	if err != nil {
		return st, err
	}
	err = w.queryRow(`SELECT scope_type, scope_id, reset_interval_ms, next_reset_at_ms, breach_count,
		soft_breach_count, last_breach_dim, last_breach_at_ms, created_at_ms FROM ff_budget WHERE budget_id = ?`, id).
		Scan(&st.ScopeType, &st.ScopeID, &st.ResetIntervalMs, &st.NextResetAtMs, &st.BreachCount,
			&st.SoftBreachCount, &st.LastBreachDimension, &st.LastBreachAtMs, &st.CreatedAtMs)
	if err != nil {
		return st, driverError("sqlite: budget", err)
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
	err := b.write(ctx, "sqlite: set budget limits", func(w *writeTx) error {
		if _, err := w.budgetDims(p.BudgetID); err != nil {
			return err
		}
		if err := w.upsertLimits(p.BudgetID, p.Limits); err != nil {
			return err
		}
		if _, err := w.exec("sqlite: set budget limits", `UPDATE ff_budget SET updated_at_ms = ? WHERE budget_id = ?`,
			w.now, p.BudgetID); err != nil {
			return err
		}
		if _, err := w.unblockBudget(p.BudgetID); err != nil {
			return err
		}
		var err error
		st, err = w.budgetStatus(p.BudgetID)
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
	err := b.write(ctx, "sqlite: reset budget", func(w *writeTx) error {
		if _, err := w.budgetDims(p.BudgetID); err != nil {
			return err
		}
		var err error
		res, err = w.resetBudget(p.BudgetID)
		return err
	})
	return res, err
}

// resetBudget zeroes a budget's usage, schedules its next reset, writes
// the reset event and unblocks its executions.
func (w *writeTx) resetBudget(id string) (backend.ResetBudgetResult, error) {
	var res backend.ResetBudgetResult
	if _, err := w.exec("sqlite: reset budget", `UPDATE ff_budget_dim SET usage = 0 WHERE budget_id = ? AND usage <> 0`, id); err != nil {
		return res, err
	}
	err := w.queryRow(`UPDATE ff_budget SET last_breach_dim = '', last_breach_at_ms = 0, updated_at_ms = ?1,
		next_reset_at_ms = CASE WHEN reset_interval_ms > 0 THEN ?1 + reset_interval_ms ELSE 0 END
		WHERE budget_id = ?2 RETURNING next_reset_at_ms`, w.now, id).Scan(&res.NextResetAtMs)
	if err != nil {
		return res, driverError("sqlite: reset budget", err)
	}
	if err := w.insertEvent(ff.BudgetResetEvent(id, w.now)); err != nil {
		return res, err
	}
	res.Unblocked, err = w.unblockBudget(id)
	return res, err
}

// ReportUsage implements backend.Budgets.
func (b *Backend) ReportUsage(ctx context.Context, p backend.ReportUsageParams) (ff.UsageResult, error) {
	if err := p.Normalize(); err != nil {
		return ff.UsageResult{}, err
	}
	var res ff.UsageResult
	err := b.write(ctx, "sqlite: report usage", func(w *writeTx) error {
		var err error
		res, err = w.report(p.BudgetID, p.Dimensions, p.DedupKey, nil)
		return err
	})
	return res, err
}

// ReportTaskUsage implements backend.Budgets: the fence is checked (an
// expired lease is marked and committed), then each budget of the
// execution's policy gets the report.
func (b *Backend) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	var out []ff.UsageResult
	err := b.write(ctx, "sqlite: report usage", func(w *writeTx) error {
		return w.fenced(p.Handle, func(e *ff.Execution, now int64) (*ff.Effects, bool, ff.FenceResult, error) {
			fr, err := e.CheckFence(now, p.Handle.Lease.Fence())
			if err != nil {
				return nil, false, fr, err
			}
			for _, id := range e.Policy.Budgets() {
				r, err := w.report(id, p.Dimensions, p.DedupKey, e)
				if err != nil {
					return nil, false, fr, err
				}
				out = append(out, r)
			}
			return nil, false, fr, nil
		})
	})
	return out, err
}

// report applies one usage report to one budget (see the Postgres
// store's report for the rules).
func (w *writeTx) report(id string, deltas map[string]int64, key string, exec *ff.Execution) (ff.UsageResult, error) {
	dims, err := w.budgetDims(id)
	if err != nil {
		return ff.UsageResult{}, err
	}
	if key != "" {
		var one int
		err := w.queryRow(`SELECT 1 FROM ff_budget_dedup WHERE budget_id = ? AND dedup_key = ? AND expires_at_ms > ?`,
			id, key, w.now).Scan(&one)
		if err == nil {
			return ff.UsageResult{BudgetID: id, Outcome: ff.UsageAlreadyApplied}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return ff.UsageResult{}, driverError("sqlite: report usage", err)
		}
	}
	res := ff.ApplyUsage(dims, deltas)
	res.BudgetID = id
	if err := w.writeUsage(id, res, dims, deltas, key); err != nil {
		return res, err
	}
	return res, w.insertEvent(ff.UsageEvent(res, deltas, exec, w.now))
}

func (w *writeTx) writeUsage(id string, res ff.UsageResult, dims map[string]ff.BudgetDim, deltas map[string]int64, key string) error {
	hard := res.Outcome == ff.UsageHardBreach
	if _, err := w.exec("sqlite: report usage", `UPDATE ff_budget SET updated_at_ms = ?1,
		breach_count = breach_count + ?2, soft_breach_count = soft_breach_count + ?3,
		last_breach_dim = CASE WHEN ?2 THEN ?4 ELSE last_breach_dim END,
		last_breach_at_ms = CASE WHEN ?2 THEN ?1 ELSE last_breach_at_ms END
		WHERE budget_id = ?5`, w.now, boolInt(hard), boolInt(res.Outcome == ff.UsageSoftBreach), res.Dimension, id); err != nil {
		return err
	}
	if hard {
		return nil
	}
	for n := range deltas {
		if _, err := w.exec("sqlite: report usage", `INSERT INTO ff_budget_dim (budget_id, dimension, usage) VALUES (?, ?, ?)
			ON CONFLICT (budget_id, dimension) DO UPDATE SET usage = excluded.usage`, id, n, dims[n].Usage); err != nil {
			return err
		}
	}
	if key == "" {
		return nil
	}
	_, err := w.exec("sqlite: report usage", `INSERT INTO ff_budget_dedup (budget_id, dedup_key, applied_at_ms, expires_at_ms)
		VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, dedup_key) DO UPDATE SET applied_at_ms = excluded.applied_at_ms,
		expires_at_ms = excluded.expires_at_ms`, id, key, w.now, ff.AddMs(w.now, ff.DefaultUsageDedupTTLMs))
	return err
}

// CreateQuota implements backend.Budgets.
func (b *Backend) CreateQuota(ctx context.Context, p backend.CreateQuotaParams) (backend.CreateResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CreateResult{}, err
	}
	var res backend.CreateResult
	err := b.write(ctx, "sqlite: create quota", func(w *writeTx) error {
		r, err := w.exec("sqlite: create quota", `INSERT INTO ff_quota (quota_id, window_ms, max_per_window, max_concurrent,
			created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (quota_id) DO NOTHING`,
			p.ID, p.WindowMs, p.MaxPerWindow, p.MaxConcurrent, w.now, w.now)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		res.Created = n == 1
		return nil
	})
	return res, err
}

// GetQuota implements backend.Budgets.
func (b *Backend) GetQuota(ctx context.Context, p backend.GetQuotaParams) (ff.QuotaStatus, error) {
	if err := p.Validate(); err != nil {
		return ff.QuotaStatus{}, err
	}
	var st ff.QuotaStatus
	err := b.write(ctx, "sqlite: get quota", func(w *writeTx) error {
		var err error
		st, err = w.quotaStatus(p.QuotaID)
		return err
	})
	return st, err
}

func (w *writeTx) quotaStatus(id string) (ff.QuotaStatus, error) {
	q, err := w.quota(id)
	if err != nil {
		return ff.QuotaStatus{}, err
	}
	st := ff.QuotaStatus{QuotaDefinition: q.def, InWindow: q.use.InWindow, ActiveConcurrency: q.use.ActiveSlots}
	err = w.queryRow(`SELECT created_at_ms, (SELECT count(*) FROM ff_admission_block WHERE kind = 'quota' AND ref_id = ?1)
		FROM ff_quota WHERE quota_id = ?1`, id).Scan(&st.CreatedAtMs, &st.Blocked)
	return st, driverError("sqlite: quota", err)
}

// quotaUse is a quota with its current use.
type quotaUse struct {
	def ff.QuotaDefinition
	use ff.QuotaUse
}

// quota reads a quota, drops the admissions that left its window and
// counts its use.
func (w *writeTx) quota(id string) (quotaUse, error) {
	q := quotaUse{def: ff.QuotaDefinition{ID: id}}
	err := w.queryRow(`SELECT window_ms, max_per_window, max_concurrent FROM ff_quota WHERE quota_id = ?`, id).
		Scan(&q.def.WindowMs, &q.def.MaxPerWindow, &q.def.MaxConcurrent)
	if errors.Is(err, sql.ErrNoRows) {
		return q, ff.NotFound("quota", "%s", id)
	}
	if err != nil {
		return q, driverError("sqlite: quota", err)
	}
	if q.def.WindowMs > 0 {
		if _, err := w.exec("sqlite: quota", `DELETE FROM ff_quota_admission WHERE quota_id = ? AND admitted_at_ms <= ?`,
			id, q.def.WindowStart(w.now)); err != nil {
			return q, err
		}
		if err := w.queryRow(`SELECT count(*), coalesce(min(admitted_at_ms), 0) FROM ff_quota_admission WHERE quota_id = ?`, id).
			Scan(&q.use.InWindow, &q.use.OldestInWin); err != nil {
			return q, driverError("sqlite: quota", err)
		}
	}
	if q.def.MaxConcurrent > 0 {
		if err := w.queryRow(`SELECT count(*) FROM ff_quota_slot WHERE quota_id = ?`, id).Scan(&q.use.ActiveSlots); err != nil {
			return q, driverError("sqlite: quota", err)
		}
	}
	return q, nil
}

// checkAdmissionRefs refuses a policy naming an unknown budget or quota.
func (w *writeTx) checkAdmissionRefs(e *ff.Execution) error {
	if !e.Hooks.Any(ff.HookAdmission) {
		return nil
	}
	var missingB, missingQ []string
	for _, id := range e.Policy.Budgets() {
		if !w.exists(`SELECT 1 FROM ff_budget WHERE budget_id = ?`, id) {
			missingB = append(missingB, id)
		}
	}
	for _, id := range e.Policy.Quotas() {
		if !w.exists(`SELECT 1 FROM ff_quota WHERE quota_id = ?`, id) {
			missingQ = append(missingQ, id)
		}
	}
	return ff.UnknownAdmissionRefs(missingB, missingQ)
}

func (w *writeTx) exists(q string, args ...any) bool {
	var one int
	return w.queryRow(q, args...).Scan(&one) == nil
}

// unblockBudget unblocks every execution blocked by a budget once no
// dimension of it is at its hard limit.
func (w *writeTx) unblockBudget(id string) (int, error) {
	dims, err := w.budgetDims(id)
	if err != nil {
		return 0, err
	}
	if _, full := ff.BudgetExhausted(dims); full {
		return 0, nil
	}
	return w.unblockRef("budget", id, math.MaxInt64)
}

// unblockQuota unblocks as many executions blocked by a quota as it has
// room for and records when its window frees next if some still wait.
func (w *writeTx) unblockQuota(q quotaUse) (int, error) {
	n, err := w.unblockRef("quota", q.def.ID, q.def.Free(q.use))
	if err != nil {
		return n, err
	}
	due := int64(0)
	if q.def.MaxPerWindow > 0 && q.use.InWindow > 0 &&
		w.exists(`SELECT 1 FROM ff_admission_block WHERE kind = 'quota' AND ref_id = ?`, q.def.ID) {
		due = q.use.OldestInWin + q.def.WindowMs
	}
	_, err = w.exec("sqlite: unblock", `UPDATE ff_quota SET unblock_due_at_ms = ? WHERE quota_id = ?`, due, q.def.ID)
	return n, err
}

// unblockRef unblocks up to n executions blocked by (kind, ref), in claim
// order, each through the state machine.
func (w *writeTx) unblockRef(kind, ref string, n int64) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	rows, err := w.query("sqlite: unblock", `SELECT execution_id FROM ff_admission_block WHERE kind = ? AND ref_id = ?
		ORDER BY priority DESC, seq LIMIT ?`, kind, ref, n)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, driverError("sqlite: unblock", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	done := 0
	for _, id := range ids {
		ok, err := w.unblockExecution(id)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// unblockExecution returns one blocked execution to the ready index and
// deletes its blocked row.
func (w *writeTx) unblockExecution(id string) (bool, error) {
	if _, err := w.exec("sqlite: unblock", `DELETE FROM ff_admission_block WHERE execution_id = ?`, id); err != nil {
		return false, err
	}
	eid, err := ff.ParseExecutionID(id)
	if err != nil {
		return false, ff.Corruption("blocked execution id %q: %v", id, err)
	}
	r, err := w.load(eid)
	if errors.Is(err, ff.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !r.e.Unblock(w.now) {
		return false, nil
	}
	return true, w.save(r, false, nil)
}
