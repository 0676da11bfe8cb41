package flowfabric

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Execution is the complete stored record of one execution. Backends load
// and store it; the methods below are the state machine, written once for
// every backend. A method either returns an error and leaves the record
// untouched, or mutates the record and returns the side effects the
// backend must write in the same transaction.
type Execution struct {
	ID             ExecutionID
	Namespace      string
	Lane           string
	Kind           string
	Priority       int32
	Capabilities   []string // normalized required set; empty matches any worker
	Tags           map[string]string
	Policy         *ExecutionPolicy
	IdempotencyKey string
	// Seq is the creation order, assigned by the backend; FIFO within a
	// priority follows it, also after retries.
	Seq int64
	// Hooks route the execution's completions and renewals to the slow
	// path while a feature needs to act on them (hooks.go).
	Hooks Hooks

	State          StateVector
	BlockingDetail string

	// AttemptCount is how many attempts were ever minted; the current
	// attempt, if any, has index AttemptCount-1 (resumes reuse it).
	AttemptCount     uint32
	CurrentAttemptID string
	// The current attempt's type, start and worker, kept on the
	// execution (not cleared with the lease) for backends that store an
	// attempt's own row only once it ends.
	CurrentAttemptType      AttemptType
	CurrentAttemptStartedMs int64
	AttemptWorkerID         string
	AttemptWorkerInstanceID string

	LeaseID    string
	LeaseEpoch uint64 // per execution, only grows, never cleared
	// LeaseAcquiredMs is when the claim took the current (or last) lease;
	// like the epoch it is kept when the lease ends, for the event that
	// ends it (LeaseRef.AcquiredAtMs).
	LeaseAcquiredMs int64
	// RevokedLeaseEpoch is the epoch of a lease taken away by someone
	// other than its holder ending the execution (an operator cancel, a
	// flow cancel); 0 when none. CheckFence answers lease_revoked to a
	// fence with exactly that epoch and the current attempt id. Epochs
	// only grow, so no later lease's fence ever matches it.
	RevokedLeaseEpoch uint64
	LeaseExpiresAtMs  int64
	LeaseTTLMs        int64
	WorkerID          string
	WorkerInstanceID  string
	LastHeartbeatMs   int64

	RetryCount   int
	ReclaimCount int
	ReplayCount  int

	ReadyAtMs           int64 // when not_eligible_until_time: when it becomes eligible
	AttemptDeadlineMs   int64 // 0 when no attempt timeout is armed
	ExecutionDeadlineMs int64 // 0 when no execution deadline

	CreatedAtMs   int64
	StartedAtMs   int64
	CompletedAtMs int64
	UpdatedAtMs   int64

	ProgressPct     int // -1 when never reported
	ProgressMessage string

	FailureReason string
	FailureClass  string
	CancelReason  string
	CancelledBy   string
}

// CurrentAttemptIndex returns the index of the current attempt and
// whether one exists.
func (e *Execution) CurrentAttemptIndex() (uint32, bool) {
	if e.AttemptCount == 0 {
		return 0, false
	}
	return e.AttemptCount - 1, true
}

// Claimable reports whether a claim may take the execution now: ready to
// run (runnable and eligible) or holding a lost lease awaiting reclaim.
// Backends index exactly this predicate.
func (e *Execution) Claimable() bool {
	s := e.State
	if s.LifecyclePhase == PhaseRunnable && s.EligibilityState == EligibleNow {
		return true
	}
	return s.LifecyclePhase == PhaseActive &&
		(s.OwnershipState == OwnershipLeaseExpired || s.OwnershipState == OwnershipLeaseRevoked)
}

// Effects are the writes beside the execution row that a transition
// requires, all in the same transaction.
type Effects struct {
	InsertAttempt  *Attempt
	UpdateAttempts []AttemptUpdate
	// Result is stored when StoreResult is set (completion).
	StoreResult bool
	Result      []byte
	// Events are the outbox rows of this transition, written in this
	// order in its transaction.
	Events []Event
	// ResetSkippedEdges is set by Replay of a skipped flow member: its
	// impossible incoming edges go back to unresolved (and it is parked
	// on them) in the same transaction. backend.ReplayInFlowTx does that
	// and clears the flag; a record writer that sees it refuses (a bug).
	ResetSkippedEdges bool
	// CloseWaitpoints, when set, is the close reason of every open
	// waitpoint and the open suspension of the execution: the attempt
	// that created them ended (HookWaitpoints).
	CloseWaitpoints string
}

// AttemptUpdate changes the lifecycle of an existing attempt.
type AttemptUpdate struct {
	Index            uint32
	Lifecycle        AttemptLifecycle
	LeaseEpoch       uint64 // 0 leaves it unchanged
	WorkerID         string // "" leaves it unchanged
	WorkerInstanceID string
	EndedAtMs        int64
	FailureReason    string
	FailureClass     string
}

// CreateSpec is validated input for a new execution.
type CreateSpec struct {
	ID             ExecutionID
	Namespace      string
	Lane           string
	Kind           string
	Priority       int64
	Capabilities   []string
	Tags           map[string]string
	Policy         *ExecutionPolicy
	IdempotencyKey string
	Input          []byte
	DelayUntilMs   int64
	DeadlineAtMs   int64
}

// NewExecution validates spec and returns the initial record (W0, or D0
// when DelayUntilMs is in the future). A zero ID is minted from the lane.
func NewExecution(spec CreateSpec, nowMs int64) (*Execution, error) {
	if spec.Lane == "" {
		spec.Lane = "default"
	}
	if err := ValidateLane(spec.Lane); err != nil {
		return nil, err
	}
	if err := ValidateKind(spec.Kind); err != nil {
		return nil, err
	}
	if err := ValidateNamespace(spec.Namespace); err != nil {
		return nil, err
	}
	if err := ValidateIdempotencyKey(spec.IdempotencyKey); err != nil {
		return nil, err
	}
	if spec.ID.IsZero() && spec.ID.Partition != 0 {
		return nil, Validation(ErrInvalidInput, "execution_id %s: the all-zero uuid is not an id", spec.ID)
	}
	if len(spec.Input) > MaxInputBytes {
		return nil, Validation(ErrPayloadTooLarge, "input: %d bytes, at most %d", len(spec.Input), MaxInputBytes)
	}
	caps, err := NormalizeCapabilities("required", spec.Capabilities)
	if err != nil {
		return nil, err
	}
	if err := ValidateTags(spec.Tags); err != nil {
		return nil, err
	}
	if err := spec.Policy.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateInstant("delay_until_ms", spec.DelayUntilMs); err != nil {
		return nil, err
	}
	if err := ValidateInstant("deadline_at_ms", spec.DeadlineAtMs); err != nil {
		return nil, err
	}
	id := spec.ID
	if id.IsZero() {
		id = NewExecutionID(spec.Lane)
	}
	var hooks Hooks
	if spec.Policy.UsesAdmission() {
		hooks = HookAdmission
	}
	e := &Execution{
		ID:             id,
		Namespace:      spec.Namespace,
		Lane:           spec.Lane,
		Kind:           spec.Kind,
		Priority:       ClampPriority(spec.Priority),
		Capabilities:   caps,
		Tags:           spec.Tags,
		Policy:         spec.Policy,
		IdempotencyKey: spec.IdempotencyKey,
		Hooks:          hooks,
		CreatedAtMs:    nowMs,
		UpdatedAtMs:    nowMs,
		ProgressPct:    -1,
	}
	deadline := spec.DeadlineAtMs
	if rel := spec.Policy.DeadlineMs(); rel > 0 && (deadline == 0 || AddMs(nowMs, rel) < deadline) {
		deadline = AddMs(nowMs, rel)
	}
	e.ExecutionDeadlineMs = deadline
	if spec.DelayUntilMs > nowMs {
		e.State = vecDelayed(BlockingWaitingForDelay, AttemptPendingFirst)
		e.ReadyAtMs = spec.DelayUntilMs
	} else {
		e.State = vecReady(AttemptPendingFirst)
	}
	return e, nil
}

// ClaimArgs are the worker-side inputs of a claim.
type ClaimArgs struct {
	WorkerID         string
	WorkerInstanceID string
	LeaseTTLMs       int64
	// LeaseID and AttemptID are minted by the caller (fresh UUIDs); a
	// resumed claim ignores AttemptID.
	LeaseID   string
	AttemptID string
}

// Claim takes the lease: a fresh attempt for pending first/retry/replay
// work, the same attempt for interrupted work (delay, resume), or a new
// reclaim attempt for an active execution whose lease expired or was
// revoked. The epoch grows by exactly one in every case.
func (e *Execution) Claim(nowMs int64, a ClaimArgs, backend BackendTag) (Handle, *Effects, error) {
	if !e.Claimable() && !e.dueForPromotion(nowMs) {
		return Handle{}, nil, StateError(ErrNotRunnable, "execution %s is %s", e.ID, e.State)
	}
	if a.LeaseID == "" {
		a.LeaseID = uuid.NewString()
	}
	if a.AttemptID == "" {
		a.AttemptID = uuid.NewString()
	}
	fx := &Effects{}
	kind := HandleFresh
	var typ AttemptType
	switch {
	case e.State.LifecyclePhase == PhaseActive:
		typ, kind = AttemptReclaim, HandleReclaimed
		e.ReclaimCount++
	case e.State.AttemptState == AttemptInterrupted:
		kind = HandleResumed
	case e.State.AttemptState == AttemptPendingRetry:
		typ = AttemptRetry
	case e.State.AttemptState == AttemptPendingReplay:
		typ = AttemptReplay
	default:
		typ = AttemptInitial
	}
	e.LeaseEpoch++
	e.LeaseID = a.LeaseID
	e.LeaseAcquiredMs = nowMs
	e.LeaseTTLMs = a.LeaseTTLMs
	e.LeaseExpiresAtMs = AddMs(nowMs, a.LeaseTTLMs)
	e.WorkerID = a.WorkerID
	e.WorkerInstanceID = a.WorkerInstanceID
	e.AttemptWorkerID = a.WorkerID
	e.AttemptWorkerInstanceID = a.WorkerInstanceID
	e.LastHeartbeatMs = nowMs
	e.ReadyAtMs = 0
	if kind == HandleResumed {
		idx, _ := e.CurrentAttemptIndex()
		fx.UpdateAttempts = append(fx.UpdateAttempts, AttemptUpdate{
			Index: idx, Lifecycle: AttemptStarted, LeaseEpoch: e.LeaseEpoch,
			WorkerID: a.WorkerID, WorkerInstanceID: a.WorkerInstanceID,
		})
	} else {
		e.CurrentAttemptID = a.AttemptID
		e.CurrentAttemptType = typ
		e.CurrentAttemptStartedMs = nowMs
		fx.InsertAttempt = &Attempt{
			ExecutionID: e.ID, Index: e.AttemptCount, ID: a.AttemptID, Type: typ,
			Lifecycle: AttemptStarted, LeaseEpoch: e.LeaseEpoch,
			WorkerID: a.WorkerID, WorkerInstanceID: a.WorkerInstanceID, StartedAtMs: nowMs,
		}
		e.AttemptCount++
		if t := e.Policy.AttemptTimeoutMs(); t > 0 {
			e.AttemptDeadlineMs = AddMs(nowMs, t)
		} else {
			e.AttemptDeadlineMs = 0
		}
	}
	if e.StartedAtMs == 0 {
		e.StartedAtMs = nowMs
	}
	e.State = vecRunning()
	e.BlockingDetail = ""
	e.UpdatedAtMs = nowMs
	idx, _ := e.CurrentAttemptIndex()
	h := Handle{Backend: backend, Kind: kind, Lease: Lease{
		ExecutionID: e.ID, AttemptIndex: idx, AttemptID: e.CurrentAttemptID,
		LeaseID: e.LeaseID, LeaseEpoch: e.LeaseEpoch, LeaseTTLMs: uint64(a.LeaseTTLMs),
		Lane: e.Lane, WorkerInstanceID: a.WorkerInstanceID,
	}}
	return h, fx, nil
}

func (e *Execution) dueForPromotion(nowMs int64) bool {
	return e.State.LifecyclePhase == PhaseRunnable && e.State.EligibilityState == NotEligibleUntilTime &&
		e.ReadyAtMs <= nowMs
}

// notActive builds the replay-reconciliation carrier for e.
func (e *Execution) notActive() *Error {
	return NotActive(NotActiveDetail{
		LifecyclePhase:  e.State.LifecyclePhase,
		TerminalOutcome: e.State.TerminalOutcome,
		LeaseEpoch:      e.LeaseEpoch,
		AttemptID:       e.CurrentAttemptID,
	})
}

// FenceResult tells the caller of CheckFence whether the check itself
// changed the record (an expired lease is marked in the same atomic step)
// and must therefore be stored even though the operation failed.
type FenceResult struct {
	MarkedExpired bool
	Effects       *Effects
}

// CheckFence applies the lease validation order of spec §3.3: not active
// (lease_revoked instead for the fence of a lease revoked by the
// transition that ended it), revoked, expired (marking the lease expired),
// then a fence mismatch.
func (e *Execution) CheckFence(nowMs int64, f Fence) (FenceResult, error) {
	if f.LeaseID == "" && f.AttemptID == "" && f.LeaseEpoch == 0 {
		return FenceResult{}, Validation(ErrFenceRequired, "a lease fence is required")
	}
	if f.LeaseID == "" || f.AttemptID == "" || f.LeaseEpoch == 0 {
		return FenceResult{}, Validation(ErrPartialFence, "lease_id, lease_epoch and attempt_id must all be set")
	}
	if e.State.LifecyclePhase != PhaseActive {
		if e.revokedFence(f) {
			return FenceResult{}, StateError(ErrLeaseRevoked, "lease epoch %d of %s was revoked when the execution was %s", f.LeaseEpoch, e.ID, e.State.TerminalOutcome)
		}
		return FenceResult{}, e.notActive()
	}
	if e.RevokedLeaseEpoch != 0 && f.LeaseEpoch == e.RevokedLeaseEpoch {
		// An operator revoked this lease and the execution was reclaimed
		// since: its holder learns why, not just that it is stale.
		return FenceResult{}, StateError(ErrLeaseRevoked, "lease epoch %d of %s was revoked", f.LeaseEpoch, e.ID)
	}
	switch e.State.OwnershipState {
	case OwnershipLeaseRevoked:
		return FenceResult{}, StateError(ErrLeaseRevoked, "lease of %s was revoked", e.ID)
	case OwnershipLeaseExpired:
		if f.LeaseEpoch == e.LeaseEpoch {
			return FenceResult{}, StateError(ErrLeaseExpired, "lease of %s expired", e.ID)
		}
		return FenceResult{}, StateError(ErrStaleLease, "lease epoch %d is stale (current %d)", f.LeaseEpoch, e.LeaseEpoch)
	}
	if nowMs >= e.LeaseExpiresAtMs {
		fx := e.MarkLeaseExpired(nowMs)
		return FenceResult{MarkedExpired: true, Effects: fx}, StateError(ErrLeaseExpired, "lease of %s expired", e.ID)
	}
	if f.LeaseID != e.LeaseID || f.LeaseEpoch != e.LeaseEpoch || f.AttemptID != e.CurrentAttemptID {
		return FenceResult{}, StateError(ErrStaleLease, "lease epoch %d is stale (current %d)", f.LeaseEpoch, e.LeaseEpoch)
	}
	return FenceResult{}, nil
}

// revokedFence reports whether f is the fence of the lease whose
// revocation e records.
func (e *Execution) revokedFence(f Fence) bool {
	return e.RevokedLeaseEpoch != 0 && f.LeaseEpoch == e.RevokedLeaseEpoch && f.AttemptID == e.CurrentAttemptID
}

// revokeHeldLease records that the lease e holds, if any, is taken away
// by a transition its holder did not ask for.
func (e *Execution) revokeHeldLease() {
	if e.State.LifecyclePhase == PhaseActive && e.State.OwnershipState == OwnershipLeased {
		e.RevokedLeaseEpoch = e.LeaseEpoch
	}
}

// openAttempt returns the current attempt's index when it has not ended
// yet: running, or interrupted by a delay. An attempt whose lease was lost
// already ended as interrupted_reclaimed when the loss was recorded.
func (e *Execution) openAttempt() (uint32, bool) {
	idx, ok := e.CurrentAttemptIndex()
	if !ok || e.State.OwnershipState == OwnershipLeaseExpired || e.State.OwnershipState == OwnershipLeaseRevoked {
		return 0, false
	}
	return idx, e.State.AttemptState == AttemptRunning || e.State.AttemptState == AttemptInterrupted
}

// LeaseExpired reports whether e holds a live lease that is due.
func (e *Execution) LeaseExpired(nowMs int64) bool {
	return e.State.LifecyclePhase == PhaseActive && e.State.OwnershipState == OwnershipLeased && nowMs >= e.LeaseExpiresAtMs
}

// MarkLeaseExpired moves a due active lease to "expired, awaiting
// reclaim" (AX), ending the attempt as interrupted_reclaimed, and writes
// the lease event expired. When the reclaim cap is already reached the
// execution fails terminally with reason max_reclaims_exceeded instead,
// its completion event implying the lease expired. It returns nil when
// the lease is not due (a renewal raced the caller).
func (e *Execution) MarkLeaseExpired(nowMs int64) *Effects {
	if !e.LeaseExpired(nowMs) {
		return nil
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptInterruptedReclaimed, EndedAtMs: nowMs,
		FailureReason: "lease_expired", FailureClass: string(FailureInfra)}}}
	if e.ReclaimCount >= e.Policy.ReclaimCap() {
		e.FailureReason = "max_reclaims_exceeded"
		e.FailureClass = string(FailureInfra)
		e.terminate(nowMs, OutcomeFailed, AttemptTerminalState, LeaseExpired, fx)
		return fx
	}
	fx.Events = append(fx.Events, e.leaseEvent(LeaseExpired, nowMs, LeaseEventData{Reason: LeaseReasonExpired}))
	e.endAttemptWaitpoints(fx)
	e.State = vecActiveLost(OwnershipLeaseExpired)
	e.BlockingDetail = "lease expired; awaiting reclaim"
	e.AttemptDeadlineMs = 0
	e.UpdatedAtMs = nowMs
	return fx
}

// terminate writes a terminal vector, clears the lease (keeping epoch and
// attempt id for replay reconciliation) and queues the completion event,
// which carries the lease it ended, if one was held, with leaseEnd as its
// implied end. The outcome's reasons must be set on e before.
func (e *Execution) terminate(nowMs int64, outcome TerminalOutcome, attempt AttemptState, leaseEnd string, fx *Effects) {
	if e.AttemptCount == 0 {
		attempt = AttemptStateNone
	}
	ev := e.event(EventCompletion, string(outcome), nowMs, e.heldLease(leaseEnd), e.completionData(outcome))
	fx.Events = append(fx.Events, ev)
	e.endAttemptWaitpoints(fx)
	e.State = vecTerminal(outcome, attempt)
	e.BlockingDetail = ""
	e.clearLease()
	e.ReadyAtMs = 0
	e.AttemptDeadlineMs = 0
	e.CompletedAtMs = nowMs
	e.UpdatedAtMs = nowMs
}

func (e *Execution) clearLease() {
	e.LeaseID = ""
	e.LeaseExpiresAtMs = 0
	e.WorkerID = ""
	e.WorkerInstanceID = ""
}

// Renew extends a live lease to now + ttl. The epoch and lease id do not
// change.
func (e *Execution) Renew(nowMs int64, f Fence, ttlMs int64) (FenceResult, error) {
	if fr, err := e.CheckFence(nowMs, f); err != nil {
		return fr, err
	}
	e.LeaseExpiresAtMs = AddMs(nowMs, ttlMs)
	e.LastHeartbeatMs = nowMs
	e.UpdatedAtMs = nowMs
	return FenceResult{}, nil
}

// Progress records the latest progress report.
func (e *Execution) Progress(nowMs int64, f Fence, pct int, msg string) (FenceResult, error) {
	if pct < -1 || pct > 100 {
		return FenceResult{}, Validation(ErrInvalidInput, "progress percent %d outside [0, 100]", pct)
	}
	if len(msg) > MaxReasonBytes {
		return FenceResult{}, Validation(ErrInvalidInput, "progress message: %d bytes, at most %d", len(msg), MaxReasonBytes)
	}
	if fr, err := e.CheckFence(nowMs, f); err != nil {
		return fr, err
	}
	if pct >= 0 {
		e.ProgressPct = pct
	}
	e.ProgressMessage = SanitizeText(msg, MaxReasonBytes)
	e.LastHeartbeatMs = nowMs
	e.UpdatedAtMs = nowMs
	return FenceResult{}, nil
}

// Replays of terminal operations (spec §3.6). A lease-bound terminal call
// that finds its execution no longer active succeeds without writing only
// when the stored outcome is the one this same operation wrote: same
// fence (epoch and attempt id) and the same report. Anything else, such
// as a terminal state the lease-expiry sweep, an operator or a timeout
// wrote, is answered with the execution_not_active carrier unchanged.
// What tells the writers apart is recorded on the execution:
//
//   - success is written only by Complete, so a matching fence suffices;
//   - a failure records its reason and class: the reclaim-cap sweep writes
//     max_reclaims_exceeded/infra_crash, never the worker's report (a
//     worker that reported exactly that text and class would find exactly
//     the outcome it asked for);
//   - a cancel records cancelled_by: "lease_holder" for Cancel, the
//     operator's source otherwise (which may never be "lease_holder"); a
//     lease holder's cancel under the fence is the one cancel it can make,
//     so its reason need not match.

// CancelledByLeaseHolder is cancelled_by of a lease holder's own cancel;
// an operator cancel may not claim it as its source.
const CancelledByLeaseHolder = "lease_holder"

// notActiveDetail returns the replay detail of err, if it carries one.
func notActiveDetail(err error) (*NotActiveDetail, bool) {
	ee, ok := AsError(err)
	if !ok || ee.NotActive == nil {
		return nil, false
	}
	return ee.NotActive, true
}

// endedUnder reports whether err shows e terminal with outcome want under
// fence f (the fence's epoch and attempt are the last ones).
func endedUnder(err error, f Fence, want TerminalOutcome) bool {
	d, ok := notActiveDetail(err)
	return ok && d.LifecyclePhase == PhaseTerminal && d.TerminalOutcome == want &&
		d.LeaseEpoch == f.LeaseEpoch && d.AttemptID == f.AttemptID
}

// Complete ends the attempt successfully and stores result. A replay of a
// completion that already committed under the same fence returns
// (nil, nil): success, nothing to write.
func (e *Execution) Complete(nowMs int64, f Fence, result []byte) (*Effects, FenceResult, error) {
	if len(result) > MaxResultBytes {
		return nil, FenceResult{}, Validation(ErrPayloadTooLarge, "result: %d bytes, at most %d", len(result), MaxResultBytes)
	}
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		if endedUnder(err, f, OutcomeSuccess) {
			return nil, FenceResult{}, nil
		}
		return nil, fr, err
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{StoreResult: true, Result: result,
		UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptEndedSuccess, EndedAtMs: nowMs}}}
	e.terminate(nowMs, OutcomeSuccess, AttemptTerminalState, LeaseReleased, fx)
	return fx, FenceResult{}, nil
}

// FailOutcome is the result of a worker-reported failure.
type FailOutcome struct {
	RetryScheduled bool
	// DelayUntil is when the retry becomes claimable; zero on replay,
	// when it is unknown.
	DelayUntil time.Time
}

// Fail ends the attempt as failed. With retries left by the policy (and a
// class other than permanent, unless the policy retries permanent
// failures) the execution waits in retry backoff and the next claim mints
// a retry attempt (the lease event released, reason retry_scheduled, is
// written); otherwise it becomes terminal failed. The reason is
// free text (SanitizeText): it never makes the report fail. class must be
// canonical (ParseFailureClass; "" is transient). A replay of the same
// report under the same fence returns the same outcome without writing.
func (e *Execution) Fail(nowMs int64, f Fence, reason string, class FailureClass, rnd func() float64) (FailOutcome, *Effects, FenceResult, error) {
	class, err := ParseFailureClass(string(class))
	if err != nil {
		return FailOutcome{}, nil, FenceResult{}, err
	}
	reason = SanitizeText(reason, MaxReasonBytes)
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		if out, ok := e.failReplay(err, f, reason, class); ok {
			return out, nil, FenceResult{}, nil
		}
		return FailOutcome{}, nil, fr, err
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptEndedFailure, EndedAtMs: nowMs,
		FailureReason: reason, FailureClass: string(class)}}}
	e.FailureReason = reason
	e.FailureClass = string(class)
	retryable := class != FailurePermanent || (e.Policy != nil && e.Policy.Retry != nil && e.Policy.Retry.RetryPermanent)
	if retryable && e.RetryCount < e.Policy.MaxRetries() {
		fx.Events = append(fx.Events, e.leaseEvent(LeaseReleased, nowMs, LeaseEventData{
			Reason: LeaseReasonRetryScheduled, FailureReason: reason, FailureClass: string(class)}))
		e.endAttemptWaitpoints(fx)
		return e.scheduleRetry(nowMs, rnd), fx, FenceResult{}, nil
	}
	e.terminate(nowMs, OutcomeFailed, AttemptTerminalState, LeaseReleased, fx)
	return FailOutcome{}, fx, FenceResult{}, nil
}

// failReplay reports whether err shows that this same failure report
// (reason, class) already committed under f, and its outcome: terminal
// failed, or a retry still pending (its delay unknown on replay).
func (e *Execution) failReplay(err error, f Fence, reason string, class FailureClass) (FailOutcome, bool) {
	if e.FailureReason != reason || e.FailureClass != string(class) {
		return FailOutcome{}, false
	}
	if endedUnder(err, f, OutcomeFailed) {
		return FailOutcome{}, true
	}
	d, ok := notActiveDetail(err)
	if ok && d.LifecyclePhase == PhaseRunnable && d.LeaseEpoch == f.LeaseEpoch && e.State.AttemptState == AttemptPendingRetry {
		return FailOutcome{RetryScheduled: true}, true
	}
	return FailOutcome{}, false
}

// scheduleRetry moves a failed attempt's execution into retry backoff
// (or straight back to ready for a zero delay).
func (e *Execution) scheduleRetry(nowMs int64, rnd func() float64) FailOutcome {
	delay := e.Policy.Retry.Backoff.BackoffMs(e.RetryCount, rnd)
	e.RetryCount++
	e.clearLease()
	e.CurrentAttemptID = ""
	e.AttemptDeadlineMs = 0
	e.UpdatedAtMs = nowMs
	readyAt := AddMs(nowMs, delay)
	if delay > 0 {
		e.State = vecDelayed(BlockingWaitingForRetryBackoff, AttemptPendingRetry)
		e.ReadyAtMs = readyAt
	} else {
		e.State = vecReady(AttemptPendingRetry)
		e.ReadyAtMs = 0
	}
	e.BlockingDetail = "retry " + strconv.Itoa(e.RetryCount) + " of " + strconv.Itoa(e.Policy.MaxRetries()) +
		" after: " + CutText(e.FailureReason, 200)
	return FailOutcome{RetryScheduled: true, DelayUntil: TimeFromMs(readyAt)}
}

// Cancel is the lease holder's cooperative cancel: terminal cancelled,
// fenced in every phase, recorded as cancelled by the lease holder. The
// reason is free text (SanitizeText). A replay under the same fence
// succeeds (keeping the first reason); after anyone else's cancel it is
// execution_not_active.
func (e *Execution) Cancel(nowMs int64, f Fence, reason string) (*Effects, FenceResult, error) {
	reason = SanitizeText(reason, MaxReasonBytes)
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		if endedUnder(err, f, OutcomeCancelled) && e.CancelledBy == CancelledByLeaseHolder {
			return nil, FenceResult{}, nil
		}
		return nil, fr, err
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptEndedCancelled, EndedAtMs: nowMs,
		FailureReason: reason}}}
	e.CancelReason = reason
	e.CancelledBy = CancelledByLeaseHolder
	e.terminate(nowMs, OutcomeCancelled, AttemptTerminalState, LeaseReleased, fx)
	return fx, FenceResult{}, nil
}

// Delay releases the lease and parks the execution until untilMs (an
// instant in [0, MaxInstantMs]; one already past makes it ready at once),
// keeping the attempt (interrupted); the next claim resumes the same
// attempt. It writes the lease event released (reason delayed).
func (e *Execution) Delay(nowMs int64, f Fence, untilMs int64) (*Effects, FenceResult, error) {
	if err := ValidateInstant("delay_until_ms", untilMs); err != nil {
		return nil, FenceResult{}, err
	}
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		return nil, fr, err
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptSuspended}},
		Events: []Event{e.leaseEvent(LeaseReleased, nowMs, LeaseEventData{Reason: LeaseReasonDelayed})}}
	e.clearLease()
	e.AttemptDeadlineMs = 0
	e.UpdatedAtMs = nowMs
	if untilMs > nowMs {
		e.State = vecDelayed(BlockingWaitingForDelay, AttemptInterrupted)
		e.ReadyAtMs = untilMs
	} else {
		e.State = vecReady(AttemptInterrupted)
		e.ReadyAtMs = 0
	}
	e.BlockingDetail = ""
	return fx, FenceResult{}, nil
}

// MaxCancelSourceBytes bounds an operator cancel's source label.
const MaxCancelSourceBytes = MaxIdentifierBytes

// OperatorCancel cancels from any non-terminal phase without a fence.
// reason and source are free text (SanitizeText); source defaults to
// "operator_override" and may not be CancelledByLeaseHolder. A lease held
// at the time is revoked: its holder's next fenced call fails with
// lease_revoked (RevokedLeaseEpoch). An already terminal execution yields
// the not-active carrier.
func (e *Execution) OperatorCancel(nowMs int64, reason, source string) (*Effects, error) {
	reason = SanitizeText(reason, MaxReasonBytes)
	source = SanitizeText(source, MaxCancelSourceBytes)
	if source == CancelledByLeaseHolder {
		return nil, Validation(ErrInvalidInput, "source %q: reserved for the lease holder's own cancel", source)
	}
	if e.State.LifecyclePhase == PhaseTerminal {
		return nil, e.notActive()
	}
	fx := &Effects{}
	if idx, ok := e.openAttempt(); ok {
		fx.UpdateAttempts = append(fx.UpdateAttempts, AttemptUpdate{Index: idx, Lifecycle: AttemptEndedCancelled,
			EndedAtMs: nowMs, FailureReason: reason})
	}
	if source == "" {
		source = "operator_override"
	}
	e.CancelReason = reason
	e.CancelledBy = source
	e.revokeHeldLease()
	e.terminate(nowMs, OutcomeCancelled, AttemptTerminalState, LeaseRevoked, fx)
	return fx, nil
}

// Expire makes the execution terminal "expired" for reason
// ("attempt_timeout" or "execution_deadline"), whatever its phase. It
// returns nil for an execution that is already terminal.
func (e *Execution) Expire(nowMs int64, reason string) *Effects {
	if e.State.LifecyclePhase == PhaseTerminal {
		return nil
	}
	fx := &Effects{}
	if idx, ok := e.openAttempt(); ok {
		fx.UpdateAttempts = append(fx.UpdateAttempts, AttemptUpdate{Index: idx, Lifecycle: AttemptEndedFailure,
			EndedAtMs: nowMs, FailureReason: reason, FailureClass: string(FailureTimeout)})
	}
	e.FailureReason = reason
	e.FailureClass = string(FailureTimeout)
	e.terminate(nowMs, OutcomeExpired, AttemptTerminalState, LeaseReleased, fx)
	return fx
}

// AttemptTimedOut reports whether the armed attempt timeout is due.
func (e *Execution) AttemptTimedOut(nowMs int64) bool {
	return e.State.LifecyclePhase == PhaseActive && e.AttemptDeadlineMs > 0 && nowMs >= e.AttemptDeadlineMs
}

// DeadlinePassed reports whether the execution deadline is due.
func (e *Execution) DeadlinePassed(nowMs int64) bool {
	return e.State.LifecyclePhase != PhaseTerminal && e.ExecutionDeadlineMs > 0 && nowMs >= e.ExecutionDeadlineMs
}

// PromoteIfDue makes delayed work eligible once its time has come,
// preserving attempt_state (D0→W0, BR→WR, DI→RI). It reports whether it
// changed anything.
func (e *Execution) PromoteIfDue(nowMs int64) bool {
	if !e.dueForPromotion(nowMs) {
		return false
	}
	e.State = vecReady(e.State.AttemptState)
	e.BlockingDetail = ""
	e.ReadyAtMs = 0
	e.UpdatedAtMs = nowMs
	return true
}
