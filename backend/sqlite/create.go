package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

const (
	qFindIdempotent = `SELECT seq, execution_id, public_state, idempotency_expires_at_ms FROM ff_execution
WHERE namespace = ? AND idempotency_key = ? AND idempotency_key <> ''`
	// qClearKey releases an expired idempotency key (see the 0002 migration).
	qClearKey     = `UPDATE ff_execution SET idempotency_key = '', idempotency_expires_at_ms = 0 WHERE seq = ?`
	qIDExists     = `SELECT 1 FROM ff_execution WHERE execution_id = ?`
	qRegisterLane = `INSERT INTO ff_lane (name, created_at_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`
)

// CreateExecution validates and stores a new execution, or returns the
// existing one (Duplicate) when its namespace holds the idempotency key
// (within the key's dedup window; an expired key is cleared and the
// create goes on). An execution created ready wakes its lane.
func (b *Backend) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	if p.FlowID != "" {
		return b.createFlowMember(ctx, p)
	}
	var res backend.CreateExecutionResult
	err := b.write(ctx, "sqlite: create execution", func(w *writeTx) error {
		e, err := ff.NewExecution(p.Spec(), w.now)
		if err != nil {
			return err
		}
		if err := w.checkAdmissionRefs(e); err != nil {
			return err
		}
		if e.IdempotencyKey != "" {
			dup, found, err := w.findIdempotent(e.Namespace, e.IdempotencyKey)
			if err != nil || found {
				res = dup
				return err
			}
		}
		if !p.ExecutionID.IsZero() {
			var one int
			switch err := w.queryRow(qIDExists, e.ID.String()).Scan(&one); {
			case err == nil:
				return ff.Conflict(ff.ErrDuplicateExecution, "execution %s already exists", e.ID)
			case !errors.Is(err, sql.ErrNoRows):
				return driverError("sqlite: create execution", err)
			}
		}
		if err := w.insertExecution(e, p.Input); err != nil {
			return err
		}
		res = backend.CreateExecutionResult{ExecutionID: e.ID, PublicState: e.State.PublicState}
		return nil
	})
	if err != nil {
		return backend.CreateExecutionResult{}, err
	}
	return res, nil
}

// findIdempotent returns the execution holding key in ns, if its window
// has not passed; an expired key is cleared from its execution, so the
// unique index takes it again.
func (w *writeTx) findIdempotent(ns, key string) (backend.CreateExecutionResult, bool, error) {
	var (
		seq, expires int64
		id, state    string
	)
	err := w.queryRow(qFindIdempotent, ns, key).Scan(&seq, &id, &state, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return backend.CreateExecutionResult{}, false, nil
	}
	if err != nil {
		return backend.CreateExecutionResult{}, false, driverError("sqlite: create execution: idempotency", err)
	}
	if w.now >= expires {
		_, err := w.exec("sqlite: create execution: expire idempotency key", qClearKey, seq)
		return backend.CreateExecutionResult{}, false, err
	}
	parsed, err := ff.ParseExecutionID(id)
	if err != nil {
		return backend.CreateExecutionResult{}, false, ff.Corruption("stored execution_id %q: %v", id, err)
	}
	return backend.CreateExecutionResult{ExecutionID: parsed, PublicState: ff.PublicState(state), Duplicate: true}, true, nil
}

// insertExecution stores a new record with its payload, interning its
// capability set and registering its lane.
func (w *writeTx) insertExecution(e *ff.Execution, input []byte) error {
	if err := e.State.Check(); err != nil {
		return err
	}
	sig, err := w.intern(e.Capabilities)
	if err != nil {
		return err
	}
	if err := w.registerLane(e.Lane); err != nil {
		return err
	}
	tags, err := encodeTags(e.Tags)
	if err != nil {
		return ff.Validation(ff.ErrInvalidInput, "tags: %v", err)
	}
	policy, err := encodePolicy(e.Policy)
	if err != nil {
		return ff.Validation(ff.ErrInvalidPolicy, "policy: %v", err)
	}
	r, err := w.exec("sqlite: insert execution", qInsertExecution, insertArgs(e, sig)...)
	if err != nil {
		return err
	}
	if e.Seq, err = r.LastInsertId(); err != nil {
		return driverError("sqlite: insert execution", err)
	}
	if input == nil {
		input = []byte{}
	}
	if _, err := w.exec("sqlite: insert payload", qInsertPayload, e.Seq, input, tags, policy); err != nil {
		return err
	}
	if e.Claimable() {
		w.notify(e.Lane)
	}
	return nil
}

// registerLane records lane on its first use.
func (w *writeTx) registerLane(lane string) error {
	if _, ok := w.b.lanes.Load(lane); ok {
		return nil
	}
	if _, err := w.exec("sqlite: register lane", qRegisterLane, lane, w.now); err != nil {
		return err
	}
	w.after = append(w.after, func() { w.b.lanes.Store(lane, struct{}{}) })
	return nil
}
