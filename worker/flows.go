package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// FlowTransport is what the flow helpers of Task need beyond Transport.
// A backend.Backend and the HTTP client both implement it; a Transport
// without it makes the helpers answer Unavailable.
type FlowTransport interface {
	UpstreamResults(ctx context.Context, p backend.UpstreamResultsParams) ([]backend.UpstreamResult, error)
	SpawnChildren(ctx context.Context, p backend.SpawnChildrenParams) ([]ff.ExecutionID, error)
	WaitChildren(ctx context.Context, p backend.WaitChildrenParams) (backend.WaitChildrenResult, error)
}

var _ FlowTransport = backend.Backend(nil)

// ErrWaitingChildren is returned (via Task.WaitChildren) by a handler
// whose attempt is parked until its children end: the lease is already
// released, nothing is reported, and the claim after the children end
// runs the handler again on the same attempt (AttemptType resume), where
// Task.UpstreamResults reads what the children produced.
var ErrWaitingChildren = errors.New("worker: attempt waiting for its children")

// Upstream is one upstream of a flow member as its handler sees it.
type Upstream struct {
	ExecutionID ff.ExecutionID
	// EdgeState is unresolved, satisfied or impossible.
	EdgeState   string
	PublicState ff.PublicState
	// Result is the upstream's stored result, nil unless it completed.
	Result json.RawMessage
}

func (t *Task) flows() (FlowTransport, error) {
	ft, ok := t.w.transport.(FlowTransport)
	if !ok {
		return nil, ff.Unavailable("flows")
	}
	return ft, nil
}

// UpstreamResults returns the upstreams of the task's execution (its
// flow's edges into it, or its spawned children) with their results.
func (t *Task) UpstreamResults(ctx context.Context) ([]Upstream, error) {
	ft, err := t.flows()
	if err != nil {
		return nil, err
	}
	ups, err := ft.UpstreamResults(ctx, backend.UpstreamResultsParams{ExecutionID: t.ExecutionID})
	if err != nil {
		return nil, fmt.Errorf("upstream results of %s: %w", t.ExecutionID, err)
	}
	out := make([]Upstream, len(ups))
	for i, u := range ups {
		out[i] = Upstream{ExecutionID: u.ExecutionID, EdgeState: u.EdgeState, PublicState: u.PublicState, Result: u.Result}
	}
	return out, nil
}

// SpawnChildren creates children of the task's execution in its flow
// (the execution must be a flow member), each with an edge into it; then
// return t.WaitChildren(ctx) to park until they end.
func (t *Task) SpawnChildren(ctx context.Context, children ...backend.CreateExecutionParams) ([]ff.ExecutionID, error) {
	ft, err := t.flows()
	if err != nil {
		return nil, err
	}
	ids, err := ft.SpawnChildren(ctx, backend.SpawnChildrenParams{Handle: t.handle, Children: children})
	if err != nil {
		return nil, fmt.Errorf("spawn children of %s: %w", t.ExecutionID, err)
	}
	return ids, nil
}

// WaitChildren parks the attempt until the task's children end. It
// returns nil when they already ended (the lease is kept and the handler
// goes on), and otherwise ErrWaitingChildren, which the handler returns
// at once:
//
//	if err := t.WaitChildren(ctx); err != nil {
//		return nil, err
//	}
func (t *Task) WaitChildren(ctx context.Context) error {
	ft, err := t.flows()
	if err != nil {
		return err
	}
	res, err := ft.WaitChildren(ctx, backend.WaitChildrenParams{Handle: t.handle})
	if err != nil {
		return fmt.Errorf("wait children of %s: %w", t.ExecutionID, err)
	}
	if res.Ready {
		return nil
	}
	return ErrWaitingChildren
}
