package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestOperatorRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		low := e.create(map[string]any{"lane": "op"})
		high := e.create(map[string]any{"lane": "op"})
		r := e.do(http.MethodPut, execPath(high, "/priority"), map[string]any{"priority": 9000})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var pr wire.PriorityResponse
		r.json(t, &pr)
		require.Equal(t, int64(9000), pr.Priority)
		require.Equal(t, high, pr.ExecutionID.String())
		for _, bad := range []any{map[string]any{"priority": 9001}, map[string]any{"priority": -1}, map[string]any{}} {
			r = e.do(http.MethodPut, execPath(high, "/priority"), bad)
			require.Equal(t, http.StatusBadRequest, r.status, "%v: %s", bad, r.body)
		}
		require.Equal(t, http.StatusNotFound, e.do(http.MethodPut, execPath("{fp:1}:00000000-0000-4000-8000-000000000001", "/priority"),
			map[string]any{"priority": 1}).status)

		task := e.claimOne("op")
		require.Equal(t, high, task.ExecutionID.String(), "the raised execution is claimed first")
		r = e.post(execPath(high, "/replay"), nil)
		require.Equal(t, http.StatusConflict, r.status)
		require.Equal(t, ff.ErrExecutionNotTerminal, r.apiError(t).Kind)

		r = e.post(execPath(high, "/revoke-lease"), map[string]any{"reason": "stuck", "source": "pager"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var rv wire.RevokeLeaseResponse
		r.json(t, &rv)
		require.Equal(t, wire.RevokeLeaseResponse{Revoked: true, LeaseEpoch: task.LeaseEpoch}, rv)
		r = e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusConflict, r.status)
		require.Equal(t, ff.ErrLeaseRevoked, r.apiError(t).Kind, "the holder's next write")
		r = e.post(execPath(high, "/revoke-lease"), nil)
		var none wire.RevokeLeaseResponse
		r.json(t, &none)
		require.Equal(t, wire.RevokeLeaseResponse{}, none, "no active lease: revoked false")

		again := e.claimOne("op")
		require.Equal(t, high, again.ExecutionID.String(), "reclaimed by the next claim")
		r = e.post("/v1/tasks/complete", map[string]any{"handle": again.Handle})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		r = e.do(http.MethodPut, execPath(high, "/priority"), map[string]any{"priority": 1})
		require.Equal(t, http.StatusConflict, r.status)
		require.Equal(t, ff.ErrNotEligible, r.apiError(t).Kind)
		r = e.post(execPath(high, "/replay"), map[string]any{"reason": "rerun"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var rp wire.ReplayResponse
		r.json(t, &rp)
		require.Equal(t, ff.PublicWaiting, rp.PublicState)

		// Pause: nothing is handed out, the executions read blocked.
		r = e.post("/v1/lanes/op/pause", map[string]any{"reason": "incident", "source": "alice"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var ls wire.LaneState
		r.json(t, &ls)
		require.True(t, ls.Paused)
		require.Equal(t, "alice", ls.Source)
		require.Empty(t, e.claim("w1", "op", 5))
		var snap wire.ExecutionSnapshot
		e.get(execPath(low, "")).json(t, &snap)
		require.Equal(t, ff.PublicWaiting, snap.PublicState)
		require.Equal(t, ff.BlockedByLaneState, snap.StateVector.EligibilityState)
		var list wire.LaneStateList
		e.get("/v1/lanes/paused").json(t, &list)
		require.Len(t, list.Lanes, 1)
		require.Equal(t, "op", list.Lanes[0].Lane)
		r = e.post("/v1/lanes/op/resume", nil)
		r.json(t, &ls)
		require.False(t, ls.Paused)
		require.Len(t, e.claim("w1", "op", 5), 2, "a resumed lane hands out its work")
	})
}

func TestOperatorBulkRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		for range 3 {
			e.create(map[string]any{"lane": "bulk"})
		}
		r := e.post("/v1/lanes/bulk/bulk-cancel", map[string]any{"public_state": "waiting", "limit": 2, "reason": "drain"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var step wire.BulkResponse
		r.json(t, &step)
		require.Len(t, step.Items, 2)
		require.NotEmpty(t, step.NextCursor)
		r = e.post("/v1/lanes/bulk/bulk-cancel", map[string]any{"public_state": "waiting", "cursor": step.NextCursor})
		step = wire.BulkResponse{}
		r.json(t, &step)
		require.Len(t, step.Items, 1)
		require.Empty(t, step.NextCursor)
		require.Equal(t, ff.PublicCancelled, step.Items[0].PublicState)

		r = e.post("/v1/lanes/bulk/bulk-replay", map[string]any{"public_state": "cancelled"})
		step = wire.BulkResponse{}
		r.json(t, &step)
		require.Len(t, step.Items, 3)
		for _, it := range step.Items {
			require.Nil(t, it.Error)
			require.Equal(t, ff.PublicWaiting, it.PublicState)
		}
		for _, bad := range []map[string]any{{"public_state": "waiting"}, {"public_state": "nope"}, {}, {"public_state": "failed", "limit": 1001}} {
			r = e.post("/v1/lanes/bulk/bulk-replay", bad)
			require.Equal(t, http.StatusBadRequest, r.status, "%v: %s", bad, r.body)
		}
	})
}
