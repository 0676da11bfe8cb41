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
// execution row; its own row is written when it ends. RETURNING has no
// order: the caller sorts by (priority desc, seq).
const claimSQL = `WITH picked AS (
	SELECT c.*, coalesce($6::bigint, ff_now_ms()) AS now
	FROM unnest($1::text[]) AS l(lane)
	CROSS JOIN ff_capability_set s
	CROSS JOIN LATERAL (
		SELECT e.id, e.priority, e.seq,
			e.lifecycle_phase = 'active' AS is_reclaim,
			e.lifecycle_phase <> 'active' AND e.attempt_state = 'attempt_interrupted' AS is_resume
		FROM ff_execution e
		WHERE e.ready AND e.lane = l.lane AND e.cap_sig = s.id
		ORDER BY e.priority DESC, e.seq
		LIMIT $3
		FOR UPDATE SKIP LOCKED
	) c
	WHERE s.tokens <@ $2::text[]
	ORDER BY c.priority DESC, c.seq
	LIMIT $3
)
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
WHERE e.id = p.id
RETURNING e.id, e.lane, e.kind, e.priority, e.seq, e.attempt_count - 1, e.current_attempt_id, e.lease_id,
	e.lease_epoch, e.lease_expires_at_ms, e.attempt_type, p.is_resume, p.is_reclaim, e.input, e.tags`

// Claim implements backend.Lifecycle.
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
	claimed, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimedRow, error) {
		var (
			c               claimedRow
			t               = &c.task
			id, attemptType string
			idx             int32
			resume, reclaim bool
			tags            []byte
			leaseID         string
			expiresMs       int64
		)
		if err := row.Scan(&id, &t.Lane, &t.Kind, &t.Priority, &c.seq, &idx, &t.AttemptID, &leaseID, &t.LeaseEpoch,
			&expiresMs, &attemptType, &resume, &reclaim, &t.Input, &tags); err != nil {
			return c, err
		}
		t.LeaseExpiresAt = ff.TimeFromMs(expiresMs)
		eid, err := ff.ParseExecutionID(id)
		if err != nil {
			return c, ff.Corruption("claim: execution id %q: %v", id, err)
		}
		if len(tags) > 2 {
			if err := json.Unmarshal(tags, &t.Tags); err != nil {
				return c, ff.Corruption("claim: tags of %s: %v", id, err)
			}
		}
		t.ExecutionID = eid
		t.AttemptIndex = uint32(idx)
		t.AttemptType = ff.AttemptType(attemptType)
		kind := ff.HandleFresh
		switch {
		case reclaim:
			kind = ff.HandleReclaimed
		case resume:
			kind = ff.HandleResumed
		}
		t.Handle = ff.Handle{Backend: ff.BackendPostgres, Kind: kind, Lease: ff.Lease{
			ExecutionID: eid, AttemptIndex: t.AttemptIndex, AttemptID: t.AttemptID, LeaseID: leaseID,
			LeaseEpoch: t.LeaseEpoch, LeaseTTLMs: uint64(ttl), Lane: t.Lane,
			WorkerInstanceID: p.WorkerInstanceID,
		}}
		return c, nil
	})
	if err != nil {
		return nil, opErr("claim", err)
	}
	// Claim order: priority desc, then creation seq.
	slices.SortFunc(claimed, func(a, b claimedRow) int {
		if c := cmp.Compare(b.task.Priority, a.task.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	tasks := make([]backend.ClaimedTask, len(claimed))
	for i, c := range claimed {
		tasks[i] = c.task
	}
	return tasks, nil
}

// claimedRow is a claimed task with its creation seq, for ordering.
type claimedRow struct {
	task backend.ClaimedTask
	seq  int64
}
