package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// CreateQuota implements backend.Budgets.
func (b *Backend) CreateQuota(ctx context.Context, p backend.CreateQuotaParams) (backend.CreateResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CreateResult{}, err
	}
	var res backend.CreateResult
	err := b.budgetTx(ctx, "create quota", func(t *budgetTx) error {
		tag, err := t.Exec(ctx, `INSERT INTO ff_quota (quota_id, window_ms, max_per_window, max_concurrent, created_at_ms, updated_at_ms)
			VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (quota_id) DO NOTHING`,
			p.ID, p.WindowMs, p.MaxPerWindow, p.MaxConcurrent, t.now)
		res.Created = err == nil && tag.RowsAffected() == 1
		return err
	})
	return res, err
}

// GetQuota implements backend.Budgets.
func (b *Backend) GetQuota(ctx context.Context, p backend.GetQuotaParams) (ff.QuotaStatus, error) {
	if err := p.Validate(); err != nil {
		return ff.QuotaStatus{}, err
	}
	var st ff.QuotaStatus
	err := b.budgetTx(ctx, "get quota", func(t *budgetTx) error {
		var err error
		st, err = t.quotaStatus(p.QuotaID)
		return err
	})
	return st, err
}

func (t *budgetTx) quotaStatus(id string) (ff.QuotaStatus, error) {
	st := ff.QuotaStatus{QuotaDefinition: ff.QuotaDefinition{ID: id}}
	err := t.QueryRow(t.ctx, `SELECT window_ms, max_per_window, max_concurrent, created_at_ms,
		(SELECT count(*) FROM ff_quota_admission a WHERE a.quota_id = q.quota_id AND a.admitted_at_ms > $2 - q.window_ms),
		(SELECT count(*) FROM ff_quota_slot s WHERE s.quota_id = q.quota_id),
		(SELECT count(*) FROM ff_admission_block b WHERE b.kind = 'quota' AND b.ref_id = q.quota_id)
		FROM ff_quota q WHERE quota_id = $1`, id, t.now).
		Scan(&st.WindowMs, &st.MaxPerWindow, &st.MaxConcurrent, &st.CreatedAtMs, &st.InWindow, &st.ActiveConcurrency, &st.Blocked)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ff.NotFound("quota", "%s", id)
	}
	if st.WindowMs == 0 {
		st.InWindow = 0
	}
	return st, err
}

// checkAdmissionRefs refuses, before a create, a policy naming a budget
// or quota that does not exist (budgets and quotas are never deleted, so
// the check stays true). Only executions with HookAdmission pay for it.
func (b *Backend) checkAdmissionRefs(ctx context.Context, e *ff.Execution) error {
	if !e.Hooks.Any(ff.HookAdmission) {
		return nil
	}
	var missingBudgets, missingQuotas []string
	err := b.pool.QueryRow(ctx, `SELECT
		ARRAY(SELECT x FROM unnest($1::text[]) x WHERE NOT EXISTS (SELECT 1 FROM ff_budget WHERE budget_id = x)),
		ARRAY(SELECT x FROM unnest($2::text[]) x WHERE NOT EXISTS (SELECT 1 FROM ff_quota WHERE quota_id = x))`,
		nonNil(e.Policy.Budgets()), nonNil(e.Policy.Quotas())).Scan(&missingBudgets, &missingQuotas)
	if err != nil {
		return mapPgError("create execution: admission refs", err)
	}
	return ff.UnknownAdmissionRefs(missingBudgets, missingQuotas)
}

// ResetDueBudgets implements backend.Budgets.
func (b *Backend) ResetDueBudgets(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.budgetTx(ctx, "reset due budgets", func(t *budgetTx) error {
		rows, err := t.Query(ctx, `SELECT budget_id FROM ff_budget WHERE next_reset_at_ms > 0 AND next_reset_at_ms <= $1
			ORDER BY next_reset_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED`, t.now, p.Limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := t.resetBudget(id); err != nil {
				return err
			}
			if err := t.budgetEvent(ff.BudgetResetEvent(id, t.now)); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

func (t *budgetTx) budgetEvent(ev ff.Event) error {
	batch := &pgx.Batch{}
	if err := queueEvents(batch, []ff.Event{ev}); err != nil {
		return err
	}
	return execBatch(t.ctx, t, batch)
}

// UnblockDue implements backend.Budgets: the quotas whose window is due,
// each re-checked under its lock.
func (b *Backend) UnblockDue(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.budgetTx(ctx, "unblock due", func(t *budgetTx) error {
		rows, err := t.Query(ctx, `SELECT 'quota', quota_id FROM ff_quota
			WHERE unblock_due_at_ms > 0 AND unblock_due_at_ms <= $1 ORDER BY unblock_due_at_ms LIMIT $2`, t.now, p.Limit)
		if err != nil {
			return err
		}
		refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[admissionRef])
		if err != nil {
			return err
		}
		for _, r := range refs {
			k, err := t.unblockOne(r)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// admissionRef names a budget or a quota.
type admissionRef struct {
	Kind, ID string
}

// unblockOne unblocks what a budget or quota has room for, under its
// lock.
func (t *budgetTx) unblockOne(r admissionRef) (int, error) {
	if r.Kind == "budget" {
		if _, err := t.lockBudget(r.ID, "UPDATE"); err != nil {
			return 0, err
		}
		return t.unblockBudget(r.ID)
	}
	q, err := t.lockQuota(r.ID)
	if err != nil {
		return 0, err
	}
	return t.unblockQuota(q)
}

// RepairQuotaSlots implements backend.Budgets: a slot whose execution
// holds no live lease of the epoch that took it is drift; deleting it
// frees room. Then, as the backstop of every unblocking event, each
// budget or quota with blocked executions unblocks what it has room for.
func (b *Backend) RepairQuotaSlots(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.budgetTx(ctx, "repair quota slots", func(t *budgetTx) error {
		rows, err := t.Query(ctx, `DELETE FROM ff_quota_slot s WHERE (s.quota_id, s.execution_id) IN (
			SELECT s2.quota_id, s2.execution_id FROM ff_quota_slot s2 LEFT JOIN ff_execution e ON e.id = s2.execution_id
			WHERE e.id IS NULL OR e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' OR e.lease_epoch <> s2.lease_epoch
			LIMIT $1) RETURNING s.quota_id`, p.Limit)
		if err != nil {
			return err
		}
		quotas, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n = len(quotas)
		rows, err = t.Query(ctx, `SELECT DISTINCT kind, ref_id FROM ff_admission_block`)
		if err != nil {
			return err
		}
		refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[admissionRef])
		if err != nil {
			return err
		}
		for _, r := range refs {
			k, err := t.unblockOne(r)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// ExpireUsageDedup implements backend.Budgets.
func (b *Backend) ExpireUsageDedup(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	tag, err := b.pool.Exec(ctx, `DELETE FROM ff_budget_dedup WHERE (budget_id, dedup_key) IN (
		SELECT budget_id, dedup_key FROM ff_budget_dedup WHERE expires_at_ms <= coalesce($1::bigint, ff_now_ms())
		ORDER BY expires_at_ms LIMIT $2)`, b.nowArg(), p.Limit)
	if err != nil {
		return 0, mapPgError("expire usage dedup", err)
	}
	return int(tag.RowsAffected()), nil
}

// AdmissionStats implements backend.Budgets.
func (b *Backend) AdmissionStats(ctx context.Context) (backend.AdmissionStats, error) {
	var st backend.AdmissionStats
	err := b.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'budget'), count(*) FILTER (WHERE kind = 'quota')
		FROM ff_admission_block`).Scan(&st.BlockedByBudget, &st.BlockedByQuota)
	st.RefusedByBudget, st.RefusedByQuota = b.admission.Counts()
	return st, opErr("admission stats", err)
}
