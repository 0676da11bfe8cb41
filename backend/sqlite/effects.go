package sqlite

import (
	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/internal/wakeup"
)

const (
	qInsertAttempt = `INSERT INTO ff_attempt (execution_id, attempt_index, attempt_id, attempt_type, lifecycle,
  lease_epoch, worker_id, worker_instance_id, started_at_ms, ended_at_ms, failure_reason, failure_class)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	// qUpdateAttempt applies an AttemptUpdate: zero values leave a column
	// unchanged.
	qUpdateAttempt = `UPDATE ff_attempt SET
  lifecycle = ?1,
  lease_epoch = CASE WHEN ?2 > 0 THEN ?2 ELSE lease_epoch END,
  worker_id = CASE WHEN ?3 <> '' THEN ?3 ELSE worker_id END,
  worker_instance_id = CASE WHEN ?4 <> '' THEN ?4 ELSE worker_instance_id END,
  ended_at_ms = CASE WHEN ?5 > 0 THEN ?5 ELSE ended_at_ms END,
  failure_reason = CASE WHEN ?6 <> '' THEN ?6 ELSE failure_reason END,
  failure_class = CASE WHEN ?7 <> '' THEN ?7 ELSE failure_class END
WHERE execution_id = ?8 AND attempt_index = ?9`

	// qStoreResult upserts: a later replay may complete again.
	qStoreResult = `INSERT INTO ff_execution_result (seq, result, stored_at_ms) VALUES (?, ?, ?)
ON CONFLICT (seq) DO UPDATE SET result = excluded.result, stored_at_ms = excluded.stored_at_ms`

	// qInsertEvent writes one outbox row (flowfabric.Event).
	qInsertEvent = `INSERT INTO ff_event (type, action, execution_id, partition_key, lane, namespace, at_ms,
  attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id, acquired_at_ms,
  lease_end, acquired_action, data)
VALUES (?, ?, ?, ?, ?, ?, ?,  ?, ?, ?, ?, ?, ?, ?,  ?, ?, ?)`
)

// qCloseAttemptWaitpoints and qCloseAttemptSuspension apply
// Effects.CloseWaitpoints.
const (
	qCloseAttemptWaitpoints = `UPDATE ff_waitpoint SET state = 'closed', closed_at_ms = ?2, close_reason = ?3
WHERE execution_id = ?1 AND state IN ('pending', 'active')`
	qCloseAttemptSuspension = `UPDATE ff_suspension SET closed_at_ms = ?2, close_reason = ?3
WHERE execution_id = ?1 AND closed_at_ms = 0`
)

// writeEffects writes a transition's side effects for e.
func (w *writeTx) writeEffects(e *ff.Execution, fx *ff.Effects) error {
	if fx == nil {
		return nil
	}
	id := e.ID.String()
	if a := fx.InsertAttempt; a != nil {
		if _, err := w.exec("sqlite: insert attempt", qInsertAttempt, id, int64(a.Index), a.ID, string(a.Type),
			string(a.Lifecycle), int64(a.LeaseEpoch), a.WorkerID, a.WorkerInstanceID, a.StartedAtMs, a.EndedAtMs,
			a.FailureReason, a.FailureClass); err != nil {
			return err
		}
	}
	for _, u := range fx.UpdateAttempts {
		res, err := w.exec("sqlite: update attempt", qUpdateAttempt, string(u.Lifecycle), int64(u.LeaseEpoch),
			u.WorkerID, u.WorkerInstanceID, u.EndedAtMs, u.FailureReason, u.FailureClass, id, int64(u.Index))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ff.Bug("attempt %d of %s: %d rows updated", u.Index, id, n)
		}
	}
	if fx.ResetSkippedEdges {
		return ff.Bug("execution %s: a skipped member's replay is written by backend.ReplayInFlowTx", id)
	}
	if fx.CloseWaitpoints != "" {
		// Only executions with HookWaitpoints get here (the attempt that
		// ends created waitpoints): close them and the open suspension.
		if _, err := w.exec("sqlite: close waitpoints", qCloseAttemptWaitpoints, id, e.UpdatedAtMs, fx.CloseWaitpoints); err != nil {
			return err
		}
		if _, err := w.exec("sqlite: close suspension", qCloseAttemptSuspension, id, e.UpdatedAtMs, fx.CloseWaitpoints); err != nil {
			return err
		}
	}
	if fx.StoreResult {
		result := fx.Result
		if result == nil {
			result = []byte{}
		}
		if _, err := w.exec("sqlite: store result", qStoreResult, e.Seq, result, w.now); err != nil {
			return err
		}
	}
	for _, ev := range fx.Events {
		if err := w.insertEvent(ev); err != nil {
			return err
		}
	}
	return nil
}

// insertEvent writes ev; events are written in the order of their
// transitions, so their ids are their order.
func (w *writeTx) insertEvent(ev ff.Event) error {
	data, err := ev.EncodeData()
	if err != nil {
		return err
	}
	var d any
	if data != nil {
		d = string(data)
	}
	l, idx, start := ev.Lease, int64(-1), ""
	if l == nil {
		l = &ff.LeaseRef{}
	} else {
		idx, start = int64(l.AttemptIndex), l.StartAction()
	}
	w.notify(wakeup.EventsKey)
	_, err = w.exec("sqlite: insert event", qInsertEvent, string(ev.Type), ev.Action, ev.StoredExecutionID(),
		int64(ev.StoredPartition()), ev.Lane, ev.Namespace, ev.AtMs,
		idx, l.AttemptID, string(l.AttemptType), int64(l.LeaseEpoch), l.WorkerID, l.WorkerInstanceID, l.AcquiredAtMs,
		l.End, start, d)
	return err
}
