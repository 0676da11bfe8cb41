package sqlite

import (
	"context"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// admit runs admission for a claimable execution with HookAdmission:
// it returns the quotas to record the admission in, or the refusal.
func (w *writeTx) admit(e *ff.Execution) (*ff.AdmissionRefusal, []quotaUse, error) {
	for _, id := range e.Policy.Budgets() {
		dims, err := w.budgetDims(id)
		if errors.Is(err, ff.ErrNotFound) {
			continue // budgets are never deleted; fail open like the reference
		}
		if err != nil {
			return nil, nil, err
		}
		if dim, full := ff.BudgetExhausted(dims); full {
			return &ff.AdmissionRefusal{By: ff.BlockedByBudget, RefID: id,
				Detail: "budget " + id + " at its hard limit on " + dim}, nil, nil
		}
	}
	var uses []quotaUse
	for _, id := range e.Policy.Quotas() {
		q, err := w.quota(id)
		if errors.Is(err, ff.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		uses = append(uses, q)
	}
	defs, us := make([]ff.QuotaDefinition, len(uses)), make([]ff.QuotaUse, len(uses))
	for i, q := range uses {
		defs[i], us[i] = q.def, q.use
	}
	refusal, passed := ff.AdmitQuotas(defs, us)
	if refusal == nil {
		return nil, uses, nil
	}
	room := make([]quotaUse, 0, len(passed))
	for _, i := range passed {
		room = append(room, uses[i])
	}
	return refusal, room, nil
}

// block moves a refused ready execution out of the ready index and
// records what it waits for. A refused lost lease stays as it is.
func (w *writeTx) block(r *row, ref ff.AdmissionRefusal) error {
	e := &r.e
	w.after = append(w.after, func() { w.b.admission.Refused(ref.By) })
	if e.State.LifecyclePhase != ff.PhaseRunnable {
		return nil
	}
	if err := e.BlockForAdmission(w.now, ref); err != nil {
		return err
	}
	if err := w.save(r, true, nil); err != nil {
		return err
	}
	kind := "budget"
	if ref.By == ff.BlockedByQuota {
		kind = "quota"
	}
	if _, err := w.exec("sqlite: block", `INSERT INTO ff_admission_block (execution_id, kind, ref_id, lane, priority, seq,
		blocked_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (execution_id) DO UPDATE SET kind = excluded.kind,
		ref_id = excluded.ref_id, blocked_at_ms = excluded.blocked_at_ms`,
		e.ID.String(), kind, ref.RefID, e.Lane, e.Priority, e.Seq, w.now); err != nil {
		return err
	}
	if ref.DueAtMs == 0 {
		return nil
	}
	_, err := w.exec("sqlite: block", `UPDATE ff_quota SET unblock_due_at_ms = ?1
		WHERE quota_id = ?2 AND (unblock_due_at_ms = 0 OR unblock_due_at_ms > ?1)`, ref.DueAtMs, ref.RefID)
	return err
}

// passOn hands the room an execution refused by one quota leaves in the
// quotas that admitted it to the executions they block (see the
// Postgres store's passOn).
func (w *writeTx) passOn(passed []quotaUse) error {
	for _, q := range passed {
		if _, err := w.unblockRef("quota", q.def.ID, q.def.Free(q.use)); err != nil {
			return err
		}
	}
	return nil
}

// recordAdmission remembers an admission in each quota's window and
// takes a slot under each concurrency cap.
func (w *writeTx) recordAdmission(e *ff.Execution, quotas []quotaUse) error {
	for _, q := range quotas {
		if q.def.WindowMs > 0 {
			if _, err := w.exec("sqlite: admit", `INSERT INTO ff_quota_admission (quota_id, admitted_at_ms, execution_id)
				VALUES (?, ?, ?)`, q.def.ID, w.now, e.ID.String()); err != nil {
				return err
			}
		}
		if q.def.MaxConcurrent == 0 {
			continue
		}
		if _, err := w.exec("sqlite: admit", `INSERT INTO ff_quota_slot (quota_id, execution_id, lease_epoch, acquired_at_ms)
			VALUES (?, ?, ?, ?) ON CONFLICT (quota_id, execution_id) DO UPDATE SET lease_epoch = excluded.lease_epoch,
			acquired_at_ms = excluded.acquired_at_ms`, q.def.ID, e.ID.String(), int64(e.LeaseEpoch), w.now); err != nil {
			return err
		}
		e.TakeQuotaSlots()
	}
	return nil
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
	rows, err := w.query("sqlite: release slots", `DELETE FROM ff_quota_slot WHERE execution_id = ? RETURNING quota_id`, e.ID.String())
	if err != nil {
		return err
	}
	var quotas []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			rows.Close()
			return driverError("sqlite: release slots", err)
		}
		quotas = append(quotas, q)
	}
	rows.Close()
	for _, q := range quotas {
		if _, err := w.unblockRef("quota", q, 1); err != nil {
			return err
		}
	}
	return nil
}

// ResetDueBudgets implements backend.Budgets.
func (b *Backend) ResetDueBudgets(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.write(ctx, "sqlite: reset due budgets", func(w *writeTx) error {
		ids, err := w.strings(`SELECT budget_id FROM ff_budget WHERE next_reset_at_ms > 0 AND next_reset_at_ms <= ?
			ORDER BY next_reset_at_ms LIMIT ?`, w.now, p.Limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := w.resetBudget(id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
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

// UnblockDue implements backend.Budgets.
func (b *Backend) UnblockDue(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.write(ctx, "sqlite: unblock due", func(w *writeTx) error {
		due, err := w.strings(`SELECT 'quota:' || quota_id FROM ff_quota WHERE unblock_due_at_ms > 0 AND unblock_due_at_ms <= ?
			ORDER BY unblock_due_at_ms LIMIT ?`, w.now, p.Limit)
		if err != nil {
			return err
		}
		for _, ref := range due {
			k, err := w.unblockOne(ref)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// unblockOne unblocks what the budget or quota "kind:id" has room for.
func (w *writeTx) unblockOne(ref string) (int, error) {
	if id, ok := cutPrefix(ref, "budget:"); ok {
		return w.unblockBudget(id)
	}
	id, _ := cutPrefix(ref, "quota:")
	q, err := w.quota(id)
	if err != nil {
		return 0, err
	}
	return w.unblockQuota(q)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// RepairQuotaSlots implements backend.Budgets.
func (b *Backend) RepairQuotaSlots(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.write(ctx, "sqlite: repair quota slots", func(w *writeTx) error {
		quotas, err := w.strings(`DELETE FROM ff_quota_slot WHERE (quota_id, execution_id) IN (
			SELECT s.quota_id, s.execution_id FROM ff_quota_slot s LEFT JOIN ff_execution e ON e.execution_id = s.execution_id
			WHERE e.seq IS NULL OR e.lifecycle_phase <> 'active' OR e.ownership_state <> 'leased' OR e.lease_epoch <> s.lease_epoch
			LIMIT ?) RETURNING quota_id`, p.Limit)
		if err != nil {
			return err
		}
		n = len(quotas)
		refs, err := w.strings(`SELECT DISTINCT kind || ':' || ref_id FROM ff_admission_block`)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			k, err := w.unblockOne(ref)
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
func (b *Backend) AdmissionStats(ctx context.Context) (backend.AdmissionStats, error) {
	var st backend.AdmissionStats
	err := b.r.QueryRowContext(ctx, `SELECT coalesce(sum(kind = 'budget'), 0), coalesce(sum(kind = 'quota'), 0)
		FROM ff_admission_block`).Scan(&st.BlockedByBudget, &st.BlockedByQuota)
	st.RefusedByBudget, st.RefusedByQuota = b.admission.Counts()
	if err != nil {
		return st, driverError("sqlite: admission stats", err)
	}
	return st, nil
}
