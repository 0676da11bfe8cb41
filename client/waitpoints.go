package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The waitpoint methods mirror backend.Waitpoints over the routes of
// DESIGN §5.1. The sweeps and SeedWaitpointKey are the server's and have
// no route.

// Suspend suspends the lease holder's execution (POST /v1/tasks/suspend).
func (c *Client) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	r := p.Request
	req := wire.SuspendRequest{Handle: p.Handle.String(), TimeoutAtMs: r.TimeoutAtMs,
		TimeoutBehavior: string(r.TimeoutBehavior), ReasonCode: r.ReasonCode, IdempotencyKey: r.IdempotencyKey}
	for _, k := range r.WaitpointKeys {
		req.Waitpoints = append(req.Waitpoints, wire.WaitpointBinding{Key: k})
	}
	if r.Condition != nil {
		raw, err := json.Marshal(r.Condition)
		if err != nil {
			return backend.SuspendOutcome{}, ff.Validation(ff.ErrInvalidInput, "condition: %v", err)
		}
		req.Condition = raw
	}
	var out wire.SuspendResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/suspend", in: req}, &out); err != nil {
		return backend.SuspendOutcome{}, err
	}
	return out.ToBackend(), nil
}

// CreateWaitpoint creates a pending waitpoint (POST /v1/tasks/waitpoints).
func (c *Client) CreateWaitpoint(ctx context.Context, p backend.CreateWaitpointParams) (backend.WaitpointToken, error) {
	req := wire.CreateWaitpointRequest{Handle: p.Handle.String(), Key: p.Key}
	if !p.Expiry.IsZero() {
		req.ExpiresAtMs = ff.MsFromTime(p.Expiry)
	}
	var out wire.WaitpointToken
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/waitpoints", in: req}, &out); err != nil {
		return backend.WaitpointToken{}, err
	}
	return backend.WaitpointToken(out), nil
}

// DeliverSignal delivers a signal (POST /v1/executions/{id}/signal). The
// token is the credential: a client without an API token may call it.
func (c *Client) DeliverSignal(ctx context.Context, p backend.DeliverSignalParams) (backend.DeliverSignalResult, error) {
	req := wire.SignalRequest{WaitpointID: p.WaitpointID, WaitpointKey: p.WaitpointKey, Token: p.Token,
		SignalName: p.Name, Payload: p.Payload, IdempotencyKey: p.IdempotencyKey}
	if p.Source != (ff.SignalSource{}) {
		src := wire.SignalSource(p.Source)
		req.Source = &src
	}
	var out wire.SignalResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: executionPath(p.ExecutionID, "/signal"), in: req}, &out); err != nil {
		return backend.DeliverSignalResult{}, err
	}
	return backend.DeliverSignalResult{SignalID: out.SignalID, Effect: out.Effect, Duplicate: out.Duplicate}, nil
}

// Signal sends signal name with payload (marshalled to JSON; nil for
// none) to a waitpoint, authenticated by its token: the one call a
// webhook receiver or an approval tool needs.
//
//	res, err := c.Signal(ctx, execID, waitpointID, token, "approve", map[string]any{"by": "ann"})
func (c *Client) Signal(ctx context.Context, execID ff.ExecutionID, waitpointID, token, name string, payload any) (backend.DeliverSignalResult, error) {
	var raw json.RawMessage
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return backend.DeliverSignalResult{}, ff.Validation(ff.ErrInvalidInput, "payload: %v", err)
		}
		raw = b
	}
	return c.DeliverSignal(ctx, backend.DeliverSignalParams{ExecutionID: execID, WaitpointID: waitpointID,
		Token: token, Name: name, Payload: raw})
}

// ResumeExecution is the operator resume (POST /v1/executions/{id}/resume).
func (c *Client) ResumeExecution(ctx context.Context, p backend.ResumeExecutionParams) (ff.PublicState, error) {
	var out wire.ResumeExecutionResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: executionPath(p.ExecutionID, "/resume")}, &out); err != nil {
		return "", err
	}
	return out.PublicState, nil
}

// ListWaitpoints lists an execution's open waitpoints, without tokens.
func (c *Client) ListWaitpoints(ctx context.Context, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error) {
	var out wire.WaitpointList
	if _, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/waitpoints")}, &out); err != nil {
		return nil, err
	}
	ws := make([]ff.Waitpoint, 0, len(out.Waitpoints))
	for _, w := range out.Waitpoints {
		ws = append(ws, ff.Waitpoint{ID: w.WaitpointID, Key: w.WaitpointKey, ExecutionID: p.ExecutionID, State: w.State,
			RequiredSignalNames: w.RequiredSignalNames, CreatedAtMs: w.CreatedAtMs, ExpiresAtMs: w.ExpiresAtMs,
			TokenKid: w.TokenKid, TokenFingerprint: w.TokenFingerprint})
	}
	return ws, nil
}

// GetWaitpointToken reads an open waitpoint's token (operator).
func (c *Client) GetWaitpointToken(ctx context.Context, p backend.GetWaitpointTokenParams) (string, error) {
	var out wire.TokenResponse
	path := executionPath(p.ExecutionID, "/waitpoints/"+url.PathEscape(p.WaitpointID)+"/token")
	if _, err := c.do(ctx, call{method: http.MethodGet, path: path}, &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

// ListSignals lists the signals an execution received, oldest first.
func (c *Client) ListSignals(ctx context.Context, p backend.ListSignalsParams) ([]ff.Signal, error) {
	var out wire.SignalList
	if _, err := c.do(ctx, call{method: http.MethodGet, path: executionPath(p.ExecutionID, "/signals")}, &out); err != nil {
		return nil, err
	}
	ss := make([]ff.Signal, 0, len(out.Signals))
	for _, s := range out.Signals {
		d := s.ToDomain()
		d.ExecutionID = p.ExecutionID
		ss = append(ss, d)
	}
	return ss, nil
}

// RotateWaitpointKey makes a new signing key current
// (POST /v1/admin/waitpoint-keys/rotate).
func (c *Client) RotateWaitpointKey(ctx context.Context, p backend.RotateWaitpointKeyParams) (backend.RotateWaitpointKeyResult, error) {
	grace := p.Grace.Milliseconds()
	req := wire.RotateKeyRequest{Kid: p.Kid, SecretHex: p.SecretHex, GraceMs: &grace}
	var out wire.RotateKeyResponse
	if _, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/admin/waitpoint-keys/rotate", in: req}, &out); err != nil {
		return backend.RotateWaitpointKeyResult{}, err
	}
	return backend.RotateWaitpointKeyResult(out), nil
}
