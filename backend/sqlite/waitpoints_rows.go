package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// Suspensions.

func (t *sqTx) suspensions(op, q string, args ...any) ([]ff.Suspension, error) {
	rows, err := t.w.query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ff.Suspension
	for rows.Next() {
		s, err := wpcore.ScanSuspension(rows)
		if err != nil {
			return nil, driverError(op, err)
		}
		out = append(out, s)
	}
	return out, driverErrorOrNil(op, rows.Err())
}

func (t *sqTx) oneSuspension(q string, args ...any) (ff.Suspension, bool, error) {
	s, err := wpcore.ScanSuspension(t.w.queryRow(q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, driverError("sqlite: read suspension", err)
	}
	return s, true, nil
}

func (t *sqTx) OpenSuspension(exec ff.ExecutionID) (ff.Suspension, bool, error) {
	return t.oneSuspension(wpcore.SelectSuspensions+` WHERE execution_id = ? AND closed_at_ms = 0
ORDER BY created_at_ms DESC LIMIT 1`, exec.String())
}

func (t *sqTx) SuspensionByKey(exec ff.ExecutionID, key string) (ff.Suspension, bool, error) {
	return t.oneSuspension(wpcore.SelectSuspensions+` WHERE execution_id = ? AND idempotency_key = ?
ORDER BY created_at_ms DESC LIMIT 1`, exec.String(), key)
}

func (t *sqTx) LatestSuspension(exec ff.ExecutionID) (ff.Suspension, bool, error) {
	return t.oneSuspension(wpcore.SelectSuspensions+` WHERE execution_id = ? ORDER BY created_at_ms DESC, rowid DESC LIMIT 1`, exec.String())
}

func (t *sqTx) PutSuspension(s ff.Suspension) error {
	wps, _ := json.Marshal(nonNil(s.WaitpointIDs))
	sats, _ := json.Marshal(nonNil(s.Satisfiers))
	return t.exec("sqlite: put suspension", `INSERT INTO ff_suspension (suspension_id, execution_id, partition_key,
  attempt_index, condition, reason_code, timeout_at_ms, timeout_behavior, waitpoint_ids, idempotency_key,
  idempotency_expires_at_ms, created_at_ms, closed_at_ms, close_reason, satisfiers)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (suspension_id) DO UPDATE SET closed_at_ms = excluded.closed_at_ms,
  close_reason = excluded.close_reason, satisfiers = excluded.satisfiers, timeout_at_ms = excluded.timeout_at_ms`,
		s.ID, s.ExecutionID.String(), int64(s.ExecutionID.Partition), int64(s.AttemptIndex), ff.EncodeCondition(s.Condition),
		s.ReasonCode, s.TimeoutAtMs, string(s.TimeoutBehavior), string(wps), s.IdempotencyKey, s.IdempotencyExpiresAtMs,
		s.CreatedAtMs, s.ClosedAtMs, s.CloseReason, string(sats))
}

func (t *sqTx) DueSuspensions(limit int) ([]ff.Suspension, error) {
	return t.suspensions("sqlite: due suspensions", wpcore.SelectSuspensions+` WHERE closed_at_ms = 0 AND timeout_at_ms > 0
  AND timeout_at_ms <= ? ORDER BY timeout_at_ms LIMIT ?`, t.w.now, limit)
}

// Signals.

func (t *sqTx) signals(op, q string, args ...any) ([]ff.Signal, error) {
	rows, err := t.w.query(op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ff.Signal
	for rows.Next() {
		s, err := wpcore.ScanSignal(rows)
		if err != nil {
			return nil, driverError(op, err)
		}
		out = append(out, s)
	}
	return out, driverErrorOrNil(op, rows.Err())
}

func jsonList(ids []string) string {
	b, _ := json.Marshal(nonNil(ids))
	return string(b)
}

func (t *sqTx) SignalsOn(ids []string) ([]ff.Signal, error) {
	return t.signals("sqlite: signals of waitpoints", wpcore.SelectSignals+` WHERE waitpoint_id IN (SELECT value FROM json_each(?))
ORDER BY seq`, jsonList(ids))
}

func (t *sqTx) SignalsOf(exec ff.ExecutionID) ([]ff.Signal, error) {
	return t.signals("sqlite: signals of execution", wpcore.SelectSignals+` WHERE execution_id = ? ORDER BY seq`, exec.String())
}

func (t *sqTx) SignalsByID(ids []string) ([]ff.Signal, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return t.signals("sqlite: signals by id", wpcore.SelectSignals+` WHERE signal_id IN (SELECT value FROM json_each(?))
ORDER BY seq`, jsonList(ids))
}

func (t *sqTx) SignalByKey(wp, key string) (ff.Signal, bool, error) {
	s, err := wpcore.ScanSignal(t.w.queryRow(wpcore.SelectSignals+` WHERE waitpoint_id = ? AND idempotency_key = ?`, wp, key))
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, driverError("sqlite: signal by key", err)
	}
	return s, true, nil
}

func (t *sqTx) CountSignals(exec ff.ExecutionID) (int, error) {
	var n int
	if err := t.w.queryRow(`SELECT count(*) FROM ff_signal WHERE execution_id = ?`, exec.String()).Scan(&n); err != nil {
		return 0, driverError("sqlite: count signals", err)
	}
	return n, nil
}

func (t *sqTx) InsertSignal(s ff.Signal) error {
	var payload any
	if len(s.Payload) > 0 {
		payload = []byte(s.Payload)
	}
	return t.exec("sqlite: insert signal", `INSERT INTO ff_signal (signal_id, execution_id, partition_key, waitpoint_id,
  waitpoint_key, signal_name, payload, source_type, source_identity, idempotency_key, effect, received_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.ExecutionID.String(), int64(s.ExecutionID.Partition), s.WaitpointID, s.WaitpointKey, s.Name, payload,
		s.Source.Type, s.Source.Identity, s.IdempotencyKey, string(s.Effect), s.ReceivedAtMs)
}

func (t *sqTx) ExpirePending(limit int) (int, error) {
	res, err := t.w.exec("sqlite: expire pending waitpoints", `UPDATE ff_waitpoint SET state = 'expired',
  closed_at_ms = ?1, close_reason = ?3
WHERE waitpoint_id IN (SELECT waitpoint_id FROM ff_waitpoint
  WHERE state = 'pending' AND expires_at_ms > 0 AND expires_at_ms <= ?1 ORDER BY expires_at_ms LIMIT ?2)`,
		t.w.now, limit, ff.CloseNeverCommitted)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
