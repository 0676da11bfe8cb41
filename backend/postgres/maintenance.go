package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// sweep locks up to p.Limit due records (SKIP LOCKED, so concurrent sweepers
// split the work), re-checks each with the state machine and writes every
// change in one transaction with pipelined statements. dueSQL selects the
// candidate ids in due order; apply returns nil when a row is no longer
// due.
// dueSQL's $1 is now and $2 the limit; args, if any, are $3 and on.
func (b *Backend) sweep(ctx context.Context, op, dueSQL string, p backend.SweepParams, apply func(e *ff.Execution, now int64) *ff.Effects, args ...any) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return 0, mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `WITH due AS (`+dueSQL+` LIMIT $2 FOR UPDATE SKIP LOCKED)
		SELECT `+recordColumns+`, coalesce($1::bigint, ff_now_ms())`+recordFrom+` JOIN due ON due.id = e.id`,
		append([]any{b.nowArg(), p.Limit}, args...)...)
	if err != nil {
		return 0, mapPgError(op, err)
	}
	var recs []*ff.Execution
	var now int64
	for rows.Next() {
		e, err := scanRecord(rows, &now)
		if err != nil {
			rows.Close()
			return 0, opErr(op, err)
		}
		recs = append(recs, e)
	}
	if err := rows.Err(); err != nil {
		return 0, mapPgError(op, err)
	}
	batch := &pgx.Batch{}
	var woke []string
	var ended []*ff.Execution // flow members whose edges resolve after the batch
	changed := 0
	for _, e := range recs {
		before := *e
		fx := apply(e, now)
		if fx == nil {
			continue
		}
		changed++
		if flowEnded(e, fx) {
			ended = append(ended, e)
		}
		if err := queueRecordWrite(batch, &before, e, fx); err != nil {
			return 0, err
		}
		if e.Claimable() {
			woke = append(woke, e.Lane)
		}
	}
	if changed == 0 {
		return 0, nil
	}
	if err := execBatch(ctx, tx, batch); err != nil {
		return 0, mapPgError(op, err)
	}
	fs := &flowStore{ctx: ctx, b: b, tx: tx, now: now}
	for _, e := range ended {
		if err := backend.ResolveFlowEdges(fs, e); err != nil {
			return 0, err
		}
	}
	if err := fs.flush(); err != nil {
		return 0, err
	}
	woke = append(woke, fs.wake...)
	if err := tx.Commit(ctx); err != nil {
		return 0, mapPgError(op, err)
	}
	b.wake(woke...)
	b.eventsCommitted()
	return changed, nil
}

// ExpireLeases implements backend.Maintenance.
func (b *Backend) ExpireLeases(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "expire leases", `SELECT id FROM ff_execution
		WHERE ownership_state = 'leased' AND NOT ready AND lease_expires_at_ms <= coalesce($1::bigint, ff_now_ms())
		ORDER BY lease_expires_at_ms`, p, func(e *ff.Execution, now int64) *ff.Effects {
		return e.MarkLeaseExpired(now)
	})
}

// ExpireAttemptTimeouts implements backend.Maintenance.
func (b *Backend) ExpireAttemptTimeouts(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "expire attempt timeouts", `SELECT id FROM ff_execution
		WHERE attempt_deadline_ms > 0 AND attempt_deadline_ms <= coalesce($1::bigint, ff_now_ms())
		ORDER BY attempt_deadline_ms`, p, func(e *ff.Execution, now int64) *ff.Effects {
		if !e.AttemptTimedOut(now) {
			return nil
		}
		return e.Expire(now, "attempt_timeout")
	})
}

// ExpireDeadlines implements backend.Maintenance.
func (b *Backend) ExpireDeadlines(ctx context.Context, p backend.SweepParams) (int, error) {
	return b.sweep(ctx, "expire deadlines", `SELECT id FROM ff_execution
		WHERE execution_deadline_ms > 0 AND lifecycle_phase <> 'terminal'
		AND execution_deadline_ms <= coalesce($1::bigint, ff_now_ms())
		ORDER BY execution_deadline_ms`, p, expireDeadline)
}

// expireDeadline expires e if its deadline passed.
func expireDeadline(e *ff.Execution, now int64) *ff.Effects {
	if !e.DeadlinePassed(now) {
		return nil
	}
	return e.Expire(now, "execution_deadline")
}

// promoteSQL is flowfabric.Execution.PromoteIfDue as one set-based
// statement: due delayed rows become eligible, attempt_state preserved.
const promoteSQL = `WITH due AS (
	SELECT id FROM ff_execution
	WHERE eligibility_state = 'not_eligible_until_time' AND ready_at_ms <= coalesce($1::bigint, ff_now_ms())
	ORDER BY ready_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED
)
UPDATE ff_execution e SET eligibility_state = 'eligible_now', blocking_reason = 'waiting_for_worker',
	public_state = 'waiting', ready = true, blocking_detail = '', ready_at_ms = 0,
	updated_at_ms = coalesce($1::bigint, ff_now_ms())
FROM due WHERE e.id = due.id AND e.lifecycle_phase = 'runnable'
RETURNING e.lane`

// PromoteDelayed implements backend.Maintenance.
func (b *Backend) PromoteDelayed(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	rows, err := b.pool.Query(ctx, promoteSQL, b.nowArg(), p.Limit)
	if err != nil {
		return 0, mapPgError("promote delayed", err)
	}
	lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, mapPgError("promote delayed", err)
	}
	b.wake(lanes...)
	return len(lanes), nil
}

// expireKeysSQL clears up to $2 idempotency keys whose dedup window has
// passed, oldest first; rows locked by a transition are left for the
// next sweep.
const expireKeysSQL = `WITH due AS (
	SELECT id FROM ff_execution
	WHERE idempotency_key <> '' AND idempotency_expires_at_ms <= coalesce($1::bigint, ff_now_ms())
	ORDER BY idempotency_expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED
)
UPDATE ff_execution e SET idempotency_key = '', idempotency_expires_at_ms = 0
FROM due WHERE e.id = due.id`

// ExpireIdempotencyKeys implements backend.Maintenance.
func (b *Backend) ExpireIdempotencyKeys(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	tag, err := b.pool.Exec(ctx, expireKeysSQL, b.nowArg(), p.Limit)
	if err != nil {
		return 0, mapPgError("expire idempotency keys", err)
	}
	return int(tag.RowsAffected()), nil
}
