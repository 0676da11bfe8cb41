package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The flow methods mirror backend.Flows over /v1/flows and the task
// routes. WorkFlowCancels and RepairFlowEdges are the reconcilers' and
// have no route.

var _ backend.Flows = (*Client)(nil)

func flowPath(id, suffix string) string { return "/v1/flows/" + url.PathEscape(id) + suffix }

// CreateFlow creates a flow, with p.Members a whole DAG (POST /v1/flows).
func (c *Client) CreateFlow(ctx context.Context, p backend.CreateFlowParams) (backend.CreateFlowResult, error) {
	req := wire.CreateFlowRequest{FlowID: p.FlowID, Kind: p.Kind, Namespace: p.Namespace}
	for _, m := range p.Members {
		x, err := createRequest(m.Execution)
		if err != nil {
			return backend.CreateFlowResult{}, err
		}
		x.FlowID, x.DependsOn, x.Join = "", nil, m.Join
		req.Executions = append(req.Executions, wire.FlowExecution{CreateExecutionRequest: x, Ref: m.Ref, DependsOnRefs: m.DependsOnRefs})
	}
	var out wire.CreateFlowResponse
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/flows", in: req}, &out)
	if err != nil {
		return backend.CreateFlowResult{}, err
	}
	return backend.CreateFlowResult{FlowID: out.FlowID, PublicFlowState: out.PublicFlowState, ExecutionIDs: out.ExecutionIDs,
		Existing: status == http.StatusOK}, nil
}

// AddExecutionToFlow makes an execution a member (POST /v1/flows/{id}/members).
func (c *Client) AddExecutionToFlow(ctx context.Context, p backend.AddExecutionToFlowParams) (backend.AddExecutionToFlowResult, error) {
	var out wire.AddFlowMemberResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: flowPath(p.FlowID, "/members"),
		in: wire.AddFlowMemberRequest{ExecutionID: p.ExecutionID.String(), Join: p.Join}}, &out)
	return backend.AddExecutionToFlowResult{GraphRevision: out.GraphRevision, AlreadyMember: out.AlreadyMember}, err
}

// AddFlowEdge adds an edge (POST /v1/flows/{id}/edges).
func (c *Client) AddFlowEdge(ctx context.Context, p backend.AddFlowEdgeParams) (backend.AddFlowEdgeResult, error) {
	var out wire.AddFlowEdgeResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: flowPath(p.FlowID, "/edges"), in: wire.AddFlowEdgeRequest{
		UpstreamExecutionID: p.Upstream.String(), DownstreamExecutionID: p.Downstream.String(), Kind: p.Kind,
		ExpectedGraphRevision: p.ExpectedGraphRevision}}, &out)
	return backend.AddFlowEdgeResult{EdgeID: out.EdgeID, GraphRevision: out.GraphRevision}, err
}

// DescribeFlow returns the flow with members and edges (GET /v1/flows/{id}).
func (c *Client) DescribeFlow(ctx context.Context, p backend.DescribeFlowParams) (backend.FlowSnapshot, error) {
	var out wire.Flow
	if _, err := c.do(ctx, call{method: http.MethodGet, path: flowPath(p.FlowID, "")}, &out); err != nil {
		return backend.FlowSnapshot{}, err
	}
	snap := backend.FlowSnapshot{FlowID: out.FlowID, Namespace: out.Namespace, Kind: out.Kind, PublicFlowState: out.PublicFlowState,
		GraphRevision: out.GraphRevision, CreatedAtMs: out.CreatedAtMs, CancelledAtMs: out.CancelledAtMs,
		CancelPolicy: out.CancelPolicy, CancelReason: out.CancelReason, Edges: edgesOf(out.FlowID, out.Edges)}
	for _, m := range out.Members {
		snap.Members = append(snap.Members, backend.FlowMemberState{ExecutionID: m.ExecutionID, PublicState: m.PublicState,
			Ref: m.Ref, Join: m.Join, JoinState: m.JoinState})
	}
	return snap, nil
}

func edgesOf(flowID string, es []wire.FlowEdge) []backend.FlowEdge {
	out := make([]backend.FlowEdge, len(es))
	for i, e := range es {
		out[i] = backend.FlowEdge{EdgeID: e.EdgeID, FlowID: flowID, Upstream: e.UpstreamExecutionID, Downstream: e.DownstreamExecutionID,
			Kind: e.Kind, State: e.State, CreatedAtMs: e.CreatedAtMs, ResolvedAtMs: e.ResolvedAtMs}
	}
	return out
}

// ListFlows pages flows by id (GET /v1/flows).
func (c *Client) ListFlows(ctx context.Context, p backend.ListFlowsParams) (backend.FlowPage, error) {
	q := url.Values{}
	if p.Namespace != "" {
		q.Set("namespace", p.Namespace)
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out wire.FlowPage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/flows", query: q}, &out); err != nil {
		return backend.FlowPage{}, err
	}
	page := backend.FlowPage{NextCursor: out.NextCursor, Flows: make([]backend.FlowSummary, len(out.Flows))}
	for i, f := range out.Flows {
		page.Flows[i] = backend.FlowSummary{FlowID: f.FlowID, Namespace: f.Namespace, Kind: f.Kind,
			PublicFlowState: f.PublicFlowState, GraphRevision: f.GraphRevision, CreatedAtMs: f.CreatedAtMs}
	}
	return page, nil
}

// ListFlowEdges lists a flow's edges (GET /v1/flows/{id}/edges).
func (c *Client) ListFlowEdges(ctx context.Context, p backend.ListFlowEdgesParams) ([]backend.FlowEdge, error) {
	q := url.Values{}
	if !p.Upstream.IsZero() {
		q.Set("upstream_execution_id", p.Upstream.String())
	}
	if !p.Downstream.IsZero() {
		q.Set("downstream_execution_id", p.Downstream.String())
	}
	var out wire.FlowEdgeList
	if _, err := c.do(ctx, call{method: http.MethodGet, path: flowPath(p.FlowID, "/edges"), query: q}, &out); err != nil {
		return nil, err
	}
	return edgesOf(p.FlowID, out.Edges), nil
}

// CancelFlow cancels a flow (POST /v1/flows/{id}/cancel).
func (c *Client) CancelFlow(ctx context.Context, p backend.CancelFlowParams) (backend.CancelFlowResult, error) {
	var out wire.CancelFlowResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: flowPath(p.FlowID, "/cancel"),
		in: wire.CancelFlowRequest{Policy: p.Policy, Reason: p.Reason, Wait: p.Wait}}, &out)
	return backend.CancelFlowResult{FlowID: out.FlowID, Policy: out.Policy, Members: out.MemberExecutionIDs, Pending: out.Pending}, err
}

// WorkFlowCancels is the reconcilers' sweep: Unavailable over HTTP.
func (c *Client) WorkFlowCancels(context.Context, backend.SweepParams) (int, error) {
	return 0, ff.Unavailable("work_flow_cancels")
}

// RepairFlowEdges is the reconcilers' sweep: Unavailable over HTTP.
func (c *Client) RepairFlowEdges(context.Context, backend.SweepParams) (int, error) {
	return 0, ff.Unavailable("repair_flow_edges")
}

// SpawnChildren creates children of the handle's execution in its flow
// (POST /v1/tasks/spawn-children).
func (c *Client) SpawnChildren(ctx context.Context, p backend.SpawnChildrenParams) ([]ff.ExecutionID, error) {
	req := wire.SpawnChildrenRequest{Handle: p.Handle.String()}
	for _, ch := range p.Children {
		x, err := createRequest(ch)
		if err != nil {
			return nil, err
		}
		req.Children = append(req.Children, x)
	}
	var out wire.SpawnChildrenResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/spawn-children", in: req}, &out); err != nil {
		return nil, err
	}
	return out.ExecutionIDs, nil
}

// WaitChildren parks the attempt until its children end
// (POST /v1/tasks/wait-children).
func (c *Client) WaitChildren(ctx context.Context, p backend.WaitChildrenParams) (backend.WaitChildrenResult, error) {
	var out wire.WaitChildrenResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/wait-children", in: wire.HandleRequest{Handle: p.Handle.String()}}, &out)
	return backend.WaitChildrenResult{Ready: out.Ready}, err
}

// UpstreamResults lists an execution's upstreams with their results
// (GET /v1/executions/{id}/upstreams).
func (c *Client) UpstreamResults(ctx context.Context, p backend.UpstreamResultsParams) ([]backend.UpstreamResult, error) {
	var out wire.UpstreamList
	if _, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/upstreams")}, &out); err != nil {
		return nil, err
	}
	res := make([]backend.UpstreamResult, len(out.Upstreams))
	for i, u := range out.Upstreams {
		res[i] = backend.UpstreamResult{ExecutionID: u.ExecutionID, EdgeState: u.EdgeState, PublicState: u.PublicState, Result: u.Result}
		if len(u.ResultBase64) > 0 {
			res[i].Result = u.ResultBase64
		}
	}
	return res, nil
}

// FlowStats is the metrics' scrape: Unavailable over HTTP (read
// /metrics).
func (c *Client) FlowStats(context.Context) (backend.FlowStats, error) {
	return backend.FlowStats{}, ff.Unavailable("flow_stats")
}
