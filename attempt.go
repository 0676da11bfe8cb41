package flowfabric

// AttemptType says why an attempt exists; it is decided by the claim.
type AttemptType string

const (
	AttemptInitial AttemptType = "initial"
	AttemptRetry   AttemptType = "retry"
	AttemptReclaim AttemptType = "reclaim"
	AttemptReplay  AttemptType = "replay"
)

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
	ExecutionID      ExecutionID      `json:"execution_id"`
	Index            uint32           `json:"attempt_index"`
	ID               string           `json:"attempt_id"`
	Type             AttemptType      `json:"attempt_type"`
	Lifecycle        AttemptLifecycle `json:"lifecycle"`
	LeaseEpoch       uint64           `json:"lease_epoch"`
	WorkerID         string           `json:"worker_id"`
	WorkerInstanceID string           `json:"worker_instance_id"`
	StartedAtMs      int64            `json:"started_at_ms"`
	EndedAtMs        int64            `json:"ended_at_ms,omitempty"`
	FailureReason    string           `json:"failure_reason,omitempty"`
	FailureClass     string           `json:"failure_class,omitempty"`
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

// ParseFailureClass maps a wire string to a class; empty or unknown
// strings are transient.
func ParseFailureClass(s string) FailureClass {
	switch FailureClass(s) {
	case FailurePermanent, FailureInfra, FailureTimeout, FailureCancelled:
		return FailureClass(s)
	}
	return FailureTransient
}
