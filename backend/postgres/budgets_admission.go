package postgres

import (
	"context"
	"errors"
	"math"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Admission at claim. claimSQL never leases a row with HookAdmission: it
// returns it (gated) untouched, and claimGated takes it here, one
// transaction per row: the record under its lock, then its budgets (FOR
// SHARE) and quotas (FOR UPDATE, in sorted order), then either the claim
// through the state machine with the quota admissions and slots, or the
// block that moves it out of the ready index.

// claimGated claims, through admission, the gated rows a claim picked;
// refused ones are blocked (or, for a lost lease, left for the next
// claim). A failure is logged: the claim of the plain rows has committed.
func (b *Backend) claimGated(ctx context.Context, picked []claimedRow, p backend.ClaimParams, ttl int64) ([]claimedRow, int) {
	var out []claimedRow
	refused := 0
	for _, c := range picked {
		if !c.gated {
			out = append(out, c)
			continue
		}
		got, ok, err := b.admitOne(ctx, c.task.ExecutionID, p, ttl)
		if err != nil {
			b.log.Warn("claim: admission failed; the execution stays claimable", "execution_id", c.task.ExecutionID, "err", err)
			continue
		}
		if ok {
			out = append(out, got)
		} else {
			refused++
		}
	}
	return out, refused
}

// admitOne runs admission for one execution and claims or blocks it.
func (b *Backend) admitOne(ctx context.Context, id ff.ExecutionID, p backend.ClaimParams, ttl int64) (claimedRow, bool, error) {
	var (
		got claimedRow
		ok  bool
	)
	err := b.budgetTx(ctx, "claim: admission", func(t *budgetTx) error {
		e, err := t.lockExecution(id)
		if err != nil || !e.Claimable() {
			return err
		}
		before := *e
		if e.DeadlinePassed(t.now) {
			return t.writeRecord(&before, e, e.Expire(t.now, "execution_deadline"))
		}
		refusal, quotas, err := t.admit(e)
		if err != nil {
			return err
		}
		if refusal != nil {
			b.admission.Refused(refusal.By)
			return t.block(&before, e, *refusal)
		}
		got, err = t.claimAdmitted(&before, e, quotas, p, ttl)
		ok = err == nil
		return err
	})
	return got, ok && err == nil, err
}

// admit checks e's budgets, then its quotas; it returns the refusal, or
// the quotas to record the admission in.
func (t *budgetTx) admit(e *ff.Execution) (*ff.AdmissionRefusal, []quotaUse, error) {
	for _, id := range e.Policy.Budgets() {
		dims, err := t.lockBudget(id, "SHARE")
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
		q, err := t.lockQuota(id)
		if errors.Is(err, ff.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if ok, detail, due := q.def.Admit(q.use); !ok {
			return &ff.AdmissionRefusal{By: ff.BlockedByQuota, RefID: id, Detail: detail, DueAtMs: due}, nil, nil
		}
		uses = append(uses, q)
	}
	return nil, uses, nil
}

// quotaUse is a locked quota with its current use.
type quotaUse struct {
	def ff.QuotaDefinition
	use ff.QuotaUse
}

// lockQuota locks a quota row, drops the admissions that left its window
// and counts its use.
func (t *budgetTx) lockQuota(id string) (quotaUse, error) {
	q := quotaUse{def: ff.QuotaDefinition{ID: id}}
	err := t.QueryRow(t.ctx, `SELECT window_ms, max_per_window, max_concurrent FROM ff_quota WHERE quota_id = $1 FOR UPDATE`, id).
		Scan(&q.def.WindowMs, &q.def.MaxPerWindow, &q.def.MaxConcurrent)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, ff.NotFound("quota", "%s", id)
	}
	if err != nil {
		return q, err
	}
	return q, t.quotaUse(&q)
}

func (t *budgetTx) quotaUse(q *quotaUse) error {
	if q.def.WindowMs > 0 {
		if _, err := t.Exec(t.ctx, `DELETE FROM ff_quota_admission WHERE quota_id = $1 AND admitted_at_ms <= $2`,
			q.def.ID, q.def.WindowStart(t.now)); err != nil {
			return err
		}
		if err := t.QueryRow(t.ctx, `SELECT count(*), coalesce(min(admitted_at_ms), 0) FROM ff_quota_admission WHERE quota_id = $1`,
			q.def.ID).Scan(&q.use.InWindow, &q.use.OldestInWin); err != nil {
			return err
		}
	}
	if q.def.MaxConcurrent > 0 {
		return t.QueryRow(t.ctx, `SELECT count(*) FROM ff_quota_slot WHERE quota_id = $1`, q.def.ID).Scan(&q.use.ActiveSlots)
	}
	return nil
}

// block moves a refused ready execution out of the ready index and
// records what it waits for (a full window also records its due time on
// the quota). A refused lost lease is left as it is: blocking applies to
// runnable work only.
func (t *budgetTx) block(before, e *ff.Execution, r ff.AdmissionRefusal) error {
	if e.State.LifecyclePhase != ff.PhaseRunnable {
		return nil
	}
	if err := e.BlockForAdmission(t.now, r); err != nil {
		return err
	}
	if err := t.writeRecord(before, e, nil); err != nil {
		return err
	}
	kind := "budget"
	if r.By == ff.BlockedByQuota {
		kind = "quota"
	}
	if _, err := t.Exec(t.ctx, `INSERT INTO ff_admission_block (execution_id, kind, ref_id, lane, priority, seq, blocked_at_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (execution_id) DO UPDATE SET kind = EXCLUDED.kind,
		ref_id = EXCLUDED.ref_id, blocked_at_ms = EXCLUDED.blocked_at_ms`,
		e.ID.String(), kind, r.RefID, e.Lane, e.Priority, e.Seq, t.now); err != nil {
		return err
	}
	if r.DueAtMs == 0 {
		return nil
	}
	_, err := t.Exec(t.ctx, `UPDATE ff_quota SET unblock_due_at_ms = $2
		WHERE quota_id = $1 AND (unblock_due_at_ms = 0 OR unblock_due_at_ms > $2)`, r.RefID, r.DueAtMs)
	return err
}

// claimAdmitted leases an admitted execution through the state machine
// and records its quota admissions and slots.
func (t *budgetTx) claimAdmitted(before, e *ff.Execution, quotas []quotaUse, p backend.ClaimParams, ttl int64) (claimedRow, error) {
	h, fx, err := e.Claim(t.now, ff.ClaimArgs{WorkerID: p.WorkerID, WorkerInstanceID: p.WorkerInstanceID, LeaseTTLMs: ttl},
		ff.BackendPostgres)
	if err != nil {
		return claimedRow{}, err
	}
	for _, q := range quotas {
		if err := t.recordAdmission(q.def, e); err != nil {
			return claimedRow{}, err
		}
		if q.def.MaxConcurrent > 0 {
			e.TakeQuotaSlots()
		}
	}
	if err := t.writeRecord(before, e, fx); err != nil {
		return claimedRow{}, err
	}
	c := claimedRow{seq: e.Seq, task: backend.ClaimedTask{
		Handle: h, ExecutionID: e.ID, Lane: e.Lane, Kind: e.Kind, Priority: e.Priority, Tags: e.Tags,
		AttemptIndex: h.Lease.AttemptIndex, AttemptID: h.Lease.AttemptID,
		AttemptType: ff.ClaimedAttemptType(h.Kind, e.CurrentAttemptType), LeaseEpoch: e.LeaseEpoch,
		LeaseExpiresAt: ff.TimeFromMs(e.LeaseExpiresAtMs),
	}}
	err = t.QueryRow(t.ctx, `SELECT input FROM ff_execution WHERE id = $1`, e.ID.String()).Scan(&c.task.Input)
	return c, err
}

// recordAdmission remembers an admission in the quota's window and takes
// a slot under its concurrency cap.
func (t *budgetTx) recordAdmission(q ff.QuotaDefinition, e *ff.Execution) error {
	if q.WindowMs > 0 {
		if _, err := t.Exec(t.ctx, `INSERT INTO ff_quota_admission (quota_id, admitted_at_ms, execution_id) VALUES ($1, $2, $3)`,
			q.ID, t.now, e.ID.String()); err != nil {
			return err
		}
	}
	if q.MaxConcurrent == 0 {
		return nil
	}
	_, err := t.Exec(t.ctx, `INSERT INTO ff_quota_slot (quota_id, execution_id, lease_epoch, acquired_at_ms)
		VALUES ($1, $2, $3, $4) ON CONFLICT (quota_id, execution_id)
		DO UPDATE SET lease_epoch = EXCLUDED.lease_epoch, acquired_at_ms = EXCLUDED.acquired_at_ms`,
		q.ID, e.ID.String(), e.LeaseEpoch, t.now)
	return err
}

// unblockSet is flowfabric.Execution.Unblock as SQL over the rows of
// "gone" (the parity test checks it against the state machine): blocked
// runnable rows return to the ready index, attempt state kept.
const unblockSet = `UPDATE ff_execution e SET eligibility_state = 'eligible_now', blocking_reason = 'waiting_for_worker',
	public_state = 'waiting', ready = true, blocking_detail = '', updated_at_ms = $4
FROM gone WHERE e.id = gone.execution_id AND e.lifecycle_phase = 'runnable'
	AND e.eligibility_state IN ('blocked_by_budget', 'blocked_by_quota')
RETURNING e.lane`

// unblockRefSQL unblocks up to $3 executions blocked by one budget or
// quota, in claim order; rows whose execution is locked by another
// transaction are skipped (that transaction changes them, or a later
// unblock takes them).
const unblockRefSQL = `WITH pick AS (
	SELECT b.execution_id FROM ff_admission_block b JOIN ff_execution x ON x.id = b.execution_id
	WHERE b.kind = $1 AND b.ref_id = $2
	ORDER BY b.priority DESC, b.seq LIMIT $3
	FOR UPDATE OF x SKIP LOCKED
), gone AS (
	DELETE FROM ff_admission_block b USING pick WHERE b.execution_id = pick.execution_id RETURNING b.execution_id
)
` + unblockSet

// unblockRef unblocks up to n executions blocked by (kind, ref).
func (t *budgetTx) unblockRef(kind, ref string, n int64) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	rows, err := t.Query(t.ctx, unblockRefSQL, kind, ref, n, t.now)
	if err != nil {
		return 0, err
	}
	lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	t.lanes = append(t.lanes, lanes...)
	return len(lanes), err
}

// unblockBudget unblocks every execution blocked by a locked budget once
// no dimension of it is at its hard limit.
func (t *budgetTx) unblockBudget(id string) (int, error) {
	dims, err := t.budgetDims(id)
	if err != nil {
		return 0, err
	}
	if _, full := ff.BudgetExhausted(dims); full {
		return 0, nil
	}
	return t.unblockRef("budget", id, math.MaxInt64)
}

// unblockQuota unblocks as many executions blocked by a locked quota as
// it has room for, and records when its window frees next if some still
// wait for it.
func (t *budgetTx) unblockQuota(q quotaUse) (int, error) {
	n, err := t.unblockRef("quota", q.def.ID, q.def.Free(q.use))
	if err != nil {
		return n, err
	}
	due := int64(0)
	if q.def.MaxPerWindow > 0 && q.use.InWindow > 0 {
		var waiting bool
		if err := t.QueryRow(t.ctx, `SELECT EXISTS (SELECT 1 FROM ff_admission_block WHERE kind = 'quota' AND ref_id = $1)`,
			q.def.ID).Scan(&waiting); err != nil {
			return n, err
		}
		if waiting {
			due = q.use.OldestInWin + q.def.WindowMs
		}
	}
	_, err = t.Exec(t.ctx, `UPDATE ff_quota SET unblock_due_at_ms = $2 WHERE quota_id = $1`, q.def.ID, due)
	return n, err
}

// releaseSlotsSQL is the release of a lease's quota slots, queued in the
// transaction that ends the lease (queueRecordWrite): it deletes the
// execution's slot rows and unblocks, per freed quota, the first
// execution blocked by it, waking its lane at commit (NOTIFY, once per
// lane of this statement: only a release that unblocks pays for it).
const releaseSlotsSQL = `WITH freed AS (
	DELETE FROM ff_quota_slot WHERE execution_id = $1 RETURNING quota_id
), pick AS (
	SELECT blk.execution_id FROM freed CROSS JOIN LATERAL (
		SELECT b.execution_id FROM ff_admission_block b JOIN ff_execution x ON x.id = b.execution_id
		WHERE b.kind = 'quota' AND b.ref_id = freed.quota_id
		ORDER BY b.priority DESC, b.seq LIMIT 1
		FOR UPDATE OF x SKIP LOCKED
	) blk
), gone AS (
	DELETE FROM ff_admission_block b USING pick WHERE b.execution_id = pick.execution_id RETURNING b.execution_id
), woken AS (
	UPDATE ff_execution e SET eligibility_state = 'eligible_now', blocking_reason = 'waiting_for_worker',
		public_state = 'waiting', ready = true, blocking_detail = '', updated_at_ms = $2
	FROM gone WHERE e.id = gone.execution_id AND e.lifecycle_phase = 'runnable'
		AND e.eligibility_state IN ('blocked_by_budget', 'blocked_by_quota')
	RETURNING e.lane
)
SELECT pg_notify('` + workChannel + `', lane) FROM (SELECT DISTINCT lane FROM woken) l`

// queueAdmissionWrites appends, to the write of a transition's record,
// what admission keeps beside it: the release of the quota slots of a
// lease that ended (flowfabric.Execution.SettleQuotaSlots, called on e
// before its hooks are written) and the removal of the blocked row of an
// execution that left its block other than by an unblock.
func queueAdmissionWrites(batch *pgx.Batch, before, e *ff.Execution, release bool) {
	if release {
		batch.Queue(releaseSlotsSQL, e.ID.String(), e.UpdatedAtMs)
	}
	if ff.LeftAdmissionBlock(before, e) {
		batch.Queue(`DELETE FROM ff_admission_block WHERE execution_id = $1`, e.ID.String())
	}
}
