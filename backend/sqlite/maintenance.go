package sqlite

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The sweeps. Each reads up to limit due rows from its partial due-time
// index and applies the transition to each in one write transaction; the
// transition re-checks its own predicate, so a row that changed since it
// was indexed is skipped.

const (
	qDueLeases = `SELECT seq FROM ff_execution INDEXED BY ff_execution_lease_due
WHERE lifecycle_phase = 'active' AND ownership_state = 'leased' AND lease_expires_at_ms <= ?
ORDER BY lease_expires_at_ms LIMIT ?`
	qDueAttempts = `SELECT seq FROM ff_execution INDEXED BY ff_execution_attempt_due
WHERE lifecycle_phase = 'active' AND attempt_deadline_ms > 0 AND attempt_deadline_ms <= ?
ORDER BY attempt_deadline_ms LIMIT ?`
	qDueDeadlines = `SELECT seq FROM ff_execution INDEXED BY ff_execution_deadline_due
WHERE lifecycle_phase <> 'terminal' AND execution_deadline_ms > 0 AND execution_deadline_ms <= ?
ORDER BY execution_deadline_ms LIMIT ?`
	qExpireKeys = `UPDATE ff_execution SET idempotency_key = '', idempotency_expires_at_ms = 0
WHERE seq IN (SELECT seq FROM ff_execution INDEXED BY ff_execution_idempotency_due
  WHERE idempotency_key <> '' AND idempotency_expires_at_ms <= ?
  ORDER BY idempotency_expires_at_ms LIMIT ?)`
	qDueDelayed = `SELECT seq FROM ff_execution INDEXED BY ff_execution_delay_due
WHERE lifecycle_phase = 'runnable' AND eligibility_state = 'not_eligible_until_time' AND ready_at_ms <= ?
ORDER BY ready_at_ms LIMIT ?`
)

// sweep applies apply to every due row of query; apply returns the
// effects to write, or nil when the row is no longer due.
func (b *Backend) sweep(ctx context.Context, op, query string, p backend.SweepParams, apply func(e *ff.Execution, now int64) (*ff.Effects, bool)) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.write(ctx, op, func(w *writeTx) error {
		n = 0
		seqs, err := w.dueSeqs(op, query, p.Limit)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			r, err := w.loadSeq(seq)
			if err != nil {
				return err
			}
			was := r.e.Claimable()
			fx, changed := apply(&r.e, w.now)
			if !changed {
				continue
			}
			if err := w.save(r, was, fx); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (w *writeTx) dueSeqs(op, query string, limit int) ([]int64, error) {
	rows, err := w.query(op, query, w.now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, driverError(op, err)
		}
		seqs = append(seqs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, driverError(op, err)
	}
	return seqs, nil
}

// ExpireLeases marks due leases expired (reclaimable, which wakes the
// lane) or fails executions at their reclaim cap.
func (b *Backend) ExpireLeases(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "sqlite: expire leases", qDueLeases, p, func(e *ff.Execution, now int64) (*ff.Effects, bool) {
		fx := e.MarkLeaseExpired(now)
		return fx, fx != nil
	})
}

// ExpireAttemptTimeouts expires executions whose attempt ran past its
// timeout.
func (b *Backend) ExpireAttemptTimeouts(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "sqlite: expire attempt timeouts", qDueAttempts, p, func(e *ff.Execution, now int64) (*ff.Effects, bool) {
		if !e.AttemptTimedOut(now) {
			return nil, false
		}
		fx := e.Expire(now, "attempt_timeout")
		return fx, fx != nil
	})
}

// ExpireDeadlines expires executions past their execution deadline.
func (b *Backend) ExpireDeadlines(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "sqlite: expire deadlines", qDueDeadlines, p, func(e *ff.Execution, now int64) (*ff.Effects, bool) {
		if !e.DeadlinePassed(now) {
			return nil, false
		}
		fx := e.Expire(now, "execution_deadline")
		return fx, fx != nil
	})
}

// PromoteDelayed makes due delayed executions eligible, waking their
// lanes.
func (b *Backend) PromoteDelayed(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "sqlite: promote delayed", qDueDelayed, p, func(e *ff.Execution, now int64) (*ff.Effects, bool) {
		return nil, e.PromoteIfDue(now)
	})
}

// ExpireIdempotencyKeys clears idempotency keys whose dedup window has
// passed, oldest first.
func (b *Backend) ExpireIdempotencyKeys(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	var n int64
	err := b.write(ctx, "sqlite: expire idempotency keys", func(w *writeTx) error {
		res, err := w.exec("sqlite: expire idempotency keys", qExpireKeys, w.now, p.Limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return driverError("sqlite: expire idempotency keys", err)
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
