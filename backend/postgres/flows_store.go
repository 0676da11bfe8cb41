package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// flowStore is backend.FlowStore over one Postgres transaction.
type flowStore struct {
	ctx  context.Context
	b    *Backend
	tx   pgx.Tx
	now  int64
	wake []string
}

var _ backend.FlowStore = (*flowStore)(nil)

func (s *flowStore) NowMs() int64     { return s.now }
func (s *flowStore) Wake(lane string) { s.wake = append(s.wake, lane) }

const flowColumns = `flow_id, partition, namespace, kind, state, graph_revision, node_count, edge_count,
	created_at_ms, cancelled_at_ms, cancel_policy, cancel_reason`

func scanFlow(row pgx.Row) (*backend.FlowRecord, error) {
	var f backend.FlowRecord
	var part int16
	err := row.Scan(&f.ID, &part, &f.Namespace, &f.Kind, &f.State, &f.GraphRevision, &f.NodeCount, &f.EdgeCount,
		&f.CreatedAtMs, &f.CancelledAtMs, &f.CancelPolicy, &f.CancelReason)
	f.Partition = uint16(part)
	return &f, err
}

func (s *flowStore) LockFlow(id string) (*backend.FlowRecord, error) {
	f, err := scanFlow(s.tx.QueryRow(s.ctx, `SELECT `+flowColumns+` FROM ff_flow WHERE flow_id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("flow", "%s", id)
	}
	if err != nil {
		return nil, mapPgError("lock flow", err)
	}
	return f, nil
}

func (s *flowStore) InsertFlow(f *backend.FlowRecord) (bool, error) {
	tag, err := s.tx.Exec(s.ctx, `INSERT INTO ff_flow (`+flowColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`, flowArgs(f)...)
	if err != nil {
		return false, mapPgError("insert flow", err)
	}
	return tag.RowsAffected() == 1, nil
}

func flowArgs(f *backend.FlowRecord) []any {
	return []any{f.ID, int16(f.Partition), f.Namespace, f.Kind, f.State, f.GraphRevision, f.NodeCount, f.EdgeCount,
		f.CreatedAtMs, f.CancelledAtMs, f.CancelPolicy, f.CancelReason}
}

func (s *flowStore) UpdateFlow(f *backend.FlowRecord) error {
	_, err := s.tx.Exec(s.ctx, `UPDATE ff_flow SET state = $2, graph_revision = $3, node_count = $4, edge_count = $5,
		cancelled_at_ms = $6, cancel_policy = $7, cancel_reason = $8 WHERE flow_id = $1`,
		f.ID, f.State, f.GraphRevision, f.NodeCount, f.EdgeCount, f.CancelledAtMs, f.CancelPolicy, f.CancelReason)
	return opErr("update flow", err)
}

const memberColumns = `execution_id, flow_id, ref, join_policy, join_n, on_satisfied, group_state, added_at_ms`

func scanMember(row pgx.Row) (*backend.FlowMemberRecord, error) {
	var m backend.FlowMemberRecord
	var id string
	if err := row.Scan(&id, &m.FlowID, &m.Ref, &m.Join.Policy, &m.Join.N, &m.Join.OnSatisfied, &m.GroupState, &m.AddedAtMs); err != nil {
		return nil, err
	}
	parsed, err := ff.ParseExecutionID(id)
	if err != nil {
		return nil, ff.Corruption("flow member %q: %v", id, err)
	}
	m.ExecutionID = parsed
	return &m, nil
}

func (s *flowStore) Member(id ff.ExecutionID) (*backend.FlowMemberRecord, error) {
	m, err := scanMember(s.tx.QueryRow(s.ctx, `SELECT `+memberColumns+` FROM ff_flow_member WHERE execution_id = $1`, id.String()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, opErr("flow member", err)
	}
	return m, nil
}

func (s *flowStore) InsertMember(m *backend.FlowMemberRecord) error {
	_, err := s.tx.Exec(s.ctx, `INSERT INTO ff_flow_member (`+memberColumns+`, partition)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, m.ExecutionID.String(), m.FlowID, m.Ref, m.Join.Policy, m.Join.N,
		m.Join.OnSatisfied, m.GroupState, m.AddedAtMs, int16(m.ExecutionID.Partition))
	return mapPgErrorIf("insert flow member", err)
}

func (s *flowStore) UpdateMember(m *backend.FlowMemberRecord) error {
	_, err := s.tx.Exec(s.ctx, `UPDATE ff_flow_member SET join_policy = $2, join_n = $3, on_satisfied = $4, group_state = $5
		WHERE execution_id = $1`, m.ExecutionID.String(), m.Join.Policy, m.Join.N, m.Join.OnSatisfied, m.GroupState)
	return mapPgErrorIf("update flow member", err)
}

func (s *flowStore) FlowMemberRefs(flowID string) (map[string]ff.ExecutionID, error) {
	rows, err := s.tx.Query(s.ctx, `SELECT ref, execution_id FROM ff_flow_member WHERE flow_id = $1 AND ref <> ''`, flowID)
	if err != nil {
		return nil, mapPgError("flow refs", err)
	}
	out := map[string]ff.ExecutionID{}
	var ref, id string
	_, err = pgx.ForEachRow(rows, []any{&ref, &id}, func() error {
		parsed, err := ff.ParseExecutionID(id)
		out[ref] = parsed
		return err
	})
	return out, opErr("flow refs", err)
}

func (s *flowStore) FlowMembers(flowID string) ([]ff.ExecutionID, error) {
	return s.ids(`SELECT execution_id FROM ff_flow_member WHERE flow_id = $1 ORDER BY execution_id`, flowID)
}

func (s *flowStore) ids(q string, args ...any) ([]ff.ExecutionID, error) {
	rows, err := s.tx.Query(s.ctx, q, args...)
	if err != nil {
		return nil, mapPgError("flow ids", err)
	}
	strs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapPgError("flow ids", err)
	}
	return parseIDs(strs)
}

func parseIDs(strs []string) ([]ff.ExecutionID, error) {
	out := make([]ff.ExecutionID, len(strs))
	for i, s := range strs {
		id, err := ff.ParseExecutionID(s)
		if err != nil {
			return nil, ff.Corruption("stored execution id %q: %v", s, err)
		}
		out[i] = id
	}
	return out, nil
}

func (s *flowStore) InsertExecution(e *ff.Execution, input []byte) error {
	args, err := s.b.createArgs(s.ctx, e, input, e.CreatedAtMs)
	if err != nil {
		return err
	}
	var inserted int
	if err := s.tx.QueryRow(s.ctx, createSQL, args...).Scan(&inserted); err != nil {
		return mapPgError("create flow member", err)
	}
	s.b.rememberLane(e.Lane)
	if inserted != 1 {
		return ff.Conflict(ff.ErrDuplicateExecution, "execution %s (or its idempotency key) already exists", e.ID)
	}
	if e.Claimable() {
		s.Wake(e.Lane)
	}
	return nil
}

func (s *flowStore) LockExecution(id ff.ExecutionID, nowait bool) (*ff.Execution, error) {
	lock := ` FOR UPDATE OF e`
	if nowait {
		lock += ` NOWAIT`
	}
	e, err := scanRecord(s.tx.QueryRow(s.ctx, `SELECT `+recordColumns+recordFrom+` WHERE e.id = $1`+lock, id.String()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ff.NotFound("execution", "%s", id)
	}
	if err != nil {
		return nil, mapPgError("lock execution", err)
	}
	return e, nil
}

func (s *flowStore) SaveExecution(before, e *ff.Execution, fx *ff.Effects) error {
	if err := e.State.Check(); err != nil {
		return err
	}
	batch := &pgx.Batch{}
	if err := queueRecordWrite(batch, before, e, fx); err != nil {
		return err
	}
	return mapPgErrorIf("save execution", execBatch(s.ctx, s.tx, batch))
}

const edgeColumns = `edge_id, flow_id, upstream_id, downstream_id, kind, state, created_at_ms, resolved_at_ms`

func scanEdges(rows pgx.Rows) ([]backend.FlowEdge, error) {
	var out []backend.FlowEdge
	var ed backend.FlowEdge
	var up, down string
	_, err := pgx.ForEachRow(rows, []any{&ed.EdgeID, &ed.FlowID, &up, &down, &ed.Kind, &ed.State, &ed.CreatedAtMs, &ed.ResolvedAtMs}, func() error {
		var err error
		if ed.Upstream, err = ff.ParseExecutionID(up); err != nil {
			return ff.Corruption("edge %s: %v", ed.EdgeID, err)
		}
		if ed.Downstream, err = ff.ParseExecutionID(down); err != nil {
			return ff.Corruption("edge %s: %v", ed.EdgeID, err)
		}
		out = append(out, ed)
		return nil
	})
	if err != nil {
		return nil, mapPgErrorIf("read edges", err)
	}
	return out, nil
}

func (s *flowStore) edges(q string, args ...any) ([]backend.FlowEdge, error) {
	rows, err := s.tx.Query(s.ctx, `SELECT `+edgeColumns+` FROM ff_flow_edge WHERE `+q, args...)
	if err != nil {
		return nil, mapPgError("read edges", err)
	}
	return scanEdges(rows)
}

func (s *flowStore) FlowEdges(flowID string) ([]backend.FlowEdge, error) {
	return s.edges(`flow_id = $1`, flowID)
}

func (s *flowStore) EdgesFrom(up ff.ExecutionID) ([]backend.FlowEdge, error) {
	return s.edges(`upstream_id = $1 ORDER BY downstream_id`, up.String())
}

func (s *flowStore) EdgesInto(down ff.ExecutionID) ([]backend.FlowEdge, error) {
	return s.edges(`downstream_id = $1 ORDER BY upstream_id`, down.String())
}

func (s *flowStore) InsertEdge(ed backend.FlowEdge) error {
	tag, err := s.tx.Exec(s.ctx, `INSERT INTO ff_flow_edge (`+edgeColumns+`, partition)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (upstream_id, downstream_id) DO NOTHING`,
		ed.EdgeID, ed.FlowID, ed.Upstream.String(), ed.Downstream.String(), ed.Kind, ed.State, ed.CreatedAtMs,
		ed.ResolvedAtMs, int16(ed.Upstream.Partition))
	if err != nil {
		return mapPgError("insert edge", err)
	}
	if tag.RowsAffected() == 0 {
		return ff.Conflict(ff.ErrDuplicateEdge, "edge %s → %s exists", ed.Upstream, ed.Downstream)
	}
	return nil
}

func (s *flowStore) SetEdgeState(flowID, edgeID, state string, nowMs int64) error {
	_, err := s.tx.Exec(s.ctx, `UPDATE ff_flow_edge SET state = $3, resolved_at_ms = $4 WHERE flow_id = $1 AND edge_id = $2`,
		flowID, edgeID, state, nowMs)
	return mapPgErrorIf("resolve edge", err)
}

// QueueCancels inserts the backlog rows with one statement over unnest
// (a cancel queues up to every member of the flow).
func (s *flowStore) QueueCancels(flowID string, partition uint16, ids []ff.ExecutionID) error {
	if len(ids) == 0 {
		return nil
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = id.String()
	}
	_, err := s.tx.Exec(s.ctx, `INSERT INTO ff_flow_cancel (flow_id, execution_id, partition)
		SELECT $1, x, $3 FROM unnest($2::text[]) AS x ON CONFLICT DO NOTHING`, flowID, strs, int16(partition))
	return mapPgErrorIf("queue flow cancels", err)
}

func (s *flowStore) CancelQueue(flowID string) (all, pending []ff.ExecutionID, err error) {
	rows, err := s.tx.Query(s.ctx, `SELECT execution_id, done FROM ff_flow_cancel WHERE flow_id = $1 ORDER BY execution_id`, flowID)
	if err != nil {
		return nil, nil, mapPgError("cancel queue", err)
	}
	var id string
	var done bool
	_, err = pgx.ForEachRow(rows, []any{&id, &done}, func() error {
		parsed, err := ff.ParseExecutionID(id)
		if err != nil {
			return ff.Corruption("cancel queue %q: %v", id, err)
		}
		all = append(all, parsed)
		if !done {
			pending = append(pending, parsed)
		}
		return nil
	})
	return all, pending, mapPgErrorIf("cancel queue", err)
}

func (s *flowStore) MarkCancelDone(flowID string, id ff.ExecutionID) error {
	_, err := s.tx.Exec(s.ctx, `UPDATE ff_flow_cancel SET done = true WHERE flow_id = $1 AND execution_id = $2`, flowID, id.String())
	return mapPgErrorIf("cancel done", err)
}

func (s *flowStore) InsertEvents(events []ff.Event) error {
	batch := &pgx.Batch{}
	if err := queueEvents(batch, events); err != nil {
		return err
	}
	return mapPgErrorIf("insert events", execBatch(s.ctx, s.tx, batch))
}

// mapPgErrorIf maps err unless it is nil or already an engine error.
func mapPgErrorIf(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := ff.AsError(err); ok {
		return err
	}
	return mapPgError(op, err)
}

// maxFlowTries bounds the retries of a flow transaction that lost a lock
// race (deadlock, NOWAIT on a sibling, serialization).
const maxFlowTries = 5

// inFlowTx runs fn in one transaction with a flowStore, retrying it whole
// on contention; the lanes it woke are notified after the commit.
func (b *Backend) inFlowTx(ctx context.Context, op string, fn func(s *flowStore) error) error {
	var err error
	for range maxFlowTries {
		err = b.flowTxOnce(ctx, op, fn)
		if !errors.Is(err, ff.ErrContention) {
			return err
		}
	}
	return err
}

func (b *Backend) flowTxOnce(ctx context.Context, op string, fn func(s *flowStore) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	s := &flowStore{ctx: ctx, b: b, tx: tx}
	if err := tx.QueryRow(ctx, `SELECT coalesce($1::bigint, ff_now_ms())`, b.nowArg()).Scan(&s.now); err != nil {
		return mapPgError(op, err)
	}
	ferr := fn(s)
	var keep *backend.KeepWrites
	if ferr != nil && !errors.As(ferr, &keep) {
		return ferr
	}
	if err := tx.Commit(ctx); err != nil {
		return mapPgError(op, err)
	}
	b.wake(s.wake...)
	if keep != nil {
		return keep.Err
	}
	return nil
}
