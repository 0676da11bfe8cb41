package postgres

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The operations below are not on the hot path: each locks the record,
// applies the flowfabric state machine and writes the result in one
// transaction.

// Progress implements backend.Lifecycle.
func (b *Backend) Progress(ctx context.Context, p backend.ProgressParams) error {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return err
	}
	l := p.Handle.Lease
	return b.mutate(ctx, "progress", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fr, err := e.Progress(now, l.Fence(), p.Percent, p.Message)
		if err != nil {
			return fenceOutcome(nil, fr, err)
		}
		return nil, true, false, nil
	})
}

// Fail implements backend.Lifecycle.
func (b *Backend) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return ff.FailOutcome{}, err
	}
	if err := p.Normalize(); err != nil {
		return ff.FailOutcome{}, err
	}
	l := p.Handle.Lease
	var out ff.FailOutcome
	err := b.mutate(ctx, "fail", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		o, fx, fr, err := e.Fail(now, l.Fence(), p.Reason, p.Classification, nil)
		out = o
		return fenceOutcome(fx, fr, err)
	})
	if err != nil {
		return ff.FailOutcome{}, err
	}
	return out, nil
}

// Cancel implements backend.Lifecycle (the lease holder's cancel).
func (b *Backend) Cancel(ctx context.Context, p backend.CancelParams) error {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return err
	}
	l := p.Handle.Lease
	return b.mutate(ctx, "cancel", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, fr, err := e.Cancel(now, l.Fence(), p.Reason)
		return fenceOutcome(fx, fr, err)
	})
}

// Delay implements backend.Lifecycle.
func (b *Backend) Delay(ctx context.Context, p backend.DelayParams) error {
	if err := p.Handle.CheckBackend(ff.BackendPostgres); err != nil {
		return err
	}
	l := p.Handle.Lease
	return b.mutate(ctx, "delay", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, fr, err := e.Delay(now, l.Fence(), ff.MsFromTime(p.Until))
		return fenceOutcome(fx, fr, err)
	})
}

// CancelExecution implements backend.Operator.
func (b *Backend) CancelExecution(ctx context.Context, p backend.CancelExecutionParams) (ff.PublicState, error) {
	var state ff.PublicState
	err := b.mutate(ctx, "cancel execution", p.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, err := e.CancelByOperator(now, ff.Actor{Source: p.Source, Reason: p.Reason})
		if err != nil {
			return nil, false, false, err
		}
		state = e.State.PublicState
		return fx, true, false, nil
	})
	return state, err
}

// ReleaseClaims implements backend.Lifecycle: each entry is one locked
// transition (this is not a hot path); errors align with ps.
func (b *Backend) ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = b.releaseClaim(ctx, p.Handle)
	}
	return errs
}

func (b *Backend) releaseClaim(ctx context.Context, h ff.Handle) error {
	if err := h.CheckBackend(ff.BackendPostgres); err != nil {
		return err
	}
	l := h.Lease
	return b.mutate(ctx, "release claim", l.ExecutionID, func(e *ff.Execution, now int64) (*ff.Effects, bool, bool, error) {
		fx, fr, err := e.ReleaseClaim(now, l.Fence())
		return fenceOutcome(fx, fr, err)
	})
}
