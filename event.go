package flowfabric

import "encoding/json"

// EventType names an outbox family.
type EventType string

const (
	EventCompletion EventType = "completion"
	EventLease      EventType = "lease"
	EventSignal     EventType = "signal"
	EventOperator   EventType = "operator"
	EventFlow       EventType = "flow"
	EventBudget     EventType = "budget"
)

// Lease actions: the action of a lease event, and LeaseRef.End of a row
// that ends a lease without being a lease event itself.
const (
	LeaseAcquired  = "acquired"
	LeaseReclaimed = "reclaimed"
	LeaseReleased  = "released"
	LeaseExpired   = "expired"
	LeaseRevoked   = "revoked"
)

// Reasons of the lease events the lifecycle writes (LeaseEventData.Reason).
const (
	LeaseReasonRetryScheduled = "retry_scheduled" // Fail with a retry left
	LeaseReasonDelayed        = "delayed"         // Delay
	LeaseReasonUnused         = "unused"          // ReleaseClaim: the claim never reached a worker
	LeaseReasonExpired        = "expired"         // MarkLeaseExpired, reclaim still allowed
	LeaseReasonRevoked        = "operator"        // RevokeLease: an operator took it away
)

// Event is one outbox row, written in the transaction of its transition.
// Every area emits events through Effects.Events; the backend writes them
// in order, in the same transaction, and never interprets Data.
type Event struct {
	Type EventType
	// Action is the type's vocabulary; completion: the terminal outcome,
	// lease: a lease action (LeaseReleased, ...).
	Action string
	// ExecutionID is zero for events about no single execution (flow,
	// budget, lane events), stored as ''.
	ExecutionID ExecutionID
	Lane        string // "" when not about a lane
	Namespace   string
	// Partition defaults to ExecutionID.Partition when zero; events about
	// no execution set their own.
	Partition uint16
	AtMs      int64
	// Lease identifies the lease this event ends (completion rows of a
	// transition that ended a held lease; lease rows); nil otherwise.
	Lease *LeaseRef
	// Data is marshalled with encoding/json by the backend and must be a
	// JSON object (a struct or map). nil is stored as SQL NULL and means
	// {}: the event says everything in its typed columns.
	Data any
}

// StoredPartition is the partition an event is stored under.
func (ev Event) StoredPartition() uint16 {
	if ev.Partition == 0 {
		return ev.ExecutionID.Partition
	}
	return ev.Partition
}

// LeaseRef is the identity of one lease, carried on the row that ends it.
// Its start is not written when the claim takes it: a reader expands it
// from this row (acquired at AcquiredAtMs, "reclaimed" when Reclaim).
type LeaseRef struct {
	AttemptIndex     uint32
	AttemptID        string
	AttemptType      AttemptType // the attempt's own type, never AttemptResume
	LeaseEpoch       uint64
	WorkerID         string
	WorkerInstanceID string
	AcquiredAtMs     int64 // when the claim took this lease
	// Reclaim is true when this lease started a reclaim attempt (its start
	// event is "reclaimed", not "acquired").
	Reclaim bool
	// End is the lease action a row that is not a lease event implies
	// (LeaseReleased, LeaseExpired or LeaseRevoked); "" on a lease event,
	// whose Action is the end.
	End string
}

// StartAction is the action of the lease's start event: LeaseReclaimed or
// LeaseAcquired.
func (l *LeaseRef) StartAction() string {
	if l.Reclaim {
		return LeaseReclaimed
	}
	return LeaseAcquired
}

// CompletionData is the data of a completion event beyond its typed
// columns (the outcome is the action, the attempt index and the lease are
// columns); empty fields are left out.
type CompletionData struct {
	FailureReason string `json:"failure_reason,omitempty"`
	FailureClass  string `json:"failure_class,omitempty"`
	CancelReason  string `json:"cancel_reason,omitempty"`
	CancelledBy   string `json:"cancelled_by,omitempty"`
}

// LeaseEventData is the data of a lease event beyond its lease columns.
type LeaseEventData struct {
	Reason        string `json:"reason"`
	FailureReason string `json:"failure_reason,omitempty"`
	FailureClass  string `json:"failure_class,omitempty"`
}

// event returns an event about e with its ids, lane and namespace filled.
func (e *Execution) event(typ EventType, action string, nowMs int64, lease *LeaseRef, data any) Event {
	return Event{Type: typ, Action: action, ExecutionID: e.ID, Lane: e.Lane, Namespace: e.Namespace,
		Partition: e.ID.Partition, AtMs: nowMs, Lease: lease, Data: data}
}

// heldLease captures the lease e holds, before a transition clears it,
// with end as its implied end; nil when e holds none (not active and
// leased: nothing runs under a lease that expired and was recorded so).
func (e *Execution) heldLease(end string) *LeaseRef {
	if e.State.LifecyclePhase != PhaseActive || e.State.OwnershipState != OwnershipLeased {
		return nil
	}
	idx, _ := e.CurrentAttemptIndex()
	return &LeaseRef{
		AttemptIndex: idx, AttemptID: e.CurrentAttemptID, AttemptType: e.CurrentAttemptType,
		LeaseEpoch: e.LeaseEpoch, WorkerID: e.AttemptWorkerID, WorkerInstanceID: e.AttemptWorkerInstanceID,
		AcquiredAtMs: e.LeaseAcquiredMs, End: end,
		// A claim that starts an attempt stamps both times with its now; a
		// resume keeps the attempt's start.
		Reclaim: e.CurrentAttemptType == AttemptReclaim && e.LeaseAcquiredMs == e.CurrentAttemptStartedMs,
	}
}

// leaseEvent is the lease row of a transition that ends e's lease without
// ending the execution; e still holds the lease.
func (e *Execution) leaseEvent(action string, nowMs int64, data LeaseEventData) Event {
	ref := e.heldLease("")
	return e.event(EventLease, action, nowMs, ref, data)
}

// completionData is the data of e's completion event with outcome.
func (e *Execution) completionData(outcome TerminalOutcome) any {
	switch outcome {
	case OutcomeFailed, OutcomeExpired:
		return CompletionData{FailureReason: e.FailureReason, FailureClass: e.FailureClass}
	case OutcomeCancelled:
		return CompletionData{CancelReason: e.CancelReason, CancelledBy: e.CancelledBy}
	}
	return nil
}

// StoredExecutionID is the execution_id column of ev: "" for an event
// about no execution.
func (ev Event) StoredExecutionID() string {
	if ev.ExecutionID.IsZero() {
		return ""
	}
	return ev.ExecutionID.String()
}

// EncodeData is the stored data of ev: nil (SQL NULL) for nil Data, else
// its JSON, which must be an object; anything else is a bug of the
// transition that built the event.
func (ev Event) EncodeData() ([]byte, error) {
	if ev.Data == nil {
		return nil, nil
	}
	b, err := json.Marshal(ev.Data)
	if err != nil {
		return nil, Bug("event %s/%s: data: %v", ev.Type, ev.Action, err)
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, Bug("event %s/%s: data is not a JSON object: %.40s", ev.Type, ev.Action, b)
	}
	return b, nil
}
