package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Operator is operator control, without a lease. For every method an
// unknown execution is not_found. Every action that changes something
// writes an operator event (flowfabric.EventOperator) naming who made it
// and why, in its transaction.
type Operator interface {
	// CancelExecution cancels from any non-terminal phase and returns the
	// public state afterwards. A lease held at the time is revoked: every
	// later fenced call under it fails with lease_revoked (only under it:
	// the execution records the revoked epoch). A terminal execution (so
	// also a repeated cancel) is execution_not_active.
	CancelExecution(ctx context.Context, p CancelExecutionParams) (ff.PublicState, error)
	// ChangePriority sets the priority of a non-terminal execution (a
	// terminal one is execution_not_eligible, one outside [0, 9000]
	// invalid_input); the claim order reads it at once. Repeating it is
	// harmless and writes nothing.
	ChangePriority(ctx context.Context, p ChangePriorityParams) error
	// ReplayExecution makes a terminal execution claimable again with a
	// replay attempt; a non-terminal one (so also a repeated replay
	// before the next end) is execution_not_terminal, one over its
	// replay cap max_replays_exhausted.
	ReplayExecution(ctx context.Context, p ReplayExecutionParams) (ff.PublicState, error)
	// RevokeLease revokes the active lease, if any: the holder's next
	// fenced write fails with lease_revoked and the next claim reclaims
	// the execution. Repeating it finds no lease and changes nothing
	// (Revoked false).
	RevokeLease(ctx context.Context, p RevokeLeaseParams) (RevokeLeaseResult, error)
	// SetLanePaused pauses (Paused true) or resumes a lane. Claims skip a
	// paused lane without reading its executions; they stay waiting,
	// reported blocked_by_lane_state; leases already held run on.
	// Repeating it changes nothing and writes no event.
	SetLanePaused(ctx context.Context, p SetLanePausedParams) (LaneState, error)
	// LaneStates returns the paused lanes among lanes (all paused lanes
	// when lanes is empty).
	LaneStates(ctx context.Context, p LaneStatesParams) ([]LaneState, error)
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
	Priority    int64 // in [0, 9000]
	Who         ff.Actor
}

// ReplayExecutionParams is the input of ReplayExecution.
type ReplayExecutionParams struct {
	ExecutionID ff.ExecutionID
	Who         ff.Actor
}

// RevokeLeaseParams is the input of RevokeLease.
type RevokeLeaseParams struct {
	ExecutionID ff.ExecutionID
	Who         ff.Actor
}

// RevokeLeaseResult tells whether a lease was revoked, and its epoch.
type RevokeLeaseResult struct {
	Revoked    bool
	LeaseEpoch uint64
}

// SetLanePausedParams is the input of SetLanePaused.
type SetLanePausedParams struct {
	Lane   string
	Paused bool
	Who    ff.Actor
}

// Normalize validates the lane.
func (p *SetLanePausedParams) Normalize() error { return ff.ValidateLane(p.Lane) }

// LaneStatesParams is the input of LaneStates.
type LaneStatesParams struct {
	Lanes []string
}

// LaneState is whether a lane is paused, since when and by whom.
type LaneState struct {
	Lane       string
	Paused     bool
	PausedAtMs int64
	Source     string
	Reason     string
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

func (UnimplementedOperator) RevokeLease(context.Context, RevokeLeaseParams) (RevokeLeaseResult, error) {
	return RevokeLeaseResult{}, ff.Unavailable("revoke_lease")
}

func (UnimplementedOperator) SetLanePaused(context.Context, SetLanePausedParams) (LaneState, error) {
	return LaneState{}, ff.Unavailable("pause_lane")
}

func (UnimplementedOperator) LaneStates(context.Context, LaneStatesParams) ([]LaneState, error) {
	return nil, ff.Unavailable("pause_lane")
}

// BulkAction is what a bulk operation does to each execution.
type BulkAction string

const (
	BulkReplay BulkAction = "replay"
	BulkCancel BulkAction = "cancel"
)

// BulkParams selects the executions of a lane in one public state and
// the action to apply to each. It is bounded (Limit executions per call)
// and resumable (Cursor: the NextCursor of the previous call).
type BulkParams struct {
	Lane        string
	PublicState ff.PublicState
	Action      BulkAction
	Cursor      string
	Limit       int // 0 = 100; at most 1000
	Who         ff.Actor
}

// Normalize validates p: a lane and a state are required, and the state
// must be one the action applies to (replay: terminal; cancel: not).
func (p *BulkParams) Normalize() error {
	if err := ff.ValidateLane(p.Lane); err != nil {
		return err
	}
	if err := normalizePageLimit(&p.Limit, 100); err != nil {
		return err
	}
	st, err := ff.ParsePublicState(string(p.PublicState))
	if err != nil {
		return err
	}
	switch p.Action {
	case BulkReplay:
		if !st.IsTerminal() {
			return ff.Validation(ff.ErrInvalidInput, "bulk replay: state %s is not terminal", st)
		}
	case BulkCancel:
		if st.IsTerminal() {
			return ff.Validation(ff.ErrInvalidInput, "bulk cancel: state %s is terminal", st)
		}
	default:
		return ff.Validation(ff.ErrInvalidInput, "bulk action %q: replay or cancel", p.Action)
	}
	return nil
}

// BulkItem is the outcome for one execution: its public state after the
// action, or the error that refused it (an execution that changed state
// since it was listed is refused, not retried).
type BulkItem struct {
	ExecutionID ff.ExecutionID
	PublicState ff.PublicState
	Err         error
}

// BulkResult is one bounded step of a bulk operation. NextCursor is ""
// when the lane has no more executions in the state.
type BulkResult struct {
	Items      []BulkItem
	NextCursor string
}

// RunBulk applies p.Action to up to p.Limit executions of p.Lane in
// p.PublicState, in id order after p.Cursor, each in its own transaction
// (through ReplayExecution or CancelExecution, so each writes its own
// operator event). It is not atomic: a failed call can be resumed from
// the cursor it was given, and executions already acted on have left the
// state. Refusals of single executions are reported in their items;
// only a failure to list is returned as an error.
func RunBulk(ctx context.Context, b Backend, p BulkParams) (BulkResult, error) {
	if err := p.Normalize(); err != nil {
		return BulkResult{}, err
	}
	page, err := b.ListExecutions(ctx, ListExecutionsParams{Lane: p.Lane, PublicState: p.PublicState,
		Cursor: p.Cursor, Limit: p.Limit})
	if err != nil {
		return BulkResult{}, err
	}
	res := BulkResult{Items: make([]BulkItem, 0, len(page.Executions)), NextCursor: page.NextCursor}
	for _, ex := range page.Executions {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Items = append(res.Items, bulkOne(ctx, b, p, ex.ExecutionID))
	}
	return res, nil
}

func bulkOne(ctx context.Context, b Backend, p BulkParams, id ff.ExecutionID) BulkItem {
	it := BulkItem{ExecutionID: id}
	if p.Action == BulkReplay {
		it.PublicState, it.Err = b.ReplayExecution(ctx, ReplayExecutionParams{ExecutionID: id, Who: p.Who})
		return it
	}
	who := p.Who.Normalized()
	it.PublicState, it.Err = b.CancelExecution(ctx, CancelExecutionParams{ExecutionID: id, Reason: who.Reason, Source: who.Source})
	return it
}
