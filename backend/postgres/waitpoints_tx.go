package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// pgTx is wpcore.Tx on one Postgres transaction. Every waitpoint
// operation locks the execution row first (LockExecution), which
// serializes the operations of one execution.
type pgTx struct {
	ctx    context.Context
	b      *Backend
	tx     pgx.Tx
	now    int64
	before map[*ff.Execution]ff.Execution
	wake   []string
}

var _ wpcore.Tx = (*pgTx)(nil)

// wpTx runs fn in one transaction and commits it (also when fn returns a
// *wpcore.CommitThen, whose error it then returns).
func (b *Backend) wpTx(ctx context.Context, op string, fn func(t *pgTx) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	now, err := b.txNow(ctx, tx)
	if err != nil {
		return mapPgError(op, err)
	}
	t := &pgTx{ctx: ctx, b: b, tx: tx, now: now, before: map[*ff.Execution]ff.Execution{}}
	ferr := fn(t)
	var keep *wpcore.CommitThen
	if ferr != nil && !errors.As(ferr, &keep) {
		return opErr(op, ferr)
	}
	if err := tx.Commit(ctx); err != nil {
		return mapPgError(op, err)
	}
	if len(t.wake) > 0 {
		b.wake(t.wake...)
	}
	b.eventsCommitted() // signal and operator events wake followers at once
	if keep != nil {
		return keep.Err
	}
	return nil
}

func (t *pgTx) Now() int64 { return t.now }

func (t *pgTx) LockExecution(id ff.ExecutionID) (*ff.Execution, error) {
	e, err := scanRecord(t.tx.QueryRow(t.ctx, `SELECT `+recordColumns+recordFrom+` WHERE e.id = $1 FOR UPDATE OF e`, id.String()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, mapPgError("lock execution", err)
	}
	t.before[e] = *e
	return e, nil
}

func (t *pgTx) ExecutionExists(id ff.ExecutionID) error {
	var one int
	err := t.tx.QueryRow(t.ctx, `SELECT 1 FROM ff_execution WHERE id = $1`, id.String()).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ff.NotFound("execution", "%s", id)
	}
	return mapErrOrNil("read execution", err)
}

func mapErrOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return mapPgError(op, err)
}

func (t *pgTx) SaveExecution(e *ff.Execution, fx *ff.Effects) error {
	if err := e.State.Check(); err != nil {
		return err
	}
	before := t.before[e]
	batch := &pgx.Batch{}
	if err := queueRecordWrite(batch, &before, e, fx); err != nil {
		return err
	}
	if err := execBatch(t.ctx, t.tx, batch); err != nil {
		return mapPgError("save execution", err)
	}
	if e.Claimable() {
		t.wake = append(t.wake, e.Lane)
	}
	return nil
}

func (t *pgTx) exec(op, q string, args ...any) error {
	if _, err := t.tx.Exec(t.ctx, q, args...); err != nil {
		return mapPgError(op, err)
	}
	return nil
}

// Keys.

func (t *pgTx) scanKey(row pgx.Row) (ff.SigningKey, bool, error) {
	var k ff.SigningKey
	err := row.Scan(&k.Kid, &k.Secret, &k.CreatedAtMs, &k.ExpiresAtMs)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, false, nil
	}
	if err != nil {
		return k, false, mapPgError("read waitpoint key", err)
	}
	return k, true, nil
}

const keyCols = `SELECT kid, secret, created_at_ms, expires_at_ms FROM ff_waitpoint_key`

func (t *pgTx) CurrentKey() (ff.SigningKey, bool, error) {
	return t.scanKey(t.tx.QueryRow(t.ctx, keyCols+` WHERE expires_at_ms = 0`))
}

func (t *pgTx) Key(kid string) (ff.SigningKey, bool, error) {
	return t.scanKey(t.tx.QueryRow(t.ctx, keyCols+` WHERE kid = $1`, kid))
}

func (t *pgTx) InsertKey(k ff.SigningKey) (bool, error) {
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO ff_waitpoint_key (kid, secret, created_at_ms, expires_at_ms)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, k.Kid, k.Secret, k.CreatedAtMs, k.ExpiresAtMs)
	if err != nil {
		return false, mapPgError("insert waitpoint key", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *pgTx) RetireKey(kid string, expiresAtMs int64) error {
	return t.exec("retire waitpoint key", `UPDATE ff_waitpoint_key SET expires_at_ms = $2 WHERE kid = $1`, kid, expiresAtMs)
}

func (t *pgTx) DeleteExpiredKeys(nowMs int64) error {
	return t.exec("delete expired keys", `DELETE FROM ff_waitpoint_key WHERE expires_at_ms > 0 AND expires_at_ms <= $1`, nowMs)
}

// Waitpoints.

const wpCols = `SELECT waitpoint_id, execution_id, attempt_index, waitpoint_key, state, suspension_id, token, token_kid,
	required_signal_names, created_at_ms, expires_at_ms, activated_at_ms, closed_at_ms, close_reason FROM ff_waitpoint`

func scanWaitpoint(row pgx.Row) (ff.Waitpoint, error) {
	var (
		w       ff.Waitpoint
		exec    string
		idx     int32
		state   string
		reqJSON string
	)
	if err := row.Scan(&w.ID, &exec, &idx, &w.Key, &state, &w.SuspensionID, &w.Token, &w.TokenKid, &reqJSON,
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

func (t *pgTx) oneWaitpoint(q string, args ...any) (ff.Waitpoint, bool, error) {
	w, err := scanWaitpoint(t.tx.QueryRow(t.ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, false, nil
	}
	if err != nil {
		return w, false, mapPgError("read waitpoint", err)
	}
	return w, true, nil
}

func (t *pgTx) Waitpoint(id string) (ff.Waitpoint, bool, error) {
	return t.oneWaitpoint(wpCols+` WHERE waitpoint_id = $1`, id)
}

func (t *pgTx) WaitpointByKey(exec ff.ExecutionID, key string) (ff.Waitpoint, bool, error) {
	return t.oneWaitpoint(wpCols+` WHERE execution_id = $1 AND waitpoint_key = $2
		ORDER BY created_at_ms DESC, waitpoint_id LIMIT 1`, exec.String(), key)
}

func (t *pgTx) Waitpoints(exec ff.ExecutionID, openOnly bool) ([]ff.Waitpoint, error) {
	rows, err := t.tx.Query(t.ctx, wpCols+` WHERE execution_id = $1 AND (NOT $2 OR state IN ('pending', 'active'))
		ORDER BY created_at_ms, waitpoint_id`, exec.String(), openOnly)
	if err != nil {
		return nil, mapPgError("list waitpoints", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ff.Waitpoint, error) { return scanWaitpoint(r) })
	if err != nil {
		return nil, mapPgError("list waitpoints", err)
	}
	return out, nil
}

func (t *pgTx) PutWaitpoint(w ff.Waitpoint) error {
	req, _ := json.Marshal(nonNil(w.RequiredSignalNames))
	return t.exec("put waitpoint", `INSERT INTO ff_waitpoint (waitpoint_id, execution_id, partition, attempt_index,
		waitpoint_key, state, suspension_id, token, token_kid, required_signal_names, created_at_ms, expires_at_ms,
		activated_at_ms, closed_at_ms, close_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (waitpoint_id) DO UPDATE SET state = EXCLUDED.state, suspension_id = EXCLUDED.suspension_id,
			required_signal_names = EXCLUDED.required_signal_names, expires_at_ms = EXCLUDED.expires_at_ms,
			activated_at_ms = EXCLUDED.activated_at_ms, closed_at_ms = EXCLUDED.closed_at_ms,
			close_reason = EXCLUDED.close_reason`,
		w.ID, w.ExecutionID.String(), int16(w.ExecutionID.Partition), int32(w.AttemptIndex), w.Key, string(w.State),
		w.SuspensionID, w.Token, w.TokenKid, string(req), w.CreatedAtMs, w.ExpiresAtMs, w.ActivatedAtMs, w.ClosedAtMs,
		w.CloseReason)
}

func (t *pgTx) CloseWaitpoints(ids []string, state ff.WaitpointState, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	// One statement for the whole list: unnest-free, ids compared as an array.
	return t.exec("close waitpoints", `UPDATE ff_waitpoint SET state = $2, closed_at_ms = $3, close_reason = $4
		WHERE waitpoint_id = ANY($1::text[]) AND state IN ('pending', 'active')`, ids, string(state), t.now, reason)
}

// nonNil is xs, or an empty slice for nil (a NULL array or bytea is not
// an empty one).
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
