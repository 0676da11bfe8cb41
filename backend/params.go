package backend

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

// CreateExecutionParams is the input of CreateExecution. Lane defaults to
// "default"; a zero ExecutionID is minted from the lane.
type CreateExecutionParams struct {
	ExecutionID          ff.ExecutionID
	Namespace            string
	Lane                 string
	Kind                 string
	Input                []byte // opaque bytes; the HTTP API stores JSON
	Priority             int64  // clamped to [0, 9000]
	RequiredCapabilities []string
	IdempotencyKey       string
	DelayUntilMs         int64 // 0 = claimable at once
	DeadlineAtMs         int64 // 0 = none (the policy may set a relative one)
	Tags                 map[string]string
	Policy               *ff.ExecutionPolicy
}

// Spec converts the params into the domain's creation spec.
func (p CreateExecutionParams) Spec() ff.CreateSpec {
	return ff.CreateSpec{
		ID: p.ExecutionID, Namespace: p.Namespace, Lane: p.Lane, Kind: p.Kind,
		Priority: p.Priority, Capabilities: p.RequiredCapabilities, Tags: p.Tags,
		Policy: p.Policy, IdempotencyKey: p.IdempotencyKey, Input: p.Input,
		DelayUntilMs: p.DelayUntilMs, DeadlineAtMs: p.DeadlineAtMs,
	}
}

// CreateExecutionResult tells which execution holds the work.
type CreateExecutionResult struct {
	ExecutionID ff.ExecutionID
	PublicState ff.PublicState
	// Duplicate is true when the idempotency key matched an existing
	// execution, which is returned unchanged.
	Duplicate bool
}

// ClaimParams is the input of Claim.
type ClaimParams struct {
	WorkerID         string
	WorkerInstanceID string
	Lanes            []string
	Capabilities     []string
	LeaseTTLMs       int64 // 0 = 30 s
	Max              int   // 0 = 1; at most 1000
}

// Normalize validates p and fills defaults; it returns the normalized
// worker capability set.
func (p *ClaimParams) Normalize() ([]string, error) {
	if err := ff.ValidateIdentifier("worker_id", p.WorkerID); err != nil {
		return nil, err
	}
	if p.WorkerInstanceID == "" {
		p.WorkerInstanceID = p.WorkerID
	}
	if err := ff.ValidateIdentifier("worker_instance_id", p.WorkerInstanceID); err != nil {
		return nil, err
	}
	if len(p.Lanes) == 0 {
		p.Lanes = []string{"default"}
	}
	if len(p.Lanes) > 64 {
		return nil, ff.Validation(ff.ErrInvalidInput, "lanes: %d given, at most 64", len(p.Lanes))
	}
	for _, l := range p.Lanes {
		if err := ff.ValidateLane(l); err != nil {
			return nil, err
		}
	}
	if p.LeaseTTLMs == 0 {
		p.LeaseTTLMs = ff.DefaultLeaseTTLMs
	}
	if p.LeaseTTLMs < ff.MinLeaseTTLMs || p.LeaseTTLMs > ff.MaxLeaseTTLMs {
		return nil, ff.Validation(ff.ErrInvalidInput, "lease_ttl_ms %d outside [%d, %d]", p.LeaseTTLMs, ff.MinLeaseTTLMs, ff.MaxLeaseTTLMs)
	}
	if p.Max == 0 {
		p.Max = 1
	}
	if p.Max < 0 || p.Max > ff.MaxClaimBatch {
		return nil, ff.Validation(ff.ErrInvalidInput, "max %d outside [1, %d]", p.Max, ff.MaxClaimBatch)
	}
	return ff.NormalizeCapabilities("worker", p.Capabilities)
}

// ClaimedTask is one claimed execution with its lease handle.
type ClaimedTask struct {
	Handle           ff.Handle
	ExecutionID      ff.ExecutionID
	Lane             string
	Kind             string
	Input            []byte
	Priority         int32
	Tags             map[string]string
	AttemptIndex     uint32
	AttemptID        string
	AttemptType      ff.AttemptType
	LeaseEpoch       uint64
	LeaseExpiresAtMs int64
}

// LeaseRenewal is the new lease expiry.
type LeaseRenewal struct {
	LeaseExpiresAtMs int64
	LeaseEpoch       uint64
}

// RenewResult is one entry of RenewMany.
type RenewResult struct {
	Renewal LeaseRenewal
	Err     error
}

// ProgressParams reports progress under a lease. Percent -1 leaves the
// stored percentage unchanged.
type ProgressParams struct {
	Handle  ff.Handle
	Percent int
	Message string
}

// CompleteParams completes an attempt with an optional result.
type CompleteParams struct {
	Handle ff.Handle
	Result []byte
}

// FailParams reports a failed attempt.
type FailParams struct {
	Handle         ff.Handle
	Reason         string
	Classification ff.FailureClass
}

// CancelParams is a lease holder's cancel.
type CancelParams struct {
	Handle ff.Handle
	Reason string
}

// DelayParams parks an attempt until UntilMs.
type DelayParams struct {
	Handle  ff.Handle
	UntilMs int64
}

// CancelExecutionParams is an operator cancel.
type CancelExecutionParams struct {
	ExecutionID ff.ExecutionID
	Reason      string
	Source      string // default "operator_override"
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

// EventCursor is an opaque position in the completion outbox; the empty
// cursor is the beginning. Cursors are gap-free: an event that commits
// after a later one was read is still delivered after that cursor.
type EventCursor string

// CompletionEvent is one completion outbox row.
type CompletionEvent struct {
	Cursor      EventCursor        `json:"cursor"`
	ExecutionID ff.ExecutionID     `json:"execution_id"`
	Lane        string             `json:"lane"`
	Outcome     ff.TerminalOutcome `json:"outcome"`
	AtMs        int64              `json:"at_ms"`
}
