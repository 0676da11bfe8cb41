package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Flows are DAGs of executions (a later wave; the types below are
// placeholders its team will redesign). For every method an unknown flow
// or execution is not_found.
type Flows interface {
	// CreateFlow creates a flow; the same FlowID again returns it.
	CreateFlow(ctx context.Context, p CreateFlowParams) (FlowID, error)
	// AddExecutionToFlow makes an execution a member; repeating it is
	// harmless.
	AddExecutionToFlow(ctx context.Context, p AddExecutionToFlowParams) error
	// StageDependencyEdge adds an edge; the same edge again is harmless.
	StageDependencyEdge(ctx context.Context, p StageDependencyEdgeParams) error
	// CancelFlow cancels a flow and, per p.Policy, its members; repeating
	// it answers the same.
	CancelFlow(ctx context.Context, p CancelFlowParams) error
	// DescribeFlow returns the flow's snapshot.
	DescribeFlow(ctx context.Context, p DescribeFlowParams) (FlowSnapshot, error)
	// WaitChildren parks the lease holder until its children end.
	WaitChildren(ctx context.Context, p WaitChildrenParams) error
}

// FlowID identifies a flow (a UUID string).
type FlowID string

// CreateFlowParams is the input of CreateFlow.
type CreateFlowParams struct {
	FlowID    FlowID
	Namespace string
	Kind      string
}

// AddExecutionToFlowParams is the input of AddExecutionToFlow.
type AddExecutionToFlowParams struct {
	FlowID      FlowID
	ExecutionID ff.ExecutionID
}

// StageDependencyEdgeParams is the input of StageDependencyEdge.
type StageDependencyEdgeParams struct {
	FlowID     FlowID
	Upstream   ff.ExecutionID
	Downstream ff.ExecutionID
}

// CancelFlowParams is the input of CancelFlow.
type CancelFlowParams struct {
	FlowID FlowID
	Policy string
}

// DescribeFlowParams is the input of DescribeFlow.
type DescribeFlowParams struct {
	FlowID FlowID
}

// WaitChildrenParams is the input of WaitChildren.
type WaitChildrenParams struct {
	Handle ff.Handle
}

// FlowSnapshot describes a flow.
type FlowSnapshot struct {
	FlowID    FlowID
	State     string
	NodeCount int
	EdgeCount int
}

// UnimplementedFlows answers every flow operation with Unavailable. A
// backend embeds it until it builds the area; Capabilities must agree.
type UnimplementedFlows struct{}

func (UnimplementedFlows) CreateFlow(context.Context, CreateFlowParams) (FlowID, error) {
	return "", ff.Unavailable("create_flow")
}

func (UnimplementedFlows) AddExecutionToFlow(context.Context, AddExecutionToFlowParams) error {
	return ff.Unavailable("add_execution_to_flow")
}

func (UnimplementedFlows) StageDependencyEdge(context.Context, StageDependencyEdgeParams) error {
	return ff.Unavailable("stage_dependency_edge")
}

func (UnimplementedFlows) CancelFlow(context.Context, CancelFlowParams) error {
	return ff.Unavailable("cancel_flow")
}

func (UnimplementedFlows) DescribeFlow(context.Context, DescribeFlowParams) (FlowSnapshot, error) {
	return FlowSnapshot{}, ff.Unavailable("describe_flow")
}

func (UnimplementedFlows) WaitChildren(context.Context, WaitChildrenParams) error {
	return ff.Unavailable("wait_children")
}
