package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func (b *Backend) loadRecord(ctx context.Context, id ff.ExecutionID) (*ff.Execution, error) {
	return loadRecordFrom(ctx, b.pool, id)
}

// loadRecordFrom reads the execution from q (the primary, or the replica
// for DescribeExecution).
func loadRecordFrom(ctx context.Context, q querier, id ff.ExecutionID) (*ff.Execution, error) {
	e, err := scanRecord(q.QueryRow(ctx, `SELECT `+recordColumns+recordFrom+` WHERE e.id = $1`, id.String()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, opErr("describe execution", err)
	}
	return e, nil
}

// DescribeExecution implements backend.Reads.
func (b *Backend) DescribeExecution(ctx context.Context, p backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	e, err := routedRead(b, true, func(q *pgxpool.Pool) (*ff.Execution, error) { return loadRecordFrom(ctx, q, p.ExecutionID) })
	if err != nil {
		return backend.ExecutionSnapshot{}, err
	}
	if e.ReadyToShow() {
		var paused bool
		if err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ff_lane_state WHERE lane = $1)`, e.Lane).Scan(&paused); err != nil {
			return backend.ExecutionSnapshot{}, mapPgError("describe execution: lane state", err)
		}
		if paused {
			e.ShowLanePaused()
		}
	}
	snap := backend.SnapshotOf(e)
	if p.WithInput {
		// The input never changes after create: the primary answers it.
		err := b.pool.QueryRow(ctx, `SELECT input FROM ff_execution WHERE id = $1`, p.ExecutionID.String()).Scan(&snap.Input)
		if err != nil {
			return backend.ExecutionSnapshot{}, mapPgError("describe execution: input", err)
		}
	}
	return snap, nil
}

// ReadExecutionState implements backend.Reads.
func (b *Backend) ReadExecutionState(ctx context.Context, p backend.ReadExecutionStateParams) (ff.PublicState, error) {
	id := p.ExecutionID
	var s string
	err := b.pool.QueryRow(ctx, `SELECT public_state FROM ff_execution WHERE id = $1`, id.String()).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return "", mapPgError("read execution state", err)
	}
	return ff.PublicState(s), nil
}

// GetExecutionResult implements backend.Reads.
func (b *Backend) GetExecutionResult(ctx context.Context, p backend.GetExecutionResultParams) ([]byte, error) {
	id := p.ExecutionID
	var (
		outcome string
		result  []byte
	)
	err := b.pool.QueryRow(ctx, `SELECT terminal_outcome, result FROM ff_execution WHERE id = $1`,
		id.String()).Scan(&outcome, &result)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, mapPgError("get execution result", err)
	}
	if outcome != string(ff.OutcomeSuccess) || result == nil {
		return nil, ff.NotFound("result", "of %s: execution has not completed", id)
	}
	return result, nil
}

// ListAttempts implements backend.Reads.
func (b *Backend) ListAttempts(ctx context.Context, p backend.ListAttemptsParams) ([]ff.Attempt, error) {
	return routedRead(b, true, func(q *pgxpool.Pool) ([]ff.Attempt, error) { return listAttempts(ctx, q, p.ExecutionID) })
}

func listAttempts(ctx context.Context, q *pgxpool.Pool, id ff.ExecutionID) ([]ff.Attempt, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ff_execution WHERE id = $1)`, id.String()).Scan(&exists); err != nil {
		return nil, mapPgError("list attempts", err)
	}
	if !exists {
		return nil, ff.NotFound("execution", "%s", id)
	}
	// Ended attempts have rows; the current one, while it runs or is
	// suspended, and the last one once it succeeded, is read from the
	// execution row.
	rows, err := q.Query(ctx, `SELECT attempt_index, attempt_id, attempt_type, lifecycle, lease_epoch, worker_id,
		worker_instance_id, started_at_ms, ended_at_ms, failure_reason, failure_class
		FROM ff_attempt WHERE execution_id = $1
		UNION ALL
		SELECT e.attempt_count - 1, e.current_attempt_id, e.attempt_type,
			CASE WHEN e.terminal_outcome = 'success' THEN 'ended_success'
			     WHEN e.lifecycle_phase = 'active' AND e.ownership_state = 'leased' THEN 'started'
			     ELSE 'suspended' END,
			e.lease_epoch, e.attempt_worker_id, e.attempt_worker_instance_id, e.attempt_started_ms,
			CASE WHEN e.terminal_outcome = 'success' THEN e.completed_at_ms ELSE 0 END, '', ''
		FROM ff_execution e
		WHERE e.id = $1 AND e.attempt_count > 0 AND NOT EXISTS (
			SELECT 1 FROM ff_attempt a WHERE a.execution_id = e.id AND a.attempt_index = e.attempt_count - 1)
		ORDER BY 1`, id.String())
	if err != nil {
		return nil, mapPgError("list attempts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ff.Attempt, error) {
		a := ff.Attempt{ExecutionID: id}
		var idx int32
		var typ, life string
		err := r.Scan(&idx, &a.ID, &typ, &life, &a.LeaseEpoch, &a.WorkerID, &a.WorkerInstanceID,
			&a.StartedAtMs, &a.EndedAtMs, &a.FailureReason, &a.FailureClass)
		a.Index, a.Type, a.Lifecycle = uint32(idx), ff.AttemptType(typ), ff.AttemptLifecycle(life)
		return a, err
	})
	if err != nil {
		return nil, mapPgError("list attempts", err)
	}
	if out == nil {
		out = []ff.Attempt{}
	}
	return out, nil
}

// ListExecutions implements backend.Reads.
func (b *Backend) ListExecutions(ctx context.Context, p backend.ListExecutionsParams) (backend.ExecutionPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.ExecutionPage{}, err
	}
	return routedRead(b, false, func(q *pgxpool.Pool) (backend.ExecutionPage, error) { return listExecutions(ctx, q, p) })
}

func listExecutions(ctx context.Context, q *pgxpool.Pool, p backend.ListExecutionsParams) (backend.ExecutionPage, error) {
	var part any
	if p.Partition != nil {
		part = int16(*p.Partition)
	}
	rows, err := q.Query(ctx, `SELECT id, lane, kind, public_state, priority, created_at_ms FROM ff_execution
		WHERE ($1::smallint IS NULL OR partition = $1) AND ($2 = '' OR lane = $2) AND ($3 = '' OR public_state = $3)
		AND ($6 = '' OR kind = $6) AND ($7 = '' OR tags @> jsonb_build_object($7::text, $8::text))
		AND ($9 = '' OR id IN (SELECT execution_id FROM ff_flow_member WHERE flow_id = $9))
		AND id > $4 ORDER BY id LIMIT $5`, part, p.Lane, string(p.PublicState), p.Cursor, p.Limit+1,
		p.Kind, p.Tag.Key, p.Tag.Value, p.FlowID)
	if err != nil {
		return backend.ExecutionPage{}, mapPgError("list executions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (backend.ExecutionSummary, error) {
		var s backend.ExecutionSummary
		var id, state string
		var createdMs int64
		if err := r.Scan(&id, &s.Lane, &s.Kind, &state, &s.Priority, &createdMs); err != nil {
			return s, err
		}
		s.CreatedAt = ff.TimeFromMs(createdMs)
		eid, err := ff.ParseExecutionID(id)
		if err != nil {
			return s, ff.Corruption("list executions: id %q: %v", id, err)
		}
		s.ExecutionID, s.PublicState = eid, ff.PublicState(state)
		return s, nil
	})
	if err != nil {
		return backend.ExecutionPage{}, opErr("list executions", err)
	}
	page := backend.ExecutionPage{Executions: list}
	if len(list) > p.Limit {
		page.Executions = list[:p.Limit]
		page.NextCursor = list[p.Limit-1].ExecutionID.String()
	}
	if page.Executions == nil {
		page.Executions = []backend.ExecutionSummary{}
	}
	return page, nil
}

// ListLanes implements backend.Reads. Counts cover live (non-terminal)
// executions.
func (b *Backend) ListLanes(ctx context.Context, p backend.ListLanesParams) (backend.LanePage, error) {
	if err := p.Normalize(); err != nil {
		return backend.LanePage{}, err
	}
	return routedRead(b, false, func(q *pgxpool.Pool) (backend.LanePage, error) { return listLanes(ctx, q, p.Cursor, p.Limit) })
}

func listLanes(ctx context.Context, q *pgxpool.Pool, cursor string, limit int) (backend.LanePage, error) {
	rows, err := q.Query(ctx, `SELECT name FROM ff_lane WHERE name > $1 ORDER BY name LIMIT $2`, cursor, limit+1)
	if err != nil {
		return backend.LanePage{}, mapPgError("list lanes", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return backend.LanePage{}, mapPgError("list lanes", err)
	}
	page := backend.LanePage{Lanes: []backend.LaneInfo{}}
	if len(names) > limit {
		names = names[:limit]
		page.NextCursor = names[limit-1]
	}
	idx := map[string]int{}
	for _, n := range names {
		idx[n] = len(page.Lanes)
		page.Lanes = append(page.Lanes, backend.LaneInfo{Name: n, Counts: map[ff.PublicState]int64{}})
	}
	if len(names) == 0 {
		return page, nil
	}
	rows, err = q.Query(ctx, `SELECT lane, public_state, count(*) FROM ff_execution
		WHERE lifecycle_phase NOT IN ('terminal', 'active') AND lane = ANY($1) GROUP BY lane, public_state
		UNION ALL
		SELECT lane, 'active', count(*) FROM ff_execution
		WHERE ownership_state = 'leased' AND NOT ready AND lane = ANY($1) GROUP BY lane
		UNION ALL
		SELECT lane, 'active', count(*) FROM ff_execution
		WHERE ready AND lifecycle_phase = 'active' AND lane = ANY($1) GROUP BY lane`, names)
	if err != nil {
		return backend.LanePage{}, mapPgError("list lanes: counts", err)
	}
	var (
		lane, state string
		n           int64
	)
	_, err = pgx.ForEachRow(rows, []any{&lane, &state, &n}, func() error {
		page.Lanes[idx[lane]].Counts[ff.PublicState(state)] += n
		return nil
	})
	if err != nil {
		return backend.LanePage{}, mapPgError("list lanes: counts", err)
	}
	return page, nil
}
