package flowfabric

import (
	"encoding/json"
	"slices"

	"github.com/google/uuid"
)

// WaitpointState is where a waitpoint stands.
type WaitpointState string

const (
	// WaitpointPending: created under the lease before a suspend; signals
	// to it are buffered.
	WaitpointPending WaitpointState = "pending"
	// WaitpointActive: part of the open suspension.
	WaitpointActive WaitpointState = "active"
	// WaitpointClosed: resumed, or its attempt ended.
	WaitpointClosed WaitpointState = "closed"
	// WaitpointExpired: a pending waitpoint whose expiry passed before a
	// suspend used it.
	WaitpointExpired WaitpointState = "expired"
)

// Open reports whether signals may still reach the waitpoint.
func (s WaitpointState) Open() bool { return s == WaitpointPending || s == WaitpointActive }

// Closed reports whether w takes no more signals at nowMs: closed,
// expired, or pending past its expiry (before the sweep marks it).
func (w Waitpoint) Closed(nowMs int64) bool {
	return !w.State.Open() || (w.State == WaitpointPending && w.ExpiresAtMs > 0 && w.ExpiresAtMs <= nowMs)
}

// Waitpoint is one stored waitpoint. Token is its credential.
type Waitpoint struct {
	ID           string
	Key          string
	ExecutionID  ExecutionID
	AttemptIndex uint32
	State        WaitpointState
	SuspensionID string
	Token        string
	TokenKid     string
	// TokenFingerprint names the token without revealing it (reads that
	// blank Token fill it).
	TokenFingerprint    string
	RequiredSignalNames []string
	CreatedAtMs         int64
	ExpiresAtMs         int64 // 0: never (pending expiry)
	ActivatedAtMs       int64
	ClosedAtMs          int64
	CloseReason         string
}

// Binding is what w's token is bound to.
func (w Waitpoint) Binding() TokenBinding {
	return TokenBinding{ExecutionID: w.ExecutionID, WaitpointID: w.ID}
}

// SignalEffect is what a delivered signal did.
type SignalEffect string

const (
	EffectResumeConditionSatisfied SignalEffect = "resume_condition_satisfied"
	EffectAppendedToWaitpoint      SignalEffect = "appended_to_waitpoint"
	EffectBufferedForPending       SignalEffect = "buffered_for_pending_waitpoint"
	EffectIgnoredNotInCondition    SignalEffect = "signal_ignored_not_in_condition"
)

// SignalSource says who sent a signal.
type SignalSource struct {
	Type     string `json:"type"`
	Identity string `json:"identity"`
}

// Signal is one received signal.
type Signal struct {
	ID             string
	ExecutionID    ExecutionID
	WaitpointID    string
	WaitpointKey   string
	Name           string
	Payload        []byte // JSON; nil when none
	Source         SignalSource
	IdempotencyKey string
	Effect         SignalEffect
	ReceivedAtMs   int64
}

// ForCondition is what a condition's evaluation reads of s.
func (s Signal) ForCondition() ConditionSignal {
	return ConditionSignal{ID: s.ID, Name: s.Name, WaitpointKey: s.WaitpointKey,
		SourceType: s.Source.Type, SourceIdentity: s.Source.Identity}
}

// Signal limits and defaults.
const (
	// DefaultMaxSignalPayloadBytes bounds a signal's payload.
	DefaultMaxSignalPayloadBytes = 64 << 10
	// DefaultMaxSignalsPerExecution caps the signals one execution keeps.
	DefaultMaxSignalsPerExecution = 10_000
	// TimeoutSignalName names the signal auto_resume records.
	TimeoutSignalName = "timeout"
)

// ErrWaitpointClosed: the signal's waitpoint is closed or expired (409).
const ErrWaitpointClosed ErrorKind = "waitpoint_closed"

// ErrSignalLimitExceeded: the execution holds its cap of signals (409).
const ErrSignalLimitExceeded ErrorKind = "signal_limit_exceeded"

// ErrAlreadySuspended: suspend on an execution that is suspended (409).
const ErrAlreadySuspended ErrorKind = "already_suspended"

// ErrPendingWaitpointExpired: suspend on a pending waitpoint whose expiry
// passed (409).
const ErrPendingWaitpointExpired ErrorKind = "pending_waitpoint_expired"

// ErrWaitpointKeyInUse: a waitpoint key already open on the execution (409).
const ErrWaitpointKeyInUse ErrorKind = "waitpoint_already_exists"

// ErrRotationConflict: a kid reused with another secret (409).
const ErrRotationConflict ErrorKind = "rotation_conflict"

// ErrHMACNotInitialized: no signing key is stored (503).
const ErrHMACNotInitialized ErrorKind = "hmac_secret_not_initialized"

// HMACNotInitialized is the error of a keystore without a current key.
func HMACNotInitialized() *Error {
	return &Error{Class: ClassUnavailable, Kind: ErrHMACNotInitialized,
		Detail: "no waitpoint signing key is stored: set FF_WAITPOINT_HMAC_SECRET (64+ hex digits) or rotate one in"}
}

// TimeoutBehavior is what a suspension's timeout does.
type TimeoutBehavior string

const (
	TimeoutFail       TimeoutBehavior = "fail"
	TimeoutCancel     TimeoutBehavior = "cancel"
	TimeoutExpire     TimeoutBehavior = "expire"
	TimeoutAutoResume TimeoutBehavior = "auto_resume"
)

// ParseTimeoutBehavior validates a behaviour ("" is fail).
func ParseTimeoutBehavior(s string) (TimeoutBehavior, error) {
	switch b := TimeoutBehavior(s); b {
	case "":
		return TimeoutFail, nil
	case TimeoutFail, TimeoutCancel, TimeoutExpire, TimeoutAutoResume:
		return b, nil
	}
	return "", Validation(ErrInvalidInput, "timeout_behavior %q: want fail, cancel, expire or auto_resume", clip(s))
}

// Reason codes of a suspension, and the blocking reason each maps to.
var reasonBlocking = map[string]BlockingReason{
	"waiting_for_signal":          BlockingWaitingForSignal,
	"waiting_for_approval":        BlockingWaitingForApproval,
	"waiting_for_callback":        BlockingWaitingForCallback,
	"waiting_for_tool_result":     BlockingWaitingForToolResult,
	"waiting_for_operator_review": BlockingPausedByOperator,
	"paused_by_policy":            BlockingPausedByPolicy,
	"paused_by_budget":            BlockingWaitingForBudget,
	"step_boundary":               BlockingWaitingForSignal,
	"manual_pause":                BlockingPausedByOperator,
}

// ParseReasonCode validates a suspension reason code ("" is
// waiting_for_signal) and returns its blocking reason.
func ParseReasonCode(s string) (string, BlockingReason, error) {
	if s == "" {
		s = "waiting_for_signal"
	}
	if br, ok := reasonBlocking[s]; ok {
		return s, br, nil
	}
	names := make([]string, 0, len(reasonBlocking))
	for k := range reasonBlocking {
		names = append(names, k)
	}
	slices.Sort(names)
	return "", "", Validation(ErrInvalidInput, "reason_code %q: want one of %v", clip(s), names)
}

// Suspension is one suspension of an execution's attempt.
type Suspension struct {
	ID              string
	ExecutionID     ExecutionID
	AttemptIndex    uint32
	Condition       Condition
	ReasonCode      string
	TimeoutAtMs     int64 // 0: none
	TimeoutBehavior TimeoutBehavior
	WaitpointIDs    []string
	IdempotencyKey  string
	// IdempotencyExpiresAtMs: after it, the key no longer replays.
	IdempotencyExpiresAtMs int64
	CreatedAtMs            int64
	ClosedAtMs             int64 // 0 while open
	CloseReason            string
	// Satisfiers are the ids of the signals that resumed it.
	Satisfiers []string
}

// Open reports whether the suspension still waits.
func (s Suspension) Open() bool { return s.ClosedAtMs == 0 }

// EncodeCondition is the stored form of c.
func EncodeCondition(c Condition) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// NewWaitpointID mints a waitpoint id.
func NewWaitpointID() string { return uuid.NewString() }

// NewWaitpointKey mints a key for a waitpoint created without one.
func NewWaitpointKey() string { return "wpk:" + uuid.NewString() }
