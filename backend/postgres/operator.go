package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Operator control: each action is one locked transition (mutate).

// ChangePriority implements backend.Operator. The claim index orders by
// the priority column, so the new order holds from the commit on.
func (b *Backend) ChangePriority(ctx context.Context, p backend.ChangePriorityParams) error {
	return b.mutate(ctx, "change priority", p.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, err := e.ChangePriority(now, p.Priority, p.Who)
		return fx, fx != nil, false, err
	})
}

// ReplayExecution implements backend.Operator. A completed execution's
// last attempt gets its ff_attempt row in the same transaction
// (queueRecordWrite), before the replay attempt starts.
func (b *Backend) ReplayExecution(ctx context.Context, p backend.ReplayExecutionParams) (ff.PublicState, error) {
	var st ff.PublicState
	err := b.inFlowTx(ctx, "replay execution", func(s *flowStore) (err error) {
		st, err = backend.ReplayInFlowTx(s, p)
		return err
	})
	if err == nil {
		b.eventsCommitted()
	}
	return st, err
}

// RevokeLease implements backend.Operator.
func (b *Backend) RevokeLease(ctx context.Context, p backend.RevokeLeaseParams) (backend.RevokeLeaseResult, error) {
	var res backend.RevokeLeaseResult
	err := b.mutate(ctx, "revoke lease", p.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, epoch := e.RevokeLease(now, p.Who)
		res = backend.RevokeLeaseResult{Revoked: fx != nil, LeaseEpoch: epoch}
		return fx, fx != nil, false, nil
	})
	return res, err
}

// SetLanePaused implements backend.Operator: the lane's ff_lane_state row
// and the operator event, in one transaction; nothing when the lane is
// already in the state asked for.
func (b *Backend) SetLanePaused(ctx context.Context, p backend.SetLanePausedParams) (backend.LaneState, error) {
	if err := p.Normalize(); err != nil {
		return backend.LaneState{}, err
	}
	who := p.Who.Normalized()
	var st backend.LaneState
	changed := false
	err := b.inTx(ctx, "set lane paused", func(tx pgx.Tx, now int64) error {
		var err error
		if p.Paused {
			err = tx.QueryRow(ctx, `WITH ins AS (INSERT INTO ff_lane_state (lane, paused_at_ms, source, reason)
				VALUES ($1, $2, $3, $4) ON CONFLICT (lane) DO NOTHING RETURNING true)
				SELECT EXISTS (SELECT 1 FROM ins)`, p.Lane, now, who.Source, who.Reason).Scan(&changed)
		} else {
			var tag pgconn.CommandTag
			tag, err = tx.Exec(ctx, `DELETE FROM ff_lane_state WHERE lane = $1`, p.Lane)
			changed = err == nil && tag.RowsAffected() > 0
		}
		if err != nil || !changed {
			return err
		}
		batch := &pgx.Batch{}
		if err := queueEvents(batch, []ff.Event{ff.LaneEvent(p.Lane, p.Paused, now, who)}); err != nil {
			return err
		}
		return execBatch(ctx, tx, batch)
	})
	if err != nil {
		return backend.LaneState{}, err
	}
	if changed {
		b.eventsCommitted()
		if !p.Paused {
			b.wake(p.Lane) // its waiting work is claimable again
		}
	}
	states, err := b.LaneStates(ctx, backend.LaneStatesParams{Lanes: []string{p.Lane}})
	if err != nil {
		return backend.LaneState{}, err
	}
	st = backend.LaneState{Lane: p.Lane}
	if len(states) == 1 {
		st = states[0]
	}
	return st, nil
}

// LaneStates implements backend.Operator.
func (b *Backend) LaneStates(ctx context.Context, p backend.LaneStatesParams) ([]backend.LaneState, error) {
	var lanes []string
	if len(p.Lanes) > 0 {
		lanes = p.Lanes
	}
	rows, err := b.pool.Query(ctx, `SELECT lane, paused_at_ms, source, reason FROM ff_lane_state
		WHERE $1::text[] IS NULL OR lane = ANY($1::text[]) ORDER BY lane`, lanes)
	if err != nil {
		return nil, mapPgError("lane states", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (backend.LaneState, error) {
		s := backend.LaneState{Paused: true}
		return s, r.Scan(&s.Lane, &s.PausedAtMs, &s.Source, &s.Reason)
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, mapPgError("lane states", err)
	}
	if out == nil {
		out = []backend.LaneState{}
	}
	return out, nil
}
