package postgres

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// The waitpoint area (backend.Waitpoints): each method is one transaction
// of wpcore's orchestration over pgTx.

// Suspend implements backend.Waitpoints.
func (b *Backend) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	if err := p.Normalize(); err != nil {
		return backend.SuspendOutcome{}, err
	}
	var out backend.SuspendOutcome
	err := b.wpTx(ctx, "suspend", func(t *pgTx) (err error) {
		out, err = wpcore.Suspend(t, ff.BackendPostgres, p)
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
	err := b.wpTx(ctx, "create waitpoint", func(t *pgTx) (err error) {
		out, err = wpcore.CreateWaitpoint(t, ff.BackendPostgres, p)
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
	err := b.wpTx(ctx, "deliver signal", func(t *pgTx) (err error) {
		out, err = wpcore.Deliver(t, p)
		return err
	})
	return out, err
}

// ResumeExecution implements backend.Waitpoints.
func (b *Backend) ResumeExecution(ctx context.Context, p backend.ResumeExecutionParams) (ff.PublicState, error) {
	var out ff.PublicState
	err := b.wpTx(ctx, "resume execution", func(t *pgTx) (err error) {
		out, err = wpcore.ResumeExecution(t, p)
		return err
	})
	return out, err
}

// ListWaitpoints implements backend.Waitpoints.
func (b *Backend) ListWaitpoints(ctx context.Context, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error) {
	var out []ff.Waitpoint
	err := b.wpTx(ctx, "list waitpoints", func(t *pgTx) (err error) {
		out, err = wpcore.ListWaitpoints(t, p)
		return err
	})
	return out, err
}

// GetWaitpointToken implements backend.Waitpoints.
func (b *Backend) GetWaitpointToken(ctx context.Context, p backend.GetWaitpointTokenParams) (string, error) {
	var out string
	err := b.wpTx(ctx, "get waitpoint token", func(t *pgTx) (err error) {
		out, err = wpcore.GetWaitpointToken(t, p)
		return err
	})
	return out, err
}

// ListSignals implements backend.Waitpoints.
func (b *Backend) ListSignals(ctx context.Context, p backend.ListSignalsParams) ([]ff.Signal, error) {
	var out []ff.Signal
	err := b.wpTx(ctx, "list signals", func(t *pgTx) (err error) {
		out, err = wpcore.ListSignals(t, p)
		return err
	})
	return out, err
}

// SeedWaitpointKey implements backend.Waitpoints.
func (b *Backend) SeedWaitpointKey(ctx context.Context, p backend.SeedWaitpointKeyParams) (backend.SeedWaitpointKeyResult, error) {
	var out backend.SeedWaitpointKeyResult
	err := b.wpTx(ctx, "seed waitpoint key", func(t *pgTx) (err error) {
		out, err = wpcore.Seed(t, p)
		return err
	})
	return out, err
}

// RotateWaitpointKey implements backend.Waitpoints.
func (b *Backend) RotateWaitpointKey(ctx context.Context, p backend.RotateWaitpointKeyParams) (backend.RotateWaitpointKeyResult, error) {
	var out backend.RotateWaitpointKeyResult
	err := b.wpTx(ctx, "rotate waitpoint key", func(t *pgTx) (err error) {
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
	err := b.wpTx(ctx, "expire suspensions", func(t *pgTx) (err error) {
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
	err := b.wpTx(ctx, "expire pending waitpoints", func(t *pgTx) (err error) {
		n, err = t.ExpirePending(p.Limit)
		return err
	})
	return n, err
}
