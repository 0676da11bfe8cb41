package backendtest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Operator control (spec streams/events/operator §6): change priority,
// replay, revoke lease, pause and resume lanes, bulk forms; each action
// writes one operator event naming who and why.

func init() {
	register("Operator/ChangePriorityReordersClaims", testOperatorChangePriority)
	register("Operator/ChangePriorityRefusals", testOperatorChangePriorityRefusals)
	register("Operator/ReplayTerminal", testOperatorReplay)
	register("Operator/ReplayRefusalsAndCap", testOperatorReplayRefusals)
	register("Operator/ReplayAfterRevokingCancel", testOperatorReplayAfterCancel)
	register("Operator/RevokeLease", testOperatorRevokeLease)
	register("Operator/PauseLane", testOperatorPauseLane)
	register("Operator/BulkReplayAndCancel", testOperatorBulk)
	register("Race/ReplayVersusClaim", testRaceReplayVersusClaim)
	register("Race/RevokeVersusComplete", testRaceRevokeVersusComplete)
}

var alice = ff.Actor{Source: "alice", Reason: "on call"}

// operatorEvents returns the n operator events about id (or lane, for
// lane events: id zero), their data decoded.
func (e *env) operatorEvents(id ff.ExecutionID, lane string, n int) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	p := backend.ReadEventsParams{Types: []ff.EventType{ff.EventOperator}}
	for _, ev := range e.eventsOf(p, n, func(ev backend.EventRecord) bool {
		return ev.ExecutionID == id && (lane == "" || ev.Lane == lane)
	}) {
		m := map[string]any{}
		if raw, ok := ev.Data.(json.RawMessage); ok {
			require.NoError(e.t, json.Unmarshal(raw, &m))
		}
		m["action"] = ev.Action
		out = append(out, m)
	}
	return out
}

// eventsOf returns the n events read with p that keep selects. On
// Postgres a read returns only rows older than every running
// transaction (of any test sharing the server), so the walk is retried
// while fewer than n came back; more than n fails.
func (e *env) eventsOf(p backend.ReadEventsParams, n int, keep func(backend.EventRecord) bool) []backend.EventRecord {
	e.t.Helper()
	var out []backend.EventRecord
	for range 10 {
		out = out[:0]
		for _, ev := range e.readAll(p) {
			if keep(ev) {
				out = append(out, ev)
			}
		}
		if len(out) >= n {
			break
		}
	}
	require.Len(e.t, out, n, "events read with %+v", p)
	return out
}

// readAll walks ReadEvents with p from the beginning to the end.
func (e *env) readAll(p backend.ReadEventsParams) []backend.EventRecord {
	e.t.Helper()
	var out []backend.EventRecord
	for range 1000 {
		page, err := e.b.ReadEvents(e.ctx, p)
		require.NoError(e.t, err)
		out = append(out, page.Events...)
		if page.Next == p.After {
			return out
		}
		p.After = page.Next
	}
	e.t.Fatal("ReadEvents never reached the end")
	return nil
}

func testOperatorChangePriority(t *testing.T, h Harness) {
	e := newEnv(t, h)
	first := e.createIn("prio")
	second := e.createIn("prio")
	require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: second, Priority: 500, Who: alice}))
	s := e.consistent(second)
	require.Equal(t, int32(500), s.Priority)
	require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: second, Priority: 500}),
		"repeating it is harmless")
	require.Equal(t, second, e.claim("prio").ExecutionID, "the raised execution is claimed first, at once")
	require.Equal(t, first, e.claim("prio").ExecutionID)
	evs := e.operatorEvents(second, "", 1) // the repeat wrote nothing
	require.Equal(t, map[string]any{"action": ff.OperatorPriorityChanged, "source": "alice", "reason": "on call",
		"old_priority": 0.0, "priority": 500.0}, evs[0])

	// An active execution's priority may change too (it matters for a
	// later retry).
	require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: first, Priority: 9000}))
	require.Equal(t, int32(9000), e.consistent(first).Priority)
}

func testOperatorChangePriorityRefusals(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("prio-r")
	for _, p := range []int64{-1, 9001} {
		requireKind(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: id, Priority: p}), ff.ErrInvalidInput)
	}
	requireKind(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: randomID(), Priority: 1}), ff.ErrNotFound)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("prio-r").Handle}))
	requireKind(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: id, Priority: 5}), ff.ErrNotEligible)
	require.Equal(t, int32(0), e.consistent(id).Priority)
	e.operatorEvents(id, "", 0)
}

func testOperatorReplay(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rp")
	first := e.claim("rp")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: first.Handle, Result: []byte(`"one"`)}))
	e.advance(10)
	st, err := e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id, Who: alice})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, st)
	s := e.state(id, ff.PublicWaiting)
	require.Equal(t, ff.AttemptPendingReplay, s.StateVector.AttemptState)
	atts := e.attempts(id)
	require.Len(t, atts, 1, "the successful attempt stays listed")
	require.Equal(t, ff.AttemptEndedSuccess, atts[0].Lifecycle)
	require.Equal(t, first.AttemptID, atts[0].ID)
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound, "a replayed execution has no result until it completes again")

	again := e.claim("rp")
	require.Equal(t, ff.AttemptReplay, again.AttemptType)
	require.Equal(t, uint32(1), again.AttemptIndex)
	require.Greater(t, again.LeaseEpoch, first.LeaseEpoch)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: first.Handle}), ff.ErrStaleLease,
		"the first attempt's handle is stale")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: again.Handle, Result: []byte(`"two"`)}))
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.JSONEq(t, `"two"`, string(res), "the next completion overwrites the result")
	atts = e.attempts(id)
	require.Len(t, atts, 2)
	require.Equal(t, ff.AttemptReplay, atts[1].Type)
	require.Equal(t, ff.AttemptEndedSuccess, atts[1].Lifecycle)
	require.Len(t, e.completionsFor(id), 2, "each end writes its completion")
	evs := e.operatorEvents(id, "", 1)
	require.Equal(t, map[string]any{"action": ff.OperatorReplayed, "source": "alice", "reason": "on call",
		"replay_count": 1.0, "previous_outcome": "success"}, evs[0])
}

func testOperatorReplayRefusals(t *testing.T, h Harness) {
	e := newEnv(t, h)
	_, err := e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: randomID()})
	requireKind(t, err, ff.ErrNotFound)
	id := e.create(backend.CreateExecutionParams{Lane: "rp-r", Policy: &ff.ExecutionPolicy{MaxReplayCount: ptr(1)}})
	_, err = e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrExecutionNotTerminal, "waiting")
	task := e.claim("rp-r")
	_, err = e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrExecutionNotTerminal, "active")
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "boom", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	_, err = e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
	require.NoError(t, err, "a failed execution replays")
	s := e.state(id, ff.PublicWaiting)
	require.Empty(t, s.FailureReason, "the replay clears the last outcome's reasons")
	_, err = e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrExecutionNotTerminal, "a repeated replay before the next end")
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("rp-r").Handle, Reason: "again", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	_, err = e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrMaxReplaysExhausted)
	e.state(id, ff.PublicFailed)
	e.operatorEvents(id, "", 1)
}

// A cancel that revoked a lease marks its epoch; a replay clears the
// mark, so the old holder's fence is merely stale afterwards.
func testOperatorReplayAfterCancel(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rp-c")
	old := e.claim("rp-c")
	_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "stop"})
	require.NoError(t, err)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: old.Handle}), ff.ErrLeaseRevoked)
	_, err = e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	s := e.state(id, ff.PublicWaiting)
	require.Empty(t, s.CancelReason)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: old.Handle}), ff.ErrExecutionNotActive)
	next := e.claim("rp-c")
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: old.Handle}), ff.ErrStaleLease)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: next.Handle}))
	e.state(id, ff.PublicCompleted)
}

func testOperatorRevokeLease(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rv")
	none, err := e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: id})
	require.NoError(t, err)
	require.False(t, none.Revoked, "a waiting execution holds no lease")
	_, err = e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: randomID()})
	requireKind(t, err, ff.ErrNotFound)

	held := e.claimHeld("rv")
	e.advance(5)
	res, err := e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: id, Who: alice})
	require.NoError(t, err)
	require.Equal(t, backend.RevokeLeaseResult{Revoked: true, LeaseEpoch: held.task.LeaseEpoch}, res)
	revokedAt := e.now()
	s := e.consistent(id)
	require.Equal(t, ff.OwnershipLeaseRevoked, s.StateVector.OwnershipState)
	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: held.task.Handle})
	requireKind(t, err, ff.ErrLeaseRevoked, "the holder's next write")
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: held.task.Handle}), ff.ErrLeaseRevoked)
	again, err := e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: id})
	require.NoError(t, err)
	require.False(t, again.Revoked, "repeating it finds no lease")

	re := e.claim("rv")
	require.Equal(t, ff.HandleReclaimed, re.Handle.Kind, "the next claim reclaims it")
	require.Equal(t, ff.AttemptReclaim, re.AttemptType)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: held.task.Handle}), ff.ErrLeaseRevoked,
		"after the reclaim too, the old holder learns its lease was revoked")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: re.Handle}))
	e.state(id, ff.PublicCompleted)

	evs := e.operatorEvents(id, "", 1)
	require.Equal(t, map[string]any{"action": ff.OperatorLeaseRevoked, "source": "alice", "reason": "on call",
		"lease_epoch": float64(held.task.LeaseEpoch)}, evs[0])
	var lease []string
	p := backend.ReadEventsParams{Types: []ff.EventType{ff.EventLease}}
	for _, ev := range e.eventsOf(p, 4, func(ev backend.EventRecord) bool { return ev.ExecutionID == id }) {
		lease = append(lease, ev.Action)
		if ev.Action == ff.LeaseRevoked {
			require.Equal(t, revokedAt, ev.AtMs)
			require.Equal(t, held.task.LeaseEpoch, ev.Lease.LeaseEpoch)
		}
	}
	require.Equal(t, []string{ff.LeaseAcquired, ff.LeaseRevoked, ff.LeaseReclaimed, ff.LeaseReleased}, lease)
}

func testOperatorPauseLane(t *testing.T, h Harness) {
	e := newEnv(t, h)
	running := e.createIn("pz")
	live := e.claim("pz")
	waiting := e.createIn("pz")
	other := e.createIn("pz-other")
	st, err := e.b.SetLanePaused(e.ctx, backend.SetLanePausedParams{Lane: "pz", Paused: true, Who: alice})
	require.NoError(t, err)
	require.True(t, st.Paused)
	require.Equal(t, "pz", st.Lane)
	require.Equal(t, e.now(), st.PausedAtMs)
	require.Equal(t, "alice", st.Source)
	_, err = e.b.SetLanePaused(e.ctx, backend.SetLanePausedParams{Lane: "pz", Paused: true})
	require.NoError(t, err, "repeating it is harmless")

	both := claimParams("w1", "pz")
	both.Lanes = []string{"pz", "pz-other"}
	both.Max = 5
	tasks, err := e.b.Claim(e.ctx, both)
	require.NoError(t, err)
	require.Len(t, tasks, 1, "a paused lane hands out nothing")
	require.Equal(t, other, tasks[0].ExecutionID)
	s := e.state(waiting, ff.PublicWaiting)
	require.Equal(t, ff.BlockedByLaneState, s.StateVector.EligibilityState)
	require.Equal(t, ff.BlockingPausedByOperator, s.StateVector.BlockingReason)
	states, err := e.b.LaneStates(e.ctx, backend.LaneStatesParams{})
	require.NoError(t, err)
	require.Equal(t, []string{"pz"}, lanesOf(states))
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: live.Handle}), "active leases run on")
	e.state(running, ff.PublicCompleted)

	st, err = e.b.SetLanePaused(e.ctx, backend.SetLanePausedParams{Lane: "pz", Paused: false, Who: ff.Actor{Reason: "fixed"}})
	require.NoError(t, err)
	require.False(t, st.Paused)
	require.Equal(t, waiting, e.claim("pz").ExecutionID, "a resumed lane hands out its work")
	states, err = e.b.LaneStates(e.ctx, backend.LaneStatesParams{Lanes: []string{"pz"}})
	require.NoError(t, err)
	require.Empty(t, states)
	_, err = e.b.SetLanePaused(e.ctx, backend.SetLanePausedParams{Lane: ""})
	requireKind(t, err, ff.ErrInvalidInput)

	evs := e.operatorEvents(ff.ExecutionID{}, "pz", 2)
	require.Equal(t, []map[string]any{
		{"action": ff.OperatorLanePaused, "source": "alice", "reason": "on call"},
		{"action": ff.OperatorLaneResumed, "source": "operator", "reason": "fixed"},
	}, evs, "one event per change; repeats write none")
}

func lanesOf(states []backend.LaneState) []string {
	out := []string{}
	for _, s := range states {
		out = append(out, s.Lane)
	}
	return out
}

func testOperatorBulk(t *testing.T, h Harness) {
	e := newEnv(t, h)
	failed := map[ff.ExecutionID]bool{}
	for range 3 {
		id := e.createIn("bk")
		_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("bk").Handle, Reason: "x", Classification: ff.FailurePermanent})
		require.NoError(t, err)
		failed[id] = true
	}
	done := e.createIn("bk")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("bk").Handle}))

	p := backend.BulkParams{Lane: "bk", PublicState: ff.PublicFailed, Action: backend.BulkReplay, Limit: 2, Who: alice}
	res, err := backend.RunBulk(e.ctx, e.b, p)
	require.NoError(t, err)
	require.Len(t, res.Items, 2, "bounded by the limit")
	require.NotEmpty(t, res.NextCursor)
	p.Cursor = res.NextCursor
	rest, err := backend.RunBulk(e.ctx, e.b, p)
	require.NoError(t, err)
	require.Len(t, rest.Items, 1, "resumed from the cursor")
	require.Empty(t, rest.NextCursor)
	for _, it := range append(res.Items, rest.Items...) {
		require.NoError(t, it.Err)
		require.Equal(t, ff.PublicWaiting, it.PublicState)
		require.True(t, failed[it.ExecutionID], "only failed executions are replayed")
		delete(failed, it.ExecutionID)
	}
	require.Empty(t, failed)
	e.state(done, ff.PublicCompleted)

	cancel := backend.BulkParams{Lane: "bk", PublicState: ff.PublicWaiting, Action: backend.BulkCancel, Who: alice}
	res, err = backend.RunBulk(e.ctx, e.b, cancel)
	require.NoError(t, err)
	require.Len(t, res.Items, 3)
	for _, it := range res.Items {
		require.NoError(t, it.Err)
		require.Equal(t, ff.PublicCancelled, it.PublicState)
		e.operatorEvents(it.ExecutionID, "", 2) // a replay and a cancel event each
	}

	for _, bad := range []backend.BulkParams{
		{Lane: "bk", PublicState: ff.PublicWaiting, Action: backend.BulkReplay},
		{Lane: "bk", PublicState: ff.PublicFailed, Action: backend.BulkCancel},
		{Lane: "bk", PublicState: ff.PublicFailed, Action: "delete"},
		{PublicState: ff.PublicFailed, Action: backend.BulkReplay},
		{Lane: "bk", PublicState: "nope", Action: backend.BulkReplay},
	} {
		_, err := backend.RunBulk(e.ctx, e.b, bad)
		requireKind(t, err, ff.ErrInvalidInput, "%+v", bad)
	}
}

// A replay racing claims: one replay wins (the other finds it not
// terminal), and at most one claim takes the replay attempt.
func testRaceReplayVersusClaim(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rrc")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("rrc").Handle}))
	claimed := make([][]backend.ClaimedTask, 2)
	var fns []func() error
	for range 2 {
		fns = append(fns, func() error {
			_, err := e.b.ReplayExecution(e.ctx, backend.ReplayExecutionParams{ExecutionID: id})
			return err
		})
	}
	for i := range claimed {
		fns = append(fns, func() error {
			var err error
			claimed[i], err = e.b.Claim(e.ctx, claimParams("w1", "rrc"))
			return err
		})
	}
	errs := runConcurrently(fns...)
	replayed := 0
	for _, err := range errs[:2] {
		if err == nil {
			replayed++
		} else {
			requireKind(t, err, ff.ErrExecutionNotTerminal)
		}
	}
	require.Equal(t, 1, replayed, "exactly one replay wins")
	var tasks []backend.ClaimedTask
	for i, err := range errs[2:] {
		require.NoError(t, err)
		tasks = append(tasks, claimed[i]...)
	}
	require.LessOrEqual(t, len(tasks), 1, "at most one claim takes it")
	if len(tasks) == 0 {
		tasks = append(tasks, e.claim("rrc"))
	}
	require.Equal(t, ff.AttemptReplay, tasks[0].AttemptType)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
	s := e.state(id, ff.PublicCompleted)
	require.Equal(t, uint32(2), s.AttemptCount)
}

// A revoke racing the holder's complete: either the complete wins (the
// revoke finds no lease) or the revoke wins (the complete fails with
// lease_revoked and the execution awaits its reclaim).
func testRaceRevokeVersusComplete(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for range 5 {
		id := e.createIn("rvc")
		task := e.claim("rvc")
		var rev backend.RevokeLeaseResult
		errs := runConcurrently(
			func() error {
				var err error
				rev, err = e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: id})
				return err
			},
			func() error { return e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}) },
		)
		require.NoError(t, errs[0])
		if rev.Revoked {
			requireKind(t, errs[1], ff.ErrLeaseRevoked)
			s := e.consistent(id)
			require.Equal(t, ff.OwnershipLeaseRevoked, s.StateVector.OwnershipState)
			require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("rvc").Handle}))
		} else {
			require.NoError(t, errs[1])
		}
		e.state(id, ff.PublicCompleted)
		require.Len(t, e.completionsFor(id), 1)
	}
}

func init() {
	register("Operator/RevokeClosesTheAttemptsWaitpoints", func(t *testing.T, h Harness) {
		if !h.Backend.Capabilities().Supports.Waitpoints {
			t.Skip("no waitpoints")
		}
		e := wpEnv(t, h)
		id := e.createIn("rvw")
		task := e.claim("rvw")
		pending, err := e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: task.Handle, Key: "cb"})
		require.NoError(t, err)
		res, err := e.b.RevokeLease(e.ctx, backend.RevokeLeaseParams{ExecutionID: id})
		require.NoError(t, err)
		require.True(t, res.Revoked)
		_, err = e.signal(id, pending, "late")
		requireKind(t, err, ff.ErrWaitpointClosed, "a revoked lease closes its attempt's waitpoints")
		again := e.claim("rvw")
		_, err = e.b.CreateWaitpoint(e.ctx, backend.CreateWaitpointParams{Handle: again.Handle, Key: "cb"})
		require.NoError(t, err, "the key is free again for the reclaim attempt")
	})
}
