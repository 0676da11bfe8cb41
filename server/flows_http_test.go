package server_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func (e *env) flow(id string) wire.Flow {
	e.t.Helper()
	r := e.get("/v1/flows/" + id)
	require.Equal(e.t, http.StatusOK, r.status, "body: %s", r.body)
	var f wire.Flow
	r.json(e.t, &f)
	return f
}

func (e *env) requireKindStatus(r reply, status int, kind ff.ErrorKind) {
	e.t.Helper()
	require.Equal(e.t, status, r.status, "body: %s", r.body)
	require.Equal(e.t, kind, r.apiError(e.t).Kind)
}

func dagBody(flowID string) map[string]any {
	return map[string]any{"flow_id": flowID, "kind": "etl", "executions": []map[string]any{
		{"ref": "extract", "kind": "extract", "lane": "etl", "input": map[string]any{"src": "s3"}},
		{"ref": "load", "kind": "load", "lane": "etl", "depends_on_refs": []string{"extract"}},
	}}
}

func TestFlowRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := uuid.NewString()
		r := e.post("/v1/flows", dagBody(id))
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		var created wire.CreateFlowResponse
		r.json(t, &created)
		require.Equal(t, id, created.FlowID)
		require.Equal(t, ff.FlowOpen, created.PublicFlowState)
		require.Len(t, created.ExecutionIDs, 2)
		r = e.post("/v1/flows", dagBody(id))
		require.Equal(t, http.StatusOK, r.status, "the same flow_id again")
		var again wire.CreateFlowResponse
		r.json(t, &again)
		require.Equal(t, created, again)

		extract, load := created.ExecutionIDs["extract"].String(), created.ExecutionIDs["load"].String()
		f := e.flow(id)
		require.Len(t, f.Members, 2)
		require.Len(t, f.Edges, 1)
		require.Equal(t, ff.EdgeUnresolved, f.Edges[0].State)
		extra := e.create(map[string]any{"lane": "etl", "flow_id": id, "depends_on": []string{extract},
			"join": map[string]any{"policy": "any_of", "on_satisfied": "let_run"}})
		r = e.get(execPath(extra, ""))
		var snap wire.ExecutionSnapshot
		r.json(t, &snap)
		require.Equal(t, ff.PublicWaitingChildren, snap.PublicState)

		task := e.claimOne("etl")
		require.Equal(t, extract, task.ExecutionID.String())
		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle, "result": map[string]any{"rows": 3}}).status)
		f = e.flow(id)
		require.Equal(t, ff.FlowRunning, f.PublicFlowState)
		for _, ed := range f.Edges {
			require.Equal(t, ff.EdgeSatisfied, ed.State)
		}
		var ups wire.UpstreamList
		e.get(execPath(load, "/upstreams")).json(t, &ups)
		require.Len(t, ups.Upstreams, 1)
		require.JSONEq(t, `{"rows":3}`, string(ups.Upstreams[0].Result))

		var edges wire.FlowEdgeList
		e.get("/v1/flows/"+id+"/edges?upstream_execution_id="+escape(extract)).json(t, &edges)
		require.Len(t, edges.Edges, 2)

		var page wire.FlowPage
		r = e.get("/v1/flows?limit=10")
		require.Equal(t, http.StatusOK, r.status)
		r.json(t, &page)
		require.Len(t, page.Flows, 1)

		r = e.post("/v1/flows/"+id+"/cancel", map[string]any{"wait": true, "reason": "done"})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var cancelled wire.CancelFlowResponse
		r.json(t, &cancelled)
		require.Equal(t, ff.CancelFlowAll, cancelled.Policy)
		require.Len(t, cancelled.MemberExecutionIDs, 2)
		require.Zero(t, cancelled.Pending)
		r = e.post("/v1/flows/"+id+"/cancel", nil)
		require.Equal(t, http.StatusOK, r.status)
		var repeat wire.CancelFlowResponse
		r.json(t, &repeat)
		require.Equal(t, cancelled, repeat, "a repeat answers the same shape")
		require.Equal(t, ff.FlowCancelled, e.flow(id).PublicFlowState)
	})
}

func TestFlowRoutesRefuseBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := uuid.NewString()
		var created wire.CreateFlowResponse
		e.post("/v1/flows", dagBody(id)).json(t, &created)
		extract, load := created.ExecutionIDs["extract"].String(), created.ExecutionIDs["load"].String()
		edge := func(up, down string, extra map[string]any) reply {
			body := map[string]any{"upstream_execution_id": up, "downstream_execution_id": down}
			for k, v := range extra {
				body[k] = v
			}
			return e.post("/v1/flows/"+id+"/edges", body)
		}
		e.requireKindStatus(edge(load, extract, nil), http.StatusConflict, ff.ErrCycleDetected)
		e.requireKindStatus(edge(extract, extract, nil), http.StatusConflict, ff.ErrCycleDetected)
		e.requireKindStatus(edge(extract, load, nil), http.StatusConflict, ff.ErrDuplicateEdge)
		e.requireKindStatus(edge(extract, load, map[string]any{"expected_graph_revision": 99}), http.StatusConflict, ff.ErrStaleGraphRevision)
		plain := e.create(map[string]any{"lane": "etl"})
		e.requireKindStatus(edge(plain, load, nil), http.StatusConflict, ff.ErrNotFlowMember)
		e.claimOne("etl")
		third := e.create(map[string]any{"lane": "etl", "flow_id": id})
		e.requireKindStatus(edge(third, extract, nil), http.StatusConflict, ff.ErrNotEligible)
		e.requireKindStatus(e.get("/v1/flows/"+uuid.NewString()), http.StatusNotFound, ff.ErrNotFound)
		e.requireKindStatus(e.post("/v1/flows/"+uuid.NewString()+"/cancel", nil), http.StatusNotFound, ff.ErrNotFound)
		e.requireKindStatus(e.post("/v1/executions", map[string]any{"kind": "k", "flow_id": id, "depends_on": []string{extract},
			"join": map[string]any{"policy": "quorum", "n": 2}}), http.StatusBadRequest, ff.ErrInvalidInput)
		e.requireKindStatus(e.post("/v1/executions", map[string]any{"kind": "k", "depends_on": []string{extract}}), http.StatusBadRequest, ff.ErrInvalidInput)
		e.requireKindStatus(e.post("/v1/flows/"+id+"/cancel", map[string]any{"policy": "nope"}), http.StatusBadRequest, ff.ErrInvalidInput)
		big := map[string]any{"kind": "k", "executions": make([]map[string]any, ff.MaxFlowRequestExecutions+1)}
		for i := range big["executions"].([]map[string]any) {
			big["executions"].([]map[string]any)[i] = map[string]any{"ref": uuid.NewString(), "kind": "k"}
		}
		e.requireKindStatus(e.post("/v1/flows", big), http.StatusRequestEntityTooLarge, ff.ErrPayloadTooLarge)
		cyc := map[string]any{"kind": "k", "executions": []map[string]any{
			{"ref": "a", "kind": "k", "depends_on_refs": []string{"b"}}, {"ref": "b", "kind": "k", "depends_on_refs": []string{"a"}}}}
		e.requireKindStatus(e.post("/v1/flows", cyc), http.StatusConflict, ff.ErrCycleDetected)
		var page wire.FlowPage
		e.get("/v1/flows").json(t, &page)
		require.Len(t, page.Flows, 1, "no refusal created a flow")
	})
}

func TestFlowSpawnAndWaitChildrenOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := uuid.NewString()
		e.post("/v1/flows", map[string]any{"flow_id": id, "kind": "fan"})
		parent := e.create(map[string]any{"lane": "fan", "flow_id": id})
		task := e.claimOne("fan")
		r := e.post("/v1/tasks/spawn-children", map[string]any{"handle": task.Handle,
			"children": []map[string]any{{"kind": "kid", "lane": "kids"}, {"kind": "kid", "lane": "kids"}}})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		var kids wire.SpawnChildrenResponse
		r.json(t, &kids)
		require.Len(t, kids.ExecutionIDs, 2)
		var wait wire.WaitChildrenResponse
		r = e.post("/v1/tasks/wait-children", map[string]any{"handle": task.Handle})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		r.json(t, &wait)
		require.False(t, wait.Ready)
		for range 2 {
			kid := e.claimOne("kids")
			require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": kid.Handle, "result": 1}).status)
		}
		resumed := e.claimOne("fan")
		require.Equal(t, parent, resumed.ExecutionID.String())
		require.Equal(t, task.AttemptIndex, resumed.AttemptIndex)
		require.Equal(t, string(ff.AttemptResume), string(resumed.AttemptType))
	})
}
