package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Flows are DAGs of executions (a later wave).
type Flows interface {
	CreateFlow(ctx context.Context, p CreateFlowParams) (FlowID, error)
	AddExecutionToFlow(ctx context.Context, flow FlowID, id ff.ExecutionID) error
	StageDependencyEdge(ctx context.Context, p StageEdgeParams) error
	CancelFlow(ctx context.Context, flow FlowID, policy string) error
	DescribeFlow(ctx context.Context, flow FlowID) (FlowSnapshot, error)
	WaitChildren(ctx context.Context, h ff.Handle) error
}

// FlowID identifies a flow (a UUID string).
type FlowID string

type CreateFlowParams struct {
	FlowID    FlowID
	Namespace string
	Kind      string
}

type StageEdgeParams struct {
	Flow       FlowID
	Upstream   ff.ExecutionID
	Downstream ff.ExecutionID
}

type FlowSnapshot struct {
	FlowID    FlowID
	State     string
	NodeCount int
	EdgeCount int
}

// UnimplementedFlows answers every flow operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedFlows struct{}

func (UnimplementedFlows) CreateFlow(context.Context, CreateFlowParams) (FlowID, error) {
	return "", ff.Unavailable("create_flow")
}
func (UnimplementedFlows) AddExecutionToFlow(context.Context, FlowID, ff.ExecutionID) error {
	return ff.Unavailable("add_execution_to_flow")
}
func (UnimplementedFlows) StageDependencyEdge(context.Context, StageEdgeParams) error {
	return ff.Unavailable("stage_dependency_edge")
}
func (UnimplementedFlows) CancelFlow(context.Context, FlowID, string) error {
	return ff.Unavailable("cancel_flow")
}
func (UnimplementedFlows) DescribeFlow(context.Context, FlowID) (FlowSnapshot, error) {
	return FlowSnapshot{}, ff.Unavailable("describe_flow")
}
func (UnimplementedFlows) WaitChildren(context.Context, ff.Handle) error {
	return ff.Unavailable("wait_children")
}
