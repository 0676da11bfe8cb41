package sqlite

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// The waitpoint area (backend.Waitpoints): each method is one transaction
// of wpcore's orchestration over sqTx.

// Suspend implements backend.Waitpoints.
func (b *Backend) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	if err := p.Normalize(); err != nil {
		return backend.SuspendOutcome{}, err
	}
	var out backend.SuspendOutcome
	err := b.wpWrite(ctx, "sqlite: suspend", func(t *sqTx) (err error) {
		out, err = wpcore.Suspend(t, ff.BackendSQLite, p)
		return err
	})
	return out, err
}

// CreateWaitpoint implements backend.Waitpoints.
func (b *Backend) CreateWaitpoint(ctx context.Context, p backend.CreateWaitpointParams) (backend.WaitpointToken, error) {
	if err := p.Normalize(); err != nil {
		return backend.WaitpointToken{}, err
	}
	var out backend.WaitpointToken
	err := b.wpWrite(ctx, "sqlite: create waitpoint", func(t *sqTx) (err error) {
		out, err = wpcore.CreateWaitpoint(t, ff.BackendSQLite, p)
		return err
	})
	return out, err
}

// DeliverSignal implements backend.Waitpoints.
func (b *Backend) DeliverSignal(ctx context.Context, p backend.DeliverSignalParams) (backend.DeliverSignalResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.DeliverSignalResult{}, err
	}
	var out backend.DeliverSignalResult
	err := b.wpWrite(ctx, "sqlite: deliver signal", func(t *sqTx) (err error) {
		out, err = wpcore.Deliver(t, p)
		return err
	})
	return out, err
}

// ResumeExecution implements backend.Waitpoints.
func (b *Backend) ResumeExecution(ctx context.Context, p backend.ResumeExecutionParams) (ff.PublicState, error) {
	var out ff.PublicState
	err := b.wpWrite(ctx, "sqlite: resume execution", func(t *sqTx) (err error) {
		out, err = wpcore.ResumeExecution(t, p)
		return err
	})
	return out, err
}

// ListWaitpoints implements backend.Waitpoints.
func (b *Backend) ListWaitpoints(ctx context.Context, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error) {
	var out []ff.Waitpoint
	err := b.wpWrite(ctx, "sqlite: list waitpoints", func(t *sqTx) (err error) {
		out, err = wpcore.ListWaitpoints(t, p)
		return err
	})
	return out, err
}

// GetWaitpointToken implements backend.Waitpoints.
func (b *Backend) GetWaitpointToken(ctx context.Context, p backend.GetWaitpointTokenParams) (string, error) {
	var out string
	err := b.wpWrite(ctx, "sqlite: get waitpoint token", func(t *sqTx) (err error) {
		out, err = wpcore.GetWaitpointToken(t, p)
		return err
	})
	return out, err
}

// ListSignals implements backend.Waitpoints.
func (b *Backend) ListSignals(ctx context.Context, p backend.ListSignalsParams) ([]ff.Signal, error) {
	var out []ff.Signal
	err := b.wpWrite(ctx, "sqlite: list signals", func(t *sqTx) (err error) {
		out, err = wpcore.ListSignals(t, p)
		return err
	})
	return out, err
}

// SeedWaitpointKey implements backend.Waitpoints.
func (b *Backend) SeedWaitpointKey(ctx context.Context, p backend.SeedWaitpointKeyParams) (backend.SeedWaitpointKeyResult, error) {
	var out backend.SeedWaitpointKeyResult
	err := b.wpWrite(ctx, "sqlite: seed waitpoint key", func(t *sqTx) (err error) {
		out, err = wpcore.Seed(t, p)
		return err
	})
	return out, err
}

// RotateWaitpointKey implements backend.Waitpoints.
func (b *Backend) RotateWaitpointKey(ctx context.Context, p backend.RotateWaitpointKeyParams) (backend.RotateWaitpointKeyResult, error) {
	var out backend.RotateWaitpointKeyResult
	err := b.wpWrite(ctx, "sqlite: rotate waitpoint key", func(t *sqTx) (err error) {
		out, err = wpcore.Rotate(t, p)
		return err
	})
	return out, err
}

// ExpireSuspensions implements backend.Waitpoints.
func (b *Backend) ExpireSuspensions(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	var n int
	err := b.wpWrite(ctx, "sqlite: expire suspensions", func(t *sqTx) (err error) {
		n, err = wpcore.ExpireSuspensions(t, p)
		return err
	})
	return n, err
}

// ExpirePendingWaitpoints implements backend.Waitpoints.
func (b *Backend) ExpirePendingWaitpoints(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	var n int
	err := b.wpWrite(ctx, "sqlite: expire pending waitpoints", func(t *sqTx) (err error) {
		n, err = t.ExpirePending(p.Limit)
		return err
	})
	return n, err
}
