package backend

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Reads are side-effect-free reads of the last committed state; repeating
// one is always safe.
type Reads interface {
	// DescribeExecution returns the full snapshot; an unknown execution is
	// not_found.
	DescribeExecution(ctx context.Context, p DescribeExecutionParams) (ExecutionSnapshot, error)
	// ReadExecutionState returns the public state; an unknown execution
	// is not_found.
	ReadExecutionState(ctx context.Context, p ReadExecutionStateParams) (ff.PublicState, error)
	// GetExecutionResult returns the stored result of a completed
	// execution (empty when it completed without one); an unknown
	// execution is not_found (entity "execution"), one that has not
	// completed is not_found (entity "result").
	GetExecutionResult(ctx context.Context, p GetExecutionResultParams) ([]byte, error)
	// ListAttempts returns every attempt, oldest first; an unknown
	// execution is not_found.
	ListAttempts(ctx context.Context, p ListAttemptsParams) ([]ff.Attempt, error)
	// ListExecutions pages executions by id; no match is an empty page.
	ListExecutions(ctx context.Context, p ListExecutionsParams) (ExecutionPage, error)
	// ListLanes pages lanes by name; no match is an empty page.
	ListLanes(ctx context.Context, p ListLanesParams) (LanePage, error)
}

// DescribeExecutionParams is the input of DescribeExecution.
type DescribeExecutionParams struct {
	ExecutionID ff.ExecutionID
	// WithInput also reads the execution's input (ExecutionSnapshot.Input),
	// up to ff.MaxInputBytes; the API's snapshot leaves it out.
	WithInput bool
}

// ReadExecutionStateParams is the input of ReadExecutionState.
type ReadExecutionStateParams struct {
	ExecutionID ff.ExecutionID
}

// GetExecutionResultParams is the input of GetExecutionResult.
type GetExecutionResultParams struct {
	ExecutionID ff.ExecutionID
}

// ListAttemptsParams is the input of ListAttempts.
type ListAttemptsParams struct {
	ExecutionID ff.ExecutionID
}

// ExecutionSnapshot is everything known about one execution. A time that
// is not set (not started, no deadline, ...) is the zero Time.
type ExecutionSnapshot struct {
	ExecutionID     ff.ExecutionID
	Namespace       string
	Lane            string
	Kind            string
	Priority        int32
	PublicState     ff.PublicState
	StateVector     ff.StateVector
	BlockingDetail  string
	RequiredCaps    []string
	Tags            map[string]string
	Policy          json.RawMessage
	AttemptCount    uint32
	CurrentAttempt  *AttemptRef
	Lease           *LeaseSummary
	RetryCount      int
	ReclaimCount    int
	ProgressPct     *int
	ProgressMessage string
	FailureReason   string
	CancelReason    string
	ReadyAt         time.Time
	DeadlineAt      time.Time
	CreatedAt       time.Time
	StartedAt       time.Time
	CompletedAt     time.Time
	UpdatedAt       time.Time
	// Input is the stored input, read only with
	// DescribeExecutionParams.WithInput (nil otherwise, or when empty).
	Input []byte
}

// AttemptRef names the current attempt.
type AttemptRef struct {
	Index uint32
	ID    string
}

// LeaseSummary describes the current lease. Epoch is always reported;
// the other fields only while a lease is held or awaiting reclaim.
type LeaseSummary struct {
	LeaseID          string
	Epoch            uint64
	WorkerID         string
	WorkerInstanceID string
	ExpiresAt        time.Time
	LastHeartbeatAt  time.Time
}

// SnapshotOf builds the public snapshot from a stored record.
func SnapshotOf(e *ff.Execution) ExecutionSnapshot {
	s := ExecutionSnapshot{
		ExecutionID: e.ID, Namespace: e.Namespace, Lane: e.Lane, Kind: e.Kind, Priority: e.Priority,
		PublicState: e.State.PublicState, StateVector: e.State, BlockingDetail: e.BlockingDetail,
		RequiredCaps: e.Capabilities, Tags: e.Tags, AttemptCount: e.AttemptCount,
		RetryCount: e.RetryCount, ReclaimCount: e.ReclaimCount, ProgressMessage: e.ProgressMessage,
		FailureReason: e.FailureReason, CancelReason: e.CancelReason, ReadyAt: ff.TimeFromMs(e.ReadyAtMs),
		DeadlineAt: ff.TimeFromMs(e.ExecutionDeadlineMs), CreatedAt: ff.TimeFromMs(e.CreatedAtMs),
		StartedAt: ff.TimeFromMs(e.StartedAtMs), CompletedAt: ff.TimeFromMs(e.CompletedAtMs),
		UpdatedAt: ff.TimeFromMs(e.UpdatedAtMs),
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
			WorkerInstanceID: e.WorkerInstanceID, ExpiresAt: ff.TimeFromMs(e.LeaseExpiresAtMs)}
		if e.LeaseID != "" {
			s.Lease.LastHeartbeatAt = ff.TimeFromMs(e.LastHeartbeatMs)
		}
	}
	if e.ProgressPct >= 0 {
		pct := e.ProgressPct
		s.ProgressPct = &pct
	}
	return s
}

// ListExecutionsParams filters and pages executions. Order is by
// execution id text, ascending; Cursor is exclusive. Lane, public state
// and partition are indexed; kind, tag and flow narrow what those (or
// the id order) select, so a rare match of only those may read far.
type ListExecutionsParams struct {
	Partition   *uint16
	Lane        string
	PublicState ff.PublicState
	Kind        string
	// Tag, when Key is set, keeps executions tagged Key=Value.
	Tag    TagFilter
	FlowID string // only members of this flow
	Cursor string
	Limit  int // 0 = 50; at most 1000
}

// TagFilter is one tag an execution must carry.
type TagFilter struct {
	Key, Value string
}

// String is the filter as ParseTagFilter reads it ("" for none).
func (f TagFilter) String() string {
	if f.Key == "" {
		return ""
	}
	return f.Key + "=" + f.Value
}

// ParseTagFilter reads "key=value" (a tag key as ValidateTags wants it);
// "" is no filter.
func ParseTagFilter(s string) (TagFilter, error) {
	if s == "" {
		return TagFilter{}, nil
	}
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return TagFilter{}, ff.Validation(ff.ErrInvalidInput, "tag %q: want key=value", ff.CutText(s, 64))
	}
	f := TagFilter{Key: k, Value: v}
	return f, ff.ValidateTags(map[string]string{k: v})
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
	return p.normalizeNarrowing()
}

// normalizeNarrowing validates the kind, tag and flow filters.
func (p *ListExecutionsParams) normalizeNarrowing() error {
	if p.Kind != "" {
		if err := ff.ValidateKind(p.Kind); err != nil {
			return err
		}
	}
	if p.Tag != (TagFilter{}) {
		if err := ff.ValidateTags(map[string]string{p.Tag.Key: p.Tag.Value}); err != nil {
			return err
		}
	}
	if p.FlowID != "" {
		if _, err := ff.ParseFlowID(p.FlowID); err != nil {
			return err
		}
	}
	return nil
}

// ExecutionSummary is one row of a listing.
type ExecutionSummary struct {
	ExecutionID ff.ExecutionID
	Lane        string
	Kind        string
	PublicState ff.PublicState
	Priority    int32
	CreatedAt   time.Time
}

// ExecutionPage is a page of executions; NextCursor is empty on the last
// page.
type ExecutionPage struct {
	Executions []ExecutionSummary
	NextCursor string
}

// ListLanesParams pages lanes by name; Cursor is exclusive.
type ListLanesParams struct {
	Cursor string
	Limit  int // 0 = 100; at most 1000
}

// Normalize validates p and applies defaults. The cursor is a key
// (ff.ValidateKey) no longer than a lane name.
func (p *ListLanesParams) Normalize() error {
	if err := ff.ValidateKey("cursor", p.Cursor, ff.MaxLaneBytes); err != nil {
		return err
	}
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
	Name   string
	Counts map[ff.PublicState]int64
}

// LanePage is a page of lanes.
type LanePage struct {
	Lanes      []LaneInfo
	NextCursor string
}
