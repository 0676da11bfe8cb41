// Package client is the Go client of the FlowFabric HTTP API (package
// server). Its methods mirror backend.Backend where the API exposes them,
// with the same parameter and result types, so the worker SDK runs over
// HTTP unchanged:
//
//	c := client.New("http://127.0.0.1:8080", client.WithToken(tok), client.WithClaimWait(10*time.Second))
//	res, err := c.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "email.send", Input: []byte(`{"to":"a@b"}`)})
//	tasks, err := c.Claim(ctx, backend.ClaimParams{WorkerID: "w1", Lanes: []string{"default"}})
//
// Start with [New]; see Example (submit and read back) and
// Example_worker (a worker over HTTP).
//
// Every failure is a *flowfabric.Error: an API error keeps the server's
// class, kind and retryable flag, so errors.Is(err, flowfabric.ErrNotFound)
// works as it does in-process; a network failure is a transport error
// (retryable unless the caller's context ended, in which case it wraps
// the context error).
//
// Every request carries the W3C traceparent of its context's
// OpenTelemetry span, when the context has one (package fftrace), so a
// traced server continues the caller's trace.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/fftrace"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// maxResponseBytes bounds what the client reads from one response.
const maxResponseBytes = 64 << 20

// Client talks to one FlowFabric server. It is safe for concurrent use.
type Client struct {
	base      string
	token     string
	hc        *http.Client
	claimWait time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends "Authorization: Bearer <token>" on every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient replaces the default http.Client (which has no timeout:
// calls are bounded by their context).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithClaimWait makes Claim long-poll up to d (at most 30 s) when nothing
// is claimable, instead of returning empty at once.
func WithClaimWait(d time.Duration) Option {
	return func(c *Client) {
		c.claimWait = min(max(d, 0), wire.MaxClaimWaitMs*time.Millisecond)
	}
}

// New returns a client for the server at baseURL (scheme, host and an
// optional path prefix, e.g. "http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), hc: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// call is one API request.
type call struct {
	method string
	path   string // escaped path, e.g. /v1/executions/%7Bfp:1%7D:...
	query  url.Values
	in     any // JSON body, nil for none
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send performs c and returns the response; any status >= 400 comes back
// as the decoded *ff.Error.
func (c *Client) send(ctx context.Context, cl call) (response, error) {
	op := cl.method + " " + cl.path
	var body io.Reader
	if cl.in != nil {
		b, err := json.Marshal(cl.in)
		if err != nil {
			return response{}, ff.Validation(ff.ErrInvalidInput, "%s: encode request: %v", op, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return response{}, ff.Validation(ff.ErrInvalidInput, "%s: %v", op, err)
	}
	if cl.in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	fftrace.InjectHeader(ctx, req.Header)
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, ff.Transport(op, err, ctx.Err() == nil)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return response{}, ff.Transport(op+": read response", err, ctx.Err() == nil)
	}
	if resp.StatusCode >= 400 {
		return response{}, decodeError(resp.StatusCode, data)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// do sends cl and decodes a JSON answer into out (when out is non-nil and
// the answer has a body). It returns the status.
func (c *Client) do(ctx context.Context, cl call, out any) (int, error) {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.status != http.StatusNoContent {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp.status, ff.Transport(cl.method+" "+cl.path+": decode response", err, false)
		}
	}
	return resp.status, nil
}

// decodeError rebuilds the server's typed error from an error response.
func decodeError(status int, data []byte) *ff.Error {
	var body wire.ErrorBody
	if err := json.Unmarshal(data, &body); err != nil || (body.Kind == "" && body.Error == "") {
		text := strings.TrimSpace(string(data))
		if len(text) > 200 {
			text = text[:200]
		}
		return wire.ErrorForStatus(status, fmt.Sprintf("HTTP %d: %s", status, text))
	}
	return body.ToError(status)
}

// executionPath returns /v1/executions/<escaped id><suffix>.
func executionPath(id ff.ExecutionID, suffix string) string {
	return "/v1/executions/" + url.PathEscape(id.String()) + suffix
}
