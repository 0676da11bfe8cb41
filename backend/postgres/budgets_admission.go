package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/budgetcore"
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

// admitOne runs admission for one execution and claims or blocks it; a
// refusal is counted once committed.
func (b *Backend) admitOne(ctx context.Context, id ff.ExecutionID, p backend.ClaimParams, ttl int64) (claimedRow, bool, error) {
	var out admission
	err := b.budgetTx(ctx, "claim: admission", func(t *budgetTx) error {
		var err error
		out, err = t.admitOrBlock(id, p, ttl)
		return err
	})
	if err != nil {
		return claimedRow{}, false, err
	}
	if out.refusedBy != "" {
		b.admission.Refused(out.refusedBy)
	}
	return out.row, out.claimed, nil
}

// admission is what admission did with one execution: claimed it,
// refused it, or neither (no longer claimable, or expired at its
// deadline).
type admission struct {
	row       claimedRow
	claimed   bool
	refusedBy ff.EligibilityState
}

// admitOrBlock locks a gated execution and claims it through admission
// or blocks it (budgetcore.Admit, budgetcore.Refuse).
func (t *budgetTx) admitOrBlock(id ff.ExecutionID, p backend.ClaimParams, ttl int64) (admission, error) {
	var input []byte
	e, err := t.lockExecution(id, &input)
	if err != nil || !e.Claimable() {
		return admission{}, err
	}
	if e.DeadlinePassed(t.now) {
		return admission{}, t.SaveExecution(e, e.Expire(t.now, "execution_deadline"))
	}
	refusal, quotas, err := budgetcore.Admit(t, e)
	if err != nil {
		return admission{}, err
	}
	if refusal != nil {
		return admission{refusedBy: refusal.By}, budgetcore.Refuse(t, e, *refusal, quotas)
	}
	row, err := t.claimAdmitted(e, input, quotas, p, ttl)
	return admission{row: row, claimed: err == nil}, err
}

// refreshNow reads the transaction's time again (the clock, or the
// database's clock_timestamp).
func (t *budgetTx) refreshNow() error {
	return t.QueryRow(t.ctx, `SELECT coalesce($1::bigint, ff_now_ms())`, t.nowArg).Scan(&t.now)
}

// LockQuota implements budgetcore.Tx.
func (t *budgetTx) LockQuota(id string) (budgetcore.Quota, error) {
	q := budgetcore.Quota{Def: ff.QuotaDefinition{ID: id}}
	err := t.QueryRow(t.ctx, `SELECT window_ms, max_per_window, max_concurrent FROM ff_quota WHERE quota_id = $1 FOR UPDATE`, id).
		Scan(&q.Def.WindowMs, &q.Def.MaxPerWindow, &q.Def.MaxConcurrent)
	if errors.Is(err, pgx.ErrNoRows) {
		return q, ff.NotFound("quota", "%s", id)
	}
	if err != nil {
		return q, err
	}
	return q, t.quotaUse(&q)
}

// LockQuotas implements budgetcore.Tx: the rows are locked in one
// statement, then the time is read again, then each quota's use.
func (t *budgetTx) LockQuotas(ids []string) ([]budgetcore.Quota, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.Query(t.ctx, `SELECT quota_id, window_ms, max_per_window, max_concurrent FROM ff_quota
		WHERE quota_id = ANY($1) ORDER BY quota_id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	var out []budgetcore.Quota
	var q budgetcore.Quota
	_, err = pgx.ForEachRow(rows, []any{&q.Def.ID, &q.Def.WindowMs, &q.Def.MaxPerWindow, &q.Def.MaxConcurrent}, func() error {
		out = append(out, q)
		return nil
	})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	if err := t.refreshNow(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := t.quotaUse(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *budgetTx) quotaUse(q *budgetcore.Quota) error {
	return t.QueryRow(t.ctx, quotaUseSQL, q.Def.ID, q.Def.WindowStart(t.now), q.Def.WindowMs > 0).
		Scan(&q.Use.InWindow, &q.Use.OldestInWin, &q.Use.ActiveSlots)
}

// quotaUseSQL drops the admissions that left a quota's window ($2 is its
// start, $3 whether it has one) and counts the rest and the slots held,
// in one statement: the count filters on the window itself, as it reads
// the rows as they were before the delete.
const quotaUseSQL = `WITH gone AS (
	DELETE FROM ff_quota_admission WHERE $3 AND quota_id = $1 AND admitted_at_ms <= $2
)
SELECT count(*) FILTER (WHERE $3), coalesce(min(a.admitted_at_ms) FILTER (WHERE $3), 0),
	(SELECT count(*) FROM ff_quota_slot WHERE quota_id = $1)
FROM ff_quota_admission a WHERE a.quota_id = $1 AND a.admitted_at_ms > $2`

// SaveBlocked implements budgetcore.Tx in one round trip.
func (t *budgetTx) SaveBlocked(e *ff.Execution, ref budgetcore.Ref, dueAtMs int64) error {
	batch, err := t.recordBatch(e, nil)
	if err != nil {
		return err
	}
	batch.Queue(`INSERT INTO ff_admission_block (execution_id, kind, ref_id, lane, priority, seq, blocked_at_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (execution_id) DO UPDATE SET kind = EXCLUDED.kind,
		ref_id = EXCLUDED.ref_id, blocked_at_ms = EXCLUDED.blocked_at_ms`,
		e.ID.String(), string(ref.Kind), ref.ID, e.Lane, e.Priority, e.Seq, t.now)
	if dueAtMs > 0 {
		batch.Queue(`UPDATE ff_quota SET unblock_due_at_ms = $2
			WHERE quota_id = $1 AND (unblock_due_at_ms = 0 OR unblock_due_at_ms > $2)`, ref.ID, dueAtMs)
	}
	return execBatch(t.ctx, t, batch)
}

// claimAdmitted leases an admitted execution through the state machine
// and records its quota admissions and slots.
func (t *budgetTx) claimAdmitted(e *ff.Execution, input []byte, quotas []budgetcore.Quota, p backend.ClaimParams, ttl int64) (claimedRow, error) {
	h, fx, err := e.Claim(t.now, ff.ClaimArgs{WorkerID: p.WorkerID, WorkerInstanceID: p.WorkerInstanceID, LeaseTTLMs: ttl},
		ff.BackendPostgres)
	if err != nil {
		return claimedRow{}, err
	}
	batch := &pgx.Batch{}
	if err := budgetcore.RecordAdmission(queuedAdmission{batch, t.now}, e, quotas); err != nil {
		return claimedRow{}, err
	}
	before := t.before[e]
	if err := queueRecordWrite(batch, &before, e, fx); err != nil {
		return claimedRow{}, err
	}
	if err := execBatch(t.ctx, t, batch); err != nil {
		return claimedRow{}, err
	}
	return claimedRow{seq: e.Seq, resumedWaitpoints: h.Kind == ff.HandleResumed && e.Hooks.Any(ff.HookWaitpoints), task: backend.ClaimedTask{
		Handle: h, ExecutionID: e.ID, Lane: e.Lane, Kind: e.Kind, Priority: e.Priority, Tags: e.Tags,
		AttemptIndex: h.Lease.AttemptIndex, AttemptID: h.Lease.AttemptID,
		AttemptType: ff.ClaimedAttemptType(h.Kind, e.CurrentAttemptType), LeaseEpoch: e.LeaseEpoch,
		LeaseExpiresAt: ff.TimeFromMs(e.LeaseExpiresAtMs), Input: input,
	}}, nil
}

// queuedAdmission is budgetcore.AdmissionRows queued into the batch
// that writes the claimed record.
type queuedAdmission struct {
	batch *pgx.Batch
	now   int64
}

func (a queuedAdmission) AdmitInWindow(q ff.QuotaDefinition, e *ff.Execution) error {
	a.batch.Queue(`INSERT INTO ff_quota_admission (quota_id, admitted_at_ms, execution_id) VALUES ($1, $2, $3)`,
		q.ID, a.now, e.ID.String())
	return nil
}

func (a queuedAdmission) TakeSlot(q ff.QuotaDefinition, e *ff.Execution) error {
	a.batch.Queue(`INSERT INTO ff_quota_slot (quota_id, execution_id, lease_epoch, acquired_at_ms)
		VALUES ($1, $2, $3, $4) ON CONFLICT (quota_id, execution_id)
		DO UPDATE SET lease_epoch = EXCLUDED.lease_epoch, acquired_at_ms = EXCLUDED.acquired_at_ms`,
		q.ID, e.ID.String(), e.LeaseEpoch, a.now)
	return nil
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

// UnblockRef implements budgetcore.Tx; the lanes it woke are notified
// at commit.
func (t *budgetTx) UnblockRef(ref budgetcore.Ref, n int64) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	rows, err := t.Query(t.ctx, unblockRefSQL, string(ref.Kind), ref.ID, n, t.now)
	if err != nil {
		return 0, err
	}
	lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	t.lanes = append(t.lanes, lanes...)
	return len(lanes), err
}

// Blocks implements budgetcore.Tx.
func (t *budgetTx) Blocks(ref budgetcore.Ref) (bool, error) {
	var waiting bool
	err := t.QueryRow(t.ctx, `SELECT EXISTS (SELECT 1 FROM ff_admission_block WHERE kind = $1 AND ref_id = $2)`,
		string(ref.Kind), ref.ID).Scan(&waiting)
	return waiting, err
}

// SetUnblockDue implements budgetcore.Tx.
func (t *budgetTx) SetUnblockDue(quotaID string, dueAtMs int64) error {
	_, err := t.Exec(t.ctx, `UPDATE ff_quota SET unblock_due_at_ms = $2 WHERE quota_id = $1`, quotaID, dueAtMs)
	return err
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
