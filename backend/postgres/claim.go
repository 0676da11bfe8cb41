package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// claimSQL takes up to $3 claimable executions in one statement.
//
// For every (lane, satisfied capability signature) pair it walks the
// ff_execution_claim index in claim order (priority desc, creation seq)
// with SKIP LOCKED, so an incompatible row never blocks a lane and no
// backlog is sorted; the small per-pair heads are merged and cut to $3.
// The update mirrors flowfabric.Execution.Claim: a fresh attempt for
// pending work, the same attempt for interrupted work, a reclaim attempt
// for a lost lease; the epoch grows by one in every case. Its SET
// expressions read the row's old values, so the kind of claim is decided
// once, from the locked row, in picked. The current attempt lives in the
// execution row; its own row is written when it ends.
//
// A picked row past its execution deadline (flowfabric.Execution
// .DeadlinePassed) is not claimed: it is returned with past_deadline set
// and no claim columns, and the caller expires it. It takes the place of
// one claimed row. The result rows have no order: the caller sorts the
// claimed ones by (priority desc, seq).
const claimSQL = `WITH picked AS (
	SELECT c.*, coalesce($6::bigint, ff_now_ms()) AS now
	FROM unnest($1::text[]) AS l(lane)
	CROSS JOIN ff_capability_set s
	CROSS JOIN LATERAL (
		SELECT e.id, e.lane, e.priority, e.seq,
			e.lifecycle_phase = 'active' AS is_reclaim,
			e.lifecycle_phase <> 'active' AND e.attempt_state = 'attempt_interrupted' AS is_resume,
			e.execution_deadline_ms > 0 AND e.execution_deadline_ms <= coalesce($6::bigint, ff_now_ms()) AS past_deadline
		FROM ff_execution e
		WHERE e.ready AND e.lane = l.lane AND e.cap_sig = s.id
		ORDER BY e.priority DESC, e.seq
		LIMIT $3
		FOR UPDATE SKIP LOCKED
	) c
	WHERE s.tokens <@ $2::text[]
	ORDER BY c.priority DESC, c.seq
	LIMIT $3
), claimed AS (
	UPDATE ff_execution e SET
		lifecycle_phase = 'active', ownership_state = 'leased', eligibility_state = 'not_applicable',
		blocking_reason = 'none', terminal_outcome = 'none', attempt_state = 'running_attempt',
		public_state = 'active', ready = false, blocking_detail = '',
		reclaim_count = e.reclaim_count + p.is_reclaim::int,
		lease_epoch = e.lease_epoch + 1,
		lease_id = gen_random_uuid()::text,
		lease_ttl_ms = $7,
		lease_expires_at_ms = p.now + $7,
		worker_id = $4, worker_instance_id = $5, last_heartbeat_ms = p.now,
		current_attempt_id = CASE WHEN p.is_resume THEN e.current_attempt_id ELSE gen_random_uuid()::text END,
		attempt_type = CASE WHEN p.is_resume THEN e.attempt_type
		                    WHEN p.is_reclaim THEN 'reclaim'
		                    WHEN e.attempt_state = 'pending_retry_attempt' THEN 'retry'
		                    WHEN e.attempt_state = 'pending_replay_attempt' THEN 'replay'
		                    ELSE 'initial' END,
		attempt_started_ms = CASE WHEN p.is_resume THEN e.attempt_started_ms ELSE p.now END,
		attempt_worker_id = $4, attempt_worker_instance_id = $5,
		attempt_count = e.attempt_count + (NOT p.is_resume)::int,
		attempt_deadline_ms = CASE WHEN p.is_resume THEN e.attempt_deadline_ms
		                           WHEN e.attempt_timeout_ms > 0 THEN p.now + e.attempt_timeout_ms ELSE 0 END,
		ready_at_ms = 0,
		started_at_ms = CASE WHEN e.started_at_ms = 0 THEN p.now ELSE e.started_at_ms END,
		updated_at_ms = p.now
	FROM picked p
	WHERE e.id = p.id AND NOT p.past_deadline
	RETURNING e.id, e.kind, e.attempt_count - 1 AS attempt_index, e.current_attempt_id, e.lease_id, e.lease_epoch,
		e.lease_expires_at_ms, e.attempt_type, e.input, e.tags
)
SELECT p.past_deadline, p.id, p.lane, p.priority, p.seq, p.is_resume, p.is_reclaim, c.kind, c.attempt_index,
	c.current_attempt_id, c.lease_id, c.lease_epoch, c.lease_expires_at_ms, c.attempt_type, c.input, c.tags
FROM picked p LEFT JOIN claimed c ON c.id = p.id`

// Claim implements backend.Lifecycle. Executions the statement found
// past their deadline took the place of claimed ones: they are expired
// before Claim returns (one more transaction, only then), and their lanes
// are woken so that the work behind them is claimed at once.
func (b *Backend) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	caps, err := p.Normalize()
	if err != nil {
		return nil, err
	}
	if caps == nil {
		caps = []string{}
	}
	ttl := p.LeaseTTL.Milliseconds()
	rows, err := b.pool.Query(ctx, claimSQL, p.Lanes, caps, p.Max, p.WorkerID, p.WorkerInstanceID, b.nowArg(), ttl)
	if err != nil {
		return nil, mapPgError("claim", err)
	}
	picked, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimedRow, error) {
		return scanClaimed(row, p.WorkerInstanceID, ttl)
	})
	if err != nil {
		return nil, opErr("claim", err)
	}
	b.expirePastDeadline(ctx, picked)
	return claimOrder(picked), nil
}

// claimedRow is one result row of claimSQL: a claimed task with its
// creation seq (for ordering), or an execution past its deadline (only
// its id and lane are set).
type claimedRow struct {
	task         backend.ClaimedTask
	seq          int64
	pastDeadline bool
}

// scanClaimed decodes one result row of claimSQL and builds the handle of
// a claimed task. The claim columns are NULL for a row past its deadline.
func scanClaimed(row pgx.CollectableRow, instance string, ttl int64) (claimedRow, error) {
	var (
		c                                     claimedRow
		t                                     = &c.task
		id                                    string
		resume, reclaim                       bool
		kind, attemptID, leaseID, attemptType *string
		idx                                   *int32
		epoch                                 *uint64
		expiresMs                             *int64
		tags                                  []byte
	)
	if err := row.Scan(&c.pastDeadline, &id, &t.Lane, &t.Priority, &c.seq, &resume, &reclaim, &kind, &idx,
		&attemptID, &leaseID, &epoch, &expiresMs, &attemptType, &t.Input, &tags); err != nil {
		return c, err
	}
	eid, err := ff.ParseExecutionID(id)
	if err != nil {
		return c, ff.Corruption("claim: execution id %q: %v", id, err)
	}
	t.ExecutionID = eid
	if c.pastDeadline {
		return c, nil
	}
	if kind == nil || idx == nil || attemptID == nil || leaseID == nil || epoch == nil || expiresMs == nil || attemptType == nil {
		return c, ff.Bug("claim: %s picked but not claimed", id)
	}
	if len(tags) > 2 {
		if err := json.Unmarshal(tags, &t.Tags); err != nil {
			return c, ff.Corruption("claim: tags of %s: %v", id, err)
		}
	}
	t.Kind, t.AttemptIndex, t.AttemptID, t.LeaseEpoch = *kind, uint32(*idx), *attemptID, *epoch
	t.LeaseExpiresAt = ff.TimeFromMs(*expiresMs)
	t.AttemptType = ff.AttemptType(*attemptType)
	t.Handle = ff.Handle{Backend: ff.BackendPostgres, Kind: handleKind(resume, reclaim), Lease: ff.Lease{
		ExecutionID: eid, AttemptIndex: t.AttemptIndex, AttemptID: t.AttemptID, LeaseID: *leaseID,
		LeaseEpoch: t.LeaseEpoch, LeaseTTLMs: uint64(ttl), Lane: t.Lane, WorkerInstanceID: instance,
	}}
	return c, nil
}

// handleKind is the kind of the handle of a claim that resumed or
// reclaimed, or neither.
func handleKind(resume, reclaim bool) ff.HandleKind {
	switch {
	case reclaim:
		return ff.HandleReclaimed
	case resume:
		return ff.HandleResumed
	}
	return ff.HandleFresh
}

// claimOrder returns the claimed tasks of rows in claim order: priority
// desc, then creation seq.
func claimOrder(rows []claimedRow) []backend.ClaimedTask {
	rows = slices.DeleteFunc(rows, func(c claimedRow) bool { return c.pastDeadline })
	slices.SortFunc(rows, func(a, b claimedRow) int {
		if c := cmp.Compare(b.task.Priority, a.task.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	tasks := make([]backend.ClaimedTask, len(rows))
	for i, c := range rows {
		tasks[i] = c.task
	}
	return tasks
}

// expirePastDeadline expires, through the state machine, the picked rows
// the claim found past their deadline, and wakes their lanes. The claim
// has committed, so a failure here is logged, not returned: the rows stay
// unclaimable (every claim skips them) until a claim or the deadline
// sweep expires them.
func (b *Backend) expirePastDeadline(ctx context.Context, picked []claimedRow) {
	var ids, lanes []string
	for _, c := range picked {
		if c.pastDeadline {
			ids = append(ids, c.task.ExecutionID.String())
			lanes = append(lanes, c.task.Lane)
		}
	}
	if len(ids) == 0 {
		return
	}
	_, err := b.sweep(ctx, "claim: expire past deadline", `SELECT id FROM ff_execution WHERE id = ANY($3::text[])`,
		backend.SweepParams{Limit: len(ids)}, expireDeadline, ids)
	if err != nil {
		b.log.Warn("claim: expiring executions past their deadline failed; the deadline sweep will", "err", err)
	}
	b.wake(lanes...)
}
