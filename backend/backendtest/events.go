package backendtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The completion outbox (spec §9.7 item 15) and lane wake-ups.

func init() {
	register("Events/OneCompletionPerTerminalTransition", testEventsPerTransition)
	register("Events/NoneForNonTerminal", testEventsNoneForNonTerminal)
	register("Events/CursorPaging", testEventsCursorPaging)
	register("Events/SubscribeWork", testEventsSubscribeWork)
	register("Events/SubscribeWorkWokenBySweeps", testEventsSubscribeWorkSweeps)
	register("Events/SubscribeWorkEnds", testEventsSubscribeWorkEnds)
}

// Every way of ending an execution writes exactly one completion event
// with its outcome, lane and time.
func testEventsPerTransition(t *testing.T, h Harness) {
	e := newEnv(t, h)
	type want struct {
		id      ff.ExecutionID
		outcome ff.TerminalOutcome
		lane    string
		at      int64
	}
	var wants []want
	record := func(id ff.ExecutionID, outcome ff.TerminalOutcome, lane string) {
		wants = append(wants, want{id, outcome, lane, e.now()})
		e.advance(10)
	}

	id := e.createIn("ev-complete")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("ev-complete").Handle}))
	record(id, ff.OutcomeSuccess, "ev-complete")

	id = e.createIn("ev-fail")
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("ev-fail").Handle, Reason: "x"})
	require.NoError(t, err)
	record(id, ff.OutcomeFailed, "ev-fail")

	id = e.createIn("ev-cancel")
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: e.claim("ev-cancel").Handle, Reason: "stop"}))
	record(id, ff.OutcomeCancelled, "ev-cancel")

	id = e.createIn("ev-opcancel")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "operator"})
	require.NoError(t, err)
	record(id, ff.OutcomeCancelled, "ev-opcancel")

	id = e.create(backend.CreateExecutionParams{Lane: "ev-timeout", Policy: attemptTimeout(1_000)})
	e.claim("ev-timeout")
	e.advance(1_000)
	require.Equal(t, 1, e.expireTimeouts())
	record(id, ff.OutcomeExpired, "ev-timeout")

	id = e.create(backend.CreateExecutionParams{Lane: "ev-deadline", DeadlineAt: ff.TimeFromMs(e.now() + 1)})
	e.advance(1)
	require.Equal(t, 1, e.expireDeadlines())
	record(id, ff.OutcomeExpired, "ev-deadline")

	id = e.create(backend.CreateExecutionParams{Lane: "ev-reclaims", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)}})
	e.expireLease(e.claim("ev-reclaims"))
	record(id, ff.OutcomeFailed, "ev-reclaims")

	evs := e.completions()
	require.Len(t, evs, len(wants), "exactly one event per terminal transition")
	for i, w := range wants {
		ev := evs[i]
		require.Equal(t, w.id, ev.ExecutionID, "event %d is in commit order", i)
		require.Equal(t, w.outcome, ev.Outcome, "event %d", i)
		require.Equal(t, w.lane, ev.Lane, "event %d", i)
		require.Equal(t, w.at, ff.MsFromTime(ev.At), "event %d", i)
		require.NotEmpty(t, ev.Cursor, "event %d has a cursor", i)
		s := e.consistent(w.id)
		require.True(t, s.PublicState.IsTerminal())
	}
}

func testEventsNoneForNonTerminal(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "nt", Policy: retryPolicy(1, 0)})
	task := e.claim("nt")
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 5}))
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "retry me"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	task = e.claim("nt")
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now() + 100)}))
	e.advance(100)
	require.Equal(t, 1, e.promote())
	task = e.claim("nt")
	e.expireLease(task)
	task = e.claim("nt")
	require.Empty(t, e.completions(), "retry, delay, promotion, expiry and reclaim are not terminal")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	e.oneCompletion(id, ff.OutcomeSuccess)
}

func testEventsCursorPaging(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var order []ff.ExecutionID
	for range 5 {
		id := e.createIn("cp")
		require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("cp").Handle}))
		order = append(order, id)
	}
	var (
		cur   backend.EventCursor
		got   []ff.ExecutionID
		sizes []int
	)
	for range 10 {
		page, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{After: cur, Limit: 2})
		require.NoError(t, err)
		if len(page.Events) == 0 {
			require.Equal(t, cur, page.Next, "an empty read resumes from the same cursor")
			break
		}
		require.NotEmpty(t, page.Next, "a non-empty read returns a cursor")
		sizes = append(sizes, len(page.Events))
		for _, ev := range page.Events {
			got = append(got, ev.ExecutionID)
		}
		cur = page.Next
	}
	require.Equal(t, []int{2, 2, 1}, sizes)
	require.Equal(t, order, got)

	// Reading again from the last cursor gives nothing until a new event
	// commits, then exactly that event.
	page, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{After: cur, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, page.Events)
	id := e.createIn("cp")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("cp").Handle}))
	page, err = e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{After: cur, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	require.Equal(t, id, page.Events[0].ExecutionID)

	// A cursor taken mid-way resumes mid-way.
	first, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{Limit: 3})
	require.NoError(t, err)
	require.Len(t, first.Events, 3)
	rest, err := e.b.ReadCompletions(e.ctx, backend.ReadCompletionsParams{After: first.Next, Limit: 100})
	require.NoError(t, err)
	require.Len(t, rest.Events, 3)
	require.Equal(t, order[3], rest.Events[0].ExecutionID)
	require.Equal(t, id, rest.Events[2].ExecutionID)
}

// A subscriber to a lane is woken when work is created there. The wait
// is generous: this checks the wake-up happens, not how fast.
func testEventsSubscribeWork(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ch, cancel := e.b.SubscribeWork(e.ctx, backend.SubscribeWorkParams{Lanes: []string{"wake"}})
	defer cancel()
	drain(ch) // a wake-up the subscription itself may have produced
	e.createIn("wake")
	e.awaitWake(ch, "creating work on the subscribed lane")
	e.claim("wake")
	cancel()
	cancel() // idempotent
}

// A subscription ends, and its channel closes, when its context is done
// or its cancel function is called; calling cancel afterwards is safe.
func testEventsSubscribeWorkEnds(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx, stop := context.WithCancel(e.ctx)
	byCtx, cancel := e.b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{"ends"}})
	defer cancel()
	stop()
	e.awaitClosed(byCtx, "its context ended")
	e.createIn("ends") // no send on the closed channel
	cancel()

	byCancel, cancel2 := e.b.SubscribeWork(e.ctx, backend.SubscribeWorkParams{Lanes: []string{"ends"}})
	cancel2()
	e.awaitClosed(byCancel, "its cancel function was called")
}

// awaitClosed waits (generously) for ch to be closed, skipping a wake-up
// still pending on it.
func (e *env) awaitClosed(ch <-chan struct{}, what string) {
	e.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-timeout:
			e.t.Fatalf("the subscription's channel is still open after %s", what)
		}
	}
}

// awaitWake waits (generously) for a wake-up on ch.
func (e *env) awaitWake(ch <-chan struct{}, what string) {
	e.t.Helper()
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		e.t.Fatalf("no wake-up after %s", what)
	}
}

// drain empties a pending wake-up, if any, without waiting, and tells
// whether there was one.
func drain(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Work that becomes claimable through a sweep wakes the lane too:
// promotion of delayed work and expiry of a lease.
func testEventsSubscribeWorkSweeps(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ch, cancel := e.b.SubscribeWork(e.ctx, backend.SubscribeWorkParams{Lanes: []string{"sweep"}})
	defer cancel()
	e.create(backend.CreateExecutionParams{Lane: "sweep", DelayUntil: ff.TimeFromMs(e.now() + 1_000)})
	drain(ch)
	e.advance(1_000)
	require.Equal(t, 1, e.promote())
	e.awaitWake(ch, "promoting delayed work")

	task := e.claim("sweep")
	drain(ch)
	e.expireLease(task)
	e.awaitWake(ch, "a lease expired and became reclaimable")
}
