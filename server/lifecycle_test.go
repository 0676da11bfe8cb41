package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestCreateClaimCompleteResult(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{"lane": "emails", "kind": "email.send", "priority": 7,
			"input": map[string]any{"to": "a@b.c", "n": 1}, "tags": map[string]string{"app.user": "u1"}})

		r := e.get(execPath(id, ""))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var snap wire.ExecutionSnapshot
		r.json(t, &snap)
		require.Equal(t, id, snap.ExecutionID.String())
		require.Equal(t, "emails", snap.Lane)
		require.Equal(t, "email.send", snap.Kind)
		require.Equal(t, ff.PublicWaiting, snap.PublicState)
		require.Equal(t, ff.PhaseRunnable, snap.StateVector.LifecyclePhase)
		require.EqualValues(t, 0, snap.AttemptCount)
		require.Equal(t, epoch.UnixMilli(), snap.CreatedAtMs)

		r = e.get(execPath(id, "/state"))
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, `"waiting"`, string(r.body))

		r = e.get(execPath(id, "/result"))
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, ff.ErrNotFound, r.apiError(t).Kind)

		task := e.claimOne("emails")
		require.Equal(t, id, task.ExecutionID.String())
		require.Equal(t, "email.send", task.Kind)
		require.JSONEq(t, `{"to":"a@b.c","n":1}`, string(task.Input))
		require.EqualValues(t, 0, task.AttemptIndex)
		require.Equal(t, ff.AttemptInitial, task.AttemptType)
		require.EqualValues(t, 1, task.LeaseEpoch)
		require.Equal(t, epoch.UnixMilli()+ff.DefaultLeaseTTLMs, task.LeaseExpiresAtMs)
		require.Equal(t, "emails", task.Lane)
		require.EqualValues(t, 7, task.Priority)
		require.Equal(t, map[string]string{"app.user": "u1"}, task.Tags)

		r = e.post("/v1/tasks/progress", map[string]any{"handle": task.Handle, "percent": 40, "message": "half"})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		r = e.post("/v1/tasks/renew", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var ren wire.RenewResponse
		r.json(t, &ren)
		require.EqualValues(t, 1, ren.LeaseEpoch)

		// The result is stored and served byte for byte.
		result := `{"sent" : true, "ids":[3,1,2]}`
		r = e.post("/v1/tasks/complete", `{"handle":"`+task.Handle+`","result":`+result+`}`)
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		// A replay after a lost reply is safe.
		r = e.post("/v1/tasks/complete", `{"handle":"`+task.Handle+`","result":`+result+`}`)
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)

		r = e.get(execPath(id, "/result"))
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "application/json", r.header.Get("Content-Type"))
		require.Equal(t, result, string(r.body))

		r = e.get(execPath(id, ""))
		r.json(t, &snap)
		require.Equal(t, ff.PublicCompleted, snap.PublicState)
		require.EqualValues(t, 1, snap.AttemptCount)

		r = e.get(execPath(id, "/attempts"))
		require.Equal(t, http.StatusOK, r.status)
		var atts wire.AttemptList
		r.json(t, &atts)
		require.Len(t, atts.Attempts, 1)
		require.Equal(t, ff.AttemptEndedSuccess, atts.Attempts[0].Lifecycle)
		require.Equal(t, "w1", atts.Attempts[0].WorkerID)
	})
}

func TestCreateIdempotentDuplicate(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		body := map[string]any{"kind": "k", "idempotency_key": "order-42", "input": 1}
		r := e.post("/v1/executions", body)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		var first wire.CreateExecutionResponse
		r.json(t, &first)
		require.False(t, first.Duplicate)

		r = e.post("/v1/executions", body)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var second map[string]any
		r.json(t, &second)
		require.Equal(t, first.ExecutionID.String(), second["execution_id"])
		require.Equal(t, true, second["duplicate"])
		require.Equal(t, "waiting", second["public_state"])
	})
}

func TestCreateWithClientIDAndPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := ff.NewExecutionID("default")
		r := e.post("/v1/executions", map[string]any{"kind": "k", "execution_id": id.String(),
			"policy": map[string]any{"retry_policy": map[string]any{"max_retries": 2,
				"backoff": map[string]any{"type": "fixed", "delay_ms": 500}}}})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		var out wire.CreateExecutionResponse
		r.json(t, &out)
		require.Equal(t, id, out.ExecutionID)

		// Fail under a retry policy: the retry is scheduled after the backoff.
		task := e.claimOne("default")
		r = e.post("/v1/tasks/fail", map[string]any{"handle": task.Handle, "reason": "boom", "classification": "transient"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var fo wire.FailResponse
		r.json(t, &fo)
		require.True(t, fo.RetryScheduled)
		require.Equal(t, epoch.UnixMilli()+500, fo.DelayUntilMs)
		r = e.get(execPath(id.String(), "/state"))
		require.JSONEq(t, `"delayed"`, string(r.body))

		// Invalid policies are rejected with their kind.
		r = e.post("/v1/executions", map[string]any{"kind": "k", "policy": map[string]any{
			"retry_policy": map[string]any{"max_retries": -1}}})
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Equal(t, ff.ErrInvalidPolicy, r.apiError(t).Kind)
	})
}

func TestFailPermanentWithoutPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{})
		task := e.claimOne("default")
		r := e.post("/v1/tasks/fail", map[string]any{"handle": task.Handle, "reason": "bad input", "classification": "permanent"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var fo wire.FailResponse
		r.json(t, &fo)
		require.False(t, fo.RetryScheduled)
		r = e.get(execPath(id, "/state"))
		require.JSONEq(t, `"failed"`, string(r.body))

		// The lease is gone: another write under it is a state conflict.
		r = e.post("/v1/tasks/renew", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
		body := r.apiError(t)
		require.NotEmpty(t, body.Kind)
	})
}

func TestDelayThenResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{})
		task := e.claimOne("default")
		until := epoch.UnixMilli() + 60_000
		r := e.post("/v1/tasks/delay", map[string]any{"handle": task.Handle, "delay_until_ms": until})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		r = e.get(execPath(id, "/state"))
		require.JSONEq(t, `"delayed"`, string(r.body))
		require.Empty(t, e.claim("w1", "default", 1), "delayed work is not claimable")

		// The promoter makes it eligible; the claim resumes the attempt.
		e.store.clock.Advance(61 * time.Second)
		n, err := e.store.b.PromoteDelayed(t.Context(), backend.SweepParams{Limit: 100})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		again := e.claimOne("default")
		require.Equal(t, task.AttemptIndex, again.AttemptIndex)
		require.Equal(t, task.AttemptID, again.AttemptID)
		require.Greater(t, again.LeaseEpoch, task.LeaseEpoch)

		// The old handle is fenced out.
		r = e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	})
}

func TestCancels(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)

		// Operator cancel, with and without a body.
		id := e.create(map[string]any{})
		r := e.do(http.MethodPost, execPath(id, "/cancel"), nil, "Content-Type", "")
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var out wire.CancelExecutionResponse
		r.json(t, &out)
		require.Equal(t, ff.PublicCancelled, out.PublicState)
		require.Equal(t, id, out.ExecutionID.String())

		id2 := e.create(map[string]any{})
		r = e.post(execPath(id2, "/cancel"), map[string]any{"reason": "not needed"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		r = e.get(execPath(id2, ""))
		var snap wire.ExecutionSnapshot
		r.json(t, &snap)
		require.Equal(t, ff.PublicCancelled, snap.PublicState)
		require.Equal(t, "not needed", snap.CancelReason)

		// Lease-holder cancel.
		id3 := e.create(map[string]any{})
		task := e.claimOne("default")
		require.Equal(t, id3, task.ExecutionID.String())
		r = e.post("/v1/tasks/cancel", map[string]any{"handle": task.Handle, "reason": "user asked"})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		r = e.get(execPath(id3, "/state"))
		require.JSONEq(t, `"cancelled"`, string(r.body))

		// Cancel of an unknown execution is 404.
		r = e.post(execPath(ff.NewExecutionID("x").String(), "/cancel"), map[string]any{})
		require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
	})
}

func TestBatchRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		for range 3 {
			e.create(map[string]any{"lane": "batch"})
		}
		tasks := e.claim("w1", "batch", 10)
		require.Len(t, tasks, 3)

		r := e.post("/v1/tasks/renew-many", map[string]any{"handles": []string{tasks[0].Handle, "garbage", tasks[1].Handle}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var rm wire.RenewManyResponse
		r.json(t, &rm)
		require.Len(t, rm.Results, 3)
		require.Nil(t, rm.Results[0].Error)
		require.Equal(t, tasks[0].LeaseEpoch, rm.Results[0].LeaseEpoch)
		require.NotNil(t, rm.Results[1].Error)
		require.Equal(t, ff.ErrInvalidHandle, rm.Results[1].Error.Kind)
		require.Nil(t, rm.Results[2].Error)

		r = e.post("/v1/tasks/complete-many", map[string]any{"items": []map[string]any{
			{"handle": tasks[0].Handle, "result": map[string]int{"i": 0}},
			{"handle": "ffh1.AAAA"},
			{"handle": tasks[2].Handle, "result": "two"},
		}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var cm wire.CompleteManyResponse
		r.json(t, &cm)
		require.Len(t, cm.Results, 3)
		require.Nil(t, cm.Results[0].Error)
		require.NotNil(t, cm.Results[1].Error)
		require.Nil(t, cm.Results[2].Error)

		r = e.get(execPath(tasks[2].ExecutionID.String(), "/result"))
		require.Equal(t, `"two"`, string(r.body))
		r = e.get(execPath(tasks[1].ExecutionID.String(), "/state"))
		require.JSONEq(t, `"active"`, string(r.body))
	})
}

func TestListExecutionsAndLanes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		ids := map[string]bool{}
		for range 5 {
			ids[e.create(map[string]any{"lane": "a"})] = true
		}
		ids[e.create(map[string]any{"lane": "b"})] = true
		e.claimOne("b")

		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			path := "/v1/executions?limit=2"
			if cursor != "" {
				path += "&cursor=" + escape(cursor)
			}
			r := e.get(path)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			var page wire.ExecutionPage
			r.json(t, &page)
			require.LessOrEqual(t, len(page.Executions), 2)
			for _, x := range page.Executions {
				require.False(t, seen[x.ExecutionID.String()], "listed twice")
				seen[x.ExecutionID.String()] = true
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		require.Equal(t, ids, seen)

		r := e.get("/v1/executions?lane=b&public_state=active")
		var page wire.ExecutionPage
		r.json(t, &page)
		require.Len(t, page.Executions, 1)
		require.Equal(t, ff.PublicActive, page.Executions[0].PublicState)

		r = e.get("/v1/executions?lane=a&public_state=active")
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, `{"executions":[]}`, string(r.body))

		r = e.get("/v1/lanes")
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var lanes wire.LanePage
		r.json(t, &lanes)
		counts := map[string]map[ff.PublicState]int64{}
		for _, l := range lanes.Lanes {
			counts[l.Name] = l.Counts
		}
		require.EqualValues(t, 5, counts["a"][ff.PublicWaiting])
		require.EqualValues(t, 1, counts["b"][ff.PublicActive])
	})
}

func TestReadRoutesMisc(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		r := e.get("/healthz")
		require.Equal(t, http.StatusOK, r.status)
		var h wire.Health
		r.json(t, &h)
		require.Equal(t, "ok", h.Status)
		require.NotEmpty(t, h.Backend)

		r = e.get("/v1/capabilities")
		require.Equal(t, http.StatusOK, r.status)
		var caps wire.Capabilities
		r.json(t, &caps)
		require.True(t, caps.Supports.Claim)
		require.NotEmpty(t, caps.Family)

		// A completion without a result answers 204 on /result.
		id := e.create(map[string]any{})
		task := e.claimOne("default")
		r = e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		r = e.get(execPath(id, "/result"))
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	})
}

func TestNonJSONPayloadsRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		raw := []byte{0xff, 0x00, 'x'}
		r := e.post("/v1/executions", map[string]any{"kind": "bin", "input_base64": raw})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		task := e.claimOne("default")
		require.Empty(t, task.Input)
		require.Equal(t, raw, task.InputBase64)

		r = e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle, "result_base64": []byte("not json")})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		r = e.get(execPath(task.ExecutionID.String(), "/result"))
		require.Equal(t, "application/octet-stream", r.header.Get("Content-Type"))
		require.Equal(t, "not json", string(r.body))

		r = e.post("/v1/executions", map[string]any{"kind": "bin", "input": 1, "input_base64": raw})
		require.Equal(t, http.StatusBadRequest, r.status)
	})
}

// The snapshot is the backend's JSON plus nothing hidden: check a few
// documented field names exist in the raw body.
func TestSnapshotFieldNames(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{})
		r := e.get(execPath(id, ""))
		var m map[string]json.RawMessage
		r.json(t, &m)
		for _, k := range []string{"execution_id", "lane", "kind", "public_state", "state_vector",
			"attempt_count", "created_at_ms", "updated_at_ms"} {
			require.Contains(t, m, k)
		}
	})
}
