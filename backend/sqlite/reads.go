package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Reads run on the query_only pool and see the last committed state.

func (b *Backend) readable(op string) error {
	if b.closed.Load() {
		return ff.Transport(op, ErrClosed, false)
	}
	return nil
}

// loadRead reads the record of id on the reader pool.
func (b *Backend) loadRead(ctx context.Context, id ff.ExecutionID) (*row, error) {
	if err := b.readable("sqlite: read execution"); err != nil {
		return nil, err
	}
	r, err := scanExecution(b.r.QueryRowContext(ctx, qLoadByID, id.String()),
		func(sig int64) ([]string, error) { return b.caps.tokens(ctx, b.r, sig) })
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, driverError("sqlite: read execution", err)
	}
	return r, nil
}

// narrowExecutions adds the kind, tag and flow filters of p.
func narrowExecutions(p backend.ListExecutionsParams, where []string, args []any) ([]string, []any) {
	if p.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, p.Kind)
	}
	if p.Tag.Key != "" {
		where = append(where, `EXISTS (SELECT 1 FROM ff_execution_payload pl, json_each(pl.tags) t
			WHERE pl.seq = ff_execution.seq AND t.key = ? AND t.value = ?)`)
		args = append(args, p.Tag.Key, p.Tag.Value)
	}
	if p.FlowID != "" {
		where = append(where, "execution_id IN (SELECT execution_id FROM ff_flow_member WHERE flow_id = ?)")
		args = append(args, p.FlowID)
	}
	return where, args
}

// DescribeExecution returns the full snapshot of id.
func (b *Backend) DescribeExecution(ctx context.Context, p backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	r, err := b.loadRead(ctx, p.ExecutionID)
	if err != nil {
		return backend.ExecutionSnapshot{}, err
	}
	if r.e.ReadyToShow() {
		var paused bool
		if err := b.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ff_lane_state WHERE lane = ?)`, r.e.Lane).Scan(&paused); err != nil {
			return backend.ExecutionSnapshot{}, driverError("sqlite: describe execution: lane state", err)
		}
		if paused {
			r.e.ShowLanePaused()
		}
	}
	snap := backend.SnapshotOf(&r.e)
	if p.WithInput {
		if err := b.r.QueryRowContext(ctx, `SELECT p.input FROM ff_execution_payload p JOIN ff_execution e ON e.seq = p.seq WHERE e.execution_id = ?`, p.ExecutionID.String()).Scan(&snap.Input); err != nil {
			return backend.ExecutionSnapshot{}, driverError("sqlite: describe execution: input", err)
		}
	}
	return snap, nil
}

// ReadExecutionState returns the public state of id.
func (b *Backend) ReadExecutionState(ctx context.Context, p backend.ReadExecutionStateParams) (ff.PublicState, error) {
	id := p.ExecutionID
	if err := b.readable("sqlite: read execution state"); err != nil {
		return "", err
	}
	var st string
	err := b.r.QueryRowContext(ctx, `SELECT public_state FROM ff_execution WHERE execution_id = ?`, id.String()).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return "", driverError("sqlite: read execution state", err)
	}
	return ff.PublicState(st), nil
}

// GetExecutionResult returns the stored result of a completed execution:
// NotFound("execution") for an unknown id, NotFound("result") until it
// completed.
func (b *Backend) GetExecutionResult(ctx context.Context, p backend.GetExecutionResultParams) ([]byte, error) {
	id := p.ExecutionID
	if err := b.readable("sqlite: read result"); err != nil {
		return nil, err
	}
	var result []byte
	var seq sql.NullInt64
	var outcome string
	// A replayed execution keeps its last result until the next
	// completion overwrites it; it is not completed meanwhile.
	err := b.r.QueryRowContext(ctx, `SELECT r.seq, r.result, e.terminal_outcome FROM ff_execution e
LEFT JOIN ff_execution_result r ON r.seq = e.seq WHERE e.execution_id = ?`, id.String()).Scan(&seq, &result, &outcome)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ff.NotFound("execution", "%s", id)
	case err != nil:
		return nil, driverError("sqlite: read result", err)
	case !seq.Valid || outcome != string(ff.OutcomeSuccess):
		return nil, ff.NotFound("result", "of execution %s (not completed)", id)
	}
	if result == nil {
		result = []byte{}
	}
	return result, nil
}

// ListAttempts returns the attempts of id in index order.
func (b *Backend) ListAttempts(ctx context.Context, p backend.ListAttemptsParams) ([]ff.Attempt, error) {
	id := p.ExecutionID
	if err := b.readable("sqlite: list attempts"); err != nil {
		return nil, err
	}
	tx, err := b.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, driverError("sqlite: list attempts", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var one int
	switch err := tx.QueryRowContext(ctx, qIDExists, id.String()).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ff.NotFound("execution", "%s", id)
	case err != nil:
		return nil, driverError("sqlite: list attempts", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT attempt_index, attempt_id, attempt_type, lifecycle, lease_epoch,
  worker_id, worker_instance_id, started_at_ms, ended_at_ms, failure_reason, failure_class
FROM ff_attempt WHERE execution_id = ? ORDER BY attempt_index`, id.String())
	if err != nil {
		return nil, driverError("sqlite: list attempts", err)
	}
	defer rows.Close()
	out := []ff.Attempt{}
	for rows.Next() {
		a := ff.Attempt{ExecutionID: id}
		var idx, epoch int64
		if err := rows.Scan(&idx, &a.ID, &a.Type, &a.Lifecycle, &epoch, &a.WorkerID, &a.WorkerInstanceID,
			&a.StartedAtMs, &a.EndedAtMs, &a.FailureReason, &a.FailureClass); err != nil {
			return nil, driverError("sqlite: list attempts", err)
		}
		a.Index, a.LeaseEpoch = uint32(idx), uint64(epoch)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, driverError("sqlite: list attempts", err)
	}
	return out, nil
}

// ListExecutions pages executions in execution id text order, after the
// exclusive cursor, with optional partition, lane and public state
// filters. NextCursor is set only when more rows exist.
func (b *Backend) ListExecutions(ctx context.Context, p backend.ListExecutionsParams) (backend.ExecutionPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.ExecutionPage{}, err
	}
	if err := b.readable("sqlite: list executions"); err != nil {
		return backend.ExecutionPage{}, err
	}
	var where []string
	var args []any
	if p.Cursor != "" {
		where, args = append(where, "execution_id > ?"), append(args, p.Cursor)
	}
	if p.Partition != nil {
		where, args = append(where, "partition_key = ?"), append(args, int64(*p.Partition))
	}
	if p.Lane != "" {
		where, args = append(where, "lane = ?"), append(args, p.Lane)
	}
	if p.PublicState != "" {
		where, args = append(where, "public_state = ?"), append(args, string(p.PublicState))
	}
	where, args = narrowExecutions(p, where, args)
	q := `SELECT execution_id, lane, kind, public_state, priority, created_at_ms FROM ff_execution`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY execution_id LIMIT ?"
	args = append(args, p.Limit+1)
	rows, err := b.r.QueryContext(ctx, q, args...)
	if err != nil {
		return backend.ExecutionPage{}, driverError("sqlite: list executions", err)
	}
	defer rows.Close()
	page := backend.ExecutionPage{Executions: []backend.ExecutionSummary{}}
	for rows.Next() {
		var s backend.ExecutionSummary
		var id string
		var createdMs int64
		if err := rows.Scan(&id, &s.Lane, &s.Kind, &s.PublicState, &s.Priority, &createdMs); err != nil {
			return backend.ExecutionPage{}, driverError("sqlite: list executions", err)
		}
		s.CreatedAt = ff.TimeFromMs(createdMs)
		if s.ExecutionID, err = ff.ParseExecutionID(id); err != nil {
			return backend.ExecutionPage{}, ff.Corruption("stored execution_id %q: %v", id, err)
		}
		page.Executions = append(page.Executions, s)
	}
	if err := rows.Err(); err != nil {
		return backend.ExecutionPage{}, driverError("sqlite: list executions", err)
	}
	if len(page.Executions) > p.Limit {
		page.Executions = page.Executions[:p.Limit]
		page.NextCursor = page.Executions[p.Limit-1].ExecutionID.String()
	}
	return page, nil
}

// ListLanes pages registered lanes by name with their live (non-terminal)
// execution counts by public state; states with no execution are absent.
func (b *Backend) ListLanes(ctx context.Context, p backend.ListLanesParams) (backend.LanePage, error) {
	if err := p.Normalize(); err != nil {
		return backend.LanePage{}, err
	}
	limit := p.Limit
	if err := b.readable("sqlite: list lanes"); err != nil {
		return backend.LanePage{}, err
	}
	tx, err := b.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return backend.LanePage{}, driverError("sqlite: list lanes", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rows, err := tx.QueryContext(ctx, `SELECT name FROM ff_lane WHERE name > ? ORDER BY name LIMIT ?`, p.Cursor, limit+1)
	if err != nil {
		return backend.LanePage{}, driverError("sqlite: list lanes", err)
	}
	page := backend.LanePage{Lanes: []backend.LaneInfo{}}
	for rows.Next() {
		var l backend.LaneInfo
		if err := rows.Scan(&l.Name); err != nil {
			rows.Close()
			return backend.LanePage{}, driverError("sqlite: list lanes", err)
		}
		l.Counts = map[ff.PublicState]int64{}
		page.Lanes = append(page.Lanes, l)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return backend.LanePage{}, driverError("sqlite: list lanes", err)
	}
	if len(page.Lanes) > limit {
		page.Lanes = page.Lanes[:limit]
		page.NextCursor = page.Lanes[limit-1].Name
	}
	for i := range page.Lanes {
		if err := laneCounts(ctx, tx, &page.Lanes[i]); err != nil {
			return backend.LanePage{}, err
		}
	}
	return page, nil
}

func laneCounts(ctx context.Context, tx *sql.Tx, l *backend.LaneInfo) error {
	rows, err := tx.QueryContext(ctx, `SELECT public_state, count(*) FROM ff_execution WHERE lane = ?
  AND public_state NOT IN ('completed', 'failed', 'cancelled', 'expired', 'skipped')
GROUP BY public_state`, l.Name)
	if err != nil {
		return driverError("sqlite: lane counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return driverError("sqlite: lane counts", err)
		}
		l.Counts[ff.PublicState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return driverError("sqlite: lane counts", err)
	}
	return nil
}
