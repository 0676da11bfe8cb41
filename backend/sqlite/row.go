package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// execColumns is the stored record, ff_execution joined with its payload
// side table (tags and policy), in scanExecution's order.
const execColumns = `e.seq, e.execution_id, e.namespace, e.lane, e.kind, e.priority, e.cap_sig, e.idempotency_key,
  e.lifecycle_phase, e.ownership_state, e.eligibility_state, e.blocking_reason, e.terminal_outcome,
  e.attempt_state, e.public_state, e.blocking_detail,
  e.attempt_count, e.current_attempt_id, e.lease_id, e.lease_epoch, e.lease_expires_at_ms, e.lease_ttl_ms,
  e.worker_id, e.worker_instance_id, e.last_heartbeat_ms,
  e.retry_count, e.reclaim_count, e.replay_count,
  e.ready_at_ms, e.attempt_deadline_ms, e.execution_deadline_ms,
  e.created_at_ms, e.started_at_ms, e.completed_at_ms, e.updated_at_ms,
  e.progress_pct, e.progress_message, e.failure_reason, e.failure_class, e.cancel_reason, e.cancelled_by,
  e.hooks, e.lease_acquired_ms, e.attempt_type, e.attempt_started_ms, e.attempt_worker_id,
  e.attempt_worker_instance_id, e.revoked_lease_epoch, p.tags, p.policy`

const execFrom = ` FROM ff_execution e JOIN ff_execution_payload p ON p.seq = e.seq`

const (
	qLoadByID  = `SELECT ` + execColumns + execFrom + ` WHERE e.execution_id = ?`
	qLoadBySeq = `SELECT ` + execColumns + execFrom + ` WHERE e.seq = ?`
	// qLoadForClaim also reads the input, which only a claim returns.
	qLoadForClaim = `SELECT ` + execColumns + `, p.input` + execFrom + ` WHERE e.seq = ?`
)

// qInsertExecution inserts a new row; seq is assigned by SQLite.
const qInsertExecution = `INSERT INTO ff_execution (
  execution_id, partition_key, namespace, lane, kind, priority, cap_sig, idempotency_key,
  lifecycle_phase, ownership_state, eligibility_state, blocking_reason, terminal_outcome,
  attempt_state, public_state, blocking_detail, ready,
  attempt_count, current_attempt_id, lease_id, lease_epoch, lease_expires_at_ms, lease_ttl_ms,
  worker_id, worker_instance_id, last_heartbeat_ms,
  retry_count, reclaim_count, replay_count,
  ready_at_ms, attempt_deadline_ms, execution_deadline_ms,
  created_at_ms, started_at_ms, completed_at_ms, updated_at_ms,
  progress_pct, progress_message, failure_reason, failure_class, cancel_reason, cancelled_by,
  idempotency_expires_at_ms, hooks, lease_acquired_ms,
  attempt_type, attempt_started_ms, attempt_worker_id, attempt_worker_instance_id, revoked_lease_epoch
) VALUES (?, ?, ?, ?, ?, ?, ?, ?,  ?, ?, ?, ?, ?,  ?, ?, ?, ?,  ?, ?, ?, ?, ?, ?,  ?, ?, ?,  ?, ?, ?,  ?, ?, ?,  ?, ?, ?, ?,  ?, ?, ?, ?, ?, ?,
  ?, ?, ?,  ?, ?, ?, ?, ?)`

// qUpdateExecution writes every mutable column. The immutable ones
// (identity, lane, kind, capability signature, idempotency key, creation
// time) are left out so their indexes are never touched.
const qUpdateExecution = `UPDATE ff_execution SET
  priority = ?,
  lifecycle_phase = ?, ownership_state = ?, eligibility_state = ?, blocking_reason = ?, terminal_outcome = ?,
  attempt_state = ?, public_state = ?, blocking_detail = ?, ready = ?,
  attempt_count = ?, current_attempt_id = ?, lease_id = ?, lease_epoch = ?, lease_expires_at_ms = ?, lease_ttl_ms = ?,
  worker_id = ?, worker_instance_id = ?, last_heartbeat_ms = ?,
  retry_count = ?, reclaim_count = ?, replay_count = ?,
  ready_at_ms = ?, attempt_deadline_ms = ?, execution_deadline_ms = ?,
  started_at_ms = ?, completed_at_ms = ?, updated_at_ms = ?,
  progress_pct = ?, progress_message = ?, failure_reason = ?, failure_class = ?, cancel_reason = ?, cancelled_by = ?,
  hooks = ?, lease_acquired_ms = ?,
  attempt_type = ?, attempt_started_ms = ?, attempt_worker_id = ?, attempt_worker_instance_id = ?,
  revoked_lease_epoch = ?
WHERE seq = ?`

const qInsertPayload = `INSERT INTO ff_execution_payload (seq, input, tags, policy) VALUES (?, ?, ?, ?)`

// row is a stored execution with what the record itself does not hold.
type row struct {
	e      ff.Execution
	capSig int64
}

type scanner interface{ Scan(dest ...any) error }

// scanExecution decodes one execColumns row, then extra columns into
// extra. caps resolves the capability signature to its tokens.
func scanExecution(s scanner, caps func(sig int64) ([]string, error), extra ...any) (*row, error) {
	var r row
	e := &r.e
	var id, tags string
	var policy sql.NullString
	var epoch, attemptCount, hooks, revoked int64
	dest := []any{&e.Seq, &id, &e.Namespace, &e.Lane, &e.Kind, &e.Priority, &r.capSig, &e.IdempotencyKey,
		&e.State.LifecyclePhase, &e.State.OwnershipState, &e.State.EligibilityState, &e.State.BlockingReason,
		&e.State.TerminalOutcome, &e.State.AttemptState, &e.State.PublicState, &e.BlockingDetail,
		&attemptCount, &e.CurrentAttemptID, &e.LeaseID, &epoch, &e.LeaseExpiresAtMs, &e.LeaseTTLMs,
		&e.WorkerID, &e.WorkerInstanceID, &e.LastHeartbeatMs,
		&e.RetryCount, &e.ReclaimCount, &e.ReplayCount,
		&e.ReadyAtMs, &e.AttemptDeadlineMs, &e.ExecutionDeadlineMs,
		&e.CreatedAtMs, &e.StartedAtMs, &e.CompletedAtMs, &e.UpdatedAtMs,
		&e.ProgressPct, &e.ProgressMessage, &e.FailureReason, &e.FailureClass, &e.CancelReason, &e.CancelledBy,
		&hooks, &e.LeaseAcquiredMs, &e.CurrentAttemptType, &e.CurrentAttemptStartedMs, &e.AttemptWorkerID,
		&e.AttemptWorkerInstanceID, &revoked, &tags, &policy}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	parsed, err := ff.ParseExecutionID(id)
	if err != nil {
		return nil, ff.Corruption("stored execution_id %q: %v", id, err)
	}
	e.ID = parsed
	e.LeaseEpoch = uint64(epoch)
	e.AttemptCount = uint32(attemptCount)
	e.Hooks = ff.Hooks(hooks)
	e.RevokedLeaseEpoch = uint64(revoked)
	if e.Capabilities, err = caps(r.capSig); err != nil {
		return nil, err
	}
	if e.Tags, err = decodeTags(tags); err != nil {
		return nil, ff.Corruption("stored tags of %s: %v", id, err)
	}
	if policy.Valid {
		e.Policy = new(ff.ExecutionPolicy)
		if err := json.Unmarshal([]byte(policy.String), e.Policy); err != nil {
			return nil, ff.Corruption("stored policy of %s: %v", id, err)
		}
	}
	return &r, nil
}

func decodeTags(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

func encodeTags(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func encodePolicy(p *ff.ExecutionPolicy) (any, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// updateArgs are qUpdateExecution's arguments for e.
func updateArgs(e *ff.Execution) []any {
	s := e.State
	return []any{
		e.Priority,
		string(s.LifecyclePhase), string(s.OwnershipState), string(s.EligibilityState), string(s.BlockingReason),
		string(s.TerminalOutcome), string(s.AttemptState), string(s.PublicState), e.BlockingDetail, boolInt(e.Claimable()),
		int64(e.AttemptCount), e.CurrentAttemptID, e.LeaseID, int64(e.LeaseEpoch), e.LeaseExpiresAtMs, e.LeaseTTLMs,
		e.WorkerID, e.WorkerInstanceID, e.LastHeartbeatMs,
		e.RetryCount, e.ReclaimCount, e.ReplayCount,
		e.ReadyAtMs, e.AttemptDeadlineMs, e.ExecutionDeadlineMs,
		e.StartedAtMs, e.CompletedAtMs, e.UpdatedAtMs,
		e.ProgressPct, e.ProgressMessage, e.FailureReason, e.FailureClass, e.CancelReason, e.CancelledBy,
		int64(e.Hooks), e.LeaseAcquiredMs,
		string(e.CurrentAttemptType), e.CurrentAttemptStartedMs, e.AttemptWorkerID, e.AttemptWorkerInstanceID,
		int64(e.RevokedLeaseEpoch),
		e.Seq,
	}
}

// insertArgs are qInsertExecution's arguments for e with signature sig.
func insertArgs(e *ff.Execution, sig int64) []any {
	s := e.State
	return []any{
		e.ID.String(), int64(e.ID.Partition), e.Namespace, e.Lane, e.Kind, e.Priority, sig, e.IdempotencyKey,
		string(s.LifecyclePhase), string(s.OwnershipState), string(s.EligibilityState), string(s.BlockingReason),
		string(s.TerminalOutcome), string(s.AttemptState), string(s.PublicState), e.BlockingDetail, boolInt(e.Claimable()),
		int64(e.AttemptCount), e.CurrentAttemptID, e.LeaseID, int64(e.LeaseEpoch), e.LeaseExpiresAtMs, e.LeaseTTLMs,
		e.WorkerID, e.WorkerInstanceID, e.LastHeartbeatMs,
		e.RetryCount, e.ReclaimCount, e.ReplayCount,
		e.ReadyAtMs, e.AttemptDeadlineMs, e.ExecutionDeadlineMs,
		e.CreatedAtMs, e.StartedAtMs, e.CompletedAtMs, e.UpdatedAtMs,
		e.ProgressPct, e.ProgressMessage, e.FailureReason, e.FailureClass, e.CancelReason, e.CancelledBy,
		backend.IdempotencyExpiry(e), int64(e.Hooks), e.LeaseAcquiredMs,
		string(e.CurrentAttemptType), e.CurrentAttemptStartedMs, e.AttemptWorkerID, e.AttemptWorkerInstanceID,
		int64(e.RevokedLeaseEpoch),
	}
}

// load reads the record of id inside w; a missing execution is
// NotFound("execution").
func (w *writeTx) load(id ff.ExecutionID) (*row, error) {
	return w.loadRow(w.queryRow(qLoadByID, id.String()), id.String())
}

func (w *writeTx) loadSeq(seq int64) (*row, error) {
	return w.loadRow(w.queryRow(qLoadBySeq, seq), "")
}

func (w *writeTx) loadRow(r *sql.Row, id string, extra ...any) (*row, error) {
	got, err := scanExecution(r, func(sig int64) ([]string, error) { return w.b.caps.tokens(w.ctx, w.tx, sig) }, extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, driverError("sqlite: load execution", err)
	}
	return got, nil
}

// save writes the whole record and its effects. When the transition
// ended a flow member with outgoing edges (HookFlow), the edges resolve
// in the same transaction.
func (w *writeTx) save(r *row, wasClaimable bool, fx *ff.Effects) error {
	if err := w.saveRecord(&r.e, wasClaimable, fx); err != nil {
		return err
	}
	if r.e.Hooks.Any(ff.HookFlow) && fx.EndedNow() {
		return backend.ResolveFlowEdges(w.flows(), &r.e)
	}
	return nil
}

// saveRecord writes the record and its effects only. It checks the state
// vector first (never store a forbidden combination) and wakes the lane
// when the execution became claimable.
func (w *writeTx) saveRecord(e *ff.Execution, wasClaimable bool, fx *ff.Effects) error {
	if err := e.State.Check(); err != nil {
		return err
	}
	if err := w.settleAdmission(e); err != nil { // before the hooks are written
		return err
	}
	if _, err := w.exec("sqlite: update execution", qUpdateExecution, updateArgs(e)...); err != nil {
		return err
	}
	if err := w.writeEffects(e, fx); err != nil {
		return err
	}
	if e.Claimable() && !wasClaimable {
		w.notify(e.Lane)
	}
	return nil
}
