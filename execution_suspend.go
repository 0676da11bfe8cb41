package flowfabric

import (
	"slices"
	"time"
)

// Suspension transitions (spec §2.4, core-semantics §2.4 rows A→S, S→RI,
// S→terminal). A suspension keeps the attempt (interrupted) for the
// resume; the next claim continues it (attempt type resume).

// Suspend limits.
const (
	// MaxWaitpointsPerSuspension bounds one suspension's waitpoints.
	MaxWaitpointsPerSuspension = 64
	// TimeoutSkewToleranceMs: a timeout this far in the past is still
	// accepted (it fires at once); older is timeout_at_in_past.
	TimeoutSkewToleranceMs = 600_000
	// suspendIdempotencyMaxMs bounds how long a suspend key replays.
	suspendIdempotencyMaxMs = int64(7 * 24 * time.Hour / time.Millisecond)
)

// SuspendRequest is a validated suspend (Normalize).
type SuspendRequest struct {
	// WaitpointKeys are the suspension's waitpoints: a key of a pending
	// waitpoint of this attempt activates it (its token is kept), any
	// other key mints a fresh one. Empty: one fresh waitpoint.
	WaitpointKeys []string
	// Condition nil: a single, any-name signal on the only waitpoint.
	Condition       *Condition
	TimeoutAtMs     int64 // 0: none
	TimeoutBehavior TimeoutBehavior
	ReasonCode      string
	IdempotencyKey  string
}

// Normalize validates the request's shape and fills its defaults; the
// condition is checked against the waitpoints by Suspend.
func (r *SuspendRequest) Normalize() error {
	if len(r.WaitpointKeys) > MaxWaitpointsPerSuspension {
		return Validation(ErrInvalidInput, "waitpoints: %d, at most %d", len(r.WaitpointKeys), MaxWaitpointsPerSuspension)
	}
	for i, k := range r.WaitpointKeys {
		if k == "" {
			return Validation(ErrInvalidInput, "waitpoints[%d].key: required (additional_waitpoint_binding_must_have_key)", i)
		}
		if err := ValidateWaitpointKey("waitpoints.key", k); err != nil {
			return err
		}
		if slices.Contains(r.WaitpointKeys[:i], k) {
			return Validation(ErrInvalidInput, "waitpoints: key %q twice", clip(k))
		}
	}
	if r.Condition != nil {
		if err := r.Condition.Validate(); err != nil {
			return err
		}
	}
	b, err := ParseTimeoutBehavior(string(r.TimeoutBehavior))
	if err != nil {
		return err
	}
	r.TimeoutBehavior = b
	code, _, err := ParseReasonCode(r.ReasonCode)
	if err != nil {
		return err
	}
	r.ReasonCode = code
	if err := ValidateInstant("timeout_at_ms", r.TimeoutAtMs); err != nil {
		return err
	}
	return ValidateIdempotencyKey(r.IdempotencyKey)
}

// SuspendEnv is what the store read for Suspend: the execution's open
// waitpoints, the signals buffered on them (oldest first), the current
// signing key and fresh ids.
type SuspendEnv struct {
	Open     []Waitpoint
	Buffered []Signal
	Key      SigningKey
	// SuspensionID is minted by the caller (a fresh UUID).
	SuspensionID string
}

// SuspendPlan is what Suspend decided, for the store to write beside the
// record and its effects.
type SuspendPlan struct {
	// AlreadySatisfied: buffered signals already satisfy the condition;
	// the lease is kept, nothing but closing Close is written.
	AlreadySatisfied bool
	Satisfiers       []string
	// Close lists the pending waitpoints the suspension used.
	Close      []string
	Suspension Suspension
	// Waitpoints are the suspension's, in request order, to upsert.
	Waitpoints []Waitpoint
}

// Suspend parks the lease holder's attempt until its condition is
// satisfied: the lease is released (the old handle is fenced out: every
// later fenced call finds the execution not active), the attempt is kept
// (interrupted), the waitpoints become active and the execution is
// suspended with the blocking reason of its reason code. It sets
// HookWaitpoints, so the attempt's end closes its waitpoints.
func (e *Execution) Suspend(nowMs int64, f Fence, r SuspendRequest, env SuspendEnv) (*SuspendPlan, *Effects, FenceResult, error) {
	if e.State.LifecyclePhase == PhaseSuspended && f.LeaseEpoch == e.LeaseEpoch && f.AttemptID == e.CurrentAttemptID {
		return nil, nil, FenceResult{}, StateError(ErrAlreadySuspended, "execution %s is already suspended", e.ID)
	}
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		return nil, nil, fr, err
	}
	plan, err := e.planSuspension(nowMs, r, env)
	if err != nil {
		return nil, nil, FenceResult{}, err
	}
	if ok, ids := plan.Suspension.Condition.Satisfied(bufferedFor(plan, env.Buffered)); ok {
		return &SuspendPlan{AlreadySatisfied: true, Satisfiers: ids, Close: plan.Close}, nil, FenceResult{}, nil
	}
	return plan, e.enterSuspension(nowMs, r.ReasonCode), FenceResult{}, nil
}

// planSuspension binds the waitpoints and resolves the condition.
func (e *Execution) planSuspension(nowMs int64, r SuspendRequest, env SuspendEnv) (*SuspendPlan, error) {
	keys := r.WaitpointKeys
	if len(keys) == 0 {
		keys = []string{NewWaitpointKey()}
	}
	cond := Condition{Type: ConditionSingle}
	if r.Condition != nil {
		cond = *r.Condition
	}
	if err := cond.Resolve(keys); err != nil {
		return nil, err
	}
	if cond.Type == ConditionTimeoutOnly && r.TimeoutAtMs == 0 {
		return nil, Validation(ErrInvalidInput, "condition: timeout_only needs timeout_at_ms (timeout_only_without_deadline)")
	}
	if r.TimeoutAtMs > 0 && r.TimeoutAtMs+TimeoutSkewToleranceMs < nowMs {
		return nil, Validation(ErrInvalidInput, "timeout_at_ms %d is more than 10 minutes in the past (timeout_at_in_past)", r.TimeoutAtMs)
	}
	idx, _ := e.CurrentAttemptIndex()
	s := Suspension{ID: env.SuspensionID, ExecutionID: e.ID, AttemptIndex: idx, Condition: cond,
		ReasonCode: r.ReasonCode, TimeoutAtMs: r.TimeoutAtMs, TimeoutBehavior: r.TimeoutBehavior,
		IdempotencyKey: r.IdempotencyKey, CreatedAtMs: nowMs}
	if r.IdempotencyKey != "" {
		s.IdempotencyExpiresAtMs = suspendKeyExpiry(nowMs, r.TimeoutAtMs)
	}
	plan := &SuspendPlan{Suspension: s}
	for _, k := range keys {
		w, pending, err := e.bindWaitpoint(nowMs, k, &plan.Suspension, env)
		if err != nil {
			return nil, err
		}
		if pending {
			plan.Close = append(plan.Close, w.ID)
		}
		plan.Waitpoints = append(plan.Waitpoints, w)
		plan.Suspension.WaitpointIDs = append(plan.Suspension.WaitpointIDs, w.ID)
	}
	return plan, nil
}

// suspendKeyExpiry: a suspend key replays until a minute after the
// timeout, at most 7 days.
func suspendKeyExpiry(nowMs, timeoutAtMs int64) int64 {
	ttl := suspendIdempotencyMaxMs
	if timeoutAtMs > 0 && timeoutAtMs-nowMs+60_000 < ttl {
		ttl = max(timeoutAtMs-nowMs+60_000, 60_000)
	}
	return AddMs(nowMs, ttl)
}

// bindWaitpoint activates the pending waitpoint named k (pending true),
// or mints a fresh one.
func (e *Execution) bindWaitpoint(nowMs int64, k string, s *Suspension, env SuspendEnv) (Waitpoint, bool, error) {
	names := s.Condition.RequiredSignalNames(k)
	for _, w := range env.Open {
		if w.Key != k {
			continue
		}
		if w.State != WaitpointPending || w.AttemptIndex != s.AttemptIndex {
			return Waitpoint{}, false, Conflict(ErrWaitpointKeyInUse, "waitpoint %q is %s", clip(k), w.State)
		}
		if w.ExpiresAtMs > 0 && w.ExpiresAtMs <= nowMs {
			return Waitpoint{}, false, StateError(ErrPendingWaitpointExpired, "pending waitpoint %q expired", clip(k))
		}
		w.State, w.SuspensionID, w.ActivatedAtMs, w.RequiredSignalNames = WaitpointActive, s.ID, nowMs, names
		w.ExpiresAtMs = s.TimeoutAtMs
		return w, true, nil
	}
	if len(env.Key.Secret) == 0 {
		return Waitpoint{}, false, HMACNotInitialized()
	}
	w := Waitpoint{ID: NewWaitpointID(), Key: k, ExecutionID: e.ID, AttemptIndex: s.AttemptIndex,
		State: WaitpointActive, SuspensionID: s.ID, TokenKid: env.Key.Kid, RequiredSignalNames: names,
		CreatedAtMs: nowMs, ExpiresAtMs: s.TimeoutAtMs, ActivatedAtMs: nowMs}
	w.Token = MintToken(env.Key, w.Binding())
	return w, false, nil
}

// bufferedFor returns the buffered signals of the plan's waitpoints, with
// their keys as the plan binds them.
func bufferedFor(plan *SuspendPlan, buffered []Signal) []ConditionSignal {
	var out []ConditionSignal
	for _, s := range buffered {
		for _, w := range plan.Waitpoints {
			if w.ID == s.WaitpointID {
				s.WaitpointKey = w.Key
				out = append(out, s.ForCondition())
			}
		}
	}
	return out
}

// enterSuspension releases the lease and writes the suspended vector.
func (e *Execution) enterSuspension(nowMs int64, reasonCode string) *Effects {
	_, blocking, _ := ParseReasonCode(reasonCode)
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptSuspended}},
		Events: []Event{e.leaseEvent(LeaseReleased, nowMs, LeaseEventData{Reason: LeaseReasonSuspended})}}
	e.releaseHeldForSuspend(nowMs, fx)
	e.clearLease()
	e.AttemptDeadlineMs = 0
	e.ReadyAtMs = 0
	e.Hooks |= HookWaitpoints
	e.State = vecSuspended(blocking)
	e.BlockingDetail = "suspended: " + reasonCode
	e.UpdatedAtMs = nowMs
	return fx
}

// releaseHeldForSuspend is the point where a suspension gives back what
// the lease held besides the lease itself, in the suspend's transaction.
// QUOTA-SLOT HOOK: the budgets area releases the quota concurrency slots
// of an execution carrying HookQuotaSlot here (and clears the bit), as
// the end of an attempt does; a resumed claim takes them again through
// admission. Nothing else is held today.
func (e *Execution) releaseHeldForSuspend(nowMs int64, fx *Effects) {
	_, _ = nowMs, fx
}

// LeaseReasonSuspended is the reason of the lease event a suspend writes.
const LeaseReasonSuspended = "suspended"

func vecSuspended(reason BlockingReason) StateVector {
	return StateVector{PhaseSuspended, OwnershipUnowned, EligibilityNotApplicable, reason, OutcomeNone, AttemptInterrupted, ""}.Normalized()
}

// Resume triggers.
const (
	ResumeBySignal   = "signal"
	ResumeByOperator = "operator"
	ResumeByTimeout  = "timeout"
)

// ResumeData is the data of a resume event.
type ResumeData struct {
	Trigger      string `json:"trigger"`
	SuspensionID string `json:"suspension_id,omitempty"`
}

// Resume makes a suspended execution claimable at once (waiting, attempt
// interrupted): the next claim continues the same attempt. Anything but a
// suspended execution is execution_not_eligible. The store closes the
// suspension and its waitpoints in the same transaction.
func (e *Execution) Resume(nowMs int64, trigger, suspensionID string) (*Effects, error) {
	if e.State.LifecyclePhase != PhaseSuspended {
		return nil, StateError(ErrNotEligible, "execution %s is %s, not suspended", e.ID, e.State.PublicState)
	}
	typ := EventSignal
	if trigger == ResumeByOperator {
		typ = EventOperator
	}
	fx := &Effects{Events: []Event{e.event(typ, "resumed", nowMs, nil, ResumeData{Trigger: trigger, SuspensionID: suspensionID})}}
	e.State = vecReady(AttemptInterrupted)
	e.BlockingDetail = ""
	e.UpdatedAtMs = nowMs
	return fx, nil
}

// SuspensionTimedOut applies a due suspension timeout: auto_resume
// resumes (the store records the timeout signal); fail, cancel and
// expire end the execution with reason suspension_timeout, which closes
// its waitpoints. It returns nil when e is no longer suspended.
func (e *Execution) SuspensionTimedOut(nowMs int64, b TimeoutBehavior, suspensionID string) *Effects {
	if e.State.LifecyclePhase != PhaseSuspended {
		return nil
	}
	if b == TimeoutAutoResume {
		fx, _ := e.Resume(nowMs, ResumeByTimeout, suspensionID)
		return fx
	}
	idx, _ := e.CurrentAttemptIndex()
	u := AttemptUpdate{Index: idx, Lifecycle: AttemptEndedFailure, EndedAtMs: nowMs,
		FailureReason: "suspension_timeout", FailureClass: string(FailureTimeout)}
	fx := &Effects{}
	outcome := OutcomeFailed
	switch b {
	case TimeoutCancel:
		outcome, u.Lifecycle, u.FailureClass = OutcomeCancelled, AttemptEndedCancelled, ""
		e.CancelReason, e.CancelledBy = "suspension_timeout", "system_timeout"
	case TimeoutExpire:
		outcome = OutcomeExpired
		e.FailureReason, e.FailureClass = "suspension_timeout", string(FailureTimeout)
	default:
		e.FailureReason, e.FailureClass = "suspension_timeout", string(FailureTimeout)
	}
	fx.UpdateAttempts = []AttemptUpdate{u}
	e.terminate(nowMs, outcome, AttemptTerminalState, LeaseReleased, fx)
	return fx
}

// CreateWaitpoint checks the lease before a pending waitpoint is created
// under it and sets HookWaitpoints (the attempt's end closes it). It
// reports whether the record changed.
func (e *Execution) CreateWaitpoint(nowMs int64, f Fence) (bool, FenceResult, error) {
	if fr, err := e.CheckFence(nowMs, f); err != nil {
		return false, fr, err
	}
	if e.Hooks.Any(HookWaitpoints) {
		return false, FenceResult{}, nil
	}
	e.Hooks |= HookWaitpoints
	e.UpdatedAtMs = nowMs
	return true, FenceResult{}, nil
}

// Close reasons of waitpoints and suspensions.
const (
	CloseResumed          = "resumed"
	CloseAttemptEnded     = "attempt_ended"
	CloseSatisfiedPending = "already_satisfied"
	CloseNeverCommitted   = "never_committed"
)

// endAttemptWaitpoints asks the store to close the waitpoints and the
// open suspension of the attempt that ends, when it has any
// (HookWaitpoints), and clears the bit.
func (e *Execution) endAttemptWaitpoints(fx *Effects) {
	if !e.Hooks.Any(HookWaitpoints) {
		return
	}
	e.Hooks &^= HookWaitpoints
	fx.CloseWaitpoints = CloseAttemptEnded
}
