package wire

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// CreateFlowRequest is the body of POST /v1/flows: a flow and, with
// Executions, a whole DAG created in one transaction.
type CreateFlowRequest struct {
	FlowID     string          `json:"flow_id,omitempty"`
	Kind       string          `json:"kind"`
	Namespace  string          `json:"namespace,omitempty"`
	Executions []FlowExecution `json:"executions,omitempty"`
}

// FlowExecution is one member of a DAG: a create body (without flow_id
// and depends_on) plus its ref and the refs it depends on.
type FlowExecution struct {
	CreateExecutionRequest
	Ref           string   `json:"ref"`
	DependsOnRefs []string `json:"depends_on_refs,omitempty"`
}

// CreateFlowResponse answers POST /v1/flows (201, or 200 for an existing
// flow_id with the same body).
type CreateFlowResponse struct {
	FlowID          string                    `json:"flow_id"`
	PublicFlowState string                    `json:"public_flow_state"`
	ExecutionIDs    map[string]ff.ExecutionID `json:"execution_ids"`
}

// AddFlowEdgeRequest is the body of POST /v1/flows/{flow_id}/edges.
type AddFlowEdgeRequest struct {
	UpstreamExecutionID   string `json:"upstream_execution_id"`
	DownstreamExecutionID string `json:"downstream_execution_id"`
	Kind                  string `json:"kind,omitempty"`
	ExpectedGraphRevision *int64 `json:"expected_graph_revision,omitempty"`
}

// AddFlowEdgeResponse is the new edge and graph revision.
type AddFlowEdgeResponse struct {
	EdgeID        string `json:"edge_id"`
	GraphRevision int64  `json:"graph_revision"`
}

// AddFlowMemberRequest is the body of POST /v1/flows/{flow_id}/members.
type AddFlowMemberRequest struct {
	ExecutionID string         `json:"execution_id"`
	Join        *ff.JoinPolicy `json:"join,omitempty"`
}

// AddFlowMemberResponse is the flow's graph revision after the add.
type AddFlowMemberResponse struct {
	GraphRevision int64 `json:"graph_revision"`
	AlreadyMember bool  `json:"already_member,omitempty"`
}

// Flow is GET /v1/flows/{flow_id}.
type Flow struct {
	FlowID          string       `json:"flow_id"`
	Kind            string       `json:"kind"`
	Namespace       string       `json:"namespace"`
	PublicFlowState string       `json:"public_flow_state"`
	GraphRevision   int64        `json:"graph_revision"`
	CreatedAtMs     int64        `json:"created_at_ms"`
	CancelledAtMs   int64        `json:"cancelled_at_ms,omitempty"`
	CancelPolicy    string       `json:"cancel_policy,omitempty"`
	CancelReason    string       `json:"cancel_reason,omitempty"`
	Members         []FlowMember `json:"members"`
	Edges           []FlowEdge   `json:"edges"`
}

// FlowMember is one member with its public state and join.
type FlowMember struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	PublicState ff.PublicState `json:"public_state"`
	Ref         string         `json:"ref,omitempty"`
	Join        ff.JoinPolicy  `json:"join"`
	JoinState   string         `json:"join_state"`
}

// FlowEdge is one edge; state is unresolved, satisfied or impossible.
type FlowEdge struct {
	EdgeID                string         `json:"edge_id"`
	UpstreamExecutionID   ff.ExecutionID `json:"upstream_execution_id"`
	DownstreamExecutionID ff.ExecutionID `json:"downstream_execution_id"`
	Kind                  string         `json:"kind"`
	State                 string         `json:"state"`
	CreatedAtMs           int64          `json:"created_at_ms"`
	ResolvedAtMs          int64          `json:"resolved_at_ms,omitempty"`
}

// FlowEdgeList is GET /v1/flows/{flow_id}/edges.
type FlowEdgeList struct {
	Edges []FlowEdge `json:"edges"`
}

// FlowSummary is one flow of a list.
type FlowSummary struct {
	FlowID          string `json:"flow_id"`
	Kind            string `json:"kind"`
	Namespace       string `json:"namespace"`
	PublicFlowState string `json:"public_flow_state"`
	GraphRevision   int64  `json:"graph_revision"`
	CreatedAtMs     int64  `json:"created_at_ms"`
}

// FlowPage is GET /v1/flows; NextCursor is absent on the last page.
type FlowPage struct {
	Flows      []FlowSummary `json:"flows"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// CancelFlowRequest is the optional body of POST /v1/flows/{flow_id}/cancel.
type CancelFlowRequest struct {
	Policy string `json:"policy,omitempty"`
	Reason string `json:"reason,omitempty"`
	Wait   bool   `json:"wait,omitempty"`
}

// CancelFlowResponse answers a cancel (and every repeat of it).
type CancelFlowResponse struct {
	FlowID             string           `json:"flow_id"`
	Policy             string           `json:"policy"`
	MemberExecutionIDs []ff.ExecutionID `json:"member_execution_ids"`
	Pending            int              `json:"pending"`
}

// SpawnChildrenRequest is the body of POST /v1/tasks/spawn-children.
type SpawnChildrenRequest struct {
	Handle   string                   `json:"handle"`
	Children []CreateExecutionRequest `json:"children"`
}

// SpawnChildrenResponse lists the children created.
type SpawnChildrenResponse struct {
	ExecutionIDs []ff.ExecutionID `json:"execution_ids"`
}

// WaitChildrenResponse answers POST /v1/tasks/wait-children: ready
// true means the children were already done and the lease is kept.
type WaitChildrenResponse struct {
	Ready bool `json:"ready"`
}

// UpstreamList is GET /v1/executions/{id}/upstreams.
type UpstreamList struct {
	Upstreams []Upstream `json:"upstreams"`
}

// Upstream is one upstream with its state and result (a JSON result as
// is; any other bytes in result_base64).
type Upstream struct {
	ExecutionID  ff.ExecutionID  `json:"execution_id"`
	EdgeState    string          `json:"edge_state"`
	PublicState  ff.PublicState  `json:"public_state"`
	Result       json.RawMessage `json:"result,omitempty"`
	ResultBase64 []byte          `json:"result_base64,omitempty"`
}

// FlowOf renders a flow snapshot.
func FlowOf(s backend.FlowSnapshot) Flow {
	out := Flow{FlowID: s.FlowID, Kind: s.Kind, Namespace: s.Namespace, PublicFlowState: s.PublicFlowState,
		GraphRevision: s.GraphRevision, CreatedAtMs: s.CreatedAtMs, CancelledAtMs: s.CancelledAtMs,
		CancelPolicy: s.CancelPolicy, CancelReason: s.CancelReason,
		Members: make([]FlowMember, len(s.Members)), Edges: FlowEdgesOf(s.Edges)}
	for i, m := range s.Members {
		out.Members[i] = FlowMember{ExecutionID: m.ExecutionID, PublicState: m.PublicState, Ref: m.Ref, Join: m.Join, JoinState: m.JoinState}
	}
	return out
}

// FlowEdgesOf renders edges.
func FlowEdgesOf(es []backend.FlowEdge) []FlowEdge {
	out := make([]FlowEdge, len(es))
	for i, e := range es {
		out[i] = FlowEdge{EdgeID: e.EdgeID, UpstreamExecutionID: e.Upstream, DownstreamExecutionID: e.Downstream,
			Kind: e.Kind, State: e.State, CreatedAtMs: e.CreatedAtMs, ResolvedAtMs: e.ResolvedAtMs}
	}
	return out
}

// UpstreamOf renders one upstream.
func UpstreamOf(u backend.UpstreamResult) Upstream {
	out := Upstream{ExecutionID: u.ExecutionID, EdgeState: u.EdgeState, PublicState: u.PublicState}
	switch {
	case len(u.Result) == 0:
	case json.Valid(u.Result):
		out.Result = u.Result
	default:
		out.ResultBase64 = u.Result
	}
	return out
}
