package server

import (
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// flowRoutes are the routes of flows (issue 11, DESIGN §5.1 "Flows").
func (s *Server) flowRoutes() []*route {
	lim := s.limits
	return []*route{
		{method: "POST", path: "/v1/flows", op: "createFlow", limit: lim.Batch,
			summary: "Create a flow and, with executions, a whole DAG in one transaction (refs resolved to ids); the same flow_id again answers 200 with the same body.",
			body:    wire.CreateFlowRequest{},
			responses: []response{ok(201, "created", wire.CreateFlowResponse{}),
				ok(200, "the flow_id exists: the stored flow", wire.CreateFlowResponse{})},
			handle: (*Server).createFlow},
		{method: "GET", path: "/v1/flows", op: "listFlows",
			summary: "List flows by id, cursor-paginated.",
			query: []param{{"namespace", "string", "only this namespace", map[string]any{"maxLength": ff.MaxIdentifierBytes, "pattern": namePattern}},
				{"cursor", "string", "exclusive flow id to start after", map[string]any{"pattern": flowIDPattern}},
				{"limit", "integer", "page size", map[string]any{"minimum": 1, "maximum": 1000, "default": 100}}},
			responses: []response{ok(200, "a page; next_cursor is absent on the last page", wire.FlowPage{})},
			handle:    (*Server).listFlows},
		{method: "GET", path: "/v1/flows/{flow_id}", op: "describeFlow",
			summary:   "The flow with its members (public state, join) and edges (unresolved, satisfied or impossible).",
			responses: []response{ok(200, "the flow", wire.Flow{})},
			handle:    (*Server).describeFlow},
		{method: "POST", path: "/v1/flows/{flow_id}/edges", op: "addFlowEdge", limit: lim.Control,
			summary:   "Stage and apply an edge in one transaction: 409 cycle_detected, stale_graph_revision, not_flow_member, dependency_already_exists or execution_not_eligible (the downstream started).",
			body:      wire.AddFlowEdgeRequest{},
			responses: []response{ok(201, "the edge and the new graph revision", wire.AddFlowEdgeResponse{})},
			handle:    (*Server).addFlowEdge},
		{method: "GET", path: "/v1/flows/{flow_id}/edges", op: "listFlowEdges",
			summary: "The flow's edges, optionally only those from or into one member.",
			query: []param{{"upstream_execution_id", "string", "only edges from this member", map[string]any{"pattern": executionIDPat}},
				{"downstream_execution_id", "string", "only edges into this member", map[string]any{"pattern": executionIDPat}}},
			responses: []response{ok(200, "edges", wire.FlowEdgeList{})},
			handle:    (*Server).listFlowEdges},
		{method: "POST", path: "/v1/flows/{flow_id}/members", op: "addFlowMember", limit: lim.Control,
			summary:   "Make an existing execution that has not started (on the flow's partition) a member.",
			body:      wire.AddFlowMemberRequest{},
			responses: []response{ok(200, "the graph revision after the add", wire.AddFlowMemberResponse{})},
			handle:    (*Server).addFlowMember},
		{method: "POST", path: "/v1/flows/{flow_id}/cancel", op: "cancelFlow", limit: lim.Control,
			summary: "Cancel the flow and, per policy, its members (active members' leases revoked); wait cancels them before answering, otherwise a reconciler works the durable backlog. A repeat answers the same shape.",
			body:    wire.CancelFlowRequest{}, bodyOptional: true,
			responses: []response{ok(200, "the cancel", wire.CancelFlowResponse{})},
			handle:    (*Server).cancelFlow},
		{method: "GET", path: "/v1/executions/{id}/upstreams", op: "listUpstreams",
			summary:   "The execution's upstream members with their edge state, public state and result.",
			responses: []response{ok(200, "upstreams", wire.UpstreamList{})},
			handle:    (*Server).listUpstreams},
		{method: "POST", path: "/v1/tasks/spawn-children", op: "spawnChildren", limit: lim.Batch,
			summary:   "The lease holder creates child executions in its flow, each with an edge (kind completion) into it.",
			body:      wire.SpawnChildrenRequest{},
			responses: []response{ok(201, "the children", wire.SpawnChildrenResponse{})},
			handle:    (*Server).spawnChildren},
		{method: "POST", path: "/v1/tasks/wait-children", op: "waitChildren", limit: lim.Control,
			summary:   "Park the attempt until its children end; the next claim resumes it (attempt_type resume). ready: true means they already ended and the lease is kept.",
			body:      wire.HandleRequest{},
			responses: []response{ok(200, "parked, or ready", wire.WaitChildrenResponse{})},
			handle:    (*Server).waitChildren},
	}
}

func (s *Server) createFlow(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateFlowRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Executions) > ff.MaxFlowRequestExecutions {
		return ff.Validation(ff.ErrPayloadTooLarge, "executions: %d, at most %d in one request", len(req.Executions), ff.MaxFlowRequestExecutions)
	}
	p := backend.CreateFlowParams{FlowID: req.FlowID, Kind: req.Kind, Namespace: req.Namespace}
	for i, x := range req.Executions {
		m, err := flowMemberParams(x)
		if err != nil {
			return ff.Validation(ff.ErrInvalidInput, "executions[%d]: %v", i, err)
		}
		p.Members = append(p.Members, m)
	}
	res, err := s.b.CreateFlow(r.Context(), p)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Existing {
		status = http.StatusOK
	}
	s.writeJSON(w, r, status, wire.CreateFlowResponse{FlowID: res.FlowID, PublicFlowState: res.PublicFlowState, ExecutionIDs: res.ExecutionIDs})
	return nil
}

func flowMemberParams(x wire.FlowExecution) (backend.FlowMemberParams, error) {
	if x.FlowID != "" || len(x.DependsOn) > 0 {
		return backend.FlowMemberParams{}, ff.Validation(ff.ErrInvalidInput, "flow_id and depends_on: not in a DAG request (use depends_on_refs)")
	}
	join := x.Join
	x.Join = nil
	p, err := createParams(x.CreateExecutionRequest)
	if err != nil {
		return backend.FlowMemberParams{}, err
	}
	return backend.FlowMemberParams{Ref: x.Ref, Execution: p, DependsOnRefs: x.DependsOnRefs, Join: join}, nil
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	page, err := s.b.ListFlows(r.Context(), backend.ListFlowsParams{Namespace: q.Get("namespace"), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := wire.FlowPage{Flows: make([]wire.FlowSummary, len(page.Flows)), NextCursor: page.NextCursor}
	for i, f := range page.Flows {
		out.Flows[i] = wire.FlowSummary{FlowID: f.FlowID, Kind: f.Kind, Namespace: f.Namespace,
			PublicFlowState: f.PublicFlowState, GraphRevision: f.GraphRevision, CreatedAtMs: f.CreatedAtMs}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) describeFlow(w http.ResponseWriter, r *http.Request) error {
	snap, err := s.b.DescribeFlow(r.Context(), backend.DescribeFlowParams{FlowID: r.PathValue("flow_id")})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.FlowOf(snap))
	return nil
}

func (s *Server) addFlowEdge(w http.ResponseWriter, r *http.Request) error {
	var req wire.AddFlowEdgeRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	ids, err := parseExecutionIDs("execution ids", []string{req.UpstreamExecutionID, req.DownstreamExecutionID})
	if err != nil {
		return err
	}
	res, err := s.b.AddFlowEdge(r.Context(), backend.AddFlowEdgeParams{FlowID: r.PathValue("flow_id"), Upstream: ids[0],
		Downstream: ids[1], Kind: req.Kind, ExpectedGraphRevision: req.ExpectedGraphRevision})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, wire.AddFlowEdgeResponse{EdgeID: res.EdgeID, GraphRevision: res.GraphRevision})
	return nil
}

func (s *Server) listFlowEdges(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	p := backend.ListFlowEdgesParams{FlowID: r.PathValue("flow_id")}
	for name, dst := range map[string]*ff.ExecutionID{"upstream_execution_id": &p.Upstream, "downstream_execution_id": &p.Downstream} {
		if v := q.Get(name); v != "" {
			if *dst, err = ff.ParseExecutionID(v); err != nil {
				return err
			}
		}
	}
	edges, err := s.b.ListFlowEdges(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.FlowEdgeList{Edges: wire.FlowEdgesOf(edges)})
	return nil
}

func (s *Server) addFlowMember(w http.ResponseWriter, r *http.Request) error {
	var req wire.AddFlowMemberRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := ff.ParseExecutionID(req.ExecutionID)
	if err != nil {
		return err
	}
	res, err := s.b.AddExecutionToFlow(r.Context(), backend.AddExecutionToFlowParams{FlowID: r.PathValue("flow_id"), ExecutionID: id, Join: req.Join})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.AddFlowMemberResponse{GraphRevision: res.GraphRevision, AlreadyMember: res.AlreadyMember})
	return nil
}

func (s *Server) cancelFlow(w http.ResponseWriter, r *http.Request) error {
	var req wire.CancelFlowRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	res, err := s.b.CancelFlow(r.Context(), backend.CancelFlowParams{FlowID: r.PathValue("flow_id"), Policy: req.Policy,
		Reason: req.Reason, Wait: req.Wait})
	if err != nil {
		return err
	}
	members := res.Members
	if members == nil {
		members = []ff.ExecutionID{}
	}
	s.writeJSON(w, r, http.StatusOK, wire.CancelFlowResponse{FlowID: res.FlowID, Policy: res.Policy, MemberExecutionIDs: members, Pending: res.Pending})
	return nil
}

func (s *Server) listUpstreams(w http.ResponseWriter, r *http.Request) error {
	id, err := pathExecutionID(r)
	if err != nil {
		return err
	}
	ups, err := s.b.UpstreamResults(r.Context(), backend.UpstreamResultsParams{ExecutionID: id})
	if err != nil {
		return err
	}
	out := wire.UpstreamList{Upstreams: make([]wire.Upstream, len(ups))}
	for i, u := range ups {
		out.Upstreams[i] = wire.UpstreamOf(u)
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) spawnChildren(w http.ResponseWriter, r *http.Request) error {
	var req wire.SpawnChildrenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	if len(req.Children) > ff.MaxFlowRequestExecutions {
		return ff.Validation(ff.ErrPayloadTooLarge, "children: %d, at most %d", len(req.Children), ff.MaxFlowRequestExecutions)
	}
	p := backend.SpawnChildrenParams{Handle: h}
	for i, c := range req.Children {
		if c.FlowID != "" || len(c.DependsOn) > 0 || c.Join != nil {
			return ff.Validation(ff.ErrInvalidInput, "children[%d]: flow_id, depends_on and join are set by the spawn", i)
		}
		cp, err := createParams(c)
		if err != nil {
			return err
		}
		p.Children = append(p.Children, cp)
	}
	ids, err := s.b.SpawnChildren(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, wire.SpawnChildrenResponse{ExecutionIDs: ids})
	return nil
}

func (s *Server) waitChildren(w http.ResponseWriter, r *http.Request) error {
	var req wire.HandleRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	res, err := s.b.WaitChildren(r.Context(), backend.WaitChildrenParams{Handle: h})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.WaitChildrenResponse{Ready: res.Ready})
	return nil
}
