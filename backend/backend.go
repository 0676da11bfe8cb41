// Package backend defines the engine's storage seam: the Backend interface
// every store implements, its parameter and result types, and the
// capability snapshot. The engine, server and worker depend on this package
// only, never on an implementation.
//
// Methods take (ctx, params) and return domain types or typed
// *flowfabric.Error values. An operation a backend does not implement
// returns flowfabric.Unavailable and is reported false in Capabilities.
package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Backend is the whole storage surface, grouped as the spec groups it.
type Backend interface {
	Lifecycle
	Reads
	Operator
	Flows
	Waitpoints
	Budgets
	Streams
	Events
	Maintenance
	Admin
}

// Lifecycle is the execution lifecycle: create, claim and the
// lease-bound worker operations. Every lease-bound write is fenced by the
// handle's (lease id, epoch, attempt id) inside the write itself.
type Lifecycle interface {
	// CreateExecution creates an execution, or returns the existing one
	// (Duplicate) when the namespace-scoped idempotency key was seen.
	CreateExecution(ctx context.Context, p CreateExecutionParams) (CreateExecutionResult, error)
	// Claim takes up to p.Max claimable executions from p.Lanes whose
	// required capabilities p.Capabilities satisfy: highest priority
	// first, FIFO within a priority. An empty result means nothing is
	// claimable.
	Claim(ctx context.Context, p ClaimParams) ([]ClaimedTask, error)
	// Renew extends the lease by the TTL chosen at claim time.
	Renew(ctx context.Context, h ff.Handle) (LeaseRenewal, error)
	// RenewMany renews several leases at once; results align with hs.
	RenewMany(ctx context.Context, hs []ff.Handle) []RenewResult
	// Progress records a progress report under the lease.
	Progress(ctx context.Context, p ProgressParams) error
	// Complete ends the attempt successfully; a replay after a lost reply
	// returns nil.
	Complete(ctx context.Context, p CompleteParams) error
	// CompleteMany completes several attempts; errors align with ps.
	CompleteMany(ctx context.Context, ps []CompleteParams) []error
	// Fail ends the attempt as failed and schedules a retry per the
	// execution's policy, or fails the execution.
	Fail(ctx context.Context, p FailParams) (ff.FailOutcome, error)
	// Cancel is the lease holder's cooperative cancel.
	Cancel(ctx context.Context, p CancelParams) error
	// Delay releases the lease until p.Until; the next claim resumes the
	// same attempt.
	Delay(ctx context.Context, p DelayParams) error
}

// Reads are side-effect-free reads.
type Reads interface {
	// DescribeExecution returns the full snapshot, or a not_found error.
	DescribeExecution(ctx context.Context, id ff.ExecutionID) (ExecutionSnapshot, error)
	ReadExecutionState(ctx context.Context, id ff.ExecutionID) (ff.PublicState, error)
	// GetExecutionResult returns the stored result of a completed
	// execution; not_found until it completed.
	GetExecutionResult(ctx context.Context, id ff.ExecutionID) ([]byte, error)
	ListAttempts(ctx context.Context, id ff.ExecutionID) ([]ff.Attempt, error)
	ListExecutions(ctx context.Context, p ListExecutionsParams) (ExecutionPage, error)
	ListLanes(ctx context.Context, p ListLanesParams) (LanePage, error)
}

// Operator is operator control, without a lease.
type Operator interface {
	CancelExecution(ctx context.Context, p CancelExecutionParams) (ff.PublicState, error)
	ChangePriority(ctx context.Context, id ff.ExecutionID, priority int64) error
	ReplayExecution(ctx context.Context, id ff.ExecutionID) (ff.PublicState, error)
	RevokeLease(ctx context.Context, id ff.ExecutionID, reason string) error
}

// Flows are DAGs of executions (a later wave).
type Flows interface {
	CreateFlow(ctx context.Context, p CreateFlowParams) (FlowID, error)
	AddExecutionToFlow(ctx context.Context, flow FlowID, id ff.ExecutionID) error
	StageDependencyEdge(ctx context.Context, p StageEdgeParams) error
	CancelFlow(ctx context.Context, flow FlowID, policy string) error
	DescribeFlow(ctx context.Context, flow FlowID) (FlowSnapshot, error)
	WaitChildren(ctx context.Context, h ff.Handle) error
}

// Waitpoints cover suspension, signals and HMAC tokens (a later wave).
type Waitpoints interface {
	Suspend(ctx context.Context, p SuspendParams) (SuspendOutcome, error)
	CreateWaitpoint(ctx context.Context, h ff.Handle, key string, expiresIn time.Duration) (PendingWaitpoint, error)
	DeliverSignal(ctx context.Context, p DeliverSignalParams) (DeliverSignalResult, error)
	ListPendingWaitpoints(ctx context.Context, id ff.ExecutionID) ([]PendingWaitpoint, error)
	SeedWaitpointHMACSecret(ctx context.Context, kid, secretHex string) error
	RotateWaitpointHMACSecret(ctx context.Context, kid, secretHex string, grace time.Duration) error
}

// Budgets cover budgets, usage and quotas (a later wave).
type Budgets interface {
	CreateBudget(ctx context.Context, p CreateBudgetParams) error
	ReportUsage(ctx context.Context, p ReportUsageParams) (ReportUsageResult, error)
	GetBudgetStatus(ctx context.Context, budget string) (BudgetStatus, error)
	CreateQuotaPolicy(ctx context.Context, p CreateQuotaParams) error
}

// Streams are per-attempt output frames (a later wave).
type Streams interface {
	AppendFrame(ctx context.Context, h ff.Handle, f Frame) (AppendFrameResult, error)
	ReadStream(ctx context.Context, p ReadStreamParams) (StreamFrames, error)
	ReadSummary(ctx context.Context, id ff.ExecutionID, attempt uint32) ([]byte, error)
}

// Events are outbox-backed subscriptions (a later wave); the completion
// outbox rows are written today by every terminal transition.
type Events interface {
	ReadCompletions(ctx context.Context, after EventCursor, limit int) ([]CompletionEvent, EventCursor, error)
}

// Maintenance is what the reconcilers call: batch sweeps that re-check
// their precondition under lock, and leader election.
type Maintenance interface {
	// ExpireLeases marks up to limit due leases expired (or fails
	// executions that reached their reclaim cap) and returns how many.
	ExpireLeases(ctx context.Context, limit int) (int, error)
	// ExpireAttemptTimeouts expires up to limit attempts past their
	// timeout.
	ExpireAttemptTimeouts(ctx context.Context, limit int) (int, error)
	// ExpireDeadlines expires up to limit executions past their deadline.
	ExpireDeadlines(ctx context.Context, limit int) (int, error)
	// PromoteDelayed makes up to limit delayed executions eligible.
	PromoteDelayed(ctx context.Context, limit int) (int, error)
	// TryAcquireLeader tries to become the one leader for name. ok is
	// false when another holder has it.
	TryAcquireLeader(ctx context.Context, name string) (lease LeaderLease, ok bool, err error)
	// SubscribeWork returns a channel that receives (coalesced) when work
	// may have become claimable on one of lanes, and a cancel function.
	SubscribeWork(lanes []string) (<-chan struct{}, func())
}

// LeaderLease is held leadership. Lost is closed when leadership ends for
// any reason; Release gives it up.
type LeaderLease interface {
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}

// Admin is boot, health and identity.
type Admin interface {
	Label() string
	Capabilities() Capabilities
	Ping(ctx context.Context) error
	// Close releases every resource; it returns when in-flight calls on
	// the backend may no longer use them.
	Close() error
}
