package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
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
// A row with HookAdmission (its policy lists budgets or quotas) is picked
// like a late one (p.late, nothing changes) and returned gated: the
// caller runs admission for it (claimGated, budgets_admission.go), so the
// statement leases only plain rows and reads no other table.
//
// A picked row past its execution deadline (flowfabric.Execution
// .DeadlinePassed) is not claimed: every SET keeps its old value (p.late),
// so the row is left as it was, and RETURNING reports it (late) for the
// caller to expire. It takes the place of one claimed row. The update is
// the statement's top level (no data-modifying CTE): that keeps the plan
// nearly as cheap as the claim without the deadline rule. RETURNING has
// no order: the caller sorts the claimed rows by (priority desc, seq).
var claimSQL = `WITH picked AS (
	SELECT c.*, coalesce($6::bigint, ff_now_ms()) AS now
	-- a paused lane (a row in ff_lane_state) is dropped before any
	-- execution of it is read
	FROM (SELECT u.lane FROM unnest($1::text[]) AS u(lane)
		WHERE NOT EXISTS (SELECT 1 FROM ff_lane_state ps WHERE ps.lane = u.lane)) AS l
	CROSS JOIN ff_capability_set s
	CROSS JOIN LATERAL (
		SELECT e.id, e.priority, e.seq,
			e.lifecycle_phase = 'active' AS is_reclaim,
			e.lifecycle_phase <> 'active' AND e.attempt_state = 'attempt_interrupted' AS is_resume,
			(e.execution_deadline_ms > 0 AND e.execution_deadline_ms <= coalesce($6::bigint, ff_now_ms()))
				OR (e.hooks & ` + admissionBit + `) <> 0 AS late,
			(e.hooks & ` + admissionBit + `) <> 0 AS gated
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
	lifecycle_phase = CASE WHEN p.late THEN e.lifecycle_phase ELSE 'active' END,
	ownership_state = CASE WHEN p.late THEN e.ownership_state ELSE 'leased' END,
	eligibility_state = CASE WHEN p.late THEN e.eligibility_state ELSE 'not_applicable' END,
	blocking_reason = CASE WHEN p.late THEN e.blocking_reason ELSE 'none' END,
	terminal_outcome = CASE WHEN p.late THEN e.terminal_outcome ELSE 'none' END,
	attempt_state = CASE WHEN p.late THEN e.attempt_state ELSE 'running_attempt' END,
	public_state = CASE WHEN p.late THEN e.public_state ELSE 'active' END,
	ready = CASE WHEN p.late THEN e.ready ELSE false END,
	blocking_detail = CASE WHEN p.late THEN e.blocking_detail ELSE '' END,
	reclaim_count = e.reclaim_count + (p.is_reclaim AND NOT p.late)::int,
	lease_epoch = e.lease_epoch + (NOT p.late)::int,
	lease_id = CASE WHEN p.late THEN e.lease_id ELSE gen_random_uuid()::text END,
	lease_ttl_ms = CASE WHEN p.late THEN e.lease_ttl_ms ELSE $7 END,
	lease_expires_at_ms = CASE WHEN p.late THEN e.lease_expires_at_ms ELSE p.now + $7 END,
	lease_acquired_ms = CASE WHEN p.late THEN e.lease_acquired_ms ELSE p.now END,
	worker_id = CASE WHEN p.late THEN e.worker_id ELSE $4 END,
	worker_instance_id = CASE WHEN p.late THEN e.worker_instance_id ELSE $5 END,
	last_heartbeat_ms = CASE WHEN p.late THEN e.last_heartbeat_ms ELSE p.now END,
	current_attempt_id = CASE WHEN p.late OR p.is_resume THEN e.current_attempt_id ELSE gen_random_uuid()::text END,
	attempt_type = CASE WHEN p.late OR p.is_resume THEN e.attempt_type
	                    WHEN p.is_reclaim THEN 'reclaim'
	                    WHEN e.attempt_state = 'pending_retry_attempt' THEN 'retry'
	                    WHEN e.attempt_state = 'pending_replay_attempt' THEN 'replay'
	                    ELSE 'initial' END,
	attempt_started_ms = CASE WHEN p.late OR p.is_resume THEN e.attempt_started_ms ELSE p.now END,
	attempt_worker_id = CASE WHEN p.late THEN e.attempt_worker_id ELSE $4 END,
	attempt_worker_instance_id = CASE WHEN p.late THEN e.attempt_worker_instance_id ELSE $5 END,
	attempt_count = e.attempt_count + (NOT p.late AND NOT p.is_resume)::int,
	attempt_deadline_ms = CASE WHEN p.late OR p.is_resume THEN e.attempt_deadline_ms
	                           WHEN e.attempt_timeout_ms > 0 THEN p.now + e.attempt_timeout_ms ELSE 0 END,
	ready_at_ms = CASE WHEN p.late THEN e.ready_at_ms ELSE 0 END,
	started_at_ms = CASE WHEN e.started_at_ms = 0 AND NOT p.late THEN p.now ELSE e.started_at_ms END,
	updated_at_ms = CASE WHEN p.late THEN e.updated_at_ms ELSE p.now END
FROM picked p
WHERE e.id = p.id
RETURNING p.late, e.id, e.lane, e.kind, e.priority, e.seq, e.attempt_count - 1, e.current_attempt_id, e.lease_id,
	e.lease_epoch, e.lease_expires_at_ms, e.attempt_type, p.is_resume, p.is_reclaim, e.input, e.tags, e.hooks, p.gated`

// admissionBit is flowfabric.HookAdmission as a SQL literal.
var admissionBit = strconv.Itoa(int(ff.HookAdmission))

// Claim implements backend.Lifecycle. Executions the statement found
// past their deadline took the place of claimed ones: they are expired
// through the state machine before Claim returns (one more transaction,
// only then), and their lanes are woken so that the work behind them is
// claimed at once.
func (b *Backend) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	caps, err := p.Normalize()
	if err != nil {
		return nil, err
	}
	if caps == nil {
		caps = []string{}
	}
	ttl := p.LeaseTTL.Milliseconds()
	var tasks []backend.ClaimedTask
	// Executions refused by admission left the ready index: the claim
	// runs again for the places they took, a bounded number of times (a
	// refused lost lease stays put). Plain rows never loop.
	for round := 0; round < maxAdmissionRounds && len(tasks) < p.Max; round++ {
		got, refused, err := b.claimOnce(ctx, p, caps, p.Max-len(tasks), ttl)
		if err != nil {
			if len(tasks) > 0 {
				break // those are leased: hand them out
			}
			return nil, err
		}
		tasks = append(tasks, got...)
		if refused == 0 {
			break
		}
	}
	return tasks, nil
}

// maxAdmissionRounds bounds how often one claim runs again after
// admission refused some of the rows it picked.
const maxAdmissionRounds = 4

// claimOnce runs claimSQL for up to n rows, then admission for the gated
// ones; refused is how many admission refused.
func (b *Backend) claimOnce(ctx context.Context, p backend.ClaimParams, caps []string, n int, ttl int64) ([]backend.ClaimedTask, int, error) {
	rows, err := b.pool.Query(ctx, claimSQL, p.Lanes, caps, n, p.WorkerID, p.WorkerInstanceID, b.nowArg(), ttl)
	if err != nil {
		return nil, 0, mapPgError("claim", err)
	}
	picked, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimedRow, error) {
		return scanClaimed(row, p.WorkerInstanceID, ttl)
	})
	if err != nil {
		return nil, 0, opErr("claim", err)
	}
	sortClaimOrder(picked) // admission takes the gated rows in claim order
	picked, refused := b.claimGated(ctx, picked, p, ttl)
	b.expirePastDeadline(ctx, picked)
	if err := b.loadResumedSignals(ctx, picked); err != nil {
		return nil, 0, err
	}
	return claimOrder(picked), refused, nil
}

// loadResumedSignals reads the resumed signals of the rows that resumed a
// suspension (HookWaitpoints on a resumed claim): one more statement for
// all those rows together, never for plain work.
func (b *Backend) loadResumedSignals(ctx context.Context, picked []claimedRow) error {
	var ids []string
	for i := range picked {
		if picked[i].resumedWaitpoints {
			ids = append(ids, picked[i].task.ExecutionID.String())
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := b.pool.Query(ctx, resumedSignalsSQL, ids)
	if err != nil {
		return mapPgError("claim: resumed signals", err)
	}
	sigs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ff.Signal, error) { return wpcore.ScanSignal(r) })
	if err != nil {
		return mapPgError("claim: resumed signals", err)
	}
	byExec := make(map[ff.ExecutionID][]ff.Signal, len(ids))
	for _, s := range sigs {
		byExec[s.ExecutionID] = append(byExec[s.ExecutionID], s)
	}
	for i := range picked {
		if c := &picked[i]; c.resumedWaitpoints {
			c.task.ResumedSignals = append([]ff.Signal{}, byExec[c.task.ExecutionID]...)
		}
	}
	return nil
}

// resumedSignalsSQL reads, for each execution in $1, the satisfiers of
// its latest suspension when it is closed (wpcore.ResumedSignals in one
// statement for a whole claim), in signal order.
const resumedSignalsSQL = wpcore.SelectSignals + ` WHERE execution_id = ANY($1::text[]) AND signal_id IN (
	SELECT jsonb_array_elements_text(s.satisfiers::jsonb) FROM unnest($1::text[]) AS x(id)
	CROSS JOIN LATERAL (SELECT satisfiers, closed_at_ms FROM ff_suspension WHERE execution_id = x.id
		ORDER BY created_at_ms DESC, suspension_id LIMIT 1) s
	WHERE s.closed_at_ms > 0)
ORDER BY seq`

// claimedRow is one result row of claimSQL: a claimed task with its
// creation seq (for ordering), or an execution past its deadline, left
// unclaimed (only its id and lane are set).
type claimedRow struct {
	task         backend.ClaimedTask
	seq          int64
	pastDeadline bool
	gated        bool // HookAdmission: claimed, if admitted, by claimGated
	// resumedWaitpoints: the claim resumed an attempt with waitpoints.
	resumedWaitpoints bool
}

// scanClaimed decodes one result row of claimSQL and builds the handle of
// a claimed task.
func scanClaimed(row pgx.CollectableRow, instance string, ttl int64) (claimedRow, error) {
	var (
		c               claimedRow
		t               = &c.task
		id, attemptType string
		idx             int32
		resume, reclaim bool
		tags            []byte
		leaseID         string
		expiresMs       int64
		hooks           int16
	)
	if err := row.Scan(&c.pastDeadline, &id, &t.Lane, &t.Kind, &t.Priority, &c.seq, &idx, &t.AttemptID, &leaseID,
		&t.LeaseEpoch, &expiresMs, &attemptType, &resume, &reclaim, &t.Input, &tags, &hooks, &c.gated); err != nil {
		return c, err
	}
	eid, err := ff.ParseExecutionID(id)
	if err != nil {
		return c, ff.Corruption("claim: execution id %q: %v", id, err)
	}
	if c.gated {
		return claimedRow{task: backend.ClaimedTask{ExecutionID: eid, Lane: t.Lane, Priority: t.Priority}, seq: c.seq, gated: true}, nil
	}
	if c.pastDeadline {
		return claimedRow{task: backend.ClaimedTask{ExecutionID: eid, Lane: t.Lane}, pastDeadline: true}, nil
	}
	if len(tags) > 2 {
		if err := json.Unmarshal(tags, &t.Tags); err != nil {
			return c, ff.Corruption("claim: tags of %s: %v", id, err)
		}
	}
	t.ExecutionID = eid
	t.LeaseExpiresAt = ff.TimeFromMs(expiresMs)
	t.AttemptIndex = uint32(idx)
	kind := handleKind(resume, reclaim)
	c.resumedWaitpoints = kind == ff.HandleResumed && ff.Hooks(uint16(hooks)).Any(ff.HookWaitpoints)
	t.AttemptType = ff.ClaimedAttemptType(kind, ff.AttemptType(attemptType))
	t.Handle = ff.Handle{Backend: ff.BackendPostgres, Kind: kind, Lease: ff.Lease{
		ExecutionID: eid, AttemptIndex: t.AttemptIndex, AttemptID: t.AttemptID, LeaseID: leaseID,
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
	sortClaimOrder(rows)
	tasks := make([]backend.ClaimedTask, len(rows))
	for i, c := range rows {
		tasks[i] = c.task
	}
	return tasks
}

// sortClaimOrder sorts rows by priority desc, then creation seq.
func sortClaimOrder(rows []claimedRow) {
	slices.SortFunc(rows, func(a, b claimedRow) int {
		if c := cmp.Compare(b.task.Priority, a.task.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
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
