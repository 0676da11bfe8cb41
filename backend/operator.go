package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Operator is operator control, without a lease. For every method an
// unknown execution is not_found.
type Operator interface {
	// CancelExecution cancels from any non-terminal phase and returns the
	// public state afterwards. A lease held at the time is revoked: every
	// later fenced call under it fails with lease_revoked (only under it:
	// the execution records the revoked epoch). A terminal execution (so
	// also a repeated cancel) is execution_not_active.
	CancelExecution(ctx context.Context, p CancelExecutionParams) (ff.PublicState, error)
	// ChangePriority sets the priority of a non-terminal execution (a
	// terminal one is execution_not_eligible); repeating it is harmless.
	ChangePriority(ctx context.Context, p ChangePriorityParams) error
	// ReplayExecution makes a terminal execution claimable again with a
	// replay attempt; a non-terminal one (so also a repeated replay
	// before the next end) is execution_not_terminal, one over its
	// replay cap max_replays_exhausted.
	ReplayExecution(ctx context.Context, p ReplayExecutionParams) (ff.PublicState, error)
	// RevokeLease revokes the active lease, if any: the holder's next
	// fenced write fails with lease_revoked and the next claim reclaims
	// the execution. Repeating it finds no lease and changes nothing.
	RevokeLease(ctx context.Context, p RevokeLeaseParams) error
}

// CancelExecutionParams is an operator cancel.
type CancelExecutionParams struct {
	ExecutionID ff.ExecutionID
	Reason      string
	Source      string // default "operator_override"
}

// ChangePriorityParams is the input of ChangePriority.
type ChangePriorityParams struct {
	ExecutionID ff.ExecutionID
	Priority    int64 // clamped to [0, 9000]
}

// ReplayExecutionParams is the input of ReplayExecution.
type ReplayExecutionParams struct {
	ExecutionID ff.ExecutionID
}

// RevokeLeaseParams is the input of RevokeLease.
type RevokeLeaseParams struct {
	ExecutionID ff.ExecutionID
	Reason      string
}

// UnimplementedOperator answers the operator controls not built yet with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedOperator struct{}

func (UnimplementedOperator) ChangePriority(context.Context, ChangePriorityParams) error {
	return ff.Unavailable("change_priority")
}

func (UnimplementedOperator) ReplayExecution(context.Context, ReplayExecutionParams) (ff.PublicState, error) {
	return "", ff.Unavailable("replay_execution")
}

func (UnimplementedOperator) RevokeLease(context.Context, RevokeLeaseParams) error {
	return ff.Unavailable("revoke_lease")
}
