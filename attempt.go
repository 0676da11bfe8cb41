package flowfabric

import "strings"

// AttemptType says why an attempt exists; it is decided by the claim.
type AttemptType string

const (
	AttemptInitial AttemptType = "initial"
	AttemptRetry   AttemptType = "retry"
	AttemptReclaim AttemptType = "reclaim"
	AttemptReplay  AttemptType = "replay"
	// AttemptResume is what a claim that continues an interrupted attempt
	// (after a delay, a released claim, a suspension) reports. It is never
	// an attempt's own type: the stored attempt keeps the type it was
	// minted with (ListAttempts).
	AttemptResume AttemptType = "resume"
)

// ClaimedAttemptType is the attempt type a claim reports: AttemptResume
// when the claim resumed an interrupted attempt (handle kind
// HandleResumed), else the type of the attempt it minted.
func ClaimedAttemptType(kind HandleKind, minted AttemptType) AttemptType {
	if kind == HandleResumed {
		return AttemptResume
	}
	return minted
}

// AttemptLifecycle is the state of one attempt. The last four are
// terminal.
type AttemptLifecycle string

const (
	AttemptCreated              AttemptLifecycle = "created"
	AttemptStarted              AttemptLifecycle = "started"
	AttemptSuspended            AttemptLifecycle = "suspended"
	AttemptEndedSuccess         AttemptLifecycle = "ended_success"
	AttemptEndedFailure         AttemptLifecycle = "ended_failure"
	AttemptEndedCancelled       AttemptLifecycle = "ended_cancelled"
	AttemptInterruptedReclaimed AttemptLifecycle = "interrupted_reclaimed"
)

// Attempt is one try at running an execution. Indices start at 0 and only
// grow; exactly one attempt is current.
type Attempt struct {
	ExecutionID      ExecutionID
	Index            uint32
	ID               string
	Type             AttemptType
	Lifecycle        AttemptLifecycle
	LeaseEpoch       uint64
	WorkerID         string
	WorkerInstanceID string
	StartedAtMs      int64
	EndedAtMs        int64
	FailureReason    string
	FailureClass     string
}

// FailureClass classifies a failure reported by a worker.
type FailureClass string

const (
	FailureTransient FailureClass = "transient"
	FailurePermanent FailureClass = "permanent"
	FailureInfra     FailureClass = "infra_crash"
	FailureTimeout   FailureClass = "timeout"
	FailureCancelled FailureClass = "cancelled"
)

// FailureClasses lists the canonical classifications, the only ones a
// failure report may carry.
var FailureClasses = []FailureClass{FailureTransient, FailurePermanent, FailureInfra, FailureTimeout, FailureCancelled}

// ParseFailureClass maps a wire string to a class. The empty string is
// transient; anything but a canonical snake_case name (FailureClasses) is
// an invalid_input error naming the accepted values.
func ParseFailureClass(s string) (FailureClass, error) {
	if s == "" {
		return FailureTransient, nil
	}
	for _, c := range FailureClasses {
		if string(c) == s {
			return c, nil
		}
	}
	names := make([]string, len(FailureClasses))
	for i, c := range FailureClasses {
		names[i] = string(c)
	}
	return "", Validation(ErrInvalidInput, "classification %q: want one of %s", clip(s), strings.Join(names, ", "))
}
