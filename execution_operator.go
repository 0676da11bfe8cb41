package flowfabric

// Operator control (spec streams/events/operator §6): transitions an
// operator makes without a lease. Each writes one operator event naming
// who made it and why (Actor), in the transaction of the change.

// Actions of operator events.
const (
	OperatorPriorityChanged = "priority_changed"
	OperatorReplayed        = "replayed"
	OperatorLeaseRevoked    = "lease_revoked"
	OperatorCancelled       = "cancelled"
	OperatorLanePaused      = "lane_paused"
	OperatorLaneResumed     = "lane_resumed"
)

// DefaultOperatorSource is the source of an operator action that names
// none.
const DefaultOperatorSource = "operator"

// Actor is who made an operator action (Source: a person, a tool, a
// service; free text) and why (Reason).
type Actor struct {
	Source string
	Reason string
}

// Normalized returns a with both fields sanitized free text (SanitizeText)
// and Source defaulted to DefaultOperatorSource.
func (a Actor) Normalized() Actor {
	a.Source = SanitizeText(a.Source, MaxCancelSourceBytes)
	a.Reason = SanitizeText(a.Reason, MaxReasonBytes)
	if a.Source == "" {
		a.Source = DefaultOperatorSource
	}
	return a
}

// OperatorEventData is the data of an operator event: who and why, and
// what the action changed (fields that do not apply are left out).
type OperatorEventData struct {
	Source          string `json:"source"`
	Reason          string `json:"reason,omitempty"`
	OldPriority     *int32 `json:"old_priority,omitempty"`
	Priority        *int32 `json:"priority,omitempty"`
	LeaseEpoch      uint64 `json:"lease_epoch,omitempty"`
	ReplayCount     int    `json:"replay_count,omitempty"`
	PreviousOutcome string `json:"previous_outcome,omitempty"`
}

func (a Actor) data() OperatorEventData {
	return OperatorEventData{Source: a.Source, Reason: a.Reason}
}

// ValidatePriority refuses a priority outside [MinPriority, MaxPriority]
// (create clamps; an operator's change is refused instead).
func ValidatePriority(p int64) error {
	if p < MinPriority || p > MaxPriority {
		return Validation(ErrInvalidInput, "priority %d outside [%d, %d]", p, MinPriority, MaxPriority)
	}
	return nil
}

// ChangePriority sets the priority of a non-terminal execution; the
// claim order reads it at once. A terminal execution is
// execution_not_eligible, a priority out of range invalid_input. Setting
// the priority it already has writes nothing (nil effects).
func (e *Execution) ChangePriority(nowMs, priority int64, who Actor) (*Effects, error) {
	if err := ValidatePriority(priority); err != nil {
		return nil, err
	}
	if e.State.LifecyclePhase == PhaseTerminal {
		return nil, StateError(ErrNotEligible, "execution %s is %s: its priority cannot change", e.ID, e.State.PublicState)
	}
	old, p := e.Priority, int32(priority)
	if old == p {
		return nil, nil
	}
	e.Priority = p
	e.UpdatedAtMs = nowMs
	d := who.Normalized().data()
	d.OldPriority, d.Priority = &old, &p
	return &Effects{Events: []Event{e.event(EventOperator, OperatorPriorityChanged, nowMs, nil, d)}}, nil
}

// ReplayCap is the number of replays the policy allows.
func (p *ExecutionPolicy) ReplayCap() int {
	if p == nil || p.MaxReplayCount == nil {
		return DefaultMaxReplayCount
	}
	return *p.MaxReplayCount
}

// Replay makes a terminal execution claimable again: the next claim
// starts an attempt of type replay, and its end overwrites the stored
// result and outcome. A non-terminal execution is execution_not_terminal,
// one replayed ReplayCap times already max_replays_exhausted. The ended
// attempts stay as they were; the last one, if it succeeded, is named in
// UpdateAttempts (ended_success) so a store that keeps a successful last
// attempt on the execution row writes its own row now. A revoked lease's
// mark is cleared: the replay starts a new history for fences.
//
// Replaying a skipped flow member sets Effects.ResetSkippedEdges;
// backend.ReplayInFlowTx resets its impossible edges in the same
// transaction. Replay itself only changes the execution.
func (e *Execution) Replay(nowMs int64, who Actor) (*Effects, error) {
	if e.State.LifecyclePhase != PhaseTerminal {
		return nil, StateError(ErrExecutionNotTerminal, "execution %s is %s, not terminal", e.ID, e.State.PublicState)
	}
	if e.ReplayCount >= e.Policy.ReplayCap() {
		return nil, StateError(ErrMaxReplaysExhausted, "execution %s was replayed %d times (max_replay_count %d)",
			e.ID, e.ReplayCount, e.Policy.ReplayCap())
	}
	fx := &Effects{}
	if idx, ok := e.CurrentAttemptIndex(); ok && e.State.TerminalOutcome == OutcomeSuccess {
		fx.UpdateAttempts = append(fx.UpdateAttempts, AttemptUpdate{Index: idx, Lifecycle: AttemptEndedSuccess, EndedAtMs: e.CompletedAtMs})
	}
	fx.ResetSkippedEdges = e.State.TerminalOutcome == OutcomeSkipped
	d := who.Normalized().data()
	d.PreviousOutcome = string(e.State.TerminalOutcome)
	e.ReplayCount++
	d.ReplayCount = e.ReplayCount
	e.State = vecReady(AttemptPendingReplay)
	e.BlockingDetail = ""
	e.RevokedLeaseEpoch = 0
	e.ReadyAtMs = 0
	e.CompletedAtMs = 0
	e.FailureReason, e.FailureClass, e.CancelReason, e.CancelledBy = "", "", "", ""
	e.UpdatedAtMs = nowMs
	fx.Events = append(fx.Events, e.event(EventOperator, OperatorReplayed, nowMs, nil, d))
	return fx, nil
}

// RevokeLease takes the active lease away from its holder: the holder's
// next fenced call fails with lease_revoked, and the next claim reclaims
// the execution (a reclaim attempt). The attempt ends interrupted; the
// lease event revoked and the operator event are written. It returns
// (nil, 0) when e holds no live lease: nothing changes.
func (e *Execution) RevokeLease(nowMs int64, who Actor) (*Effects, uint64) {
	if e.State.LifecyclePhase != PhaseActive || e.State.OwnershipState != OwnershipLeased {
		return nil, 0
	}
	who = who.Normalized()
	idx, _ := e.CurrentAttemptIndex()
	epoch := e.LeaseEpoch
	d := who.data()
	d.LeaseEpoch = epoch
	fx := &Effects{
		UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptInterruptedReclaimed, EndedAtMs: nowMs,
			FailureReason: "lease_revoked", FailureClass: string(FailureInfra)}},
		Events: []Event{
			e.event(EventOperator, OperatorLeaseRevoked, nowMs, nil, d),
			e.leaseEvent(LeaseRevoked, nowMs, LeaseEventData{Reason: LeaseReasonRevoked}),
		},
	}
	e.endAttemptWaitpoints(fx)
	e.RevokedLeaseEpoch = epoch
	e.State = vecActiveLost(OwnershipLeaseRevoked)
	e.BlockingDetail = "lease revoked by " + CutText(who.Source, 100) + "; awaiting reclaim"
	e.AttemptDeadlineMs = 0
	e.UpdatedAtMs = nowMs
	return fx, epoch
}

// CancelByOperator is OperatorCancel as an operator action: it also
// writes the operator event (action cancelled) before the completion.
// Cascades that cancel on an operator's behalf (a flow cancel) call
// OperatorCancel and write their own event once.
func (e *Execution) CancelByOperator(nowMs int64, who Actor) (*Effects, error) {
	who = who.Normalized()
	source := who.Source
	if source == DefaultOperatorSource {
		source = "" // OperatorCancel's own default, operator_override
	}
	ev := e.event(EventOperator, OperatorCancelled, nowMs, nil, who.data())
	fx, err := e.OperatorCancel(nowMs, who.Reason, source)
	if err != nil {
		return nil, err
	}
	fx.Events = append([]Event{ev}, fx.Events...)
	return fx, nil
}

// LaneEvent is the operator event of pausing (paused) or resuming a lane.
func LaneEvent(lane string, paused bool, nowMs int64, who Actor) Event {
	action := OperatorLaneResumed
	if paused {
		action = OperatorLanePaused
	}
	return Event{Type: EventOperator, Action: action, Lane: lane, AtMs: nowMs, Data: who.Normalized().data()}
}

// ShowLanePaused turns e, a copy read for display, into the view of it
// while its lane is paused: ready work reports eligibility
// blocked_by_lane_state and blocking reason paused_by_operator (its
// public state stays waiting). It reports whether e was ready; the
// stored record never changes with a lane's pause.
func (e *Execution) ShowLanePaused() bool {
	if e.State.LifecyclePhase != PhaseRunnable || e.State.EligibilityState != EligibleNow {
		return false
	}
	e.State = StateVector{PhaseRunnable, OwnershipUnowned, BlockedByLaneState, BlockingPausedByOperator,
		OutcomeNone, e.State.AttemptState, ""}.Normalized()
	e.BlockingDetail = "lane " + e.Lane + " is paused"
	return true
}

// ReadyToShow reports whether a read of e must ask whether its lane is
// paused (ShowLanePaused would change it).
func (e *Execution) ReadyToShow() bool {
	return e.State.LifecyclePhase == PhaseRunnable && e.State.EligibilityState == EligibleNow
}
