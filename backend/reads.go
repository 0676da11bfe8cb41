package backend

import (
	"context"
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

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

// ExecutionSnapshot is everything known about one execution.
type ExecutionSnapshot struct {
	ExecutionID     ff.ExecutionID    `json:"execution_id"`
	Namespace       string            `json:"namespace,omitempty"`
	Lane            string            `json:"lane"`
	Kind            string            `json:"kind"`
	Priority        int32             `json:"priority"`
	PublicState     ff.PublicState    `json:"public_state"`
	StateVector     ff.StateVector    `json:"state_vector"`
	BlockingDetail  string            `json:"blocking_detail,omitempty"`
	RequiredCaps    []string          `json:"required_capabilities"`
	Tags            map[string]string `json:"tags"`
	Policy          json.RawMessage   `json:"policy,omitempty"`
	AttemptCount    uint32            `json:"attempt_count"`
	CurrentAttempt  *AttemptRef       `json:"current_attempt,omitempty"`
	Lease           *LeaseSummary     `json:"lease,omitempty"`
	RetryCount      int               `json:"retry_count"`
	ReclaimCount    int               `json:"reclaim_count"`
	ProgressPct     *int              `json:"progress_pct,omitempty"`
	ProgressMessage string            `json:"progress_message,omitempty"`
	FailureReason   string            `json:"failure_reason,omitempty"`
	CancelReason    string            `json:"cancel_reason,omitempty"`
	ReadyAtMs       int64             `json:"ready_at_ms,omitempty"`
	DeadlineAtMs    int64             `json:"deadline_at_ms,omitempty"`
	CreatedAtMs     int64             `json:"created_at_ms"`
	StartedAtMs     int64             `json:"started_at_ms,omitempty"`
	CompletedAtMs   int64             `json:"completed_at_ms,omitempty"`
	UpdatedAtMs     int64             `json:"updated_at_ms"`
}

// AttemptRef names the current attempt.
type AttemptRef struct {
	Index uint32 `json:"index"`
	ID    string `json:"id"`
}

// LeaseSummary describes the current lease. Epoch is always reported;
// the other fields only while a lease is held or awaiting reclaim.
type LeaseSummary struct {
	LeaseID          string `json:"lease_id,omitempty"`
	Epoch            uint64 `json:"epoch"`
	WorkerID         string `json:"worker_id,omitempty"`
	WorkerInstanceID string `json:"worker_instance_id,omitempty"`
	ExpiresAtMs      int64  `json:"expires_at_ms,omitempty"`
	LastHeartbeatMs  int64  `json:"last_heartbeat_ms,omitempty"`
}

// SnapshotOf builds the public snapshot from a stored record.
func SnapshotOf(e *ff.Execution) ExecutionSnapshot {
	s := ExecutionSnapshot{
		ExecutionID: e.ID, Namespace: e.Namespace, Lane: e.Lane, Kind: e.Kind, Priority: e.Priority,
		PublicState: e.State.PublicState, StateVector: e.State, BlockingDetail: e.BlockingDetail,
		RequiredCaps: e.Capabilities, Tags: e.Tags, AttemptCount: e.AttemptCount,
		RetryCount: e.RetryCount, ReclaimCount: e.ReclaimCount, ProgressMessage: e.ProgressMessage,
		FailureReason: e.FailureReason, CancelReason: e.CancelReason, ReadyAtMs: e.ReadyAtMs,
		DeadlineAtMs: e.ExecutionDeadlineMs, CreatedAtMs: e.CreatedAtMs, StartedAtMs: e.StartedAtMs,
		CompletedAtMs: e.CompletedAtMs, UpdatedAtMs: e.UpdatedAtMs,
	}
	if s.RequiredCaps == nil {
		s.RequiredCaps = []string{}
	}
	if s.Tags == nil {
		s.Tags = map[string]string{}
	}
	if e.Policy != nil {
		s.Policy, _ = json.Marshal(e.Policy)
	}
	if idx, ok := e.CurrentAttemptIndex(); ok {
		s.CurrentAttempt = &AttemptRef{Index: idx, ID: e.CurrentAttemptID}
	}
	if e.LeaseEpoch > 0 {
		s.Lease = &LeaseSummary{LeaseID: e.LeaseID, Epoch: e.LeaseEpoch, WorkerID: e.WorkerID,
			WorkerInstanceID: e.WorkerInstanceID, ExpiresAtMs: e.LeaseExpiresAtMs}
		if e.LeaseID != "" {
			s.Lease.LastHeartbeatMs = e.LastHeartbeatMs
		}
	}
	if e.ProgressPct >= 0 {
		pct := e.ProgressPct
		s.ProgressPct = &pct
	}
	return s
}

// ListExecutionsParams filters and pages executions. Order is by
// execution id text, ascending; Cursor is exclusive.
type ListExecutionsParams struct {
	Partition   *uint16
	Lane        string
	PublicState ff.PublicState
	Cursor      string
	Limit       int // 0 = 50; at most 1000
}

// Normalize validates p and applies defaults.
func (p *ListExecutionsParams) Normalize() error {
	if err := normalizePageLimit(&p.Limit, 50); err != nil {
		return err
	}
	if p.Lane != "" {
		if err := ff.ValidateLane(p.Lane); err != nil {
			return err
		}
	}
	if p.PublicState != "" {
		if _, err := ff.ParsePublicState(string(p.PublicState)); err != nil {
			return err
		}
	}
	if p.Cursor != "" {
		if _, err := ff.ParseExecutionID(p.Cursor); err != nil {
			return ff.Validation(ff.ErrInvalidInput, "cursor: %v", err)
		}
	}
	return nil
}

// ExecutionSummary is one row of a listing.
type ExecutionSummary struct {
	ExecutionID ff.ExecutionID `json:"execution_id"`
	Lane        string         `json:"lane"`
	Kind        string         `json:"kind"`
	PublicState ff.PublicState `json:"public_state"`
	Priority    int32          `json:"priority"`
	CreatedAtMs int64          `json:"created_at_ms"`
}

// ExecutionPage is a page of executions; NextCursor is empty on the last
// page.
type ExecutionPage struct {
	Executions []ExecutionSummary `json:"executions"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// ListLanesParams pages lanes by name; Cursor is exclusive.
type ListLanesParams struct {
	Cursor string
	Limit  int // 0 = 100; at most 1000
}

// Normalize validates p and applies defaults.
func (p *ListLanesParams) Normalize() error {
	return normalizePageLimit(&p.Limit, 100)
}

// normalizePageLimit sets a zero page limit to def and rejects one outside
// [1, 1000].
func normalizePageLimit(limit *int, def int) error {
	if *limit == 0 {
		*limit = def
	}
	if *limit < 0 || *limit > 1000 {
		return ff.Validation(ff.ErrInvalidInput, "limit %d outside [1, 1000]", *limit)
	}
	return nil
}

// LaneInfo is a lane with its queue depth by public state. Counts cover
// live (non-terminal) executions only; terminal states are absent.
type LaneInfo struct {
	Name   string                   `json:"name"`
	Counts map[ff.PublicState]int64 `json:"counts"`
}

// LanePage is a page of lanes.
type LanePage struct {
	Lanes      []LaneInfo `json:"lanes"`
	NextCursor string     `json:"next_cursor,omitempty"`
}
