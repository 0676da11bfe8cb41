package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/budgetcore"
)

// The quota and blocked-execution statements of budgetcore.Tx, the
// admission writes of a claim and of a record's save, and the sweeps and
// reads that are one statement each.

// InsertQuota implements budgetcore.Tx.
func (t *sqTx) InsertQuota(def ff.QuotaDefinition) (bool, error) {
	r, err := t.w.exec("sqlite: create quota", `INSERT INTO ff_quota (quota_id, window_ms, max_per_window, max_concurrent,
		created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (quota_id) DO NOTHING`,
		def.ID, def.WindowMs, def.MaxPerWindow, def.MaxConcurrent, t.w.now)
	return rowsChanged(r, err)
}

// QuotaStatus implements budgetcore.Tx.
func (t *sqTx) QuotaStatus(id string) (ff.QuotaStatus, error) {
	q, err := t.LockQuota(id)
	if err != nil {
		return ff.QuotaStatus{}, err
	}
	st := ff.QuotaStatus{QuotaDefinition: q.Def, InWindow: q.Use.InWindow, ActiveConcurrency: q.Use.ActiveSlots}
	err = t.w.queryRow(`SELECT created_at_ms, (SELECT count(*) FROM ff_admission_block WHERE kind = 'quota' AND ref_id = ?1)
		FROM ff_quota WHERE quota_id = ?1`, id).Scan(&st.CreatedAtMs, &st.Blocked)
	return st, driverError("sqlite: get quota", err)
}

// LockQuota implements budgetcore.Tx (the writer lock is held already).
func (t *sqTx) LockQuota(id string) (budgetcore.Quota, error) {
	q := budgetcore.Quota{Def: ff.QuotaDefinition{ID: id}}
	err := t.w.queryRow(`SELECT window_ms, max_per_window, max_concurrent FROM ff_quota WHERE quota_id = ?`, id).
		Scan(&q.Def.WindowMs, &q.Def.MaxPerWindow, &q.Def.MaxConcurrent)
	if errors.Is(err, sql.ErrNoRows) {
		return q, ff.NotFound("quota", "%s", id)
	}
	if err != nil {
		return q, driverError("sqlite: quota", err)
	}
	return q, t.quotaUse(&q)
}

// quotaUse drops the admissions that left q's window and counts the
// rest and the slots held.
func (t *sqTx) quotaUse(q *budgetcore.Quota) error {
	if q.Def.WindowMs > 0 {
		if err := t.exec("sqlite: quota", `DELETE FROM ff_quota_admission WHERE quota_id = ? AND admitted_at_ms <= ?`,
			q.Def.ID, q.Def.WindowStart(t.w.now)); err != nil {
			return err
		}
		if err := t.w.queryRow(`SELECT count(*), coalesce(min(admitted_at_ms), 0) FROM ff_quota_admission WHERE quota_id = ?`,
			q.Def.ID).Scan(&q.Use.InWindow, &q.Use.OldestInWin); err != nil {
			return driverError("sqlite: quota", err)
		}
	}
	if q.Def.MaxConcurrent == 0 {
		return nil
	}
	err := t.w.queryRow(`SELECT count(*) FROM ff_quota_slot WHERE quota_id = ?`, q.Def.ID).Scan(&q.Use.ActiveSlots)
	return driverError("sqlite: quota", err)
}

// LockQuotas implements budgetcore.Tx (a single writer needs no second
// read of the time).
func (t *sqTx) LockQuotas(ids []string) ([]budgetcore.Quota, error) {
	var out []budgetcore.Quota
	for _, id := range ids {
		q, err := t.LockQuota(id)
		if errors.Is(err, ff.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// SaveBlocked implements budgetcore.Tx.
func (t *sqTx) SaveBlocked(e *ff.Execution, ref budgetcore.Ref, dueAtMs int64) error {
	if err := t.SaveExecution(e, nil); err != nil {
		return err
	}
	if err := t.exec("sqlite: block", `INSERT INTO ff_admission_block (execution_id, kind, ref_id, lane, priority, seq,
		blocked_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (execution_id) DO UPDATE SET kind = excluded.kind,
		ref_id = excluded.ref_id, blocked_at_ms = excluded.blocked_at_ms`,
		e.ID.String(), string(ref.Kind), ref.ID, e.Lane, e.Priority, e.Seq, t.w.now); err != nil {
		return err
	}
	if dueAtMs == 0 {
		return nil
	}
	return t.exec("sqlite: block", `UPDATE ff_quota SET unblock_due_at_ms = ?1
		WHERE quota_id = ?2 AND (unblock_due_at_ms = 0 OR unblock_due_at_ms > ?1)`, dueAtMs, ref.ID)
}

// UnblockRef implements budgetcore.Tx: each execution goes through the
// state machine.
func (t *sqTx) UnblockRef(ref budgetcore.Ref, n int64) (int, error) {
	return t.w.unblockRef(string(ref.Kind), ref.ID, n)
}

// Blocks implements budgetcore.Tx.
func (t *sqTx) Blocks(ref budgetcore.Ref) (bool, error) {
	var one int
	err := t.w.queryRow(`SELECT 1 FROM ff_admission_block WHERE kind = ? AND ref_id = ? LIMIT 1`, string(ref.Kind), ref.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, driverError("sqlite: unblock", err)
}

// SetUnblockDue implements budgetcore.Tx.
func (t *sqTx) SetUnblockDue(quotaID string, dueAtMs int64) error {
	return t.exec("sqlite: unblock", `UPDATE ff_quota SET unblock_due_at_ms = ? WHERE quota_id = ?`, dueAtMs, quotaID)
}

// DueQuotas implements budgetcore.Tx.
func (t *sqTx) DueQuotas(limit int) ([]string, error) {
	return t.w.strings(`SELECT quota_id FROM ff_quota WHERE unblock_due_at_ms > 0 AND unblock_due_at_ms <= ?
		ORDER BY unblock_due_at_ms LIMIT ?`, t.w.now, limit)
}

// DeleteDriftSlots implements budgetcore.Tx: a slot whose execution
// holds no live lease of the epoch that took it is drift.
func (t *sqTx) DeleteDriftSlots(limit int) (int, error) {
	r, err := t.w.exec("sqlite: repair quota slots", `DELETE FROM ff_quota_slot WHERE (quota_id, execution_id) IN (
		SELECT s.quota_id, s.execution_id FROM ff_quota_slot s LEFT JOIN ff_execution e ON e.execution_id = s.execution_id
		WHERE e.seq IS NULL OR e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' OR e.lease_epoch <> s.lease_epoch
		LIMIT ?)`, limit)
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// BlockingRefs implements budgetcore.Tx.
func (t *sqTx) BlockingRefs() ([]budgetcore.Ref, error) {
	rows, err := t.w.query("sqlite: repair quota slots", `SELECT DISTINCT kind, ref_id FROM ff_admission_block`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var refs []budgetcore.Ref
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, driverError("sqlite: repair quota slots", err)
		}
		refs = append(refs, budgetcore.Ref{Kind: budgetcore.Kind(kind), ID: id})
	}
	return refs, driverError("sqlite: repair quota slots", rows.Err())
}

// admit runs admission for a claimable execution with HookAdmission
// (budgetcore.Admit): it returns the quotas to record the admission in,
// or ok false when it refused and blocked the execution.
func (w *writeTx) admit(r *row) (quotas []budgetcore.Quota, ok bool, err error) {
	t := newSqTx(w)
	e := t.track(r)
	refusal, quotas, err := budgetcore.Admit(t, e)
	if err != nil || refusal == nil {
		return quotas, err == nil, err
	}
	w.refused++
	w.after = append(w.after, func() { w.b.admission.Refused(refusal.By) })
	return nil, false, budgetcore.Refuse(t, e, *refusal, quotas)
}

// AdmitInWindow implements budgetcore.AdmissionRows.
func (w *writeTx) AdmitInWindow(q ff.QuotaDefinition, e *ff.Execution) error {
	_, err := w.exec("sqlite: admit", `INSERT INTO ff_quota_admission (quota_id, admitted_at_ms, execution_id)
		VALUES (?, ?, ?)`, q.ID, w.now, e.ID.String())
	return err
}

// TakeSlot implements budgetcore.AdmissionRows.
func (w *writeTx) TakeSlot(q ff.QuotaDefinition, e *ff.Execution) error {
	_, err := w.exec("sqlite: admit", `INSERT INTO ff_quota_slot (quota_id, execution_id, lease_epoch, acquired_at_ms)
		VALUES (?, ?, ?, ?) ON CONFLICT (quota_id, execution_id) DO UPDATE SET lease_epoch = excluded.lease_epoch,
		acquired_at_ms = excluded.acquired_at_ms`, q.ID, e.ID.String(), int64(e.LeaseEpoch), w.now)
	return err
}

// settleAdmission is called by save for every record it writes, before
// the record: the release of the quota slots of a lease that ended
// (flowfabric.Execution.SettleQuotaSlots), unblocking per freed quota
// the first execution it blocked, and the removal of the blocked row of
// an admission execution no longer blocked.
func (w *writeTx) settleAdmission(e *ff.Execution) error {
	if !e.Hooks.Any(ff.HookAdmission) {
		return nil
	}
	if !e.AdmissionBlocked() {
		if _, err := w.exec("sqlite: admission", `DELETE FROM ff_admission_block WHERE execution_id = ?`, e.ID.String()); err != nil {
			return err
		}
	}
	if !e.SettleQuotaSlots() {
		return nil
	}
	quotas, err := w.strings(`DELETE FROM ff_quota_slot WHERE execution_id = ? RETURNING quota_id`, e.ID.String())
	if err != nil {
		return err
	}
	for _, q := range quotas {
		if _, err := w.unblockRef(string(budgetcore.KindQuota), q, 1); err != nil {
			return err
		}
	}
	return nil
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

// strings runs a query of one text column.
func (w *writeTx) strings(q string, args ...any) ([]string, error) {
	rows, err := w.query("sqlite: query", q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, driverError("sqlite: query", err)
		}
		out = append(out, s)
	}
	return out, driverError("sqlite: query", rows.Err())
}

// ExpireUsageDedup implements backend.Budgets.
func (b *Backend) ExpireUsageDedup(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.write(ctx, "sqlite: expire usage dedup", func(w *writeTx) error {
		r, err := w.exec("sqlite: expire usage dedup", `DELETE FROM ff_budget_dedup WHERE (budget_id, dedup_key) IN (
			SELECT budget_id, dedup_key FROM ff_budget_dedup WHERE expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?)`, w.now, p.Limit)
		if err != nil {
			return err
		}
		k, _ := r.RowsAffected()
		n = int(k)
		return nil
	})
	return n, err
}

// AdmissionStats implements backend.Budgets.
func (b *Backend) AdmissionStats(ctx context.Context, _ backend.AdmissionStatsParams) (backend.AdmissionStats, error) {
	var st backend.AdmissionStats
	err := b.r.QueryRowContext(ctx, `SELECT coalesce(sum(kind = 'budget'), 0), coalesce(sum(kind = 'quota'), 0)
		FROM ff_admission_block`).Scan(&st.BlockedByBudget, &st.BlockedByQuota)
	st.RefusedByBudget, st.RefusedByQuota = b.admission.Counts()
	if err != nil {
		return st, driverError("sqlite: admission stats", err)
	}
	return st, nil
}
