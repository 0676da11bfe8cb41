package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// CreateExecution creates an execution (POST /v1/executions). A matched
// idempotency key returns the existing execution with Duplicate set.
func (c *Client) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	req, err := createRequest(p)
	if err != nil {
		return backend.CreateExecutionResult{}, err
	}
	var out wire.CreateExecutionResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/executions", in: req}, &out); err != nil {
		return backend.CreateExecutionResult{}, err
	}
	return backend.CreateExecutionResult{ExecutionID: out.ExecutionID, PublicState: out.PublicState, Duplicate: out.Duplicate}, nil
}

// createRequest is the wire form of p, flow membership included.
func createRequest(p backend.CreateExecutionParams) (wire.CreateExecutionRequest, error) {
	req := wire.CreateExecutionRequest{
		Kind: p.Kind, Lane: p.Lane, Namespace: p.Namespace, Priority: p.Priority,
		RequiredCapabilities: p.RequiredCapabilities, IdempotencyKey: p.IdempotencyKey,
		DelayUntilMs: ff.MsFromTime(p.DelayUntil), DeadlineAtMs: ff.MsFromTime(p.DeadlineAt), Tags: p.Tags,
		FlowID: p.FlowID, Join: p.Join,
	}
	req.Input, req.InputBase64 = wire.EncodePayload(p.Input)
	if !p.ExecutionID.IsZero() {
		req.ExecutionID = p.ExecutionID.String()
	}
	for _, id := range p.DependsOn {
		req.DependsOn = append(req.DependsOn, id.String())
	}
	if p.Policy != nil {
		raw, err := json.Marshal(p.Policy)
		if err != nil {
			return req, ff.Validation(ff.ErrInvalidPolicy, "policy: %v", err)
		}
		req.Policy = raw
	}
	return req, nil
}

// DescribeExecution returns the snapshot (GET /v1/executions/{id}).
func (c *Client) DescribeExecution(ctx context.Context, p backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	var out wire.ExecutionSnapshot
	if _, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "")}, &out); err != nil {
		return backend.ExecutionSnapshot{}, err
	}
	return out.ToBackend(), nil
}

// ReadExecutionState returns the public state (GET .../state).
func (c *Client) ReadExecutionState(ctx context.Context, p backend.ReadExecutionStateParams) (ff.PublicState, error) {
	var out ff.PublicState
	_, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/state")}, &out)
	return out, err
}

// GetExecutionResult returns the stored result bytes unchanged (GET
// .../result); not_found until the execution completed, nil when it
// completed without a result.
func (c *Client) GetExecutionResult(ctx context.Context, p backend.GetExecutionResultParams) ([]byte, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/result")})
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusNoContent {
		return nil, nil
	}
	return resp.body, nil
}

// ListAttempts returns every attempt, oldest first (GET .../attempts).
func (c *Client) ListAttempts(ctx context.Context, p backend.ListAttemptsParams) ([]ff.Attempt, error) {
	var out wire.AttemptList
	if _, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/attempts")}, &out); err != nil {
		return nil, err
	}
	return out.ToBackend(), nil
}

// CancelExecution is an operator cancel (POST .../cancel); it returns the
// public state afterwards.
func (c *Client) CancelExecution(ctx context.Context, p backend.CancelExecutionParams) (ff.PublicState, error) {
	var out wire.CancelExecutionResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: executionPath(p.ExecutionID, "/cancel"),
		in: wire.CancelExecutionRequest{Reason: p.Reason, Source: p.Source}}, &out)
	return out.PublicState, err
}

// ListExecutions pages executions in id order (GET /v1/executions).
func (c *Client) ListExecutions(ctx context.Context, p backend.ListExecutionsParams) (backend.ExecutionPage, error) {
	q := url.Values{}
	if p.Lane != "" {
		q.Set("lane", p.Lane)
	}
	if p.PublicState != "" {
		q.Set("public_state", string(p.PublicState))
	}
	if p.Partition != nil {
		q.Set("partition", strconv.Itoa(int(*p.Partition)))
	}
	for k, v := range map[string]string{"kind": p.Kind, "tag": p.Tag.String(), "flow_id": p.FlowID, "cursor": p.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out wire.ExecutionPage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/executions", query: q}, &out); err != nil {
		return backend.ExecutionPage{}, err
	}
	return out.ToBackend(), nil
}

// ListLanes pages lanes with their queue depth (GET /v1/lanes).
func (c *Client) ListLanes(ctx context.Context, p backend.ListLanesParams) (backend.LanePage, error) {
	q := url.Values{}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	var out wire.LanePage
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/lanes", query: q}, &out); err != nil {
		return backend.LanePage{}, err
	}
	return out.ToBackend(), nil
}

// Healthz checks that the server and its backend answer (GET /healthz).
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/healthz"}, nil)
	return err
}

// Capabilities returns the backend's capability snapshot.
func (c *Client) Capabilities(ctx context.Context) (backend.Capabilities, error) {
	var out wire.Capabilities
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/capabilities"}, &out); err != nil {
		return backend.Capabilities{}, err
	}
	return out.ToBackend(), nil
}

// OpenAPI returns the server's OpenAPI 3.1 document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/v1/openapi.json"})
	return resp.body, err
}
