package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/budgetcore"
)

// The quota statements of budgetcore.Tx, and the sweeps and reads that
// are one statement each.

// InsertQuota implements budgetcore.Tx.
func (t *budgetTx) InsertQuota(def ff.QuotaDefinition) (bool, error) {
	tag, err := t.Exec(t.ctx, `INSERT INTO ff_quota (quota_id, window_ms, max_per_window, max_concurrent, created_at_ms, updated_at_ms)
		VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (quota_id) DO NOTHING`,
		def.ID, def.WindowMs, def.MaxPerWindow, def.MaxConcurrent, t.now)
	return err == nil && tag.RowsAffected() == 1, err
}

// QuotaStatus implements budgetcore.Tx in one statement (the admissions
// that left the window are not counted, nor deleted: a read writes
// nothing).
func (t *budgetTx) QuotaStatus(id string) (ff.QuotaStatus, error) {
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

// DueQuotas implements budgetcore.Tx.
func (t *budgetTx) DueQuotas(limit int) ([]string, error) {
	rows, err := t.Query(t.ctx, `SELECT quota_id FROM ff_quota
		WHERE unblock_due_at_ms > 0 AND unblock_due_at_ms <= $1 ORDER BY unblock_due_at_ms LIMIT $2`, t.now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DeleteDriftSlots implements budgetcore.Tx: a slot whose execution
// holds no live lease of the epoch that took it is drift.
func (t *budgetTx) DeleteDriftSlots(limit int) (int, error) {
	tag, err := t.Exec(t.ctx, `DELETE FROM ff_quota_slot s WHERE (s.quota_id, s.execution_id) IN (
		SELECT s2.quota_id, s2.execution_id FROM ff_quota_slot s2 LEFT JOIN ff_execution e ON e.id = s2.execution_id
		WHERE e.id IS NULL OR e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' OR e.lease_epoch <> s2.lease_epoch
		LIMIT $1)`, limit)
	return int(tag.RowsAffected()), err
}

// BlockingRefs implements budgetcore.Tx.
func (t *budgetTx) BlockingRefs() ([]budgetcore.Ref, error) {
	rows, err := t.Query(t.ctx, `SELECT DISTINCT kind, ref_id FROM ff_admission_block`)
	if err != nil {
		return nil, err
	}
	var (
		refs     []budgetcore.Ref
		kind, id string
	)
	_, err = pgx.ForEachRow(rows, []any{&kind, &id}, func() error {
		refs = append(refs, budgetcore.Ref{Kind: budgetcore.Kind(kind), ID: id})
		return nil
	})
	return refs, err
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
func (b *Backend) AdmissionStats(ctx context.Context, _ backend.AdmissionStatsParams) (backend.AdmissionStats, error) {
	var st backend.AdmissionStats
	err := b.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'budget'), count(*) FILTER (WHERE kind = 'quota')
		FROM ff_admission_block`).Scan(&st.BlockedByBudget, &st.BlockedByQuota)
	st.RefusedByBudget, st.RefusedByQuota = b.admission.Counts()
	return st, opErr("admission stats", err)
}
