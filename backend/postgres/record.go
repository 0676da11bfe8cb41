package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// recordColumns selects a whole execution record (without input and
// result, which only claim and the result read need).
const recordColumns = `e.id, e.namespace, e.lane, e.kind, e.priority, e.seq, e.idempotency_key,
	e.lifecycle_phase, e.ownership_state, e.eligibility_state, e.blocking_reason, e.terminal_outcome,
	e.attempt_state, e.public_state, e.blocking_detail,
	e.attempt_count, e.current_attempt_id, e.attempt_type, e.attempt_started_ms, e.attempt_worker_id,
	e.attempt_worker_instance_id, e.lease_id, e.lease_epoch, e.lease_expires_at_ms, e.lease_ttl_ms,
	e.worker_id, e.worker_instance_id, e.last_heartbeat_ms,
	e.retry_count, e.reclaim_count, e.replay_count,
	e.ready_at_ms, e.attempt_deadline_ms, e.execution_deadline_ms,
	e.created_at_ms, e.started_at_ms, e.completed_at_ms, e.updated_at_ms,
	e.progress_pct, e.progress_message, e.failure_reason, e.failure_class, e.cancel_reason, e.cancelled_by,
	e.tags, e.policy, e.capabilities, e.hooks, e.lease_acquired_ms, e.revoked_lease_epoch`

const recordFrom = ` FROM ff_execution e`

// scanRecord decodes one row selected with recordColumns (plus any
// trailing destinations in extra).
func scanRecord(row pgx.Row, extra ...any) (*ff.Execution, error) {
	var (
		e           ff.Execution
		id          string
		st          [7]string
		tags        []byte
		policy      []byte
		priority    int32
		attempts    int32
		pct         int16
		attemptType string
		hooks       int16
	)
	dest := []any{&id, &e.Namespace, &e.Lane, &e.Kind, &priority, &e.Seq, &e.IdempotencyKey,
		&st[0], &st[1], &st[2], &st[3], &st[4], &st[5], &st[6], &e.BlockingDetail,
		&attempts, &e.CurrentAttemptID, &attemptType, &e.CurrentAttemptStartedMs, &e.AttemptWorkerID,
		&e.AttemptWorkerInstanceID, &e.LeaseID, &e.LeaseEpoch, &e.LeaseExpiresAtMs, &e.LeaseTTLMs,
		&e.WorkerID, &e.WorkerInstanceID, &e.LastHeartbeatMs,
		&e.RetryCount, &e.ReclaimCount, &e.ReplayCount,
		&e.ReadyAtMs, &e.AttemptDeadlineMs, &e.ExecutionDeadlineMs,
		&e.CreatedAtMs, &e.StartedAtMs, &e.CompletedAtMs, &e.UpdatedAtMs,
		&pct, &e.ProgressMessage, &e.FailureReason, &e.FailureClass, &e.CancelReason, &e.CancelledBy,
		&tags, &policy, &e.Capabilities, &hooks, &e.LeaseAcquiredMs, &e.RevokedLeaseEpoch}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	parsed, err := ff.ParseExecutionID(id)
	if err != nil {
		return nil, ff.Corruption("execution: id: %v", err)
	}
	e.ID = parsed
	e.Priority = priority
	e.AttemptCount = uint32(attempts)
	e.CurrentAttemptType = ff.AttemptType(attemptType)
	e.ProgressPct = int(pct)
	e.Hooks = ff.Hooks(uint16(hooks))
	e.State = ff.StateVector{
		LifecyclePhase: ff.LifecyclePhase(st[0]), OwnershipState: ff.OwnershipState(st[1]),
		EligibilityState: ff.EligibilityState(st[2]), BlockingReason: ff.BlockingReason(st[3]),
		TerminalOutcome: ff.TerminalOutcome(st[4]), AttemptState: ff.AttemptState(st[5]),
		PublicState: ff.PublicState(st[6]),
	}
	if len(tags) > 0 {
		if err := json.Unmarshal(tags, &e.Tags); err != nil {
			return nil, ff.Corruption("execution %s: tags: %v", id, err)
		}
	}
	if len(policy) > 0 && string(policy) != "null" {
		e.Policy = &ff.ExecutionPolicy{}
		if err := json.Unmarshal(policy, e.Policy); err != nil {
			return nil, ff.Corruption("execution %s: policy: %v", id, err)
		}
	}
	if len(e.Capabilities) == 0 {
		e.Capabilities = nil
	}
	return &e, nil
}

// updateRecordSet sets every mutable column of the hot row: the state
// vector is always written whole.
const updateRecordSet = `UPDATE ff_execution SET
	priority = $2, lifecycle_phase = $3, ownership_state = $4, eligibility_state = $5, blocking_reason = $6,
	terminal_outcome = $7, attempt_state = $8, public_state = $9, ready = $10, blocking_detail = $11,
	attempt_count = $12, current_attempt_id = $13, lease_id = $14, lease_epoch = $15, lease_expires_at_ms = $16,
	lease_ttl_ms = $17, worker_id = $18, worker_instance_id = $19, last_heartbeat_ms = $20,
	retry_count = $21, reclaim_count = $22, replay_count = $23,
	ready_at_ms = $24, attempt_deadline_ms = $25, execution_deadline_ms = $26,
	started_at_ms = $27, completed_at_ms = $28, updated_at_ms = $29,
	progress_pct = $30, progress_message = $31, failure_reason = $32, failure_class = $33,
	cancel_reason = $34, cancelled_by = $35,
	attempt_type = $36, attempt_started_ms = $37, attempt_worker_id = $38, attempt_worker_instance_id = $39,
	hooks = $40, lease_acquired_ms = $41, revoked_lease_epoch = $42`

// updateRecordSQL rewrites a record; updateRecordResultSQL stores its
// result ($43) too, a completion in one statement.
const (
	updateRecordSQL       = updateRecordSet + ` WHERE id = $1`
	updateRecordResultSQL = updateRecordSet + `, result = $43 WHERE id = $1`
)

func updateArgs(e *ff.Execution) []any {
	s := e.State
	return []any{e.ID.String(), e.Priority, string(s.LifecyclePhase), string(s.OwnershipState), string(s.EligibilityState),
		string(s.BlockingReason), string(s.TerminalOutcome), string(s.AttemptState), string(s.PublicState), e.Claimable(),
		e.BlockingDetail, int32(e.AttemptCount), e.CurrentAttemptID, e.LeaseID, e.LeaseEpoch, e.LeaseExpiresAtMs,
		e.LeaseTTLMs, e.WorkerID, e.WorkerInstanceID, e.LastHeartbeatMs,
		e.RetryCount, e.ReclaimCount, e.ReplayCount,
		e.ReadyAtMs, e.AttemptDeadlineMs, e.ExecutionDeadlineMs,
		e.StartedAtMs, e.CompletedAtMs, e.UpdatedAtMs,
		int16(e.ProgressPct), e.ProgressMessage, e.FailureReason, e.FailureClass,
		e.CancelReason, e.CancelledBy,
		string(e.CurrentAttemptType), e.CurrentAttemptStartedMs, e.AttemptWorkerID, e.AttemptWorkerInstanceID,
		hooksArg(e.Hooks), e.LeaseAcquiredMs, e.RevokedLeaseEpoch}
}

// hooksArg is the stored form of h: the smallint column holds the 16 bits
// as they are (bit 15 reads as negative in SQL, which no mask test minds).
func hooksArg(h ff.Hooks) int16 { return int16(h) }

// queueRecordWrite appends the record rewrite and its effects to batch.
// before is the record as loaded: it describes the attempt that an
// effect ends. Only an attempt's end writes its ff_attempt row, and not a
// successful end: that attempt is the execution's last and stays readable
// from the execution row (see ListAttempts). Starts, suspensions and
// resumes live in the execution row too.
func queueRecordWrite(batch *pgx.Batch, before, e *ff.Execution, fx *ff.Effects) error {
	release := e.SettleQuotaSlots() // before the hooks are written
	queueRecordUpdate(batch, e, fx)
	queueAdmissionWrites(batch, before, e, release)
	if fx == nil {
		return nil
	}
	part := int16(e.ID.Partition)
	id := e.ID.String()
	for _, u := range fx.UpdateAttempts {
		// A successful attempt is written once it is no longer the last
		// attempt of a completed execution (a replay).
		if !attemptEnded(u.Lifecycle) || (u.Lifecycle == ff.AttemptEndedSuccess && e.State.TerminalOutcome == ff.OutcomeSuccess) {
			continue
		}
		batch.Queue(`INSERT INTO ff_attempt (execution_id, attempt_index, partition, attempt_id, attempt_type, lifecycle,
			lease_epoch, worker_id, worker_instance_id, started_at_ms, ended_at_ms, failure_reason, failure_class)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (execution_id, attempt_index) DO UPDATE SET lifecycle = EXCLUDED.lifecycle,
				ended_at_ms = EXCLUDED.ended_at_ms, failure_reason = EXCLUDED.failure_reason,
				failure_class = EXCLUDED.failure_class`,
			id, int32(u.Index), part, before.CurrentAttemptID, string(before.CurrentAttemptType), string(u.Lifecycle),
			before.LeaseEpoch, before.AttemptWorkerID, before.AttemptWorkerInstanceID, before.CurrentAttemptStartedMs,
			u.EndedAtMs, u.FailureReason, u.FailureClass)
	}
	if fx.ResetSkippedEdges {
		return ff.Bug("execution %s: a skipped member's replay is written by backend.ReplayInFlowTx", id)
	}
	if fx.CloseWaitpoints != "" {
		// Only executions with HookWaitpoints get here (the attempt that
		// ends created waitpoints): close them and the open suspension.
		batch.Queue(closeAttemptWaitpointsSQL, id, e.UpdatedAtMs, fx.CloseWaitpoints)
		batch.Queue(closeAttemptSuspensionSQL, id, e.UpdatedAtMs, fx.CloseWaitpoints)
	}
	return queueEvents(batch, fx.Events)
}

// queueRecordUpdate rewrites e's record, with its result when fx stores
// one.
func queueRecordUpdate(batch *pgx.Batch, e *ff.Execution, fx *ff.Effects) {
	if fx == nil || !fx.StoreResult {
		batch.Queue(updateRecordSQL, updateArgs(e)...)
		return
	}
	res := fx.Result
	if res == nil {
		res = []byte{}
	}
	batch.Queue(updateRecordResultSQL, append(updateArgs(e), res)...)
}

// closeAttemptWaitpointsSQL and closeAttemptSuspensionSQL apply
// Effects.CloseWaitpoints.
const (
	closeAttemptWaitpointsSQL = `UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = $2, close_reason = $3
	WHERE execution_id = $1 AND state IN ('pending', 'active')`
	closeAttemptSuspensionSQL = `UPDATE ff_suspension SET closed_at_ms = $2, close_reason = $3
	WHERE execution_id = $1 AND closed_at_ms = 0`
)

// insertEventsSQL writes events in their order in one statement: the rows
// get ascending ids, so a reader sees them in that order.
const insertEventsSQL = `INSERT INTO ff_event (type, action, execution_id, partition, lane, namespace, at_ms,
	attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id, acquired_at_ms,
	lease_end, acquired_action, data)
SELECT type, action, execution_id, partition, lane, namespace, at_ms,
	attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id, acquired_at_ms,
	lease_end, acquired_action, data::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::text[], $7::bigint[],
	$8::integer[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::bigint[],
	$15::text[], $16::text[], $17::text[])
	WITH ORDINALITY AS x(type, action, execution_id, partition, lane, namespace, at_ms,
		attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id, acquired_at_ms,
		lease_end, acquired_action, data, ord)
ORDER BY ord`

// eventColumns are insertEventsSQL's arrays, one entry per event.
type eventColumns struct {
	typ, action, execID, lane, namespace                  []string
	attemptID, attemptType, worker, instance, end, starts []string
	data                                                  []*string
	partition                                             []int16
	attemptIndex                                          []int32
	atMs, epoch, acquiredMs                               []int64
}

func (c *eventColumns) add(ev ff.Event) error {
	data, err := ev.EncodeData()
	if err != nil {
		return err
	}
	var d *string
	if data != nil {
		str := string(data)
		d = &str
	}
	c.typ, c.action = append(c.typ, string(ev.Type)), append(c.action, ev.Action)
	c.execID, c.lane = append(c.execID, ev.StoredExecutionID()), append(c.lane, ev.Lane)
	c.namespace, c.partition = append(c.namespace, ev.Namespace), append(c.partition, int16(ev.StoredPartition()))
	c.atMs, c.data = append(c.atMs, ev.AtMs), append(c.data, d)
	l, idx, start := ev.Lease, int32(-1), ""
	if l == nil {
		l = &ff.LeaseRef{}
	} else {
		idx, start = int32(l.AttemptIndex), l.StartAction()
	}
	c.attemptIndex, c.attemptID = append(c.attemptIndex, idx), append(c.attemptID, l.AttemptID)
	c.attemptType, c.epoch = append(c.attemptType, string(l.AttemptType)), append(c.epoch, int64(l.LeaseEpoch))
	c.worker, c.instance = append(c.worker, l.WorkerID), append(c.instance, l.WorkerInstanceID)
	c.acquiredMs, c.end, c.starts = append(c.acquiredMs, l.AcquiredAtMs), append(c.end, l.End), append(c.starts, start)
	return nil
}

// queueEvents appends the insert of events, if any, to batch.
func queueEvents(batch *pgx.Batch, events []ff.Event) error {
	if len(events) == 0 {
		return nil
	}
	var c eventColumns
	for _, ev := range events {
		if err := c.add(ev); err != nil {
			return err
		}
	}
	batch.Queue(insertEventsSQL, c.typ, c.action, c.execID, c.partition, c.lane, c.namespace, c.atMs,
		c.attemptIndex, c.attemptID, c.attemptType, c.epoch, c.worker, c.instance, c.acquiredMs,
		c.end, c.starts, c.data)
	return nil
}

// execBatch sends batch in one round trip and checks every result.
func execBatch(ctx context.Context, tx pgx.Tx, batch *pgx.Batch) error {
	if batch.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, batch)
	for i := 0; i < batch.Len(); i++ {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return fmt.Errorf("batch statement %d: %w", i, err)
		}
	}
	return br.Close()
}

// mutation is a transition applied to one locked record. It returns the
// effects to write (nil with write=false for a no-op) and the error to
// report; when keep is true the record is written even though err is not
// nil (a fence check that marked the lease expired).
type mutation func(e *ff.Execution, nowMs int64) (fx *ff.Effects, write bool, keep bool, err error)

// mutate runs fn against execution id under a row lock in one
// transaction. When the transition ends a flow member with outgoing edges
// (HookFlow), the edges resolve in the same transaction; that work can
// lose a lock race (deadlock, a sibling locked NOWAIT), and the whole
// transaction is then retried: fn is pure over the loaded record.
func (b *Backend) mutate(ctx context.Context, op string, id ff.ExecutionID, fn mutation) error {
	var err error
	for range maxFlowTries {
		var flow bool
		flow, err = b.mutateOnce(ctx, op, id, fn)
		if !flow || !errors.Is(err, ff.ErrContention) {
			return err
		}
	}
	return err
}

// mutateOnce is one try of mutate; flow reports whether it resolved flow
// edges (only then is a contention error retried).
func (b *Backend) mutateOnce(ctx context.Context, op string, id ff.ExecutionID, fn mutation) (flow bool, _ error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return false, mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var now int64
	row := tx.QueryRow(ctx, `SELECT `+recordColumns+`, coalesce($2::bigint, ff_now_ms())`+recordFrom+
		` WHERE e.id = $1 FOR UPDATE OF e`, id.String(), b.nowArg())
	e, err := scanRecord(row, &now)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return false, opErr(op, err)
	}
	before := *e
	fx, write, keep, ferr := fn(e, now)
	if ferr != nil && !keep {
		return false, ferr
	}
	if !write {
		return false, ferr
	}
	batch := &pgx.Batch{}
	if err := queueRecordWrite(batch, &before, e, fx); err != nil {
		return false, err
	}
	var woke []string
	if flowEnded(e, fx) {
		// The record write goes with the cascade's first read.
		flow = true
		s := &flowStore{ctx: ctx, b: b, tx: tx, now: now, pending: batch}
		if err := backend.ResolveFlowEdges(s, e); err != nil {
			return true, err
		}
		if err := s.flush(); err != nil {
			return true, err
		}
		woke = s.wake
	} else if err := execBatch(ctx, tx, batch); err != nil {
		return false, mapPgError(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return flow, mapPgError(op, err)
	}
	if e.Claimable() {
		woke = append(woke, e.Lane)
	}
	b.wake(woke...)
	if flow || (fx != nil && len(fx.Events) > 0) {
		b.eventsCommitted()
	}
	return flow, ferr
}

// flowEnded reports whether the transition fx ended a member with
// outgoing edges, whose edges must now resolve.
func flowEnded(e *ff.Execution, fx *ff.Effects) bool {
	return e.Hooks.Any(ff.HookFlow) && fx.EndedNow()
}

// attemptEnded reports whether l ends an attempt for good.
func attemptEnded(l ff.AttemptLifecycle) bool {
	switch l {
	case ff.AttemptEndedSuccess, ff.AttemptEndedFailure, ff.AttemptEndedCancelled, ff.AttemptInterruptedReclaimed:
		return true
	}
	return false
}
