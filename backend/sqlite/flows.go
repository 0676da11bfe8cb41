package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The flow operations run the shared algorithms of backend/flowtx.go over
// a flowStore, each in one write transaction; reads use the reader pool.

// CreateFlow implements backend.Flows.
func (b *Backend) CreateFlow(ctx context.Context, p backend.CreateFlowParams) (backend.CreateFlowResult, error) {
	members, err := p.Normalize()
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	var res backend.CreateFlowResult
	err = b.inFlowTx(ctx, "sqlite: create flow", func(s flowStore) (err error) {
		res, err = backend.CreateFlowTx(s, p, members)
		return err
	})
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	if res.Existing {
		res.PublicFlowState, err = b.flowState(ctx, res.FlowID, res.PublicFlowState)
	}
	return res, err
}

func (b *Backend) createFlowMember(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	var res backend.CreateExecutionResult
	err := b.inFlowTx(ctx, "sqlite: create flow member", func(s flowStore) (err error) {
		res, err = backend.CreateMemberTx(s, p)
		return err
	})
	return res, err
}

// AddExecutionToFlow implements backend.Flows.
func (b *Backend) AddExecutionToFlow(ctx context.Context, p backend.AddExecutionToFlowParams) (backend.AddExecutionToFlowResult, error) {
	var res backend.AddExecutionToFlowResult
	err := b.inFlowTx(ctx, "sqlite: add execution to flow", func(s flowStore) (err error) {
		res, err = backend.AddExecutionToFlowTx(s, p)
		return err
	})
	return res, err
}

// AddFlowEdge implements backend.Flows.
func (b *Backend) AddFlowEdge(ctx context.Context, p backend.AddFlowEdgeParams) (backend.AddFlowEdgeResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.AddFlowEdgeResult{}, err
	}
	var res backend.AddFlowEdgeResult
	err := b.inFlowTx(ctx, "sqlite: add flow edge", func(s flowStore) (err error) {
		res, err = backend.AddFlowEdgeTx(s, p)
		return err
	})
	return res, err
}

// CancelFlow implements backend.Flows.
func (b *Backend) CancelFlow(ctx context.Context, p backend.CancelFlowParams) (backend.CancelFlowResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.CancelFlowResult{}, err
	}
	var res backend.CancelFlowResult
	err := b.inFlowTx(ctx, "sqlite: cancel flow", func(s flowStore) (err error) {
		res, err = backend.CancelFlowTx(s, p)
		return err
	})
	return res, err
}

// WorkFlowCancels implements backend.Flows.
func (b *Backend) WorkFlowCancels(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	total := 0
	err := b.inFlowTx(ctx, "sqlite: work flow cancels", func(s flowStore) error {
		total = 0
		flows, err := s.strings(`SELECT DISTINCT flow_id FROM ff_flow_cancel WHERE done = 0 LIMIT ?`, p.Limit)
		if err != nil {
			return err
		}
		for _, id := range flows {
			n, err := backend.WorkFlowCancelTx(s, id, p.Limit-total)
			total += n
			if err != nil || total >= p.Limit {
				return err
			}
		}
		return nil
	})
	return total, err
}

func (s flowStore) strings(q string, args ...any) ([]string, error) {
	rows, err := s.w.query("sqlite: flow scan", q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, driverError("sqlite: flow scan", err)
		}
		out = append(out, v)
	}
	return out, driverErrorIf("sqlite: flow scan", rows.Err())
}

// RepairFlowEdges implements backend.Flows.
func (b *Backend) RepairFlowEdges(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	n := 0
	err := b.inFlowTx(ctx, "sqlite: repair flow edges", func(s flowStore) error {
		ups, err := s.ids(`SELECT DISTINCT ed.upstream_id FROM ff_flow_edge ed
  JOIN ff_execution e ON e.execution_id = ed.upstream_id
  WHERE ed.state = 'unresolved' AND e.lifecycle_phase = 'terminal' LIMIT ?`, p.Limit)
		if err != nil {
			return err
		}
		for _, id := range ups {
			e, err := s.LockExecution(id, false)
			if err != nil {
				return err
			}
			if err := backend.ResolveFlowEdges(s, e); err != nil {
				return err
			}
		}
		n = len(ups)
		return nil
	})
	return n, err
}

// SpawnChildren implements backend.Flows.
func (b *Backend) SpawnChildren(ctx context.Context, p backend.SpawnChildrenParams) ([]ff.ExecutionID, error) {
	if err := p.Handle.CheckBackend(ff.BackendSQLite); err != nil {
		return nil, err
	}
	var ids []ff.ExecutionID
	err := b.inFlowTx(ctx, "sqlite: spawn children", func(s flowStore) (err error) {
		ids, err = backend.SpawnChildrenTx(s, p)
		return err
	})
	return ids, err
}

// WaitChildren implements backend.Flows.
func (b *Backend) WaitChildren(ctx context.Context, p backend.WaitChildrenParams) (backend.WaitChildrenResult, error) {
	if err := p.Handle.CheckBackend(ff.BackendSQLite); err != nil {
		return backend.WaitChildrenResult{}, err
	}
	var res backend.WaitChildrenResult
	err := b.inFlowTx(ctx, "sqlite: wait children", func(s flowStore) (err error) {
		res, err = backend.WaitChildrenTx(s, p)
		return err
	})
	return res, err
}

// DescribeFlow implements backend.Flows.
func (b *Backend) DescribeFlow(ctx context.Context, p backend.DescribeFlowParams) (backend.FlowSnapshot, error) {
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return backend.FlowSnapshot{}, err
	}
	if err := b.readable("sqlite: describe flow"); err != nil {
		return backend.FlowSnapshot{}, err
	}
	f, err := scanFlow(b.r.QueryRowContext(ctx, `SELECT `+flowColumns+` FROM ff_flow WHERE flow_id = ?`, p.FlowID))
	if errors.Is(err, sql.ErrNoRows) {
		return backend.FlowSnapshot{}, ff.NotFound("flow", "%s", p.FlowID)
	}
	if err != nil {
		return backend.FlowSnapshot{}, driverError("sqlite: describe flow", err)
	}
	members, err := b.flowMembers(ctx, f.ID)
	if err != nil {
		return backend.FlowSnapshot{}, err
	}
	edges, err := b.ListFlowEdges(ctx, backend.ListFlowEdgesParams{FlowID: f.ID})
	if err != nil {
		return backend.FlowSnapshot{}, err
	}
	return backend.FlowSnapshotOf(f, members, edges), nil
}

func (b *Backend) flowMembers(ctx context.Context, flowID string) ([]backend.FlowMemberState, error) {
	rows, err := b.r.QueryContext(ctx, `SELECT m.execution_id, e.public_state, m.ref, m.join_policy, m.join_n,
  m.on_satisfied, m.group_state, e.cancelled_by = 'flow_join' FROM ff_flow_member m JOIN ff_execution e ON e.execution_id = m.execution_id
  WHERE m.flow_id = ? ORDER BY m.execution_id`, flowID)
	if err != nil {
		return nil, driverError("sqlite: flow members", err)
	}
	defer rows.Close()
	var out []backend.FlowMemberState
	for rows.Next() {
		var m backend.FlowMemberState
		var id, st string
		if err := rows.Scan(&id, &st, &m.Ref, &m.Join.Policy, &m.Join.N, &m.Join.OnSatisfied, &m.JoinState, &m.SiblingCancelled); err != nil {
			return nil, driverError("sqlite: flow members", err)
		}
		if m.ExecutionID, err = parseStoredID(id); err != nil {
			return nil, err
		}
		m.PublicState = ff.PublicState(st)
		out = append(out, m)
	}
	return out, driverErrorIf("sqlite: flow members", rows.Err())
}

func (b *Backend) flowState(ctx context.Context, flowID, stored string) (string, error) {
	ms, err := b.flowMembers(ctx, flowID)
	if err != nil {
		return "", err
	}
	return ff.DeriveFlowState(stored, backend.FlowStateCounts(ms)), nil
}

// ListFlowEdges implements backend.Flows.
func (b *Backend) ListFlowEdges(ctx context.Context, p backend.ListFlowEdgesParams) ([]backend.FlowEdge, error) {
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return nil, err
	}
	var one int
	switch err := b.r.QueryRowContext(ctx, `SELECT 1 FROM ff_flow WHERE flow_id = ?`, p.FlowID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ff.NotFound("flow", "%s", p.FlowID)
	case err != nil:
		return nil, driverError("sqlite: list flow edges", err)
	}
	var up, down string
	if !p.Upstream.IsZero() {
		up = p.Upstream.String()
	}
	if !p.Downstream.IsZero() {
		down = p.Downstream.String()
	}
	rows, err := b.r.QueryContext(ctx, `SELECT `+edgeColumns+` FROM ff_flow_edge WHERE flow_id = ?
  AND (?2 = '' OR upstream_id = ?2) AND (?3 = '' OR downstream_id = ?3) ORDER BY created_at_ms, edge_id`, p.FlowID, up, down)
	if err != nil {
		return nil, driverError("sqlite: list flow edges", err)
	}
	edges, err := scanEdgeRows(rows)
	if edges == nil && err == nil {
		edges = []backend.FlowEdge{}
	}
	return edges, err
}

// ListFlows implements backend.Flows.
func (b *Backend) ListFlows(ctx context.Context, p backend.ListFlowsParams) (backend.FlowPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.FlowPage{}, err
	}
	rows, err := b.r.QueryContext(ctx, `SELECT `+flowColumns+` FROM ff_flow
  WHERE (?1 = '' OR namespace = ?1) AND flow_id > ?2 ORDER BY flow_id LIMIT ?3`, p.Namespace, p.Cursor, p.Limit+1)
	if err != nil {
		return backend.FlowPage{}, driverError("sqlite: list flows", err)
	}
	var recs []*backend.FlowRecord
	for rows.Next() {
		f, err := scanFlow(rows)
		if err != nil {
			rows.Close()
			return backend.FlowPage{}, driverError("sqlite: list flows", err)
		}
		recs = append(recs, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return backend.FlowPage{}, driverError("sqlite: list flows", err)
	}
	return backend.FlowPageOf(p, recs, func(f *backend.FlowRecord) (string, error) { return b.flowState(ctx, f.ID, f.State) })
}

// UpstreamResults implements backend.Flows.
func (b *Backend) UpstreamResults(ctx context.Context, p backend.UpstreamResultsParams) ([]backend.UpstreamResult, error) {
	if _, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: p.ExecutionID}); err != nil {
		return nil, err
	}
	rows, err := b.r.QueryContext(ctx, `SELECT ed.upstream_id, ed.state, e.public_state,
  CASE WHEN e.terminal_outcome = 'success' THEN r.result END
  FROM ff_flow_edge ed JOIN ff_execution e ON e.execution_id = ed.upstream_id
  LEFT JOIN ff_execution_result r ON r.seq = e.seq
  WHERE ed.downstream_id = ? ORDER BY ed.created_at_ms, ed.upstream_id`, p.ExecutionID.String())
	if err != nil {
		return nil, driverError("sqlite: upstream results", err)
	}
	defer rows.Close()
	out := []backend.UpstreamResult{}
	for rows.Next() {
		var r backend.UpstreamResult
		var id, st string
		if err := rows.Scan(&id, &r.EdgeState, &st, &r.Result); err != nil {
			return nil, driverError("sqlite: upstream results", err)
		}
		if r.ExecutionID, err = parseStoredID(id); err != nil {
			return nil, err
		}
		r.PublicState = ff.PublicState(st)
		out = append(out, r)
	}
	return out, driverErrorIf("sqlite: upstream results", rows.Err())
}

// FlowStats implements backend.Flows: three grouped reads.
func (b *Backend) FlowStats(ctx context.Context) (backend.FlowStats, error) {
	if err := b.readable("sqlite: flow stats"); err != nil {
		return backend.FlowStats{}, err
	}
	stored := map[string]string{}
	if err := b.scanAll(ctx, func(r *sql.Rows) error {
		var id, st string
		err := r.Scan(&id, &st)
		stored[id] = st
		return err
	}, `SELECT flow_id, state FROM ff_flow ORDER BY flow_id LIMIT ?`, backend.MaxFlowStatsFlows); err != nil {
		return backend.FlowStats{}, err
	}
	var groups []backend.FlowStatRow
	if err := b.scanAll(ctx, func(r *sql.Rows) error {
		var g backend.FlowStatRow
		var ps string
		err := r.Scan(&g.FlowID, &ps, &g.SiblingCancelled, &g.Count)
		g.PublicState = ff.PublicState(ps)
		groups = append(groups, g)
		return err
	}, `SELECT m.flow_id, e.public_state, e.cancelled_by = 'flow_join', count(*)
  FROM ff_flow_member m JOIN ff_execution e ON e.execution_id = m.execution_id GROUP BY 1, 2, 3`); err != nil {
		return backend.FlowStats{}, err
	}
	edges := map[string]int{}
	if err := b.scanAll(ctx, func(r *sql.Rows) error {
		var st string
		var n int
		err := r.Scan(&st, &n)
		edges[st] = n
		return err
	}, `SELECT state, count(*) FROM ff_flow_edge GROUP BY state`); err != nil {
		return backend.FlowStats{}, err
	}
	return backend.BuildFlowStats(stored, groups, edges), nil
}

// scanAll runs q on the reader pool and calls scan for every row.
func (b *Backend) scanAll(ctx context.Context, scan func(*sql.Rows) error, q string, args ...any) error {
	rows, err := b.r.QueryContext(ctx, q, args...)
	if err != nil {
		return driverError("sqlite: flow stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return driverError("sqlite: flow stats", err)
		}
	}
	return driverErrorIf("sqlite: flow stats", rows.Err())
}
