package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The flow operations run the shared algorithms of backend/flowtx.go over
// a flowStore, each in one transaction retried whole on contention.

// CreateFlow implements backend.Flows.
func (b *Backend) CreateFlow(ctx context.Context, p backend.CreateFlowParams) (backend.CreateFlowResult, error) {
	members, err := p.Normalize()
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	var res backend.CreateFlowResult
	err = b.inFlowTx(ctx, "create flow", func(s *flowStore) (err error) {
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

// createFlowMember is CreateExecution of a flow member.
func (b *Backend) createFlowMember(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	var res backend.CreateExecutionResult
	err := b.inFlowTx(ctx, "create flow member", func(s *flowStore) (err error) {
		res, err = backend.CreateMemberTx(s, p)
		return err
	})
	return res, err
}

// AddExecutionToFlow implements backend.Flows.
func (b *Backend) AddExecutionToFlow(ctx context.Context, p backend.AddExecutionToFlowParams) (backend.AddExecutionToFlowResult, error) {
	var res backend.AddExecutionToFlowResult
	err := b.inFlowTx(ctx, "add execution to flow", func(s *flowStore) (err error) {
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
	err := b.inFlowTx(ctx, "add flow edge", func(s *flowStore) (err error) {
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
	err := b.inFlowTx(ctx, "cancel flow", func(s *flowStore) (err error) {
		res, err = backend.CancelFlowTx(s, p)
		return err
	})
	return res, err
}

// WorkFlowCancels implements backend.Flows: the flows with queued
// members, oldest first, each worked in its own transaction.
func (b *Backend) WorkFlowCancels(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	rows, err := b.pool.Query(ctx, `SELECT DISTINCT flow_id FROM ff_flow_cancel WHERE NOT done LIMIT $1`, p.Limit)
	if err != nil {
		return 0, mapPgError("work flow cancels", err)
	}
	flows, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, mapPgError("work flow cancels", err)
	}
	total := 0
	for _, id := range flows {
		err := b.inFlowTx(ctx, "work flow cancels", func(s *flowStore) error {
			n, err := backend.WorkFlowCancelTx(s, id, p.Limit-total)
			total += n
			return err
		})
		if err != nil || total >= p.Limit {
			return total, err
		}
	}
	return total, nil
}

// RepairFlowEdges implements backend.Flows: unresolved edges whose
// upstream is terminal, resolved as the end would have.
func (b *Backend) RepairFlowEdges(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	rows, err := b.pool.Query(ctx, `SELECT DISTINCT ed.upstream_id FROM ff_flow_edge ed
		JOIN ff_execution e ON e.id = ed.upstream_id
		WHERE ed.state = 'unresolved' AND e.lifecycle_phase = 'terminal' LIMIT $1`, p.Limit)
	if err != nil {
		return 0, mapPgError("repair flow edges", err)
	}
	strs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, mapPgError("repair flow edges", err)
	}
	ids, err := parseIDs(strs)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		err := b.inFlowTx(ctx, "repair flow edges", func(s *flowStore) error {
			e, err := s.LockExecution(id, false)
			if err != nil {
				return err
			}
			return backend.ResolveFlowEdges(s, e)
		})
		if err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// SpawnChildren implements backend.Flows.
func (b *Backend) SpawnChildren(ctx context.Context, p backend.SpawnChildrenParams) ([]ff.ExecutionID, error) {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return nil, err
	}
	var ids []ff.ExecutionID
	err := b.inFlowTx(ctx, "spawn children", func(s *flowStore) (err error) {
		ids, err = backend.SpawnChildrenTx(s, p)
		return err
	})
	return ids, err
}

// WaitChildren implements backend.Flows.
func (b *Backend) WaitChildren(ctx context.Context, p backend.WaitChildrenParams) (backend.WaitChildrenResult, error) {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return backend.WaitChildrenResult{}, err
	}
	var res backend.WaitChildrenResult
	err := b.inFlowTx(ctx, "wait children", func(s *flowStore) (err error) {
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
	f, err := scanFlow(b.pool.QueryRow(ctx, `SELECT `+flowColumns+` FROM ff_flow WHERE flow_id = $1`, p.FlowID))
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.FlowSnapshot{}, ff.NotFound("flow", "%s", p.FlowID)
	}
	if err != nil {
		return backend.FlowSnapshot{}, mapPgError("describe flow", err)
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
	rows, err := b.pool.Query(ctx, `SELECT m.execution_id, e.public_state, m.ref, m.join_policy, m.join_n, m.on_satisfied, m.group_state, e.cancelled_by = 'flow_join'
		FROM ff_flow_member m JOIN ff_execution e ON e.id = m.execution_id WHERE m.flow_id = $1 ORDER BY m.execution_id`, flowID)
	if err != nil {
		return nil, mapPgError("flow members", err)
	}
	var out []backend.FlowMemberState
	var m backend.FlowMemberState
	var id, st string
	_, err = pgx.ForEachRow(rows, []any{&id, &st, &m.Ref, &m.Join.Policy, &m.Join.N, &m.Join.OnSatisfied, &m.JoinState, &m.SiblingCancelled}, func() error {
		parsed, err := ff.ParseExecutionID(id)
		if err != nil {
			return ff.Corruption("flow member %q: %v", id, err)
		}
		m.ExecutionID, m.PublicState = parsed, ff.PublicState(st)
		out = append(out, m)
		return nil
	})
	return out, mapPgErrorIf("flow members", err)
}

// flowState derives one flow's public state from its members.
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
	var exists bool
	if err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ff_flow WHERE flow_id = $1)`, p.FlowID).Scan(&exists); err != nil {
		return nil, mapPgError("list flow edges", err)
	}
	if !exists {
		return nil, ff.NotFound("flow", "%s", p.FlowID)
	}
	var up, down string
	if !p.Upstream.IsZero() {
		up = p.Upstream.String()
	}
	if !p.Downstream.IsZero() {
		down = p.Downstream.String()
	}
	rows, err := b.pool.Query(ctx, `SELECT `+edgeColumns+` FROM ff_flow_edge WHERE flow_id = $1
		AND ($2 = '' OR upstream_id = $2) AND ($3 = '' OR downstream_id = $3) ORDER BY created_at_ms, edge_id`, p.FlowID, up, down)
	if err != nil {
		return nil, mapPgError("list flow edges", err)
	}
	edges, err := scanEdges(rows)
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
	rows, err := b.pool.Query(ctx, `SELECT `+flowColumns+` FROM ff_flow
		WHERE ($1 = '' OR namespace = $1) AND flow_id > $2 ORDER BY flow_id LIMIT $3`, p.Namespace, p.Cursor, p.Limit+1)
	if err != nil {
		return backend.FlowPage{}, mapPgError("list flows", err)
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*backend.FlowRecord, error) { return scanFlow(r) })
	if err != nil {
		return backend.FlowPage{}, mapPgError("list flows", err)
	}
	return backend.FlowPageOf(p, recs, func(f *backend.FlowRecord) (string, error) { return b.flowState(ctx, f.ID, f.State) })
}

// UpstreamResults implements backend.Flows.
func (b *Backend) UpstreamResults(ctx context.Context, p backend.UpstreamResultsParams) ([]backend.UpstreamResult, error) {
	rows, err := b.pool.Query(ctx, `SELECT ed.upstream_id, ed.state, e.public_state,
		CASE WHEN e.terminal_outcome = 'success' THEN e.result END
		FROM ff_flow_edge ed JOIN ff_execution e ON e.id = ed.upstream_id
		WHERE ed.downstream_id = $1 ORDER BY ed.created_at_ms, ed.upstream_id`, p.ExecutionID.String())
	if err != nil {
		return nil, mapPgError("upstream results", err)
	}
	out := []backend.UpstreamResult{}
	var r backend.UpstreamResult
	var id, st string
	_, err = pgx.ForEachRow(rows, []any{&id, &r.EdgeState, &st, &r.Result}, func() error {
		parsed, err := ff.ParseExecutionID(id)
		if err != nil {
			return ff.Corruption("upstream %q: %v", id, err)
		}
		r.ExecutionID, r.PublicState = parsed, ff.PublicState(st)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, mapPgErrorIf("upstream results", err)
	}
	if len(out) == 0 {
		if _, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: p.ExecutionID}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FlowStats implements backend.Flows: three grouped reads.
func (b *Backend) FlowStats(ctx context.Context) (backend.FlowStats, error) {
	stored := map[string]string{}
	rows, err := b.pool.Query(ctx, `SELECT flow_id, state FROM ff_flow ORDER BY flow_id LIMIT $1`, backend.MaxFlowStatsFlows)
	if err != nil {
		return backend.FlowStats{}, mapPgError("flow stats", err)
	}
	var id, st string
	if _, err := pgx.ForEachRow(rows, []any{&id, &st}, func() error { stored[id] = st; return nil }); err != nil {
		return backend.FlowStats{}, mapPgError("flow stats", err)
	}
	rows, err = b.pool.Query(ctx, `SELECT m.flow_id, e.public_state, e.cancelled_by = 'flow_join', count(*)
		FROM ff_flow_member m JOIN ff_execution e ON e.id = m.execution_id GROUP BY 1, 2, 3`)
	if err != nil {
		return backend.FlowStats{}, mapPgError("flow stats", err)
	}
	var groups []backend.FlowStatRow
	var r backend.FlowStatRow
	var ps string
	if _, err := pgx.ForEachRow(rows, []any{&r.FlowID, &ps, &r.SiblingCancelled, &r.Count}, func() error {
		r.PublicState = ff.PublicState(ps)
		groups = append(groups, r)
		return nil
	}); err != nil {
		return backend.FlowStats{}, mapPgError("flow stats", err)
	}
	edges := map[string]int{}
	rows, err = b.pool.Query(ctx, `SELECT state, count(*) FROM ff_flow_edge GROUP BY state`)
	if err != nil {
		return backend.FlowStats{}, mapPgError("flow stats", err)
	}
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error { edges[st] = n; return nil }); err != nil {
		return backend.FlowStats{}, mapPgError("flow stats", err)
	}
	return backend.BuildFlowStats(stored, groups, edges), nil
}
