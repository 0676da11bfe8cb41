package wpcore

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/txrun"
)

// Runner runs fn in one transaction of a store; op names the operation
// in its errors. A *CommitThen returned by fn commits and returns its Err.
type Runner = txrun.Runner[Tx]

// Ops implements backend.Waitpoints once for both stores: each method
// validates its parameters, then runs its orchestration in one
// transaction of Run. Tag is the store's, for the handles it checks.
type Ops struct {
	Tag ff.BackendTag
	Run Runner
}

// inTx runs fn in one transaction and returns its result.
func inTx[T any](ctx context.Context, o Ops, op string, fn func(Tx) (T, error)) (T, error) {
	return txrun.In(ctx, o.Run, op, fn)
}

// Suspend implements backend.Waitpoints.
func (o Ops) Suspend(ctx context.Context, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	if err := p.Normalize(); err != nil {
		return backend.SuspendOutcome{}, err
	}
	return inTx(ctx, o, "suspend", func(t Tx) (backend.SuspendOutcome, error) { return Suspend(t, o.Tag, p) })
}

// CreateWaitpoint implements backend.Waitpoints.
func (o Ops) CreateWaitpoint(ctx context.Context, p backend.CreateWaitpointParams) (backend.WaitpointToken, error) {
	if err := p.Normalize(); err != nil {
		return backend.WaitpointToken{}, err
	}
	return inTx(ctx, o, "create waitpoint", func(t Tx) (backend.WaitpointToken, error) { return CreateWaitpoint(t, o.Tag, p) })
}

// DeliverSignal implements backend.Waitpoints.
func (o Ops) DeliverSignal(ctx context.Context, p backend.DeliverSignalParams) (backend.DeliverSignalResult, error) {
	if err := p.Normalize(); err != nil {
		return backend.DeliverSignalResult{}, err
	}
	return inTx(ctx, o, "deliver signal", func(t Tx) (backend.DeliverSignalResult, error) { return Deliver(t, p) })
}

// ResumeExecution implements backend.Waitpoints.
func (o Ops) ResumeExecution(ctx context.Context, p backend.ResumeExecutionParams) (ff.PublicState, error) {
	return inTx(ctx, o, "resume execution", func(t Tx) (ff.PublicState, error) { return ResumeExecution(t, p) })
}

// ListWaitpoints implements backend.Waitpoints.
func (o Ops) ListWaitpoints(ctx context.Context, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error) {
	return inTx(ctx, o, "list waitpoints", func(t Tx) ([]ff.Waitpoint, error) { return ListWaitpoints(t, p) })
}

// GetWaitpointToken implements backend.Waitpoints.
func (o Ops) GetWaitpointToken(ctx context.Context, p backend.GetWaitpointTokenParams) (string, error) {
	return inTx(ctx, o, "get waitpoint token", func(t Tx) (string, error) { return GetWaitpointToken(t, p) })
}

// ListSignals implements backend.Waitpoints.
func (o Ops) ListSignals(ctx context.Context, p backend.ListSignalsParams) ([]ff.Signal, error) {
	return inTx(ctx, o, "list signals", func(t Tx) ([]ff.Signal, error) { return ListSignals(t, p) })
}

// SeedWaitpointKey implements backend.Waitpoints.
func (o Ops) SeedWaitpointKey(ctx context.Context, p backend.SeedWaitpointKeyParams) (backend.SeedWaitpointKeyResult, error) {
	return inTx(ctx, o, "seed waitpoint key", func(t Tx) (backend.SeedWaitpointKeyResult, error) { return Seed(t, p) })
}

// RotateWaitpointKey implements backend.Waitpoints.
func (o Ops) RotateWaitpointKey(ctx context.Context, p backend.RotateWaitpointKeyParams) (backend.RotateWaitpointKeyResult, error) {
	return inTx(ctx, o, "rotate waitpoint key", func(t Tx) (backend.RotateWaitpointKeyResult, error) { return Rotate(t, p) })
}

// ExpireSuspensions implements backend.Waitpoints.
func (o Ops) ExpireSuspensions(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	return inTx(ctx, o, "expire suspensions", func(t Tx) (int, error) { return ExpireSuspensions(t, p) })
}

// ExpirePendingWaitpoints implements backend.Waitpoints.
func (o Ops) ExpirePendingWaitpoints(ctx context.Context, p backend.SweepParams) (int, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	return inTx(ctx, o, "expire pending waitpoints", func(t Tx) (int, error) { return t.ExpirePending(p.Limit) })
}
