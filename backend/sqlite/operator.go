package sqlite

import (
	"context"
	"database/sql"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// CancelExecution is the operator's cancel, without a lease, from any
// non-terminal phase. A terminal execution yields the not-active error.
func (b *Backend) CancelExecution(ctx context.Context, p backend.CancelExecutionParams) (ff.PublicState, error) {
	var st ff.PublicState
	err := b.operate(ctx, "sqlite: cancel execution", p.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, error) {
		fx, err := e.CancelByOperator(now, ff.Actor{Source: p.Source, Reason: p.Reason})
		st = e.State.PublicState
		return fx, err
	})
	if err != nil {
		return "", err
	}
	return st, nil
}

// ChangePriority implements backend.Operator; the claim index orders by
// priority, so the new order holds from the commit on.
func (b *Backend) ChangePriority(ctx context.Context, p backend.ChangePriorityParams) error {
	return b.operate(ctx, "sqlite: change priority", p.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, error) {
		return e.ChangePriority(now, p.Priority, p.Who)
	})
}

// ReplayExecution implements backend.Operator.
func (b *Backend) ReplayExecution(ctx context.Context, p backend.ReplayExecutionParams) (ff.PublicState, error) {
	var st ff.PublicState
	err := b.inFlowTx(ctx, "sqlite: replay execution", func(s flowStore) (err error) {
		st, err = backend.ReplayInFlowTx(s, p)
		return err
	})
	return st, err
}

// RevokeLease implements backend.Operator.
func (b *Backend) RevokeLease(ctx context.Context, p backend.RevokeLeaseParams) (backend.RevokeLeaseResult, error) {
	var res backend.RevokeLeaseResult
	err := b.operate(ctx, "sqlite: revoke lease", p.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, error) {
		fx, epoch := e.RevokeLease(now, p.Who)
		res = backend.RevokeLeaseResult{Revoked: fx != nil, LeaseEpoch: epoch}
		return fx, nil
	})
	return res, err
}

// operate applies an operator transition to the record of id in one
// write transaction; nil effects without an error write nothing.
func (b *Backend) operate(ctx context.Context, op string, id ff.ExecutionID, fn func(e *ff.Execution, now int64) (*ff.Effects, error)) error {
	return b.write(ctx, op, func(w *writeTx) error {
		r, err := w.load(id)
		if err != nil {
			return err
		}
		was := r.e.Claimable()
		fx, err := fn(&r.e, w.now)
		if err != nil || fx == nil {
			return err
		}
		return w.save(r, was, fx)
	})
}

// SetLanePaused implements backend.Operator: the lane's ff_lane_state row
// and the operator event in one transaction; nothing when the lane is
// already in the state asked for.
func (b *Backend) SetLanePaused(ctx context.Context, p backend.SetLanePausedParams) (backend.LaneState, error) {
	if err := p.Normalize(); err != nil {
		return backend.LaneState{}, err
	}
	who := p.Who.Normalized()
	err := b.write(ctx, "sqlite: set lane paused", func(w *writeTx) error {
		q := `INSERT INTO ff_lane_state (lane, paused_at_ms, source, reason) VALUES (?, ?, ?, ?) ON CONFLICT (lane) DO NOTHING`
		args := []any{p.Lane, w.now, who.Source, who.Reason}
		if !p.Paused {
			q, args = `DELETE FROM ff_lane_state WHERE lane = ?`, []any{p.Lane}
			w.notify(p.Lane) // its waiting work is claimable again
		}
		res, err := w.exec("sqlite: set lane paused", q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return w.insertEvent(ff.LaneEvent(p.Lane, p.Paused, w.now, who))
	})
	if err != nil {
		return backend.LaneState{}, err
	}
	states, err := b.LaneStates(ctx, backend.LaneStatesParams{Lanes: []string{p.Lane}})
	if err != nil || len(states) == 0 {
		return backend.LaneState{Lane: p.Lane}, err
	}
	return states[0], nil
}

// LaneStates implements backend.Operator.
func (b *Backend) LaneStates(ctx context.Context, p backend.LaneStatesParams) ([]backend.LaneState, error) {
	if err := b.readable("sqlite: lane states"); err != nil {
		return nil, err
	}
	q := `SELECT lane, paused_at_ms, source, reason FROM ff_lane_state`
	var args []any
	if len(p.Lanes) > 0 {
		q += ` WHERE lane IN (` + strings.Repeat("?,", len(p.Lanes)-1) + `?)`
		for _, l := range p.Lanes {
			args = append(args, l)
		}
	}
	rows, err := b.r.QueryContext(ctx, q+` ORDER BY lane`, args...)
	if err != nil {
		return nil, driverError("sqlite: lane states", err)
	}
	defer rows.Close()
	return scanLaneStates(rows)
}

func scanLaneStates(rows *sql.Rows) ([]backend.LaneState, error) {
	out := []backend.LaneState{}
	for rows.Next() {
		s := backend.LaneState{Paused: true}
		if err := rows.Scan(&s.Lane, &s.PausedAtMs, &s.Source, &s.Reason); err != nil {
			return nil, driverError("sqlite: lane states", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, driverError("sqlite: lane states", err)
	}
	return out, nil
}
