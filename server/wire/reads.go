package wire

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

// The read responses. Each mirrors a backend result field by field, with
// times as Unix milliseconds; convert.go holds the conversions both ways.

// ExecutionSnapshot is the body of GET /v1/executions/{id}.
type ExecutionSnapshot struct {
	ExecutionID          ff.ExecutionID    `json:"execution_id"`
	Namespace            string            `json:"namespace,omitempty"`
	Lane                 string            `json:"lane"`
	Kind                 string            `json:"kind"`
	Priority             int32             `json:"priority"`
	PublicState          ff.PublicState    `json:"public_state"`
	StateVector          StateVector       `json:"state_vector"`
	BlockingDetail       string            `json:"blocking_detail,omitempty"`
	RequiredCapabilities []string          `json:"required_capabilities"`
	Tags                 map[string]string `json:"tags"`
	Policy               json.RawMessage   `json:"policy,omitempty"`
	AttemptCount         uint32            `json:"attempt_count"`
	CurrentAttempt       *AttemptRef       `json:"current_attempt,omitempty"`
	Lease                *LeaseSummary     `json:"lease,omitempty"`
	RetryCount           int               `json:"retry_count"`
	ReclaimCount         int               `json:"reclaim_count"`
	ProgressPct          *int              `json:"progress_pct,omitempty"`
	ProgressMessage      string            `json:"progress_message,omitempty"`
	FailureReason        string            `json:"failure_reason,omitempty"`
	CancelReason         string            `json:"cancel_reason,omitempty"`
	ReadyAtMs            int64             `json:"ready_at_ms,omitempty"`
	DeadlineAtMs         int64             `json:"deadline_at_ms,omitempty"`
	CreatedAtMs          int64             `json:"created_at_ms"`
	StartedAtMs          int64             `json:"started_at_ms,omitempty"`
	CompletedAtMs        int64             `json:"completed_at_ms,omitempty"`
	UpdatedAtMs          int64             `json:"updated_at_ms"`
}

// StateVector is the execution's stored state dimensions and the public
// state derived from them.
type StateVector struct {
	LifecyclePhase   ff.LifecyclePhase   `json:"lifecycle_phase"`
	OwnershipState   ff.OwnershipState   `json:"ownership_state"`
	EligibilityState ff.EligibilityState `json:"eligibility_state"`
	BlockingReason   ff.BlockingReason   `json:"blocking_reason"`
	TerminalOutcome  ff.TerminalOutcome  `json:"terminal_outcome"`
	AttemptState     ff.AttemptState     `json:"attempt_state"`
	PublicState      ff.PublicState      `json:"public_state"`
}

// AttemptRef names the current attempt.
type AttemptRef struct {
	Index uint32 `json:"index"`
	ID    string `json:"id"`
}

// LeaseSummary describes the current lease. Epoch is always present; the
// other fields only while a lease is held or awaiting reclaim.
type LeaseSummary struct {
	LeaseID          string `json:"lease_id,omitempty"`
	Epoch            uint64 `json:"epoch"`
	WorkerID         string `json:"worker_id,omitempty"`
	WorkerInstanceID string `json:"worker_instance_id,omitempty"`
	ExpiresAtMs      int64  `json:"expires_at_ms,omitempty"`
	LastHeartbeatMs  int64  `json:"last_heartbeat_ms,omitempty"`
}

// ExecutionPage is the body of GET /v1/executions; NextCursor is absent
// on the last page.
type ExecutionPage struct {
	Executions []ExecutionSummary `json:"executions"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// ExecutionSummary is one row of an execution listing.
type ExecutionSummary struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	Lane        string         `json:"lane"`
	Kind        string         `json:"kind"`
	PublicState ff.PublicState `json:"public_state"`
	Priority    int32          `json:"priority"`
	CreatedAtMs int64          `json:"created_at_ms"`
}

// LanePage is the body of GET /v1/lanes.
type LanePage struct {
	Lanes      []LaneInfo `json:"lanes"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// LaneInfo is a lane with its live (non-terminal) executions counted by
// public state; states with none are absent.
type LaneInfo struct {
	Name   string                   `json:"name"`
	Counts map[ff.PublicState]int64 `json:"counts"`
}

// AttemptList is the body of GET /v1/executions/{id}/attempts.
type AttemptList struct {
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one try at running an execution.
type Attempt struct {
	ExecutionID      ff.ExecutionID      `json:"execution_id"`
	Index            uint32              `json:"attempt_index"`
	ID               string              `json:"attempt_id"`
	Type             ff.AttemptType      `json:"attempt_type"`
	Lifecycle        ff.AttemptLifecycle `json:"lifecycle"`
	LeaseEpoch       uint64              `json:"lease_epoch"`
	WorkerID         string              `json:"worker_id"`
	WorkerInstanceID string              `json:"worker_instance_id"`
	StartedAtMs      int64               `json:"started_at_ms"`
	EndedAtMs        int64               `json:"ended_at_ms,omitempty"`
	FailureReason    string              `json:"failure_reason,omitempty"`
	FailureClass     string              `json:"failure_class,omitempty"`
}

// Capabilities is the body of GET /v1/capabilities.
type Capabilities struct {
	Family   string   `json:"family"`
	Version  string   `json:"version"`
	Supports Supports `json:"supports"`
}

// Supports has one flag per operator-visible feature.
type Supports struct {
	CreateExecution     bool `json:"create_execution"`
	Claim               bool `json:"claim"`
	ClaimBatch          bool `json:"claim_batch"`
	Renew               bool `json:"renew"`
	Progress            bool `json:"progress"`
	Complete            bool `json:"complete"`
	Fail                bool `json:"fail"`
	Cancel              bool `json:"cancel"`
	Delay               bool `json:"delay"`
	CancelExecution     bool `json:"cancel_execution"`
	ChangePriority      bool `json:"change_priority"`
	ReplayExecution     bool `json:"replay_execution"`
	RevokeLease         bool `json:"revoke_lease"`
	DescribeExecution   bool `json:"describe_execution"`
	ReadExecutionState  bool `json:"read_execution_state"`
	GetExecutionResult  bool `json:"get_execution_result"`
	ListExecutions      bool `json:"list_executions"`
	ListLanes           bool `json:"list_lanes"`
	Flows               bool `json:"flows"`
	Waitpoints          bool `json:"waitpoints"`
	BudgetAdmin         bool `json:"budget_admin"`
	QuotaAdmin          bool `json:"quota_admin"`
	Streams             bool `json:"streams"`
	SubscribeCompletion bool `json:"subscribe_completion"`
	Events              bool `json:"events"`
	LaneControl         bool `json:"lane_control"`
	LeaderElection      bool `json:"leader_election"`
	Schedules           bool `json:"schedules"`
}
