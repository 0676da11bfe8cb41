package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// events reads GET /v1/events with query q.
func (e *env) events(q string) wire.EventPage {
	e.t.Helper()
	r := e.get("/v1/events" + q)
	require.Equal(e.t, http.StatusOK, r.status, "body: %s", r.body)
	var page wire.EventPage
	r.json(e.t, &page)
	return page
}

// eventsUntil reads from after with query q until n events came back
// (a Postgres read holds back rows of running transactions).
func (e *env) eventsUntil(after, q string, n int) []wire.Event {
	e.t.Helper()
	var out []wire.Event
	for range 50 {
		page := e.events("?wait_ms=200&after=" + after + q)
		out = append(out, page.Events...)
		after = page.NextCursor
		if len(out) >= n {
			break
		}
	}
	require.Len(e.t, out, n)
	return out
}

// completeOne creates, claims and completes one execution on lane.
func (e *env) completeOne(lane string) string {
	e.t.Helper()
	id := e.create(map[string]any{"lane": lane})
	task := e.claimOne(lane)
	r := e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle, "result": 1})
	require.Equal(e.t, http.StatusNoContent, r.status, "complete: %s", r.body)
	return id
}

func TestEventsRoute(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.completeOne("ev")
		evs := e.eventsUntil("", "", 3)
		require.Equal(t, []string{"lease/acquired", "lease/released", "completion/success"},
			[]string{string(evs[0].Type) + "/" + evs[0].Action, string(evs[1].Type) + "/" + evs[1].Action,
				string(evs[2].Type) + "/" + evs[2].Action})
		for _, ev := range evs {
			require.Equal(t, id, ev.ExecutionID)
			require.Equal(t, "ev", ev.Lane)
			require.NotNil(t, ev.Lease)
			require.NotEmpty(t, ev.Cursor)
		}
		require.Equal(t, "released", evs[2].Lease.End)
		only := e.events("?types=completion")
		require.Len(t, only.Events, 1)
		require.Equal(t, evs[2].Cursor, only.NextCursor)
		require.Empty(t, e.events("?lane=other").Events)

		// Long-poll from latest: woken by the next commit.
		latest := e.events("?after=latest")
		require.Empty(t, latest.Events)
		got := make(chan wire.EventPage, 1)
		go func() {
			r := e.get("/v1/events?types=operator&wait_ms=20000&after=" + latest.NextCursor)
			var page wire.EventPage
			r.json(t, &page)
			got <- page
		}()
		other := e.create(map[string]any{"lane": "ev"})
		r := e.do(http.MethodPut, execPath(other, "/priority"), map[string]any{"priority": 7, "reason": "vip", "source": "bob"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		page := <-got
		require.Len(t, page.Events, 1)
		require.Equal(t, ff.EventOperator, page.Events[0].Type)
		require.JSONEq(t, `{"source":"bob","reason":"vip","old_priority":0,"priority":7}`, string(page.Events[0].Data))
	})
}

func TestEventsRouteRefusesBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		for _, q := range []string{"?types=nope", "?types=completion,,lease", "?wait_ms=30001", "?wait_ms=-1",
			"?limit=0", "?limit=1001", "?after=garbage", "?after=" + strings.Repeat("1", 65), "?lane=%00"} {
			r := e.get("/v1/events" + q)
			require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", q, r.body)
			require.Equal(t, ff.ErrInvalidInput, r.apiError(t).Kind, q)
		}
		r := e.do(http.MethodGet, "/v1/events", nil, "Accept", "text/event-stream", "Last-Event-ID", "garbage")
		require.Equal(t, http.StatusBadRequest, r.status, "a bad Last-Event-ID is refused before the stream starts")
	})
}

// An event stream disconnected mid-way and resumed with Last-Event-ID
// delivers every event exactly once, in order.
func TestEventsSSEDisconnectAndResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		first := e.completeOne("sse")
		ctx, cancel := context.WithCancel(context.Background())
		stream := e.openSSE(ctx, "/v1/events?types=completion,operator", "")
		ev := next(t, stream)
		require.Equal(t, "completion", ev.event)
		require.Contains(t, ev.data, first)
		// Live: a commit after the stream started arrives on it.
		second := e.completeOne("sse")
		ev = next(t, stream)
		require.Contains(t, ev.data, second)
		lastSeen := ev.id
		cancel()
		for range stream { // disconnected
		}

		// Meanwhile: two more events the stream missed.
		third := e.completeOne("sse")
		r := e.post(execPath(third, "/replay"), map[string]any{"reason": "again"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)

		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		resumed := e.openSSE(ctx2, "/v1/events?types=completion,operator", lastSeen)
		ev = next(t, resumed)
		require.Equal(t, "completion", ev.event, "resumes right after the last event seen")
		require.Contains(t, ev.data, third)
		ev = next(t, resumed)
		require.Equal(t, "operator", ev.event)
		require.Contains(t, ev.data, `"action":"replayed"`)
		cancel2()
		for range resumed {
		}
	})
}

// Waiting event readers (streams and long-polls) are capped like
// long-polling claims: one more is answered 429.
func TestEventsWaitersCapped(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{MaxLongPolls: 1}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		stream := e.openSSE(ctx, "/v1/events?after=latest", "") // waiting once its headers arrived
		r := e.get("/v1/events?wait_ms=1000")
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)
		require.Equal(t, ff.ErrResourceExhausted, r.apiError(t).Kind)
		require.Equal(t, http.StatusOK, e.get("/v1/events").status, "a read that does not wait is not capped")
		require.Equal(t, 1.0, e.scrape()["ff_http_event_readers_waiting"])
		cancel()
		for range stream {
		}
	})
}
