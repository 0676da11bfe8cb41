package worker

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Transport is what a Worker needs from the engine: claim, the lease-bound
// worker operations (including giving back unstarted claims) and one read. A backend.Backend satisfies it (the
// in-process mode), and so does the HTTP client in package client (the
// remote mode). Every lease-bound call is fenced by the handle; the engine,
// not the SDK, decides whether a handle is still valid.
type Transport interface {
	Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error)
	Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error)
	RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult
	Progress(ctx context.Context, p backend.ProgressParams) error
	Complete(ctx context.Context, p backend.CompleteParams) error
	CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error
	Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error)
	Delay(ctx context.Context, p backend.DelayParams) error
	Cancel(ctx context.Context, p backend.CancelParams) error
	// ReleaseClaims gives back leases of tasks claimed but never started
	// (when the worker stops); errors align with ps.
	ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error
	ReadExecutionState(ctx context.Context, p backend.ReadExecutionStateParams) (ff.PublicState, error)
	// AppendFrames and PatchSummary write the attempt's output stream
	// (Task.Stream, Task.Summary).
	AppendFrames(ctx context.Context, p backend.AppendFramesParams) (backend.AppendFramesResult, error)
	PatchSummary(ctx context.Context, p backend.PatchSummaryParams) (backend.Summary, error)
}

// WorkSubscriber is optionally implemented by a Transport that can tell an
// idle worker when work may have become claimable (backend.Backend does).
// Wake-ups are hints: they coalesce and may be spurious, so the worker
// always re-claims and keeps a short poll as a fallback. The subscription
// ends, and its channel closes, when ctx is done or the returned function
// is called.
type WorkSubscriber interface {
	SubscribeWork(ctx context.Context, p backend.SubscribeWorkParams) (<-chan struct{}, func())
}

var _ Transport = backend.Backend(nil)
