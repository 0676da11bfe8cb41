package sqlite

import (
	"context"
	"database/sql"
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// flowStore is backend.FlowStore over one write transaction: the single
// writer holds every row, so the Lock* methods are plain loads.
type flowStore struct{ w *writeTx }

var _ backend.FlowStore = flowStore{}

func (w *writeTx) flows() flowStore { return flowStore{w} }

func (s flowStore) NowMs() int64     { return s.w.now }
func (s flowStore) Wake(lane string) { s.w.notify(lane) }

const flowColumns = `flow_id, partition_key, namespace, kind, state, graph_revision, node_count, edge_count,
  created_at_ms, cancelled_at_ms, cancel_policy, cancel_reason`

func scanFlow(r scanner) (*backend.FlowRecord, error) {
	var f backend.FlowRecord
	var part int64
	err := r.Scan(&f.ID, &part, &f.Namespace, &f.Kind, &f.State, &f.GraphRevision, &f.NodeCount, &f.EdgeCount,
		&f.CreatedAtMs, &f.CancelledAtMs, &f.CancelPolicy, &f.CancelReason)
	f.Partition = uint16(part)
	return &f, err
}

func (s flowStore) LockFlow(id string) (*backend.FlowRecord, error) {
	f, err := scanFlow(s.w.queryRow(`SELECT `+flowColumns+` FROM ff_flow WHERE flow_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ff.NotFound("flow", "%s", id)
	}
	if err != nil {
		return nil, driverError("sqlite: load flow", err)
	}
	return f, nil
}

func (s flowStore) InsertFlow(f *backend.FlowRecord) (bool, error) {
	res, err := s.w.exec("sqlite: insert flow", `INSERT INTO ff_flow (`+flowColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, f.ID, int64(f.Partition), f.Namespace, f.Kind,
		f.State, f.GraphRevision, f.NodeCount, f.EdgeCount, f.CreatedAtMs, f.CancelledAtMs, f.CancelPolicy, f.CancelReason)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s flowStore) UpdateFlow(f *backend.FlowRecord) error {
	_, err := s.w.exec("sqlite: update flow", `UPDATE ff_flow SET state = ?, graph_revision = ?, node_count = ?,
  edge_count = ?, cancelled_at_ms = ?, cancel_policy = ?, cancel_reason = ? WHERE flow_id = ?`,
		f.State, f.GraphRevision, f.NodeCount, f.EdgeCount, f.CancelledAtMs, f.CancelPolicy, f.CancelReason, f.ID)
	return err
}

const memberColumns = `execution_id, flow_id, ref, join_policy, join_n, on_satisfied, group_state, added_at_ms`

func (s flowStore) Member(id ff.ExecutionID) (*backend.FlowMemberRecord, error) {
	var m backend.FlowMemberRecord
	var sid string
	err := s.w.queryRow(`SELECT `+memberColumns+` FROM ff_flow_member WHERE execution_id = ?`, id.String()).Scan(
		&sid, &m.FlowID, &m.Ref, &m.Join.Policy, &m.Join.N, &m.Join.OnSatisfied, &m.GroupState, &m.AddedAtMs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, driverError("sqlite: flow member", err)
	}
	m.ExecutionID = id
	return &m, nil
}

func (s flowStore) InsertMember(m *backend.FlowMemberRecord) error {
	_, err := s.w.exec("sqlite: insert flow member", `INSERT INTO ff_flow_member (`+memberColumns+`, partition_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ExecutionID.String(), m.FlowID, m.Ref, m.Join.Policy, m.Join.N, m.Join.OnSatisfied,
		m.GroupState, m.AddedAtMs, int64(m.ExecutionID.Partition))
	return err
}

func (s flowStore) UpdateMember(m *backend.FlowMemberRecord) error {
	_, err := s.w.exec("sqlite: update flow member", `UPDATE ff_flow_member SET join_policy = ?, join_n = ?,
  on_satisfied = ?, group_state = ? WHERE execution_id = ?`, m.Join.Policy, m.Join.N, m.Join.OnSatisfied, m.GroupState,
		m.ExecutionID.String())
	return err
}

func (s flowStore) FlowMemberRefs(flowID string) (map[string]ff.ExecutionID, error) {
	rows, err := s.w.query("sqlite: flow refs", `SELECT ref, execution_id FROM ff_flow_member WHERE flow_id = ? AND ref <> ''`, flowID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]ff.ExecutionID{}
	for rows.Next() {
		var ref, id string
		if err := rows.Scan(&ref, &id); err != nil {
			return nil, driverError("sqlite: flow refs", err)
		}
		parsed, err := parseStoredID(id)
		if err != nil {
			return nil, err
		}
		out[ref] = parsed
	}
	return out, driverErrorIf("sqlite: flow refs", rows.Err())
}

func driverErrorIf(op string, err error) error {
	if err == nil {
		return nil
	}
	return driverError(op, err)
}

func parseStoredID(s string) (ff.ExecutionID, error) {
	id, err := ff.ParseExecutionID(s)
	if err != nil {
		return ff.ExecutionID{}, ff.Corruption("stored execution id %q: %v", s, err)
	}
	return id, nil
}

func (s flowStore) FlowMembers(flowID string) ([]ff.ExecutionID, error) {
	return s.ids(`SELECT execution_id FROM ff_flow_member WHERE flow_id = ? ORDER BY execution_id`, flowID)
}

func (s flowStore) ids(q string, args ...any) ([]ff.ExecutionID, error) {
	rows, err := s.w.query("sqlite: flow ids", q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ff.ExecutionID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, driverError("sqlite: flow ids", err)
		}
		parsed, err := parseStoredID(id)
		if err != nil {
			return nil, err
		}
		out = append(out, parsed)
	}
	return out, driverErrorIf("sqlite: flow ids", rows.Err())
}

func (s flowStore) InsertExecution(e *ff.Execution, input []byte) error {
	var one int
	switch err := s.w.queryRow(qIDExists, e.ID.String()).Scan(&one); {
	case err == nil:
		return ff.Conflict(ff.ErrDuplicateExecution, "execution %s already exists", e.ID)
	case !errors.Is(err, sql.ErrNoRows):
		return driverError("sqlite: create flow member", err)
	}
	if e.IdempotencyKey != "" {
		if _, found, err := s.w.findIdempotent(e.Namespace, e.IdempotencyKey); err != nil || found {
			if err == nil {
				err = ff.Conflict(ff.ErrDuplicateExecution, "idempotency key of %s is held", e.ID)
			}
			return err
		}
	}
	return s.w.insertExecution(e, input)
}

func (s flowStore) LockExecution(id ff.ExecutionID, _ bool) (*ff.Execution, error) {
	r, err := s.w.load(id)
	if err != nil {
		return nil, err
	}
	return &r.e, nil
}

func (s flowStore) SaveExecution(before, e *ff.Execution, fx *ff.Effects) error {
	return s.w.saveRecord(e, before.Claimable(), fx)
}

const edgeColumns = `edge_id, flow_id, upstream_id, downstream_id, kind, state, created_at_ms, resolved_at_ms`

func scanEdgeRows(rows *sql.Rows) ([]backend.FlowEdge, error) {
	defer rows.Close()
	var out []backend.FlowEdge
	for rows.Next() {
		var ed backend.FlowEdge
		var up, down string
		if err := rows.Scan(&ed.EdgeID, &ed.FlowID, &up, &down, &ed.Kind, &ed.State, &ed.CreatedAtMs, &ed.ResolvedAtMs); err != nil {
			return nil, driverError("sqlite: read edges", err)
		}
		var err error
		if ed.Upstream, err = parseStoredID(up); err != nil {
			return nil, err
		}
		if ed.Downstream, err = parseStoredID(down); err != nil {
			return nil, err
		}
		out = append(out, ed)
	}
	return out, driverErrorIf("sqlite: read edges", rows.Err())
}

func (s flowStore) edges(where string, args ...any) ([]backend.FlowEdge, error) {
	rows, err := s.w.query("sqlite: read edges", `SELECT `+edgeColumns+` FROM ff_flow_edge WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return scanEdgeRows(rows)
}

func (s flowStore) FlowEdges(flowID string) ([]backend.FlowEdge, error) {
	return s.edges(`flow_id = ?`, flowID)
}

func (s flowStore) ResolveEdgesFrom(ups []ff.ExecutionID, states map[string]string, nowMs int64) ([]ff.ExecutionID, error) {
	var out []ff.ExecutionID
	for _, up := range ups {
		ds, err := s.ids(`UPDATE ff_flow_edge SET state = CASE kind WHEN 'completion' THEN ?1 ELSE ?2 END, resolved_at_ms = ?3
WHERE upstream_id = ?4 AND state = 'unresolved' RETURNING downstream_id`,
			states[ff.EdgeCompletion], states[ff.EdgeSuccessOnly], nowMs, up.String())
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

func (s flowStore) LoadJoins(ds []ff.ExecutionID) ([]backend.JoinInputs, error) {
	out := make([]backend.JoinInputs, 0, len(ds))
	for _, d := range ds {
		e, err := s.LockExecution(d, false)
		if err != nil {
			return nil, err
		}
		j := backend.JoinInputs{Exec: e}
		if j.Member, err = s.Member(d); err != nil {
			return nil, err
		}
		if j.Member != nil {
			if j.In, err = s.EdgesInto(d); err != nil {
				return nil, err
			}
		}
		out = append(out, j)
	}
	return out, nil
}

func (s flowStore) InsertEdge(ed backend.FlowEdge) error {
	res, err := s.w.exec("sqlite: insert edge", `INSERT INTO ff_flow_edge (`+edgeColumns+`, partition_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (upstream_id, downstream_id) DO NOTHING`, ed.EdgeID, ed.FlowID,
		ed.Upstream.String(), ed.Downstream.String(), ed.Kind, ed.State, ed.CreatedAtMs, ed.ResolvedAtMs, int64(ed.Upstream.Partition))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ff.Conflict(ff.ErrDuplicateEdge, "edge %s → %s exists", ed.Upstream, ed.Downstream)
	}
	return nil
}

func (s flowStore) SetEdgeState(flowID, edgeID, state string, nowMs int64) error {
	_, err := s.w.exec("sqlite: resolve edge", `UPDATE ff_flow_edge SET state = ?, resolved_at_ms = ? WHERE flow_id = ? AND edge_id = ?`,
		state, nowMs, flowID, edgeID)
	return err
}

func (s flowStore) QueueCancels(flowID string, partition uint16, ids []ff.ExecutionID) error {
	for _, id := range ids {
		if _, err := s.w.exec("sqlite: queue flow cancel", `INSERT INTO ff_flow_cancel (flow_id, execution_id, partition_key)
VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, flowID, id.String(), int64(partition)); err != nil {
			return err
		}
	}
	return nil
}

func (s flowStore) CancelQueue(flowID string) (all, pending []ff.ExecutionID, err error) {
	rows, err := s.w.query("sqlite: cancel queue", `SELECT execution_id, done FROM ff_flow_cancel WHERE flow_id = ? ORDER BY execution_id`, flowID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var done bool
		if err := rows.Scan(&id, &done); err != nil {
			return nil, nil, driverError("sqlite: cancel queue", err)
		}
		parsed, err := parseStoredID(id)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, parsed)
		if !done {
			pending = append(pending, parsed)
		}
	}
	return all, pending, driverErrorIf("sqlite: cancel queue", rows.Err())
}

func (s flowStore) MarkCancelsDone(flowID string, ids []ff.ExecutionID) error {
	for _, id := range ids {
		if _, err := s.w.exec("sqlite: cancel done", `UPDATE ff_flow_cancel SET done = 1 WHERE flow_id = ? AND execution_id = ?`,
			flowID, id.String()); err != nil {
			return err
		}
	}
	return nil
}

func (s flowStore) InsertEvents(events []ff.Event) error { return s.w.insertEvents(events) }

// inFlowTx runs fn in one write transaction with a flowStore; a
// *backend.KeepWrites error commits and is then returned unwrapped.
func (b *Backend) inFlowTx(ctx context.Context, op string, fn func(s flowStore) error) error {
	return b.write(ctx, op, func(w *writeTx) error {
		err := fn(w.flows())
		var keep *backend.KeepWrites
		if errors.As(err, &keep) {
			return &commitThen{keep.Err}
		}
		return err
	})
}

func (s flowStore) EdgesInto(down ff.ExecutionID) ([]backend.FlowEdge, error) {
	return s.edges(`downstream_id = ? ORDER BY upstream_id`, down.String())
}

func (s flowStore) LockExecutions(ids []ff.ExecutionID) (map[ff.ExecutionID]*ff.Execution, error) {
	out := make(map[ff.ExecutionID]*ff.Execution, len(ids))
	for _, id := range ids {
		e, err := s.LockExecution(id, false)
		if errors.Is(err, ff.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = e
	}
	return out, nil
}
