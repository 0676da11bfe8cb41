package postgres

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// completeFlowSQL restates backend.ResolveFlowEdgesMany for downstreams
// with one inbound edge. The parity test completes the same upstream
// twice from the same rows, once through the statement and once through
// the generic transaction, and requires every row of the flow to end the
// same: the upstream, the downstreams it decides alone (all_of and
// any_of), one it decides with an upstream that already ended (left by
// the statement to resolveLeftEdges), their edges, memberships and events.
func TestCompleteFlowSQLParity(t *testing.T) {
	require.Less(t, string(ff.EventCompletion), string(ff.EventFlow), "completeFlowSQL orders its events by type")
	p := newParityEnv(t)
	fl, err := p.b.CreateFlow(p.ctx, backend.CreateFlowParams{Kind: "parity", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: parityMember()},
		{Ref: "x", Execution: parityMember()},
		{Ref: "b", Execution: parityMember(), DependsOnRefs: []string{"a"}},
		{Ref: "c", Execution: parityMember(), DependsOnRefs: []string{"a"}, Join: &ff.JoinPolicy{Policy: ff.JoinAnyOf}},
		{Ref: "e", Execution: parityMember(), DependsOnRefs: []string{"a", "x"}},
	}})
	require.NoError(t, err)
	ids := fl.ExecutionIDs
	params := p.claimParams()
	params.Max = 2
	tasks, err := p.b.Claim(p.ctx, params)
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	require.NoError(t, p.b.Complete(p.ctx, backend.CompleteParams{Handle: p.handle(ids["x"])}))
	p.advance(7)

	members := []ff.ExecutionID{ids["a"], ids["b"], ids["c"], ids["e"]}
	before := p.captureFlow(fl.FlowID, members)
	ps := []backend.CompleteParams{{Handle: p.handle(ids["a"]), Result: []byte(`{"ok":1}`)}}
	errs := make([]error, 1)
	require.Empty(t, p.b.completeFlowMany(p.ctx, ps, []int{0}, errs), "the statement settled the completion")
	require.NoError(t, errs[0])
	p.clockStill()
	bySQL := p.captureFlow(fl.FlowID, members)
	for _, d := range []string{"b", "c", "e"} {
		require.Equal(t, string(ff.PublicWaiting), bySQL.execs[ids[d]].row["public_state"], d)
	}

	p.restoreFlow(fl.FlowID, members, before)
	require.Equal(t, before, p.captureFlow(fl.FlowID, members), "restore")
	p.b.completeSlowMany(p.ctx, ps, []int{0}, errs)
	require.NoError(t, errs[0])
	byGo := p.captureFlow(fl.FlowID, members)
	for _, id := range members {
		require.Equal(t, byGo.execs[id].row, bySQL.execs[id].row, "ff_execution row of %s: Go (expected) vs SQL", id)
		require.Equal(t, byGo.execs[id].attempts, bySQL.execs[id].attempts, "ff_attempt rows of %s", id)
		require.Equal(t, byGo.execs[id].events, bySQL.execs[id].events, "ff_event rows of %s", id)
	}
	require.Equal(t, byGo.edges, bySQL.edges, "ff_flow_edge rows")
	require.Equal(t, byGo.members, bySQL.members, "ff_flow_member rows")
}

func parityMember() backend.CreateExecutionParams {
	return backend.CreateExecutionParams{Lane: "parity", Kind: "k", Input: []byte(`{"in":1}`)}
}

// flowRows are the rows of a flow that a completion may write.
type flowRows struct {
	execs          map[ff.ExecutionID]parityState
	edges, members []map[string]any
}

func (p *parityEnv) captureFlow(flowID string, ids []ff.ExecutionID) flowRows {
	r := flowRows{execs: map[ff.ExecutionID]parityState{}}
	for _, id := range ids {
		r.execs[id] = p.capture(id)
	}
	var edges, members []byte
	require.NoError(p.t, p.b.pool.QueryRow(p.ctx, `SELECT
		(SELECT jsonb_agg(to_jsonb(ed) ORDER BY ed.edge_id) FROM ff_flow_edge ed WHERE ed.flow_id = $1),
		(SELECT jsonb_agg(to_jsonb(m) ORDER BY m.execution_id) FROM ff_flow_member m WHERE m.flow_id = $1)`,
		flowID).Scan(&edges, &members))
	decode(p.t, edges, &r.edges)
	decode(p.t, members, &r.members)
	return r
}

func (p *parityEnv) restoreFlow(flowID string, ids []ff.ExecutionID, r flowRows) {
	for _, id := range ids {
		p.restore(id, r.execs[id])
	}
	edges, _ := json.Marshal(r.edges)
	members, _ := json.Marshal(r.members)
	tx, err := p.b.pool.Begin(p.ctx)
	require.NoError(p.t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	for _, q := range []struct {
		sql string
		arg any
	}{
		{`DELETE FROM ff_flow_edge WHERE flow_id = $1`, flowID},
		{`INSERT INTO ff_flow_edge SELECT * FROM jsonb_populate_recordset(NULL::ff_flow_edge, $1)`, edges},
		{`DELETE FROM ff_flow_member WHERE flow_id = $1`, flowID},
		{`INSERT INTO ff_flow_member SELECT * FROM jsonb_populate_recordset(NULL::ff_flow_member, $1)`, members},
	} {
		_, err := tx.Exec(p.ctx, q.sql, q.arg)
		require.NoError(p.t, err, q.sql)
	}
	require.NoError(p.t, tx.Commit(p.ctx))
}

// heldEdge adds the edge up → down in a transaction it leaves open, and
// returns it with its transaction id.
func (p *parityEnv) heldEdge(flowID string, up, down ff.ExecutionID) (commit func(), xid int64) {
	tx, err := p.b.pool.Begin(p.ctx)
	require.NoError(p.t, err)
	p.t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	s, err := p.b.openFlowStore(p.ctx, tx, "test")
	require.NoError(p.t, err)
	params := backend.AddFlowEdgeParams{FlowID: flowID, Upstream: up, Downstream: down}
	require.NoError(p.t, params.Normalize())
	_, err = backend.AddFlowEdgeTx(s, params)
	require.NoError(p.t, err)
	require.NoError(p.t, s.flush())
	require.NoError(p.t, tx.QueryRow(p.ctx, `SELECT txid_current()`).Scan(&xid))
	return func() { require.NoError(p.t, tx.Commit(p.ctx)) }, xid
}

// completeWaitingOn completes the lease h in the background and returns
// once that statement waits for transaction xid's row locks.
func (p *parityEnv) completeWaitingOn(h ff.Handle, xid int64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.b.Complete(p.ctx, backend.CompleteParams{Handle: h}) }()
	require.Eventually(p.t, func() bool {
		var n int
		require.NoError(p.t, p.b.pool.QueryRow(p.ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'transactionid' AND transactionid::text::bigint = $1 AND NOT granted`, xid).Scan(&n))
		return n > 0
	}, 10*time.Second, 2*time.Millisecond, "the completion never waited for the edge's transaction")
	return done
}

func (p *parityEnv) edgeStates(flowID string) map[[2]ff.ExecutionID]string {
	edges, err := p.b.ListFlowEdges(p.ctx, backend.ListFlowEdgesParams{FlowID: flowID})
	require.NoError(p.t, err)
	out := map[[2]ff.ExecutionID]string{}
	for _, ed := range edges {
		out[[2]ff.ExecutionID{ed.Upstream, ed.Downstream}] = ed.State
	}
	return out
}

func (p *parityEnv) publicState(id ff.ExecutionID) ff.PublicState {
	e, err := p.b.loadRecord(p.ctx, id)
	require.NoError(p.t, err)
	return e.State.PublicState
}

// raceEdge creates a flow of a (claimed), its downstream on a's lane
// and another member on another lane, then completes a while a
// transaction adding the edge ref up → ref down holds its rows, and
// commits that transaction once the completion waits for it.
func (p *parityEnv) raceEdge(downstream, other, up, down string) backend.CreateFlowResult {
	fl, err := p.b.CreateFlow(p.ctx, backend.CreateFlowParams{Kind: "race", Members: []backend.FlowMemberParams{
		{Ref: "a", Execution: parityMember()},
		{Ref: downstream, Execution: parityMember(), DependsOnRefs: []string{"a"}},
		{Ref: other, Execution: backend.CreateExecutionParams{Lane: "elsewhere", Kind: "k"}},
	}})
	require.NoError(p.t, err)
	p.claim()
	h := p.handle(fl.ExecutionIDs["a"])
	commit, xid := p.heldEdge(fl.FlowID, fl.ExecutionIDs[up], fl.ExecutionIDs[down])
	done := p.completeWaitingOn(h, xid)
	commit()
	require.NoError(p.t, <-done)
	return fl
}

// An edge out of a running upstream that commits while the upstream's
// completion statement waits for its row is resolved by that completion:
// the statement planned without the edge, so it leaves the upstream to
// the generic path, which sees it.
func TestCompleteFlowSeesEdgeFromUpstreamAddedMeanwhile(t *testing.T) {
	p := newParityEnv(t)
	fl := p.raceEdge("b", "c", "a", "c")
	a, b, c := fl.ExecutionIDs["a"], fl.ExecutionIDs["b"], fl.ExecutionIDs["c"]
	require.Equal(t, map[[2]ff.ExecutionID]string{{a, b}: ff.EdgeSatisfied, {a, c}: ff.EdgeSatisfied}, p.edgeStates(fl.FlowID))
	require.Equal(t, ff.PublicWaiting, p.publicState(b))
	require.Equal(t, ff.PublicWaiting, p.publicState(c))
}

// A downstream that gains a second inbound edge while its only
// upstream's completion statement waits for it is not promoted by that
// statement: its join is decided under its lock with both edges (the new
// one unresolved, so it stays blocked).
func TestCompleteFlowSeesEdgeIntoDownstreamAddedMeanwhile(t *testing.T) {
	p := newParityEnv(t)
	fl := p.raceEdge("d", "y", "y", "d")
	a, d, y := fl.ExecutionIDs["a"], fl.ExecutionIDs["d"], fl.ExecutionIDs["y"]
	require.Equal(t, map[[2]ff.ExecutionID]string{{a, d}: ff.EdgeSatisfied, {y, d}: ff.EdgeUnresolved}, p.edgeStates(fl.FlowID))
	require.Equal(t, ff.PublicWaitingChildren, p.publicState(d), "d waits for y")
	require.Equal(t, ff.PublicCompleted, p.publicState(a))
}
