package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Types of the later-wave surface (flows, waitpoints, budgets, streams).
// They are declared now so the seam is complete; backends return
// Unavailable for them until they are built.

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
	FlowID    FlowID `json:"flow_id"`
	State     string `json:"public_flow_state"`
	NodeCount int    `json:"node_count"`
	EdgeCount int    `json:"edge_count"`
}

type SuspendParams struct {
	Handle         ff.Handle
	WaitpointKey   string
	ReasonCode     string
	TimeoutAtMs    int64
	IdempotencyKey string
}

type SuspendOutcome struct {
	Suspended        bool
	Handle           ff.Handle
	WaitpointID      string
	WaitpointToken   string
	AlreadySatisfied bool
}

type PendingWaitpoint struct {
	WaitpointID  string `json:"waitpoint_id"`
	WaitpointKey string `json:"waitpoint_key"`
	Token        string `json:"-"`
	State        string `json:"state"`
}

type DeliverSignalParams struct {
	ExecutionID    ff.ExecutionID
	WaitpointID    string
	Token          string
	Name           string
	Payload        []byte
	IdempotencyKey string
}

type DeliverSignalResult struct {
	SignalID  string
	Effect    string
	Duplicate bool
}

type CreateBudgetParams struct {
	BudgetID   string
	Dimensions map[string]BudgetLimit
}

type BudgetLimit struct {
	Soft int64
	Hard int64
}

type ReportUsageParams struct {
	Handle   ff.Handle
	BudgetID string
	Usage    map[string]int64
	DedupKey string
}

type ReportUsageResult struct {
	Outcome string
}

type BudgetStatus struct {
	BudgetID string
	Usage    map[string]int64
}

type CreateQuotaParams struct {
	QuotaID        string
	RatePerSecond  float64
	MaxConcurrency int
}

type Frame struct {
	Kind    string
	Type    string
	Payload []byte
	Mode    string
}

type AppendFrameResult struct {
	StreamID   string
	FrameCount int64
}

type ReadStreamParams struct {
	ExecutionID ff.ExecutionID
	Attempt     uint32
	From, To    string
	Limit       int
}

type StreamFrames struct {
	Frames       []Frame
	ClosedAtMs   int64
	ClosedReason string
}

// Unimplemented answers every later-wave operation with Unavailable. A
// backend embeds it and overrides what it builds; Capabilities must agree.
type Unimplemented struct{}

func (Unimplemented) ChangePriority(context.Context, ff.ExecutionID, int64) error {
	return ff.Unavailable("change_priority")
}
func (Unimplemented) ReplayExecution(context.Context, ff.ExecutionID) (ff.PublicState, error) {
	return "", ff.Unavailable("replay_execution")
}
func (Unimplemented) RevokeLease(context.Context, ff.ExecutionID, string) error {
	return ff.Unavailable("revoke_lease")
}
func (Unimplemented) CreateFlow(context.Context, CreateFlowParams) (FlowID, error) {
	return "", ff.Unavailable("create_flow")
}
func (Unimplemented) AddExecutionToFlow(context.Context, FlowID, ff.ExecutionID) error {
	return ff.Unavailable("add_execution_to_flow")
}
func (Unimplemented) StageDependencyEdge(context.Context, StageEdgeParams) error {
	return ff.Unavailable("stage_dependency_edge")
}
func (Unimplemented) CancelFlow(context.Context, FlowID, string) error {
	return ff.Unavailable("cancel_flow")
}
func (Unimplemented) DescribeFlow(context.Context, FlowID) (FlowSnapshot, error) {
	return FlowSnapshot{}, ff.Unavailable("describe_flow")
}
func (Unimplemented) WaitChildren(context.Context, ff.Handle) error {
	return ff.Unavailable("wait_children")
}
func (Unimplemented) Suspend(context.Context, SuspendParams) (SuspendOutcome, error) {
	return SuspendOutcome{}, ff.Unavailable("suspend")
}
func (Unimplemented) CreateWaitpoint(context.Context, ff.Handle, string, time.Duration) (PendingWaitpoint, error) {
	return PendingWaitpoint{}, ff.Unavailable("create_waitpoint")
}
func (Unimplemented) DeliverSignal(context.Context, DeliverSignalParams) (DeliverSignalResult, error) {
	return DeliverSignalResult{}, ff.Unavailable("deliver_signal")
}
func (Unimplemented) ListPendingWaitpoints(context.Context, ff.ExecutionID) ([]PendingWaitpoint, error) {
	return nil, ff.Unavailable("list_pending_waitpoints")
}
func (Unimplemented) SeedWaitpointHMACSecret(context.Context, string, string) error {
	return ff.Unavailable("seed_waitpoint_hmac_secret")
}
func (Unimplemented) RotateWaitpointHMACSecret(context.Context, string, string, time.Duration) error {
	return ff.Unavailable("rotate_waitpoint_hmac_secret")
}
func (Unimplemented) CreateBudget(context.Context, CreateBudgetParams) error {
	return ff.Unavailable("create_budget")
}
func (Unimplemented) ReportUsage(context.Context, ReportUsageParams) (ReportUsageResult, error) {
	return ReportUsageResult{}, ff.Unavailable("report_usage")
}
func (Unimplemented) GetBudgetStatus(context.Context, string) (BudgetStatus, error) {
	return BudgetStatus{}, ff.Unavailable("get_budget_status")
}
func (Unimplemented) CreateQuotaPolicy(context.Context, CreateQuotaParams) error {
	return ff.Unavailable("create_quota_policy")
}
func (Unimplemented) AppendFrame(context.Context, ff.Handle, Frame) (AppendFrameResult, error) {
	return AppendFrameResult{}, ff.Unavailable("append_frame")
}
func (Unimplemented) ReadStream(context.Context, ReadStreamParams) (StreamFrames, error) {
	return StreamFrames{}, ff.Unavailable("read_stream")
}
func (Unimplemented) ReadSummary(context.Context, ff.ExecutionID, uint32) ([]byte, error) {
	return nil, ff.Unavailable("read_summary")
}
func (Unimplemented) ReadCompletions(context.Context, EventCursor, int) ([]CompletionEvent, EventCursor, error) {
	return nil, "", ff.Unavailable("subscribe_completion")
}
