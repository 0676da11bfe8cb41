package postgres

import (
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// Suspensions.

func (t *pgTx) oneSuspension(q string, args ...any) (ff.Suspension, bool, error) {
	s, err := wpcore.ScanSuspension(t.tx.QueryRow(t.ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, mapPgError("read suspension", err)
	}
	return s, true, nil
}

func (t *pgTx) OpenSuspension(exec ff.ExecutionID) (ff.Suspension, bool, error) {
	return t.oneSuspension(wpcore.SelectSuspensions+` WHERE execution_id = $1 AND closed_at_ms = 0
		ORDER BY created_at_ms DESC LIMIT 1`, exec.String())
}

func (t *pgTx) SuspensionByKey(exec ff.ExecutionID, key string) (ff.Suspension, bool, error) {
	return t.oneSuspension(wpcore.SelectSuspensions+` WHERE execution_id = $1 AND idempotency_key = $2
		ORDER BY created_at_ms DESC LIMIT 1`, exec.String(), key)
}

func (t *pgTx) LatestSuspension(exec ff.ExecutionID) (ff.Suspension, bool, error) {
	return t.oneSuspension(wpcore.SelectSuspensions+` WHERE execution_id = $1 ORDER BY created_at_ms DESC, suspension_id LIMIT 1`, exec.String())
}

func (t *pgTx) PutSuspension(s ff.Suspension) error {
	wps, _ := json.Marshal(nonNil(s.WaitpointIDs))
	sats, _ := json.Marshal(nonNil(s.Satisfiers))
	return t.exec("put suspension", `INSERT INTO ff_suspension (suspension_id, execution_id, partition, attempt_index,
		condition, reason_code, timeout_at_ms, timeout_behavior, waitpoint_ids, idempotency_key,
		idempotency_expires_at_ms, created_at_ms, closed_at_ms, close_reason, satisfiers)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (suspension_id) DO UPDATE SET closed_at_ms = EXCLUDED.closed_at_ms,
			close_reason = EXCLUDED.close_reason, satisfiers = EXCLUDED.satisfiers, timeout_at_ms = EXCLUDED.timeout_at_ms`,
		s.ID, s.ExecutionID.String(), int16(s.ExecutionID.Partition), int32(s.AttemptIndex), ff.EncodeCondition(s.Condition),
		s.ReasonCode, s.TimeoutAtMs, string(s.TimeoutBehavior), string(wps), s.IdempotencyKey, s.IdempotencyExpiresAtMs,
		s.CreatedAtMs, s.ClosedAtMs, s.CloseReason, string(sats))
}

func (t *pgTx) DueSuspensions(limit int) ([]ff.Suspension, error) {
	rows, err := t.tx.Query(t.ctx, wpcore.SelectSuspensions+` WHERE closed_at_ms = 0 AND timeout_at_ms > 0 AND timeout_at_ms <= $1
		ORDER BY timeout_at_ms LIMIT $2`, t.now, limit)
	if err != nil {
		return nil, mapPgError("due suspensions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ff.Suspension, error) { return wpcore.ScanSuspension(r) })
	if err != nil {
		return nil, mapPgError("due suspensions", err)
	}
	return out, nil
}

// Signals.

func (t *pgTx) signals(op, q string, args ...any) ([]ff.Signal, error) {
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return nil, mapPgError(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ff.Signal, error) { return wpcore.ScanSignal(r) })
	if err != nil {
		return nil, mapPgError(op, err)
	}
	return out, nil
}

func (t *pgTx) SignalsOn(ids []string) ([]ff.Signal, error) {
	return t.signals("signals of waitpoints", wpcore.SelectSignals+` WHERE waitpoint_id = ANY($1::text[]) ORDER BY seq`, ids)
}

func (t *pgTx) SignalsOf(exec ff.ExecutionID) ([]ff.Signal, error) {
	return t.signals("signals of execution", wpcore.SelectSignals+` WHERE execution_id = $1 ORDER BY seq`, exec.String())
}

func (t *pgTx) SignalsByID(ids []string) ([]ff.Signal, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return t.signals("signals by id", wpcore.SelectSignals+` WHERE signal_id = ANY($1::text[]) ORDER BY seq`, ids)
}

func (t *pgTx) SignalByKey(wp, key string) (ff.Signal, bool, error) {
	s, err := wpcore.ScanSignal(t.tx.QueryRow(t.ctx, wpcore.SelectSignals+` WHERE waitpoint_id = $1 AND idempotency_key = $2`, wp, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, mapPgError("signal by key", err)
	}
	return s, true, nil
}

func (t *pgTx) CountSignals(exec ff.ExecutionID) (int, error) {
	var n int
	if err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM ff_signal WHERE execution_id = $1`, exec.String()).Scan(&n); err != nil {
		return 0, mapPgError("count signals", err)
	}
	return n, nil
}

func (t *pgTx) InsertSignal(s ff.Signal) error {
	return t.exec("insert signal", `INSERT INTO ff_signal (signal_id, execution_id, partition, waitpoint_id, waitpoint_key,
		signal_name, payload, source_type, source_identity, idempotency_key, effect, received_at_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.ID, s.ExecutionID.String(), int16(s.ExecutionID.Partition), s.WaitpointID, s.WaitpointKey, s.Name,
		nilIfEmpty(s.Payload), s.Source.Type, s.Source.Identity, s.IdempotencyKey, string(s.Effect), s.ReceivedAtMs)
}

func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (t *pgTx) ExpirePending(limit int) (int, error) {
	tag, err := t.tx.Exec(t.ctx, `UPDATE ff_waitpoint SET state = 'expired', closed_at_ms = $1, close_reason = $3
		WHERE waitpoint_id IN (SELECT waitpoint_id FROM ff_waitpoint
			WHERE state = 'pending' AND expires_at_ms > 0 AND expires_at_ms <= $1
			ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)`, t.now, limit, ff.CloseNeverCommitted)
	if err != nil {
		return 0, mapPgError("expire pending waitpoints", err)
	}
	return int(tag.RowsAffected()), nil
}
