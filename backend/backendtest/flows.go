package backendtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Flows (issue 11): DAGs of executions, edges resolved in the transaction
// that ends their upstream, joins, skip propagation, cancellation.

func init() {
	register("Flows/DAGRunsInOrder", testFlowDAG)
	register("Flows/CreateIsIdempotent", testFlowIdempotent)
	register("Flows/MemberCreateAndSkipPropagates", testFlowSkip)
	register("Flows/ReplaySkippedMember", testFlowReplaySkipped)
	register("Flows/AnyOfCancelRemaining", testFlowAnyOfCancel)
	register("Flows/QuorumImpossible", testFlowQuorum)
	register("Flows/EdgeRefusals", testFlowEdgeRefusals)
	register("Flows/CreateRefusalsWriteNothing", testFlowCreateRefusals)
	register("Flows/AddExecutionAndEdge", testFlowAddExecution)
	register("Flows/ConcurrentCycleEdges", testFlowConcurrentCycle)
	register("Flows/ConcurrentUpstreamsPromoteOnce", testFlowPromoteOnce)
	register("Flows/EdgesAddedWhileUpstreamsComplete", testFlowEdgesRacingCompletions)
	register("Flows/CancelAllWait", testFlowCancelAll)
	register("Flows/CancelPendingLeavesRunning", testFlowCancelPending)
	register("Flows/CancelAsyncBacklogAfterRestart", testFlowCancelAsync)
	register("Flows/CancelRacingCompletion", testFlowCancelRace)
	register("Flows/WaitChildrenResumes", testFlowWaitChildren)
	register("Flows/RepairResolvesMissedEdges", testFlowRepair)
	register("Flows/ListAndDescribe", testFlowList)
	register("Flows/PlainExecutionsCarryNoHook", testFlowPlainNoHook)
	register("Flows/Stats", testFlowStats)
}

type flowEnv struct{ *env }

func newFlowEnv(t *testing.T, h Harness) flowEnv {
	if !h.Backend.Capabilities().Supports.Flows {
		t.Skip("store without flows")
	}
	return flowEnv{newEnv(t, h)}
}

// member is a flow member params with ref and upstream refs on lane.
func member(ref, lane string, ups ...string) backend.FlowMemberParams {
	return backend.FlowMemberParams{Ref: ref, DependsOnRefs: ups,
		Execution: backend.CreateExecutionParams{Lane: lane, Kind: "step", Input: []byte(`{"ref":"` + ref + `"}`)}}
}

func (e flowEnv) createFlow(members ...backend.FlowMemberParams) backend.CreateFlowResult {
	e.t.Helper()
	res, err := e.b.CreateFlow(e.ctx, backend.CreateFlowParams{Kind: "pipeline", Members: members})
	require.NoError(e.t, err)
	require.False(e.t, res.Existing)
	require.Len(e.t, res.ExecutionIDs, len(members))
	return res
}

func (e flowEnv) describe(id string) backend.FlowSnapshot {
	e.t.Helper()
	s, err := e.b.DescribeFlow(e.ctx, backend.DescribeFlowParams{FlowID: id})
	require.NoError(e.t, err)
	return s
}

func (e flowEnv) complete(task backend.ClaimedTask) {
	e.t.Helper()
	require.NoError(e.t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`{"done":"` + task.ExecutionID.String() + `"}`)}))
}

func (e flowEnv) failHard(task backend.ClaimedTask) {
	e.t.Helper()
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "boom", Classification: ff.FailurePermanent})
	require.NoError(e.t, err)
}

// claimID claims on lane and requires it hands out id.
func (e flowEnv) claimID(lane string, id ff.ExecutionID) backend.ClaimedTask {
	e.t.Helper()
	task := e.claim(lane)
	require.Equal(e.t, id, task.ExecutionID)
	return task
}

// completionEventsOf reads id's completion events from the outbox
// directly when the store offers the probe (the cursor reader may hold
// back rows of a busy shared server for a while), else through
// ReadCompletions.
func (e flowEnv) completionEventsOf(id ff.ExecutionID) []backend.CompletionEvent {
	e.t.Helper()
	if e.h.Events == nil {
		return e.completionsFor(id)
	}
	var out []backend.CompletionEvent
	for _, ev := range e.h.Events(e.t) {
		if ev.Type == ff.EventCompletion && ev.ExecutionID == id {
			out = append(out, backend.CompletionEvent{ExecutionID: id, Outcome: ff.TerminalOutcome(ev.Action)})
		}
	}
	return out
}

// oneCompletionOf asserts id has exactly one completion event, of want.
func (e flowEnv) oneCompletionOf(id ff.ExecutionID, want ff.TerminalOutcome) {
	e.t.Helper()
	evs := e.completionEventsOf(id)
	require.Len(e.t, evs, 1, "want exactly one completion event for %s", id)
	require.Equal(e.t, want, evs[0].Outcome)
}

// flowEvents returns the flow events with action.
func (e flowEnv) flowEvents(action string) []ff.Event {
	e.t.Helper()
	if e.h.Events == nil {
		e.t.Skip("store without an events probe")
	}
	var out []ff.Event
	for _, ev := range e.h.Events(e.t) {
		if ev.Type == ff.EventFlow && ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func testFlowDAG(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("a", "dag"), member("b", "dag", "a"), member("c", "dag", "a"), member("d", "dag", "b", "c"))
	ids := f.ExecutionIDs
	require.Equal(t, ff.FlowOpen, f.PublicFlowState)
	e.state(ids["a"], ff.PublicWaiting)
	for _, r := range []string{"b", "c", "d"} {
		s := e.state(ids[r], ff.PublicWaitingChildren)
		require.Equal(t, ff.BlockedByDependencies, s.StateVector.EligibilityState)
		require.Equal(t, ids["a"].Partition, ids[r].Partition, "members share the flow's partition")
	}
	ta := e.claimID("dag", ids["a"])
	e.claimNone("dag")
	require.Equal(t, ff.FlowRunning, e.describe(f.FlowID).PublicFlowState)
	e.complete(ta)
	e.state(ids["b"], ff.PublicWaiting)
	e.state(ids["c"], ff.PublicWaiting)
	e.state(ids["d"], ff.PublicWaitingChildren)
	tb, tc := e.claim("dag"), e.claim("dag")
	require.ElementsMatch(t, []ff.ExecutionID{ids["b"], ids["c"]}, []ff.ExecutionID{tb.ExecutionID, tc.ExecutionID})
	e.complete(tb)
	e.state(ids["d"], ff.PublicWaitingChildren)
	e.complete(tc)
	e.complete(e.claimID("dag", ids["d"]))
	snap := e.describe(f.FlowID)
	require.Equal(t, ff.FlowCompleted, snap.PublicFlowState)
	require.Len(t, snap.Members, 4)
	require.Len(t, snap.Edges, 4)
	for _, ed := range snap.Edges {
		require.Equal(t, ff.EdgeSatisfied, ed.State)
	}
	ups, err := e.b.UpstreamResults(e.ctx, backend.UpstreamResultsParams{ExecutionID: ids["d"]})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	for _, u := range ups {
		require.Equal(t, ff.PublicCompleted, u.PublicState)
		require.JSONEq(t, `{"done":"`+u.ExecutionID.String()+`"}`, string(u.Result))
	}
	require.Len(t, e.flowEvents(ff.FlowEventJoinSatisfied), 3)
	require.Len(t, e.flowEvents(ff.FlowEventCreated), 1)
}

func testFlowIdempotent(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	id := uuid.NewString()
	p := backend.CreateFlowParams{FlowID: id, Kind: "k", Members: []backend.FlowMemberParams{member("x", "idem"), member("y", "idem", "x")}}
	first, err := e.b.CreateFlow(e.ctx, p)
	require.NoError(t, err)
	again, err := e.b.CreateFlow(e.ctx, p)
	require.NoError(t, err)
	require.True(t, again.Existing)
	require.Equal(t, first.ExecutionIDs, again.ExecutionIDs)
	require.Len(t, e.listAll(backend.ListExecutionsParams{}), 2, "the repeat created nothing")
}

func testFlowSkip(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow()
	a := e.create(backend.CreateExecutionParams{Lane: "skip", FlowID: f.FlowID})
	b := e.create(backend.CreateExecutionParams{Lane: "skip", FlowID: f.FlowID, DependsOn: []ff.ExecutionID{a}})
	c := e.create(backend.CreateExecutionParams{Lane: "skip", FlowID: f.FlowID, DependsOn: []ff.ExecutionID{b}})
	e.state(b, ff.PublicWaitingChildren)
	e.failHard(e.claimID("skip", a))
	e.state(b, ff.PublicSkipped)
	e.state(c, ff.PublicSkipped)
	e.oneCompletionOf(b, ff.OutcomeSkipped)
	e.oneCompletionOf(c, ff.OutcomeSkipped)
	e.claimNone("skip")
	snap := e.describe(f.FlowID)
	require.Equal(t, ff.FlowFailed, snap.PublicFlowState)
	for _, ed := range snap.Edges {
		require.Equal(t, ff.EdgeImpossible, ed.State)
	}
	// A member created after its upstream ended settles at once.
	d := e.create(backend.CreateExecutionParams{Lane: "skip", FlowID: f.FlowID, DependsOn: []ff.ExecutionID{c}})
	e.state(d, ff.PublicSkipped)
}

// A replayed skipped member waits on its reset edges until its upstream,
// replayed in turn, completes; then it runs as a replay attempt.
func testFlowReplaySkipped(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow()
	a := e.create(backend.CreateExecutionParams{Lane: "rs", FlowID: f.FlowID})
	b := e.create(backend.CreateExecutionParams{Lane: "rs", FlowID: f.FlowID, DependsOn: []ff.ExecutionID{a}})
	e.failHard(e.claimID("rs", a))
	e.state(b, ff.PublicSkipped)
	replay := func(id ff.ExecutionID) ff.PublicState {
		st, err := e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
		require.NoError(t, err)
		return st
	}
	require.Equal(t, ff.PublicWaitingChildren, replay(b))
	e.state(b, ff.PublicWaitingChildren)
	e.claimNone("rs")
	for _, ed := range e.describe(f.FlowID).Edges {
		require.Equal(t, ff.EdgeUnresolved, ed.State, "the skipped member's edge is reset")
	}
	require.Equal(t, ff.PublicWaiting, replay(a))
	e.complete(e.claimID("rs", a))
	e.state(b, ff.PublicWaiting)
	task := e.claimID("rs", b)
	require.Equal(t, ff.AttemptReplay, task.AttemptType)
	e.complete(task)
	e.state(b, ff.PublicCompleted)
	require.Equal(t, ff.FlowCompleted, e.describe(f.FlowID).PublicFlowState)
}

func testFlowAnyOfCancel(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow()
	u1 := e.create(backend.CreateExecutionParams{Lane: "any", FlowID: f.FlowID})
	u2 := e.create(backend.CreateExecutionParams{Lane: "any", FlowID: f.FlowID})
	u3 := e.create(backend.CreateExecutionParams{Lane: "any", FlowID: f.FlowID})
	d := e.create(backend.CreateExecutionParams{Lane: "any-d", FlowID: f.FlowID, DependsOn: []ff.ExecutionID{u1, u2, u3},
		Join: &ff.JoinPolicy{Policy: ff.JoinAnyOf, OnSatisfied: ff.OnSatisfiedCancelRemaining}})
	t1, t2 := e.claim("any"), e.claim("any")
	byID := map[ff.ExecutionID]backend.ClaimedTask{t1.ExecutionID: t1, t2.ExecutionID: t2}
	winner, loser := byID[u1], byID[u2]
	if winner.ExecutionID.IsZero() {
		winner, loser = byID[u2], byID[u3]
		if loser.ExecutionID.IsZero() {
			loser = byID[u1]
		}
	}
	if loser.ExecutionID.IsZero() {
		for id, task := range byID {
			if id != winner.ExecutionID {
				loser = task
			}
		}
	}
	e.complete(winner)
	e.state(d, ff.PublicWaiting)
	for _, u := range []ff.ExecutionID{u1, u2, u3} {
		if u != winner.ExecutionID {
			s := e.state(u, ff.PublicCancelled)
			require.Contains(t, s.CancelReason, "join of "+d.String())
		}
	}
	err := e.b.Complete(e.ctx, backend.CompleteParams{Handle: loser.Handle})
	requireKind(t, err, ff.ErrLeaseRevoked, "the cancelled sibling's lease is revoked")
	e.complete(e.claimID("any-d", d))
	e.claimNone("any")
	require.Equal(t, ff.FlowCompleted, e.describe(f.FlowID).PublicFlowState, "losing siblings do not fail the flow")
}

func testFlowQuorum(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow()
	var ups []ff.ExecutionID
	for range 3 {
		ups = append(ups, e.create(backend.CreateExecutionParams{Lane: "quo", FlowID: f.FlowID}))
	}
	for _, n := range []int{0, 4} {
		_, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "quo-d", Kind: "k", FlowID: f.FlowID,
			DependsOn: ups, Join: &ff.JoinPolicy{Policy: ff.JoinQuorum, N: n}})
		requireKind(t, err, ff.ErrInvalidInput, "quorum n=%d", n)
	}
	d := e.create(backend.CreateExecutionParams{Lane: "quo-d", FlowID: f.FlowID, DependsOn: ups,
		Join: &ff.JoinPolicy{Policy: ff.JoinQuorum, N: 2}})
	e.failHard(e.claim("quo"))
	e.state(d, ff.PublicWaitingChildren)
	e.failHard(e.claim("quo"))
	e.state(d, ff.PublicSkipped)
	e.complete(e.claim("quo"))
	e.state(d, ff.PublicSkipped)
	require.Len(t, e.flowEvents(ff.FlowEventJoinImpossible), 1, "a join fires once")
}

func testFlowEdgeRefusals(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("a", "ref"), member("b", "ref", "a"), member("c", "ref"))
	ids := f.ExecutionIDs
	other := e.createFlow(member("z", "ref"))
	add := func(up, down ff.ExecutionID, rev *int64) error {
		_, err := e.b.AddFlowEdge(e.ctx, backend.AddFlowEdgeParams{FlowID: f.FlowID, Upstream: up, Downstream: down, ExpectedGraphRevision: rev})
		return err
	}
	rev := e.describe(f.FlowID).GraphRevision
	requireKind(t, add(ids["b"], ids["a"], nil), ff.ErrCycleDetected)
	requireKind(t, add(ids["a"], ids["a"], nil), ff.ErrCycleDetected)
	requireKind(t, add(ids["a"], ids["b"], nil), ff.ErrDuplicateEdge)
	requireKind(t, add(ids["a"], ids["c"], ptr(rev+7)), ff.ErrStaleGraphRevision)
	requireKind(t, add(other.ExecutionIDs["z"], ids["c"], nil), ff.ErrNotFlowMember)
	requireKind(t, add(e.createIn("ref-plain"), ids["c"], nil), ff.ErrNotFlowMember)
	e.claimID("ref", ids["a"]) // a or c: both are ready; a is the first created
	requireKind(t, add(ids["c"], ids["a"], nil), ff.ErrNotEligible, "a downstream that started")
	_, err := e.b.AddFlowEdge(e.ctx, backend.AddFlowEdgeParams{FlowID: uuid.NewString(), Upstream: ids["a"], Downstream: ids["c"]})
	requireKind(t, err, ff.ErrNotFound)
	snap := e.describe(f.FlowID)
	require.Equal(t, rev, snap.GraphRevision, "no refusal changed the graph")
	require.Len(t, snap.Edges, 1)
	res, err := e.b.AddFlowEdge(e.ctx, backend.AddFlowEdgeParams{FlowID: f.FlowID, Upstream: ids["a"], Downstream: ids["c"], ExpectedGraphRevision: ptr(rev)})
	require.NoError(t, err)
	require.Equal(t, rev+1, res.GraphRevision)
	e.state(ids["c"], ff.PublicWaitingChildren)
}

func testFlowCreateRefusals(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	cases := map[ff.ErrorKind][]backend.FlowMemberParams{
		ff.ErrCycleDetected:   {member("a", "cr", "b"), member("b", "cr", "a")},
		ff.ErrInvalidInput:    {member("a", "cr", "ghost")},
		ff.ErrDuplicateEdge:   {member("a", "cr"), member("b", "cr", "a", "a")},
		ff.ErrPayloadTooLarge: make([]backend.FlowMemberParams, ff.MaxFlowRequestExecutions+1),
	}
	for kind, ms := range cases {
		_, err := e.b.CreateFlow(e.ctx, backend.CreateFlowParams{Kind: "k", Members: ms})
		requireKind(t, err, kind)
	}
	bad := []backend.FlowMemberParams{member("a", "cr"), member("b", "cr", "a")}
	bad[1].Execution.Kind = ""
	_, err := e.b.CreateFlow(e.ctx, backend.CreateFlowParams{Kind: "k", Members: bad})
	requireKind(t, err, ff.ErrInvalidInput)
	e.nothingWritten()
	page, err := e.b.ListFlows(e.ctx, backend.ListFlowsParams{})
	require.NoError(t, err)
	require.Empty(t, page.Flows, "no refusal created a flow")
	_, err = e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Kind: "k", FlowID: uuid.NewString()})
	requireKind(t, err, ff.ErrNotFound)
}

func testFlowAddExecution(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("a", "add"))
	u, _ := uuid.Parse(f.FlowID)
	x := e.create(backend.CreateExecutionParams{Lane: "add", ExecutionID: ff.NewFlowMemberID(u)})
	res, err := e.b.AddExecutionToFlow(e.ctx, backend.AddExecutionToFlowParams{FlowID: f.FlowID, ExecutionID: x})
	require.NoError(t, err)
	again, err := e.b.AddExecutionToFlow(e.ctx, backend.AddExecutionToFlowParams{FlowID: f.FlowID, ExecutionID: x})
	require.NoError(t, err)
	require.True(t, again.AlreadyMember)
	require.Equal(t, res.GraphRevision, again.GraphRevision)
	other := e.createFlow()
	_, err = e.b.AddExecutionToFlow(e.ctx, backend.AddExecutionToFlowParams{FlowID: other.FlowID, ExecutionID: x})
	requireKind(t, err, ff.ErrNotFlowMember, "a member of another flow")
	_, err = e.b.AddFlowEdge(e.ctx, backend.AddFlowEdgeParams{FlowID: f.FlowID, Upstream: f.ExecutionIDs["a"], Downstream: x})
	require.NoError(t, err)
	e.state(x, ff.PublicWaitingChildren)
	e.complete(e.claimID("add", f.ExecutionIDs["a"]))
	e.claimID("add", x)
}

func testFlowConcurrentCycle(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	for range 5 {
		f := e.createFlow(member("a", "cyc"), member("b", "cyc"))
		a, b := f.ExecutionIDs["a"], f.ExecutionIDs["b"]
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, pair := range [][2]ff.ExecutionID{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.b.AddFlowEdge(e.ctx, backend.AddFlowEdgeParams{FlowID: f.FlowID, Upstream: pair[0], Downstream: pair[1]})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				requireKind(t, err, ff.ErrCycleDetected)
			}
		}
		require.Equal(t, 1, ok, "exactly one of two cycle-closing edges commits")
		require.Len(t, e.describe(f.FlowID).Edges, 1)
	}
}

func testFlowPromoteOnce(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	for range 3 {
		f := e.createFlow(member("u1", "once"), member("u2", "once"), member("d", "once-d", "u1", "u2"))
		t1, t2 := e.claim("once"), e.claim("once")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, task := range []backend.ClaimedTask{t1, t2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle})
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		e.state(f.ExecutionIDs["d"], ff.PublicWaiting)
		e.claimID("once-d", f.ExecutionIDs["d"])
		e.claimNone("once-d")
	}
	require.Len(t, e.flowEvents(ff.FlowEventJoinSatisfied), 3, "each join fired exactly once")
}

// Edges added while their upstreams complete: whatever the interleaving,
// no edge out of a completed upstream stays unresolved, a downstream that
// gained an inbound edge from a member that never runs stays blocked, and
// one whose only edge comes from a completed upstream is claimable. Pair
// i: root ri (running, completed by one goroutine while another adds the
// edges xi → di and ri → yi); di depends on ri from the start.
func testFlowEdgesRacingCompletions(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	const n = 12
	var ms []backend.FlowMemberParams
	for i := range n {
		r, d, x, y := fmt.Sprint("r", i), fmt.Sprint("d", i), fmt.Sprint("x", i), fmt.Sprint("y", i)
		ms = append(ms, member(r, "er"), member(d, "er-down", r), member(x, "er-idle"), member(y, "er-down"))
	}
	f := e.createFlow(ms...)
	ids := f.ExecutionIDs
	tasks := make(map[ff.ExecutionID]backend.ClaimedTask, n)
	for range n {
		task := e.claim("er")
		tasks[task.ExecutionID] = task
	}
	edge := func(up, down string) error {
		_, err := e.b.AddFlowEdge(e.ctx, backend.AddFlowEdgeParams{FlowID: f.FlowID, Upstream: ids[up], Downstream: ids[down]})
		return err
	}
	errs := runConcurrently(func() error {
		for i := range n {
			if err := e.b.Complete(e.ctx, backend.CompleteParams{Handle: tasks[ids[fmt.Sprint("r", i)]].Handle}); err != nil {
				return err
			}
		}
		return nil
	}, func() error {
		for i := range n {
			if err := errors.Join(edge(fmt.Sprint("x", i), fmt.Sprint("d", i)), edge(fmt.Sprint("r", i), fmt.Sprint("y", i))); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, errors.Join(errs...))
	snap := e.describe(f.FlowID)
	states := map[ff.ExecutionID]ff.PublicState{}
	for _, m := range snap.Members {
		states[m.ExecutionID] = m.PublicState
	}
	for _, ed := range snap.Edges {
		if states[ed.Upstream] == ff.PublicCompleted {
			require.Equal(t, ff.EdgeSatisfied, ed.State, "edge %s → %s out of a completed upstream", ed.Upstream, ed.Downstream)
		}
	}
	for i := range n {
		require.Equal(t, ff.PublicWaitingChildren, states[ids[fmt.Sprint("d", i)]], "d%d waits for x%d", i, i)
		require.Equal(t, ff.PublicWaiting, states[ids[fmt.Sprint("y", i)]], "y%d's only upstream completed", i)
	}
}

func testFlowCancelAll(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("a", "ca"), member("b", "ca", "a"), member("c", "ca", "b"), member("x", "ca"))
	ids := f.ExecutionIDs
	running := e.claim("ca")
	res, err := e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: f.FlowID, Reason: "stop", Wait: true})
	require.NoError(t, err)
	require.Equal(t, ff.CancelFlowAll, res.Policy)
	require.Len(t, res.Members, 4)
	require.Zero(t, res.Pending)
	for _, id := range ids {
		s := e.state(id, ff.PublicCancelled)
		require.Equal(t, "stop", s.CancelReason)
		e.oneCompletionOf(id, ff.OutcomeCancelled)
	}
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: running.Handle}), ff.ErrLeaseRevoked)
	again, err := e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: f.FlowID, Policy: ff.CancelFlowOnly, Wait: true})
	require.NoError(t, err)
	require.True(t, again.Repeated)
	require.Equal(t, ff.CancelFlowAll, again.Policy, "a repeat answers the first policy")
	require.ElementsMatch(t, res.Members, again.Members)
	snap := e.describe(f.FlowID)
	require.Equal(t, ff.FlowCancelled, snap.PublicFlowState)
	require.Equal(t, "stop", snap.CancelReason)
	require.Len(t, e.flowEvents(ff.FlowEventCancelled), 1)
	_, err = e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Kind: "k", FlowID: f.FlowID})
	requireKind(t, err, ff.ErrNotEligible, "a cancelled flow takes no member")
	_, err = e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: uuid.NewString()})
	requireKind(t, err, ff.ErrNotFound)
}

func testFlowCancelPending(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("a", "cp"), member("b", "cp-b", "a"))
	ta := e.claimID("cp", f.ExecutionIDs["a"])
	res, err := e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: f.FlowID, Policy: ff.CancelFlowPending, Wait: true})
	require.NoError(t, err)
	require.Equal(t, []ff.ExecutionID{f.ExecutionIDs["b"]}, res.Members)
	e.state(f.ExecutionIDs["b"], ff.PublicCancelled)
	e.state(f.ExecutionIDs["a"], ff.PublicActive)
	e.complete(ta)
	e.claimNone("cp-b")
}

func testFlowCancelAsync(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("a", "as"), member("b", "as", "a"), member("c", "as"))
	res, err := e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: f.FlowID})
	require.NoError(t, err)
	require.Equal(t, 3, res.Pending)
	e.state(f.ExecutionIDs["a"], ff.PublicWaiting)
	b := e.b
	if h.Reopen != nil {
		b = h.Reopen(t)
		e.b = b
	}
	n, err := b.WorkFlowCancels(e.ctx, backend.SweepParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = b.WorkFlowCancels(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for _, id := range f.ExecutionIDs {
		e.state(id, ff.PublicCancelled)
	}
	again, err := b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: f.FlowID})
	require.NoError(t, err)
	require.Zero(t, again.Pending)
	require.Len(t, again.Members, 3)
}

func testFlowCancelRace(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	for range 4 {
		f := e.createFlow(member("a", "race"), member("b", "race-b", "a"))
		a := f.ExecutionIDs["a"]
		task := e.claimID("race", a)
		var wg sync.WaitGroup
		var cerr, ferr error
		wg.Add(2)
		go func() { defer wg.Done(); cerr = e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}) }()
		go func() {
			defer wg.Done()
			_, ferr = e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: f.FlowID, Wait: true})
		}()
		wg.Wait()
		require.NoError(t, ferr)
		evs := e.completionEventsOf(a)
		require.Len(t, evs, 1, "exactly one outcome (complete: %v, state %s)", cerr, e.consistent(a).PublicState)
		if cerr == nil {
			require.Equal(t, ff.OutcomeSuccess, evs[0].Outcome)
			e.state(a, ff.PublicCompleted)
		} else {
			requireKind(t, cerr, ff.ErrLeaseRevoked)
			require.Equal(t, ff.OutcomeCancelled, evs[0].Outcome)
			e.state(a, ff.PublicCancelled)
		}
		e.state(f.ExecutionIDs["b"], ff.PublicCancelled)
		require.Equal(t, ff.FlowCancelled, e.describe(f.FlowID).PublicFlowState)
	}
}

func testFlowWaitChildren(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	f := e.createFlow(member("parent", "wc"))
	pt := e.claimID("wc", f.ExecutionIDs["parent"])
	kids, err := e.b.SpawnChildren(e.ctx, backend.SpawnChildrenParams{Handle: pt.Handle, Children: []backend.CreateExecutionParams{
		{Lane: "wc-kid", Kind: "kid", Input: []byte(`1`)}, {Lane: "wc-kid", Kind: "kid", Input: []byte(`2`)}}})
	require.NoError(t, err)
	require.Len(t, kids, 2)
	res, err := e.b.WaitChildren(e.ctx, backend.WaitChildrenParams{Handle: pt.Handle})
	require.NoError(t, err)
	require.False(t, res.Ready)
	s := e.state(pt.ExecutionID, ff.PublicWaitingChildren)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: pt.Handle}), ff.ErrExecutionNotActive)
	e.complete(e.claim("wc-kid"))
	e.claimNone("wc")
	e.failHard(e.claim("wc-kid"))
	resumed := e.claimID("wc", pt.ExecutionID)
	require.Equal(t, ff.AttemptResume, resumed.AttemptType)
	require.Equal(t, pt.AttemptIndex, resumed.AttemptIndex)
	ups, err := e.b.UpstreamResults(e.ctx, backend.UpstreamResultsParams{ExecutionID: pt.ExecutionID})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	states := []ff.PublicState{ups[0].PublicState, ups[1].PublicState}
	require.ElementsMatch(t, []ff.PublicState{ff.PublicCompleted, ff.PublicFailed}, states)
	// Children already done: waiting again keeps the lease.
	res, err = e.b.WaitChildren(e.ctx, backend.WaitChildrenParams{Handle: resumed.Handle})
	require.NoError(t, err)
	require.True(t, res.Ready)
	e.complete(resumed)
	// A parent outside any flow cannot spawn.
	plain := e.createIn("wc-plain")
	_, err = e.b.SpawnChildren(e.ctx, backend.SpawnChildrenParams{Handle: e.claimID("wc-plain", plain).Handle,
		Children: []backend.CreateExecutionParams{{Kind: "kid"}}})
	requireKind(t, err, ff.ErrNotFlowMember)
}

func testFlowRepair(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	if h.SetHooks == nil {
		t.Skip("store without a hooks probe")
	}
	f := e.createFlow(member("a", "rep"), member("b", "rep", "a"))
	h.SetHooks(t, f.ExecutionIDs["a"], 0) // as if the end were written by a path that skips resolution
	e.complete(e.claimID("rep", f.ExecutionIDs["a"]))
	e.state(f.ExecutionIDs["b"], ff.PublicWaitingChildren)
	n, err := e.b.RepairFlowEdges(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e.state(f.ExecutionIDs["b"], ff.PublicWaiting)
	n, err = e.b.RepairFlowEdges(e.ctx, backend.SweepParams{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, n)
}

func testFlowList(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	var want []string
	for range 3 {
		want = append(want, e.createFlow(member("a", "list")).FlowID)
	}
	var got []string
	p := backend.ListFlowsParams{Limit: 2}
	for range 5 {
		page, err := e.b.ListFlows(e.ctx, p)
		require.NoError(t, err)
		for _, f := range page.Flows {
			got = append(got, f.FlowID)
			require.Equal(t, ff.FlowOpen, f.PublicFlowState)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	require.ElementsMatch(t, want, got)
	_, err := e.b.DescribeFlow(e.ctx, backend.DescribeFlowParams{FlowID: uuid.NewString()})
	requireKind(t, err, ff.ErrNotFound)
	_, err = e.b.DescribeFlow(e.ctx, backend.DescribeFlowParams{FlowID: "nope"})
	requireKind(t, err, ff.ErrInvalidInput)
	_, err = e.b.ListFlows(e.ctx, backend.ListFlowsParams{Limit: 1001})
	requireKind(t, err, ff.ErrInvalidInput)
}

func testFlowPlainNoHook(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	if h.Hooks == nil {
		t.Skip("store without a hooks probe")
	}
	plain := e.createIn("plain")
	require.Zero(t, h.Hooks(t, plain))
	f := e.createFlow(member("a", "plain"), member("b", "plain", "a"))
	require.Equal(t, ff.HookFlow, h.Hooks(t, f.ExecutionIDs["a"]), "an upstream carries HookFlow")
	require.Zero(t, h.Hooks(t, f.ExecutionIDs["b"]), "a member without outgoing edges does not")
}

func testFlowStats(t *testing.T, h Harness) {
	e := newFlowEnv(t, h)
	done := e.createFlow(member("a", "st"), member("b", "st-b", "a"))
	e.createFlow(member("x", "st-x"))
	e.complete(e.claimID("st", done.ExecutionIDs["a"]))
	e.complete(e.claimID("st-b", done.ExecutionIDs["b"]))
	cancelled := e.createFlow(member("y", "st-y"))
	_, err := e.b.CancelFlow(e.ctx, backend.CancelFlowParams{FlowID: cancelled.FlowID, Wait: true})
	require.NoError(t, err)
	st, err := e.b.FlowStats(e.ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{ff.FlowCompleted: 1, ff.FlowOpen: 1, ff.FlowCancelled: 1}, st.Flows)
	require.Equal(t, map[string]int{ff.EdgeSatisfied: 1}, st.Edges)
}
