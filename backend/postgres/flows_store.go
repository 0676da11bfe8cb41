package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// flowStore is backend.FlowStore over one Postgres transaction. Writes
// whose result nothing reads are queued and sent with the next read (or
// the commit), in one round trip: a cascade costs a round trip per read,
// not per statement. Reads see every queued write, which precedes them
// in the batch.
type flowStore struct {
	ctx     context.Context
	b       *Backend
	tx      pgx.Tx
	now     int64
	wake    []string
	pending *pgx.Batch
	// events are the outbox rows of the pending writes, inserted by one
	// statement when the batch is sent.
	events []ff.Event
	// members are the pending membership updates, by id (the last one
	// wins), written by one statement when the batch is sent.
	members map[ff.ExecutionID]*backend.FlowMemberRecord
	// callerTx: the transaction is the caller's (CreateFlowTx), whose
	// rollback would undo a lane registration, so none is remembered.
	callerTx bool
	// written are the executions this transaction inserted or rewrote:
	// InsertEdge need not rewrite them again.
	written map[ff.ExecutionID]bool
}

// wrote records that this transaction wrote id's row.
func (s *flowStore) wrote(id ff.ExecutionID) {
	if s.written == nil {
		s.written = map[ff.ExecutionID]bool{}
	}
	s.written[id] = true
}

// takeBatch returns the pending batch with the collected membership
// updates and events queued last, and starts a new one. Deferring them
// is safe: every read of the transaction goes through a batch taken here,
// after them, and no queued statement reads what they write.
func (s *flowStore) takeBatch() (*pgx.Batch, error) {
	b := s.pending
	s.pending = nil
	if b == nil {
		b = &pgx.Batch{}
	}
	queueMemberUpdates(b, s.members)
	s.members = nil
	evs := s.events
	s.events = nil
	return b, queueEvents(b, evs)
}

// queue adds a write to the pending batch.
func (s *flowStore) queue(q string, args ...any) {
	if s.pending == nil {
		s.pending = &pgx.Batch{}
	}
	s.pending.Queue(q, args...)
}

// flush sends the pending writes.
func (s *flowStore) flush() error {
	b, err := s.takeBatch()
	if err != nil || b.Len() == 0 {
		return err
	}
	return mapPgErrorIf("flow writes", execBatch(s.ctx, s.tx, b))
}

// reads sends the pending writes and qs in one round trip and calls each
// query's scan on its rows, in order.
func (s *flowStore) reads(op string, qs ...query) error {
	b, err := s.takeBatch()
	if err != nil {
		return err
	}
	n := b.Len()
	for _, q := range qs {
		b.Queue(q.sql, q.args...)
	}
	br := s.tx.SendBatch(s.ctx, b)
	err = readBatch(br, n, qs)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return mapPgErrorIf(op, err)
}

func readBatch(br pgx.BatchResults, writes int, qs []query) error {
	for i := range writes {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("batch statement %d: %w", i, err)
		}
	}
	for _, q := range qs {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		err = q.scan(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// query is one read of a batch: its statement and how its rows are read.
type query struct {
	sql  string
	args []any
	scan func(rows pgx.Rows) error
}

// one reads at most one row with scan; none leaves found false.
func one(sql string, found *bool, scan func(r pgx.Row) error, args ...any) query {
	return query{sql: sql, args: args, scan: func(rows pgx.Rows) error {
		if !rows.Next() {
			return nil
		}
		*found = true
		return scan(rows)
	}}
}

// read is reads of one query.
func (s *flowStore) read(op string, q query) error { return s.reads(op, q) }

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
	var f *backend.FlowRecord
	var found bool
	err := s.read("lock flow", one(`SELECT `+flowColumns+` FROM ff_flow WHERE flow_id = $1 FOR UPDATE`, &found,
		func(r pgx.Row) (err error) { f, err = scanFlow(r); return err }, id))
	if err == nil && !found {
		err = ff.NotFound("flow", "%s", id)
	}
	return f, err
}

func (s *flowStore) InsertFlow(f *backend.FlowRecord) (bool, error) {
	var found bool
	err := s.read("insert flow", one(`INSERT INTO ff_flow (`+flowColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING 1`, &found,
		func(pgx.Row) error { return nil }, flowArgs(f)...))
	return found, err
}

func flowArgs(f *backend.FlowRecord) []any {
	return []any{f.ID, int16(f.Partition), f.Namespace, f.Kind, f.State, f.GraphRevision, f.NodeCount, f.EdgeCount,
		f.CreatedAtMs, f.CancelledAtMs, f.CancelPolicy, f.CancelReason}
}

func (s *flowStore) UpdateFlow(f *backend.FlowRecord) error {
	s.queue(`UPDATE ff_flow SET state = $2, graph_revision = $3, node_count = $4, edge_count = $5,
		cancelled_at_ms = $6, cancel_policy = $7, cancel_reason = $8 WHERE flow_id = $1`,
		f.ID, f.State, f.GraphRevision, f.NodeCount, f.EdgeCount, f.CancelledAtMs, f.CancelPolicy, f.CancelReason)
	return nil
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
	var m *backend.FlowMemberRecord
	err := s.read("flow member", memberQuery(id, &m))
	return m, err
}

func memberQuery(id ff.ExecutionID, m **backend.FlowMemberRecord) query {
	var found bool
	return one(`SELECT `+memberColumns+` FROM ff_flow_member WHERE execution_id = $1`, &found,
		func(r pgx.Row) (err error) { *m, err = scanMember(r); return err }, id.String())
}

func (s *flowStore) InsertMember(m *backend.FlowMemberRecord) error {
	s.queue(`INSERT INTO ff_flow_member (`+memberColumns+`, partition)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, m.ExecutionID.String(), m.FlowID, m.Ref, m.Join.Policy, m.Join.N,
		m.Join.OnSatisfied, m.GroupState, m.AddedAtMs, int16(m.ExecutionID.Partition))
	return nil
}

// UpdateMember defers the write to the batch's one membership statement.
func (s *flowStore) UpdateMember(m *backend.FlowMemberRecord) error {
	if s.members == nil {
		s.members = map[ff.ExecutionID]*backend.FlowMemberRecord{}
	}
	c := *m
	s.members[m.ExecutionID] = &c
	return nil
}

// queueMemberUpdates writes ms in one statement: a completion batch
// deciding the joins of many downstreams updates their memberships
// together (unnest of the columns), in id order.
func queueMemberUpdates(b *pgx.Batch, ms map[ff.ExecutionID]*backend.FlowMemberRecord) {
	if len(ms) == 0 {
		return
	}
	n := len(ms)
	ids, policies, onSat, states := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	joinN := make([]int32, 0, n)
	sorted := slices.SortedFunc(maps.Values(ms), func(a, b *backend.FlowMemberRecord) int {
		return strings.Compare(a.ExecutionID.String(), b.ExecutionID.String())
	})
	for _, m := range sorted {
		ids = append(ids, m.ExecutionID.String())
		policies, joinN = append(policies, m.Join.Policy), append(joinN, int32(m.Join.N))
		onSat, states = append(onSat, m.Join.OnSatisfied), append(states, m.GroupState)
	}
	b.Queue(`UPDATE ff_flow_member m SET join_policy = v.policy, join_n = v.n, on_satisfied = v.on_satisfied,
		group_state = v.state
		FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) AS v(id, policy, n, on_satisfied, state)
		WHERE m.execution_id = v.id`, ids, policies, joinN, onSat, states)
}

func (s *flowStore) FlowMemberRefs(flowID string) (map[string]ff.ExecutionID, error) {
	out := map[string]ff.ExecutionID{}
	err := s.read("flow refs", query{sql: `SELECT ref, execution_id FROM ff_flow_member WHERE flow_id = $1 AND ref <> ''`,
		args: []any{flowID}, scan: func(rows pgx.Rows) error {
			var ref, id string
			_, err := pgx.ForEachRow(rows, []any{&ref, &id}, func() error {
				parsed, err := ff.ParseExecutionID(id)
				out[ref] = parsed
				return err
			})
			return err
		}})
	return out, err
}

func (s *flowStore) FlowMembers(flowID string) ([]ff.ExecutionID, error) {
	return s.ids(`SELECT execution_id FROM ff_flow_member WHERE flow_id = $1 ORDER BY execution_id`, flowID)
}

func (s *flowStore) ids(q string, args ...any) ([]ff.ExecutionID, error) {
	var strs []string
	err := s.read("flow ids", query{sql: q, args: args, scan: func(rows pgx.Rows) (err error) {
		strs, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}})
	if err != nil {
		return nil, err
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
	var found bool
	if err := s.read("create flow member", one(createSQL, &found, func(r pgx.Row) error { return r.Scan(&inserted) }, args...)); err != nil {
		return err
	}
	if !s.callerTx {
		s.b.rememberLane(e.Lane)
	}
	if inserted != 1 {
		return ff.Conflict(ff.ErrDuplicateExecution, "execution %s (or its idempotency key) already exists", e.ID)
	}
	s.wrote(e.ID)
	if e.Claimable() {
		s.Wake(e.Lane)
	}
	return nil
}

func (s *flowStore) LockExecution(id ff.ExecutionID, nowait bool) (*ff.Execution, error) {
	var e *ff.Execution
	var found bool
	err := s.read("lock execution", lockQuery(id, nowait, &found, &e))
	if err == nil && !found {
		err = ff.NotFound("execution", "%s", id)
	}
	return e, err
}

func lockQuery(id ff.ExecutionID, nowait bool, found *bool, e **ff.Execution) query {
	lock := ` FOR UPDATE OF e`
	if nowait {
		lock += ` NOWAIT`
	}
	return one(`SELECT `+recordColumns+recordFrom+` WHERE e.id = $1`+lock, found,
		func(r pgx.Row) (err error) { *e, err = scanRecord(r); return err }, id.String())
}

// LoadJoins reads the downstreams, their memberships and inbound edges
// in one round trip (with the pending writes), locking them in order:
// three statements per downstream. Array forms of the three reads
// ("= ANY", unnest joins) were measured slower: a 100-member flow cancel
// took p50 30-36 ms with them against 26-27 ms.
func (s *flowStore) LoadJoins(ds []ff.ExecutionID) ([]backend.JoinInputs, error) {
	out := make([]backend.JoinInputs, len(ds))
	found := make([]bool, len(ds))
	qs := make([]query, 0, 3*len(ds))
	for k, d := range ds {
		qs = append(qs, lockQuery(d, false, &found[k], &out[k].Exec), memberQuery(d, &out[k].Member),
			edgesQuery(&out[k].In, `downstream_id = $1 ORDER BY upstream_id`, d.String()))
	}
	if err := s.reads("load joins", qs...); err != nil {
		return nil, err
	}
	for k, d := range ds {
		if !found[k] {
			return nil, ff.NotFound("execution", "%s", d)
		}
	}
	return out, nil
}

// LockExecutions locks and reads ids in id order, in one statement.
func (s *flowStore) LockExecutions(ids []ff.ExecutionID) (map[ff.ExecutionID]*ff.Execution, error) {
	strs := idStrings(ids)
	out := make(map[ff.ExecutionID]*ff.Execution, len(ids))
	err := s.read("lock executions", query{sql: `SELECT ` + recordColumns + recordFrom +
		` WHERE e.id = ANY($1::text[]) ORDER BY e.id FOR UPDATE OF e`, args: []any{strs},
		scan: func(rows pgx.Rows) error {
			for rows.Next() {
				e, err := scanRecord(rows)
				if err != nil {
					return err
				}
				out[e.ID] = e
			}
			return nil
		}})
	return out, err
}

func idStrings(ids []ff.ExecutionID) []string {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = id.String()
	}
	return strs
}

func (s *flowStore) SaveExecution(before, e *ff.Execution, fx *ff.Effects) error {
	if err := e.State.Check(); err != nil {
		return err
	}
	if s.pending == nil {
		s.pending = &pgx.Batch{}
	}
	s.wrote(e.ID)
	if fx != nil && len(fx.Events) > 0 {
		s.events = append(s.events, fx.Events...)
		rest := *fx
		rest.Events = nil
		fx = &rest
	}
	return queueRecordWrite(s.pending, before, e, fx)
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

func (s *flowStore) edges(where string, args ...any) ([]backend.FlowEdge, error) {
	var out []backend.FlowEdge
	err := s.read("read edges", edgesQuery(&out, where, args...))
	return out, err
}

func edgesQuery(out *[]backend.FlowEdge, where string, args ...any) query {
	return query{sql: `SELECT ` + edgeColumns + ` FROM ff_flow_edge WHERE ` + where, args: args,
		scan: func(rows pgx.Rows) (err error) { *out, err = scanEdges(rows); return err }}
}

func (s *flowStore) FlowEdges(flowID string) ([]backend.FlowEdge, error) {
	return s.edges(`flow_id = $1`, flowID)
}

func (s *flowStore) ResolveEdgesFrom(ups []ff.ExecutionID, states map[string]string, nowMs int64) ([]ff.ExecutionID, error) {
	strs := idStrings(ups)
	// Every upstream of the batch in one statement: unnest of the ids.
	return s.ids(`UPDATE ff_flow_edge SET state = CASE kind WHEN 'completion' THEN $1 ELSE $2 END, resolved_at_ms = $3
		WHERE upstream_id = ANY($4::text[]) AND state = 'unresolved' RETURNING downstream_id`,
		states[ff.EdgeCompletion], states[ff.EdgeSuccessOnly], nowMs, strs)
}

// InsertEdge stores ed and makes sure this transaction writes its
// upstream's row (a new version of it, content unchanged, unless the
// transaction already wrote it; every caller writes the downstream's):
// completeFlowSQL, which plans from a snapshot, completes an upstream only
// while its row is the version it planned from, so it never misses an
// edge that commits while it runs.
func (s *flowStore) InsertEdge(ed backend.FlowEdge) error {
	if !s.written[ed.Upstream] {
		s.queue(`UPDATE ff_execution SET updated_at_ms = updated_at_ms WHERE id = $1`, ed.Upstream.String())
		s.wrote(ed.Upstream)
	}
	var found bool
	err := s.read("insert edge", one(`INSERT INTO ff_flow_edge (`+edgeColumns+`, partition)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (upstream_id, downstream_id) DO NOTHING RETURNING 1`,
		&found, func(pgx.Row) error { return nil },
		ed.EdgeID, ed.FlowID, ed.Upstream.String(), ed.Downstream.String(), ed.Kind, ed.State, ed.CreatedAtMs,
		ed.ResolvedAtMs, int16(ed.Upstream.Partition)))
	if err != nil {
		return err
	}
	if !found {
		return ff.Conflict(ff.ErrDuplicateEdge, "edge %s → %s exists", ed.Upstream, ed.Downstream)
	}
	return nil
}

func (s *flowStore) SetEdgeState(flowID, edgeID, state string, nowMs int64) error {
	s.queue(`UPDATE ff_flow_edge SET state = $3, resolved_at_ms = $4 WHERE flow_id = $1 AND edge_id = $2`,
		flowID, edgeID, state, nowMs)
	return nil
}

// QueueCancels inserts the backlog rows with one statement over unnest
// (a cancel queues up to every member of the flow).
func (s *flowStore) QueueCancels(flowID string, partition uint16, ids []ff.ExecutionID) error {
	if len(ids) == 0 {
		return nil
	}
	strs := idStrings(ids)
	s.queue(`INSERT INTO ff_flow_cancel (flow_id, execution_id, partition)
		SELECT $1, x, $3 FROM unnest($2::text[]) AS x ON CONFLICT DO NOTHING`, flowID, strs, int16(partition))
	return nil
}

func (s *flowStore) CancelQueue(flowID string) (all, pending []ff.ExecutionID, err error) {
	err = s.read("cancel queue", query{sql: `SELECT execution_id, done FROM ff_flow_cancel WHERE flow_id = $1 ORDER BY execution_id`,
		args: []any{flowID}, scan: func(rows pgx.Rows) error {
			var id string
			var done bool
			_, err := pgx.ForEachRow(rows, []any{&id, &done}, func() error {
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
			return err
		}})
	return all, pending, err
}

// MarkCancelsDone marks the members done in one statement (unnest of
// the ids: a cancel works up to every member of the flow).
func (s *flowStore) MarkCancelsDone(flowID string, ids []ff.ExecutionID) error {
	if len(ids) == 0 {
		return nil
	}
	strs := idStrings(ids)
	s.queue(`UPDATE ff_flow_cancel SET done = true WHERE flow_id = $1 AND execution_id = ANY($2::text[])`, flowID, strs)
	return nil
}

func (s *flowStore) InsertEvents(events []ff.Event) error {
	s.events = append(s.events, events...)
	return nil
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

// openFlowStore is a flowStore over tx, its clock read in tx (the
// database's, or the test clock's).
func (b *Backend) openFlowStore(ctx context.Context, tx pgx.Tx, op string) (*flowStore, error) {
	s := &flowStore{ctx: ctx, b: b, tx: tx}
	if err := tx.QueryRow(ctx, `SELECT coalesce($1::bigint, ff_now_ms())`, b.nowArg()).Scan(&s.now); err != nil {
		return nil, mapPgError(op, err)
	}
	return s, nil
}

func (b *Backend) flowTxOnce(ctx context.Context, op string, fn func(s *flowStore) error) error {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return mapPgError(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	s, err := b.openFlowStore(ctx, tx, op)
	if err != nil {
		return err
	}
	ferr := fn(s)
	var keep *backend.KeepWrites
	if ferr != nil && !errors.As(ferr, &keep) {
		return ferr
	}
	if err := s.flush(); err != nil {
		return err
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

func (s *flowStore) EdgesInto(down ff.ExecutionID) ([]backend.FlowEdge, error) {
	return s.edges(`downstream_id = $1 ORDER BY upstream_id`, down.String())
}
