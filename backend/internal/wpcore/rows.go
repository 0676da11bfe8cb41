package wpcore

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

// Row is one result row of either store (pgx.Row, *sql.Row, *sql.Rows).
type Row interface{ Scan(dest ...any) error }

// SelectSuspensions selects the columns ScanSuspension reads; a store
// appends its WHERE clause.
const SelectSuspensions = `SELECT suspension_id, execution_id, attempt_index, condition, reason_code, timeout_at_ms,
	timeout_behavior, waitpoint_ids, idempotency_key, idempotency_expires_at_ms, created_at_ms, closed_at_ms,
	close_reason, satisfiers FROM ff_suspension`

// ScanSuspension decodes one row of SelectSuspensions; a stored value
// that does not decode is corruption.
func ScanSuspension(r Row) (ff.Suspension, error) {
	var (
		s               ff.Suspension
		exec, cond, beh string
		wps, sats       string
		idx             int64
	)
	if err := r.Scan(&s.ID, &exec, &idx, &cond, &s.ReasonCode, &s.TimeoutAtMs, &beh, &wps, &s.IdempotencyKey,
		&s.IdempotencyExpiresAtMs, &s.CreatedAtMs, &s.ClosedAtMs, &s.CloseReason, &sats); err != nil {
		return s, err
	}
	id, err := ff.ParseExecutionID(exec)
	if err != nil {
		return s, ff.Corruption("suspension %s: execution id: %v", s.ID, err)
	}
	s.ExecutionID, s.AttemptIndex, s.TimeoutBehavior = id, uint32(idx), ff.TimeoutBehavior(beh)
	for _, f := range []struct {
		raw string
		dst any
	}{{cond, &s.Condition}, {wps, &s.WaitpointIDs}, {sats, &s.Satisfiers}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return s, ff.Corruption("suspension %s: %v", s.ID, err)
		}
	}
	return s, nil
}

// SelectSignals selects the columns ScanSignal reads.
const SelectSignals = `SELECT signal_id, execution_id, waitpoint_id, waitpoint_key, signal_name, payload, source_type,
	source_identity, idempotency_key, effect, received_at_ms FROM ff_signal`

// ScanSignal decodes one row of SelectSignals.
func ScanSignal(r Row) (ff.Signal, error) {
	var (
		s            ff.Signal
		exec, effect string
	)
	if err := r.Scan(&s.ID, &exec, &s.WaitpointID, &s.WaitpointKey, &s.Name, &s.Payload, &s.Source.Type,
		&s.Source.Identity, &s.IdempotencyKey, &effect, &s.ReceivedAtMs); err != nil {
		return s, err
	}
	id, err := ff.ParseExecutionID(exec)
	if err != nil {
		return s, ff.Corruption("signal %s: execution id: %v", s.ID, err)
	}
	s.ExecutionID, s.Effect = id, ff.SignalEffect(effect)
	return s, nil
}
