package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// sqTx is wpcore.Tx and budgetcore.Tx on one write transaction: BEGIN
// IMMEDIATE already serializes every writer, so the locks only load.
type sqTx struct {
	w    *writeTx
	rows map[*ff.Execution]*row
	was  map[*ff.Execution]bool
}

var _ wpcore.Tx = (*sqTx)(nil)

func newSqTx(w *writeTx) *sqTx {
	return &sqTx{w: w, rows: map[*ff.Execution]*row{}, was: map[*ff.Execution]bool{}}
}

// wpWrite runs fn in one write transaction; a *wpcore.CommitThen commits
// and returns its error.
func (b *Backend) wpWrite(ctx context.Context, op string, fn func(t *sqTx) error) error {
	return b.write(ctx, op, func(w *writeTx) error {
		err := fn(newSqTx(w))
		var keep *wpcore.CommitThen
		if errors.As(err, &keep) {
			return &commitThen{keep.Err}
		}
		return err
	})
}

func (t *sqTx) Now() int64 { return t.w.now }

func (t *sqTx) LockExecution(id ff.ExecutionID) (*ff.Execution, error) {
	r, err := t.w.load(id)
	if err != nil {
		return nil, err
	}
	return t.track(r), nil
}

// track remembers a loaded row, and whether it was claimable, for
// SaveExecution.
func (t *sqTx) track(r *row) *ff.Execution {
	t.rows[&r.e] = r
	t.was[&r.e] = r.e.Claimable()
	return &r.e
}

func (t *sqTx) ExecutionExists(id ff.ExecutionID) error {
	var one int
	err := t.w.queryRow(`SELECT 1 FROM ff_execution WHERE execution_id = ?`, id.String()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ff.NotFound("execution", "%s", id)
	}
	return driverErrorOrNil("sqlite: read execution", err)
}

func (t *sqTx) SaveExecution(e *ff.Execution, fx *ff.Effects) error {
	r, ok := t.rows[e]
	if !ok {
		return ff.Bug("save of an execution not loaded in this transaction")
	}
	return t.w.save(r, t.was[e], fx)
}

func (t *sqTx) exec(op, q string, args ...any) error {
	_, err := t.w.exec(op, q, args...)
	return err
}

// Keys.

const sqKeyCols = `SELECT kid, secret, created_at_ms, expires_at_ms FROM ff_waitpoint_key`

func (t *sqTx) oneKey(q string, args ...any) (ff.SigningKey, bool, error) {
	var k ff.SigningKey
	err := t.w.queryRow(q, args...).Scan(&k.Kid, &k.Secret, &k.CreatedAtMs, &k.ExpiresAtMs)
	if errors.Is(err, sql.ErrNoRows) {
		return k, false, nil
	}
	if err != nil {
		return k, false, driverError("sqlite: read waitpoint key", err)
	}
	return k, true, nil
}

func (t *sqTx) CurrentKey() (ff.SigningKey, bool, error) {
	return t.oneKey(sqKeyCols + ` WHERE expires_at_ms = 0`)
}

func (t *sqTx) Key(kid string) (ff.SigningKey, bool, error) {
	return t.oneKey(sqKeyCols+` WHERE kid = ?`, kid)
}

func (t *sqTx) InsertKey(k ff.SigningKey) (bool, error) {
	res, err := t.w.exec("sqlite: insert waitpoint key", `INSERT INTO ff_waitpoint_key (kid, secret, created_at_ms, expires_at_ms)
VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, k.Kid, k.Secret, k.CreatedAtMs, k.ExpiresAtMs)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (t *sqTx) RetireKey(kid string, expiresAtMs int64) error {
	return t.exec("sqlite: retire waitpoint key", `UPDATE ff_waitpoint_key SET expires_at_ms = ? WHERE kid = ?`, expiresAtMs, kid)
}

func (t *sqTx) DeleteExpiredKeys(nowMs int64) error {
	return t.exec("sqlite: delete expired keys", `DELETE FROM ff_waitpoint_key WHERE expires_at_ms > 0 AND expires_at_ms <= ?`, nowMs)
}

// Waitpoints.

const sqWpCols = `SELECT waitpoint_id, execution_id, attempt_index, waitpoint_key, state, suspension_id, token, token_kid,
  required_signal_names, created_at_ms, expires_at_ms, activated_at_ms, closed_at_ms, close_reason FROM ff_waitpoint`

func scanSqWaitpoint(r scanner) (ff.Waitpoint, error) {
	var (
		w                    ff.Waitpoint
		exec, state, reqJSON string
		idx                  int64
	)
	if err := r.Scan(&w.ID, &exec, &idx, &w.Key, &state, &w.SuspensionID, &w.Token, &w.TokenKid, &reqJSON,
		&w.CreatedAtMs, &w.ExpiresAtMs, &w.ActivatedAtMs, &w.ClosedAtMs, &w.CloseReason); err != nil {
		return w, err
	}
	id, err := ff.ParseExecutionID(exec)
	if err != nil {
		return w, ff.Corruption("waitpoint %s: execution id: %v", w.ID, err)
	}
	w.ExecutionID, w.AttemptIndex, w.State = id, uint32(idx), ff.WaitpointState(state)
	if err := json.Unmarshal([]byte(reqJSON), &w.RequiredSignalNames); err != nil {
		return w, ff.Corruption("waitpoint %s: required_signal_names: %v", w.ID, err)
	}
	return w, nil
}

func (t *sqTx) oneWaitpoint(q string, args ...any) (ff.Waitpoint, bool, error) {
	w, err := scanSqWaitpoint(t.w.queryRow(q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return w, false, nil
	}
	if err != nil {
		return w, false, driverError("sqlite: read waitpoint", err)
	}
	return w, true, nil
}

func (t *sqTx) Waitpoint(id string) (ff.Waitpoint, bool, error) {
	return t.oneWaitpoint(sqWpCols+` WHERE waitpoint_id = ?`, id)
}

func (t *sqTx) WaitpointByKey(exec ff.ExecutionID, key string) (ff.Waitpoint, bool, error) {
	return t.oneWaitpoint(sqWpCols+` WHERE execution_id = ? AND waitpoint_key = ?
ORDER BY created_at_ms DESC, waitpoint_id LIMIT 1`, exec.String(), key)
}

func (t *sqTx) Waitpoints(exec ff.ExecutionID, openOnly bool) ([]ff.Waitpoint, error) {
	rows, err := t.w.query("sqlite: list waitpoints", sqWpCols+` WHERE execution_id = ?
  AND (? = 0 OR state IN ('pending', 'active')) ORDER BY created_at_ms, waitpoint_id`, exec.String(), boolInt(openOnly))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ff.Waitpoint
	for rows.Next() {
		w, err := scanSqWaitpoint(rows)
		if err != nil {
			return nil, driverError("sqlite: list waitpoints", err)
		}
		out = append(out, w)
	}
	return out, driverErrorOrNil("sqlite: list waitpoints", rows.Err())
}

func driverErrorOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return driverError(op, err)
}

func (t *sqTx) PutWaitpoint(w ff.Waitpoint) error {
	req, _ := json.Marshal(nonNil(w.RequiredSignalNames))
	return t.exec("sqlite: put waitpoint", `INSERT INTO ff_waitpoint (waitpoint_id, execution_id, partition_key,
  attempt_index, waitpoint_key, state, suspension_id, token, token_kid, required_signal_names, created_at_ms,
  expires_at_ms, activated_at_ms, closed_at_ms, close_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (waitpoint_id) DO UPDATE SET state = excluded.state, suspension_id = excluded.suspension_id,
  required_signal_names = excluded.required_signal_names, expires_at_ms = excluded.expires_at_ms,
  activated_at_ms = excluded.activated_at_ms, closed_at_ms = excluded.closed_at_ms, close_reason = excluded.close_reason`,
		w.ID, w.ExecutionID.String(), int64(w.ExecutionID.Partition), int64(w.AttemptIndex), w.Key, string(w.State),
		w.SuspensionID, w.Token, w.TokenKid, string(req), w.CreatedAtMs, w.ExpiresAtMs, w.ActivatedAtMs, w.ClosedAtMs,
		w.CloseReason)
}

func (t *sqTx) CloseWaitpoints(ids []string, state ff.WaitpointState, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	list, _ := json.Marshal(ids)
	return t.exec("sqlite: close waitpoints", `UPDATE ff_waitpoint SET state = ?, closed_at_ms = ?, close_reason = ?
WHERE waitpoint_id IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'active')`,
		string(state), t.w.now, reason, string(list))
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
