package fftest

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// The worker finds its optional transports (flows, waitpoints, usage) by
// type assertion, so the wrapper forwards them; a transport without one
// answers Unavailable, as a store without the area does.
var (
	_ worker.FlowTransport      = signalTransport{}
	_ worker.WaitpointTransport = signalTransport{}
	_ worker.UsageReporter      = signalTransport{}
)

func (s signalTransport) UpstreamResults(ctx context.Context, p backend.UpstreamResultsParams) ([]backend.UpstreamResult, error) {
	ft, ok := s.Transport.(worker.FlowTransport)
	if !ok {
		return nil, ff.Unavailable("upstream_results")
	}
	return ft.UpstreamResults(ctx, p)
}

func (s signalTransport) SpawnChildren(ctx context.Context, p backend.SpawnChildrenParams) ([]ff.ExecutionID, error) {
	ft, ok := s.Transport.(worker.FlowTransport)
	if !ok {
		return nil, ff.Unavailable("spawn_children")
	}
	defer s.sig.notify()
	return ft.SpawnChildren(ctx, p)
}

func (s signalTransport) WaitChildren(ctx context.Context, p backend.WaitChildrenParams) (backend.WaitChildrenResult, error) {
	ft, ok := s.Transport.(worker.FlowTransport)
	if !ok {
		return backend.WaitChildrenResult{}, ff.Unavailable("wait_children")
	}
	defer s.sig.notify()
	return ft.WaitChildren(ctx, p)
}

func (s signalTransport) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	wt, ok := s.Transport.(worker.WaitpointTransport)
	if !ok {
		return backend.SuspendOutcome{}, ff.Unavailable("suspend")
	}
	defer s.sig.notify()
	return wt.Suspend(ctx, p)
}

func (s signalTransport) CreateWaitpoint(ctx context.Context, p backend.CreateWaitpointParams) (backend.WaitpointToken, error) {
	wt, ok := s.Transport.(worker.WaitpointTransport)
	if !ok {
		return backend.WaitpointToken{}, ff.Unavailable("create_waitpoint")
	}
	return wt.CreateWaitpoint(ctx, p)
}

func (s signalTransport) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	ur, ok := s.Transport.(worker.UsageReporter)
	if !ok {
		return nil, ff.Unavailable("report_task_usage")
	}
	return ur.ReportTaskUsage(ctx, p)
}
