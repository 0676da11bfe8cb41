package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func scheduleBody(id string) map[string]any {
	return map[string]any{"schedule_id": id, "every_ms": 60_000,
		"catch_up": map[string]any{"policy": "catch_up", "max": 2},
		"execution": map[string]any{"kind": "report", "lane": "reports", "input": map[string]any{"n": 1},
			"tags": map[string]any{"team.owner": "ops"}, "policy": map[string]any{"max_reclaim_count": 2}}}
}

func (e *env) schedule(r reply, status int) wire.Schedule {
	e.t.Helper()
	require.Equal(e.t, status, r.status, "body: %s", r.body)
	var s wire.Schedule
	r.json(e.t, &s)
	return s
}

func TestScheduleRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		created := e.schedule(e.post("/v1/schedules", scheduleBody("daily")), http.StatusCreated)
		require.Equal(t, "created", created.Outcome)
		require.Equal(t, int64(60_000), created.EveryMs)
		require.JSONEq(t, `{"n":1}`, string(created.Execution.Input))
		require.Equal(t, wire.CatchUp{Policy: ff.CatchUpAll, Max: 2}, created.CatchUp)
		require.Equal(t, "existing", e.schedule(e.post("/v1/schedules", scheduleBody("daily")), http.StatusOK).Outcome)

		other := scheduleBody("daily")
		other["every_ms"] = 120_000
		r := e.post("/v1/schedules", other)
		require.Equal(t, http.StatusConflict, r.status)
		require.Equal(t, ff.ErrScheduleConflict, r.apiError(t).Kind)
		delete(other, "schedule_id")
		replaced := e.schedule(e.do(http.MethodPut, "/v1/schedules/daily", other), http.StatusOK)
		require.Equal(t, "replaced", replaced.Outcome)
		require.Equal(t, int64(120_000), replaced.EveryMs)
		require.Equal(t, "created", e.schedule(e.do(http.MethodPut, "/v1/schedules/weekly", other), http.StatusCreated).Outcome)

		got := e.schedule(e.get("/v1/schedules/daily"), http.StatusOK)
		require.Len(t, got.UpcomingMs, 5)
		require.Equal(t, got.NextFireAtMs, got.UpcomingMs[0])
		require.Equal(t, got.UpcomingMs[0]+120_000, got.UpcomingMs[1])

		paused := e.schedule(e.post("/v1/schedules/daily/pause", map[string]any{"reason": "deploy"}), http.StatusOK)
		require.True(t, paused.Paused)
		require.Equal(t, "deploy", paused.PauseReason)
		var page wire.SchedulePage
		r = e.get("/v1/schedules?paused=true")
		require.Equal(t, http.StatusOK, r.status)
		r.json(t, &page)
		require.Len(t, page.Schedules, 1)
		require.False(t, e.schedule(e.post("/v1/schedules/daily/resume", nil), http.StatusOK).Paused)
		r = e.get("/v1/schedules?limit=1")
		r.json(t, &page)
		require.Equal(t, "daily", page.NextCursor)

		require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/v1/schedules/daily", nil).status)
		r = e.do(http.MethodDelete, "/v1/schedules/daily", nil)
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, "schedule", r.apiError(t).Entity)
		require.Equal(t, http.StatusNotFound, e.get("/v1/schedules/weekly?namespace=other").status)
	})
}

func TestScheduleRoutesRefuseBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		bad := []map[string]any{
			{"every_ms": 60_000, "execution": map[string]any{"kind": "k"}},                       // no id
			{"schedule_id": "s", "execution": map[string]any{"kind": "k"}},                       // no spec
			{"schedule_id": "s", "cron": "61 * * * *", "execution": map[string]any{"kind": "k"}}, // bad cron
			{"schedule_id": "s", "every_ms": 60_000, "execution": map[string]any{"kind": "k", "idempotency_key": "x"}},
			{"schedule_id": "s", "every_ms": 60_000, "execution": map[string]any{"kind": "k"}, "colour": "red"},
		}
		for _, b := range bad {
			r := e.post("/v1/schedules", b)
			require.Equal(t, http.StatusBadRequest, r.status, "%v: %s", b, r.body)
		}
		r := e.do(http.MethodPut, "/v1/schedules/a", map[string]any{"schedule_id": "b", "every_ms": 60_000,
			"execution": map[string]any{"kind": "k"}})
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Equal(t, http.StatusBadRequest, e.get("/v1/schedules?paused=maybe").status)
		require.Equal(t, http.StatusBadRequest, e.get("/v1/schedules/two%20words").status)
	})
}

// The client mirrors the seam over the routes.
func TestScheduleClientRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		c := e.client()
		p := backend.CreateScheduleParams{ID: "c1", Namespace: "ns", Spec: ff.ScheduleSpec{Cron: "0 9 * * 1-5", Timezone: "Europe/Paris"},
			Execution: backend.CreateExecutionParams{Kind: "report", Input: []byte{0xff, 0x00}, Policy: &ff.ExecutionPolicy{DedupWindow: ptr(int64(5000))}}}
		res, err := c.CreateSchedule(t.Context(), p)
		require.NoError(t, err)
		require.Equal(t, backend.ScheduleCreated, res.Outcome)
		stored, err := e.store.b.GetSchedule(t.Context(), backend.GetScheduleParams{Namespace: "ns", ID: "c1"})
		require.NoError(t, err)
		stored.SpecHash = ""
		require.Equal(t, stored, res.Schedule, "every field but the spec hash crosses the wire")
		got, upcoming, err := c.GetScheduleWithUpcoming(t.Context(), backend.GetScheduleParams{Namespace: "ns", ID: "c1"})
		require.NoError(t, err)
		require.Equal(t, res.Schedule, got)
		require.Len(t, upcoming, 5)
		p.Execution.Priority, p.Replace = 4, true
		res, err = c.CreateSchedule(t.Context(), p)
		require.NoError(t, err)
		require.Equal(t, backend.ScheduleReplaced, res.Outcome)
		_, err = c.PauseSchedule(t.Context(), backend.PauseScheduleParams{Namespace: "ns", ID: "c1"})
		require.NoError(t, err)
		page, err := c.ListSchedules(t.Context(), backend.ListSchedulesParams{Namespace: "ns", Paused: ptr(true)})
		require.NoError(t, err)
		require.Len(t, page.Schedules, 1)
		_, err = c.ResumeSchedule(t.Context(), backend.ResumeScheduleParams{Namespace: "ns", ID: "c1"})
		require.NoError(t, err)
		require.NoError(t, c.DeleteSchedule(t.Context(), backend.DeleteScheduleParams{Namespace: "ns", ID: "c1"}))
		_, err = c.GetSchedule(t.Context(), backend.GetScheduleParams{Namespace: "ns", ID: "c1"})
		require.ErrorIs(t, err, ff.ErrNotFound)
	})
}

func (e *env) client() *client.Client {
	return client.New(e.ts.URL, client.WithHTTPClient(e.ts.Client()))
}

func ptr[T any](v T) *T { return &v }
