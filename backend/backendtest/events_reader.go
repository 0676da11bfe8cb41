package backendtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The general outbox reader (ReadEvents): lease rows expand to their
// start and implied end, cursors page exactly, filters, the latest
// cursor, retention, wake-ups.

func init() {
	register("Events/ReadExpandsLeases", testEventsReadExpands)
	register("Events/ReadPagesOneByOne", testEventsReadPaging)
	register("Events/ReadFilters", testEventsReadFilters)
	register("Events/ReadLatest", testEventsReadLatest)
	register("Events/ReadBadInput", testEventsReadBadInput)
	register("Events/Sweep", testEventsSweep)
	register("Events/SubscribeEventsWakes", testEventsSubscribeWakes)
}

// ofID keeps the events about id.
func ofID(id ff.ExecutionID) func(backend.EventRecord) bool {
	return func(ev backend.EventRecord) bool { return ev.ExecutionID == id }
}

// A completed lease reads as acquired, released (implied by the
// completion row) and the completion.
func testEventsReadExpands(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ex")
	c := e.claimHeld("ex")
	e.advance(7)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: c.task.Handle}))
	evs := e.eventsOf(backend.ReadEventsParams{}, 3, ofID(id))
	ref := c.ref(ff.AttemptInitial, false, "")
	require.Equal(t, ff.EventLease, evs[0].Type)
	require.Equal(t, ff.LeaseAcquired, evs[0].Action)
	require.Equal(t, c.at, evs[0].AtMs)
	require.Equal(t, ref, evs[0].Lease)
	require.Equal(t, ff.EventLease, evs[1].Type)
	require.Equal(t, ff.LeaseReleased, evs[1].Action)
	require.Equal(t, e.now(), evs[1].AtMs)
	require.JSONEq(t, `{"reason":"completion_success"}`, string(evs[1].Data.(json.RawMessage)))
	require.Equal(t, ff.EventCompletion, evs[2].Type)
	require.Equal(t, "success", evs[2].Action)
	require.Equal(t, c.ref(ff.AttemptInitial, false, ff.LeaseReleased), evs[2].Lease)
	require.Nil(t, evs[2].Data)
	for _, ev := range evs {
		require.Equal(t, "ex", ev.Lane)
		require.Equal(t, id.Partition, ev.Partition)
	}
	require.Len(t, map[backend.EventCursor]bool{evs[0].Cursor: true, evs[1].Cursor: true, evs[2].Cursor: true}, 3)
}

// Paging one event at a time visits exactly the events of a whole read,
// also inside one stored row, and a cursor re-read gives the same.
func testEventsReadPaging(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for range 3 {
		id := e.createIn("pg")
		require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: e.claim("pg").Handle}))
		require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("pg").Handle}))
		_ = id
	}
	all := e.eventsOf(backend.ReadEventsParams{}, 15, func(backend.EventRecord) bool { return true })
	var got []backend.EventRecord
	var cur backend.EventCursor
	for len(got) < len(all) {
		page, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{After: cur, Limit: 1})
		require.NoError(t, err)
		if len(page.Events) == 0 {
			continue // held back by a running transaction (Postgres): read again
		}
		require.Len(t, page.Events, 1)
		require.Equal(t, page.Events[0].Cursor, page.Next)
		again, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{After: cur, Limit: 1})
		require.NoError(t, err)
		require.Equal(t, page, again, "reading from a cursor again is the same")
		got = append(got, page.Events[0])
		cur = page.Next
	}
	require.Equal(t, all, got)
	page, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{After: cur})
	require.NoError(t, err)
	require.Empty(t, page.Events)
	require.Equal(t, cur, page.Next, "an empty read resumes from the same cursor")
}

func testEventsReadFilters(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.createIn("fa")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("fa").Handle}))
	b := e.createIn("fb")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("fb").Handle}))
	require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: e.createIn("fb"), Priority: 3}))
	all := func(backend.EventRecord) bool { return true }

	comp := e.eventsOf(backend.ReadEventsParams{Types: []ff.EventType{ff.EventCompletion}}, 2, all)
	require.Equal(t, []ff.ExecutionID{a, b}, []ff.ExecutionID{comp[0].ExecutionID, comp[1].ExecutionID})
	lease := e.eventsOf(backend.ReadEventsParams{Types: []ff.EventType{ff.EventLease}, Lane: "fb"}, 2, all)
	for _, ev := range lease {
		require.Equal(t, ff.EventLease, ev.Type)
		require.Equal(t, b, ev.ExecutionID)
	}
	two := e.eventsOf(backend.ReadEventsParams{Types: []ff.EventType{ff.EventOperator, ff.EventCompletion, ff.EventOperator},
		Lane: "fb"}, 2, all)
	require.Equal(t, ff.EventCompletion, two[0].Type)
	require.Equal(t, ff.EventOperator, two[1].Type)
	e.eventsOf(backend.ReadEventsParams{Lane: "none"}, 0, all)
	// A filtered read's cursor advanced past what it skipped.
	page, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{Types: []ff.EventType{ff.EventOperator}})
	require.NoError(t, err)
	if len(page.Events) == 1 {
		rest, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{After: page.Next})
		require.NoError(t, err)
		require.Empty(t, rest.Events, "the operator event is the last one")
	}
}

func testEventsReadLatest(t *testing.T, h Harness) {
	e := newEnv(t, h)
	old := e.createIn("lt")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("lt").Handle}))
	e.eventsOf(backend.ReadEventsParams{}, 3, ofID(old)) // settled
	page, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{After: backend.EventCursorLatest})
	require.NoError(t, err)
	require.Empty(t, page.Events)
	require.NotEmpty(t, page.Next)
	require.NotEqual(t, backend.EventCursorLatest, page.Next)
	fresh := e.createIn("lt")
	require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: fresh, Priority: 1}))
	evs := e.eventsOf(backend.ReadEventsParams{After: page.Next}, 1, func(backend.EventRecord) bool { return true })
	require.Equal(t, fresh, evs[0].ExecutionID, "only what committed after latest")
}

func testEventsReadBadInput(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for _, p := range []backend.ReadEventsParams{
		{Types: []ff.EventType{"nope"}},
		{After: "garbage"},
		{After: "12/x"},
		{After: "12/7"},
		{Limit: 1001},
		{Limit: -1},
		{Lane: "bad\x00lane"},
	} {
		_, err := e.b.ReadEvents(e.ctx, p)
		requireKind(t, err, ff.ErrInvalidInput, "%+v", p)
	}
}

func testEventsSweep(t *testing.T, h Harness) {
	e := newEnv(t, h)
	old := e.createIn("sw")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("sw").Handle}))
	oldEvs := e.eventsOf(backend.ReadEventsParams{}, 3, ofID(old))
	e.advance(1_000)
	cutoff := e.h.Clock.Now()
	fresh := e.createIn("sw")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("sw").Handle}))
	e.eventsOf(backend.ReadEventsParams{}, 3, ofID(fresh))

	n, err := e.b.SweepEvents(e.ctx, backend.SweepEventsParams{Before: cutoff})
	require.NoError(t, err)
	require.Equal(t, 1, n, "one stored row (a completion that ends a lease) was due")
	n, err = e.b.SweepEvents(e.ctx, backend.SweepEventsParams{Before: cutoff})
	require.NoError(t, err)
	require.Zero(t, n)
	left := e.eventsOf(backend.ReadEventsParams{}, 3, func(backend.EventRecord) bool { return true })
	require.Equal(t, fresh, left[0].ExecutionID, "an absent cursor starts at the oldest retained event")
	page, err := e.b.ReadEvents(e.ctx, backend.ReadEventsParams{After: oldEvs[0].Cursor})
	require.NoError(t, err, "a cursor into the swept range stays valid")
	require.Len(t, page.Events, 3)
	_, err = e.b.SweepEvents(e.ctx, backend.SweepEventsParams{Limit: -1})
	requireKind(t, err, ff.ErrInvalidInput)
}

func testEventsSubscribeWakes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ch, stop := e.b.SubscribeEvents(e.ctx)
	defer stop()
	id := e.createIn("sub")
	require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: id, Priority: 2}))
	select {
	case _, ok := <-ch:
		require.True(t, ok)
	case <-time.After(10 * time.Second):
		t.Fatal("a commit that wrote an event did not wake the subscriber")
	}
	stop()
	for range ch { // drained, then closed
	}
}

func init() {
	register("Events/CountEventRows", func(t *testing.T, h Harness) {
		e := newEnv(t, h)
		before, err := e.b.CountEventRows(e.ctx, backend.CountEventRowsParams{})
		require.NoError(t, err)
		require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim(e.laneWith("cnt")).Handle}))
		require.NoError(t, e.b.ChangePriority(e.ctx, backend.ChangePriorityParams{ExecutionID: e.createIn("cnt"), Priority: 4}))
		after, err := e.b.CountEventRows(e.ctx, backend.CountEventRowsParams{})
		require.NoError(t, err)
		require.Equal(t, before+2, after, "a completion row and an operator row")
	})
}

// laneWith creates an execution on lane and returns the lane.
func (e *env) laneWith(lane string) string {
	e.createIn(lane)
	return lane
}
