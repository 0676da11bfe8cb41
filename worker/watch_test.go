package worker_test

import (
	"context"
	"sync"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// changes is a broadcast of "something may have changed": next returns
// a channel that is closed at the next notify.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

func newChanges() *changes { return &changes{ch: make(chan struct{})} }

func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	close(c.ch)
	c.ch = make(chan struct{})
	c.mu.Unlock()
}

// watched is a backend that announces every call that may change an
// execution, once it has returned: tests wait on that signal instead of
// polling with sleeps. Whether the worker reaches it in-process or
// through the HTTP server, every state change passes through it.
type watched struct {
	backend.Backend
	changes *changes
}

func watch(b backend.Backend) *watched { return &watched{Backend: b, changes: newChanges()} }

func (w *watched) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	defer w.changes.notify()
	return w.Backend.CreateExecution(ctx, p)
}

func (w *watched) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	defer w.changes.notify()
	return w.Backend.Claim(ctx, p)
}

func (w *watched) Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	defer w.changes.notify()
	return w.Backend.Renew(ctx, p)
}

func (w *watched) RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult {
	defer w.changes.notify()
	return w.Backend.RenewMany(ctx, ps)
}

func (w *watched) Progress(ctx context.Context, p backend.ProgressParams) error {
	defer w.changes.notify()
	return w.Backend.Progress(ctx, p)
}

func (w *watched) Complete(ctx context.Context, p backend.CompleteParams) error {
	defer w.changes.notify()
	return w.Backend.Complete(ctx, p)
}

func (w *watched) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	defer w.changes.notify()
	return w.Backend.CompleteMany(ctx, ps)
}

func (w *watched) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	defer w.changes.notify()
	return w.Backend.Fail(ctx, p)
}

func (w *watched) Cancel(ctx context.Context, p backend.CancelParams) error {
	defer w.changes.notify()
	return w.Backend.Cancel(ctx, p)
}

func (w *watched) Delay(ctx context.Context, p backend.DelayParams) error {
	defer w.changes.notify()
	return w.Backend.Delay(ctx, p)
}

func (w *watched) ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error {
	defer w.changes.notify()
	return w.Backend.ReleaseClaims(ctx, ps)
}

func (w *watched) CancelExecution(ctx context.Context, p backend.CancelExecutionParams) (ff.PublicState, error) {
	defer w.changes.notify()
	return w.Backend.CancelExecution(ctx, p)
}

func (w *watched) ExpireLeases(ctx context.Context, p backend.SweepParams) (int, error) {
	defer w.changes.notify()
	return w.Backend.ExpireLeases(ctx, p)
}

func (w *watched) PromoteDelayed(ctx context.Context, p backend.SweepParams) (int, error) {
	defer w.changes.notify()
	return w.Backend.PromoteDelayed(ctx, p)
}

func (w *watched) ExpireAttemptTimeouts(ctx context.Context, p backend.SweepParams) (int, error) {
	defer w.changes.notify()
	return w.Backend.ExpireAttemptTimeouts(ctx, p)
}

func (w *watched) ExpireDeadlines(ctx context.Context, p backend.SweepParams) (int, error) {
	defer w.changes.notify()
	return w.Backend.ExpireDeadlines(ctx, p)
}

func (w *watched) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	defer w.changes.notify()
	return w.Backend.Suspend(ctx, p)
}

func (w *watched) DeliverSignal(ctx context.Context, p backend.DeliverSignalParams) (backend.DeliverSignalResult, error) {
	defer w.changes.notify()
	return w.Backend.DeliverSignal(ctx, p)
}

func (w *watched) ResumeExecution(ctx context.Context, p backend.ResumeExecutionParams) (ff.PublicState, error) {
	defer w.changes.notify()
	return w.Backend.ResumeExecution(ctx, p)
}
