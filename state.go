package flowfabric

import "fmt"

// LifecyclePhase is dimension A of the state vector.
type LifecyclePhase string

const (
	PhaseSubmitted LifecyclePhase = "submitted"
	PhaseRunnable  LifecyclePhase = "runnable"
	PhaseActive    LifecyclePhase = "active"
	PhaseSuspended LifecyclePhase = "suspended"
	PhaseTerminal  LifecyclePhase = "terminal"
)

// OwnershipState is dimension B.
type OwnershipState string

const (
	OwnershipUnowned      OwnershipState = "unowned"
	OwnershipLeased       OwnershipState = "leased"
	OwnershipLeaseExpired OwnershipState = "lease_expired_reclaimable"
	OwnershipLeaseRevoked OwnershipState = "lease_revoked"
)

// EligibilityState is dimension C.
type EligibilityState string

const (
	EligibleNow              EligibilityState = "eligible_now"
	NotEligibleUntilTime     EligibilityState = "not_eligible_until_time"
	BlockedByDependencies    EligibilityState = "blocked_by_dependencies"
	BlockedByBudget          EligibilityState = "blocked_by_budget"
	BlockedByQuota           EligibilityState = "blocked_by_quota"
	BlockedByRoute           EligibilityState = "blocked_by_route"
	BlockedByLaneState       EligibilityState = "blocked_by_lane_state"
	BlockedByOperator        EligibilityState = "blocked_by_operator"
	EligibilityNotApplicable EligibilityState = "not_applicable"
)

// BlockingReason is dimension D: an explanation, not a control input.
type BlockingReason string

const (
	BlockingNone                    BlockingReason = "none"
	BlockingWaitingForWorker        BlockingReason = "waiting_for_worker"
	BlockingWaitingForRetryBackoff  BlockingReason = "waiting_for_retry_backoff"
	BlockingWaitingForResumeDelay   BlockingReason = "waiting_for_resume_delay"
	BlockingWaitingForDelay         BlockingReason = "waiting_for_delay"
	BlockingWaitingForSignal        BlockingReason = "waiting_for_signal"
	BlockingWaitingForApproval      BlockingReason = "waiting_for_approval"
	BlockingWaitingForCallback      BlockingReason = "waiting_for_callback"
	BlockingWaitingForToolResult    BlockingReason = "waiting_for_tool_result"
	BlockingWaitingForChildren      BlockingReason = "waiting_for_children"
	BlockingWaitingForBudget        BlockingReason = "waiting_for_budget"
	BlockingWaitingForQuota         BlockingReason = "waiting_for_quota"
	BlockingWaitingForCapableWorker BlockingReason = "waiting_for_capable_worker"
	BlockingWaitingForLocality      BlockingReason = "waiting_for_locality_match"
	BlockingPausedByOperator        BlockingReason = "paused_by_operator"
	BlockingPausedByPolicy          BlockingReason = "paused_by_policy"
	BlockingPausedByFlowCancel      BlockingReason = "paused_by_flow_cancel"
)

// TerminalOutcome is dimension E.
type TerminalOutcome string

const (
	OutcomeNone      TerminalOutcome = "none"
	OutcomeSuccess   TerminalOutcome = "success"
	OutcomeFailed    TerminalOutcome = "failed"
	OutcomeCancelled TerminalOutcome = "cancelled"
	OutcomeExpired   TerminalOutcome = "expired"
	OutcomeSkipped   TerminalOutcome = "skipped"
)

// AttemptState is dimension F: where the execution stands with respect to
// its attempts.
type AttemptState string

const (
	AttemptStateNone     AttemptState = "none"
	AttemptPendingFirst  AttemptState = "pending_first_attempt"
	AttemptRunning       AttemptState = "running_attempt"
	AttemptInterrupted   AttemptState = "attempt_interrupted"
	AttemptPendingRetry  AttemptState = "pending_retry_attempt"
	AttemptPendingReplay AttemptState = "pending_replay_attempt"
	AttemptTerminalState AttemptState = "attempt_terminal"
)

// PublicState is the derived, user-facing state.
type PublicState string

const (
	PublicWaiting         PublicState = "waiting"
	PublicDelayed         PublicState = "delayed"
	PublicRateLimited     PublicState = "rate_limited"
	PublicWaitingChildren PublicState = "waiting_children"
	PublicActive          PublicState = "active"
	PublicSuspended       PublicState = "suspended"
	PublicResumable       PublicState = "resumable"
	PublicCompleted       PublicState = "completed"
	PublicFailed          PublicState = "failed"
	PublicCancelled       PublicState = "cancelled"
	PublicExpired         PublicState = "expired"
	PublicSkipped         PublicState = "skipped"
)

// PublicStates lists every public state, for validating filters.
var PublicStates = []PublicState{
	PublicWaiting, PublicDelayed, PublicRateLimited, PublicWaitingChildren, PublicActive,
	PublicSuspended, PublicResumable, PublicCompleted, PublicFailed, PublicCancelled,
	PublicExpired, PublicSkipped,
}

// IsTerminal reports whether p is one of the five terminal public states.
func (p PublicState) IsTerminal() bool {
	switch p {
	case PublicCompleted, PublicFailed, PublicCancelled, PublicExpired, PublicSkipped:
		return true
	}
	return false
}

// ParsePublicState validates a public state string.
func ParsePublicState(s string) (PublicState, error) {
	for _, p := range PublicStates {
		if string(p) == s {
			return p, nil
		}
	}
	return "", Validation(ErrInvalidInput, "public_state %q: unknown", s)
}

// StateVector is the stored state of an execution: six independent
// dimensions plus the public state derived from them. It is always written
// whole.
type StateVector struct {
	LifecyclePhase   LifecyclePhase
	OwnershipState   OwnershipState
	EligibilityState EligibilityState
	BlockingReason   BlockingReason
	TerminalOutcome  TerminalOutcome
	AttemptState     AttemptState
	PublicState      PublicState
}

// Derive computes the public state from the other six dimensions. It never
// panics; inconsistent input yields the closest sensible label.
func (v StateVector) Derive() PublicState {
	switch v.LifecyclePhase {
	case PhaseTerminal:
		switch v.TerminalOutcome {
		case OutcomeSuccess:
			return PublicCompleted
		case OutcomeCancelled:
			return PublicCancelled
		case OutcomeExpired:
			return PublicExpired
		case OutcomeSkipped:
			return PublicSkipped
		default:
			return PublicFailed
		}
	case PhaseSuspended:
		return PublicSuspended
	case PhaseActive:
		return PublicActive
	case PhaseRunnable:
		switch v.EligibilityState {
		case NotEligibleUntilTime:
			return PublicDelayed
		case BlockedByDependencies:
			return PublicWaitingChildren
		case BlockedByBudget, BlockedByQuota:
			return PublicRateLimited
		default:
			return PublicWaiting
		}
	default:
		return PublicWaiting
	}
}

// Normalized returns v with PublicState set to the derived value.
func (v StateVector) Normalized() StateVector {
	v.PublicState = v.Derive()
	return v
}

// Check verifies the stored public state matches the derivation and that
// none of the forbidden combinations V1–V10 holds.
func (v StateVector) Check() error {
	if v.PublicState != v.Derive() {
		return Bug("public_state %s, derived %s", v.PublicState, v.Derive())
	}
	fail := func(code, what string) error { return Bug("%s: %s in %+v", code, what, v) }
	switch {
	case v.LifecyclePhase == PhaseTerminal && v.OwnershipState == OwnershipLeased:
		return fail("V1", "terminal and leased")
	case v.LifecyclePhase == PhaseSuspended && v.OwnershipState == OwnershipLeased:
		return fail("V2", "suspended and leased")
	case v.LifecyclePhase != PhaseTerminal && v.TerminalOutcome != OutcomeNone:
		return fail("V3", "outcome while not terminal")
	case v.LifecyclePhase == PhaseTerminal && v.TerminalOutcome == OutcomeNone:
		return fail("V4", "terminal without outcome")
	case v.LifecyclePhase == PhaseActive && v.AttemptState == AttemptPendingFirst:
		return fail("V5", "active with pending first attempt")
	case v.LifecyclePhase == PhaseTerminal && v.EligibilityState == EligibleNow:
		return fail("V6", "terminal and eligible")
	case v.LifecyclePhase == PhaseActive && v.EligibilityState == EligibleNow:
		return fail("V7", "active and eligible")
	case v.LifecyclePhase == PhaseSubmitted && v.OwnershipState == OwnershipLeased:
		return fail("V8", "submitted and leased")
	case v.LifecyclePhase == PhaseRunnable && v.AttemptState == AttemptRunning:
		return fail("V9", "runnable with running attempt")
	case v.LifecyclePhase == PhaseActive && v.OwnershipState == OwnershipUnowned:
		return fail("V10", "active and unowned")
	}
	return nil
}

func (v StateVector) String() string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/%s→%s", v.LifecyclePhase, v.OwnershipState, v.EligibilityState,
		v.BlockingReason, v.TerminalOutcome, v.AttemptState, v.PublicState)
}

// Named vectors used by the transitions (spec §2.3).

func vecReady(attempt AttemptState) StateVector {
	return StateVector{PhaseRunnable, OwnershipUnowned, EligibleNow, BlockingWaitingForWorker, OutcomeNone, attempt, ""}.Normalized()
}

func vecDelayed(reason BlockingReason, attempt AttemptState) StateVector {
	return StateVector{PhaseRunnable, OwnershipUnowned, NotEligibleUntilTime, reason, OutcomeNone, attempt, ""}.Normalized()
}

func vecRunning() StateVector {
	return StateVector{PhaseActive, OwnershipLeased, EligibilityNotApplicable, BlockingNone, OutcomeNone, AttemptRunning, ""}.Normalized()
}

func vecActiveLost(ownership OwnershipState) StateVector {
	return StateVector{PhaseActive, ownership, EligibilityNotApplicable, BlockingWaitingForWorker, OutcomeNone, AttemptInterrupted, ""}.Normalized()
}

func vecTerminal(outcome TerminalOutcome, attempt AttemptState) StateVector {
	return StateVector{PhaseTerminal, OwnershipUnowned, EligibilityNotApplicable, BlockingNone, outcome, attempt, ""}.Normalized()
}
