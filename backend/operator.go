package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Operator is operator control, without a lease.
type Operator interface {
	CancelExecution(ctx context.Context, p CancelExecutionParams) (ff.PublicState, error)
	ChangePriority(ctx context.Context, id ff.ExecutionID, priority int64) error
	ReplayExecution(ctx context.Context, id ff.ExecutionID) (ff.PublicState, error)
	RevokeLease(ctx context.Context, id ff.ExecutionID, reason string) error
}

// CancelExecutionParams is an operator cancel.
type CancelExecutionParams struct {
	ExecutionID ff.ExecutionID
	Reason      string
	Source      string // default "operator_override"
}

// UnimplementedOperator answers the operator controls not built yet with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedOperator struct{}

func (UnimplementedOperator) ChangePriority(context.Context, ff.ExecutionID, int64) error {
	return ff.Unavailable("change_priority")
}
func (UnimplementedOperator) ReplayExecution(context.Context, ff.ExecutionID) (ff.PublicState, error) {
	return "", ff.Unavailable("replay_execution")
}
func (UnimplementedOperator) RevokeLease(context.Context, ff.ExecutionID, string) error {
	return ff.Unavailable("revoke_lease")
}
