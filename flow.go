package flowfabric

import (
	"strings"

	"github.com/google/uuid"
)

// Flows: a flow is a DAG of executions. Membership and the edges into a
// member exist from the transaction that creates the member, so a member
// with unresolved edges is never claimable (C0: waiting_children). When a
// member ends, its outgoing edges resolve in the same transaction: a
// satisfied join makes the downstream claimable, an impossible one skips
// it, and the skip ends in turn (skip propagation). The functions below
// are the pure rules; backend.ResolveFlowEdges applies them for both
// stores.

// Flow limits of one request (DESIGN §5.1, issue 11).
const (
	MaxFlowRequestExecutions = 1000
	MaxFlowRequestEdges      = 5000
	// MaxCycleScan bounds the nodes the cycle check visits; a larger
	// reachable set is treated as a cycle (conservative, spec §1.4).
	MaxCycleScan = 10000
)

// Stored flow states. The public flow state is derived from these and
// the members' states (DeriveFlowState).
const (
	FlowOpen      = "open"
	FlowRunning   = "running"
	FlowCompleted = "completed"
	FlowFailed    = "failed"
	FlowCancelled = "cancelled"
)

// Edge kinds.
const (
	// EdgeSuccessOnly is satisfied by the upstream's success; any other
	// outcome makes it impossible.
	EdgeSuccessOnly = "success_only"
	// EdgeCompletion is satisfied by any terminal outcome of the upstream
	// (the edges of spawned children to their waiting parent).
	EdgeCompletion = "completion"
)

// Edge states.
const (
	EdgeUnresolved = "unresolved"
	EdgeSatisfied  = "satisfied"
	EdgeImpossible = "impossible"
)

// Join policies and their decisions.
const (
	JoinAllOf  = "all_of"
	JoinAnyOf  = "any_of"
	JoinQuorum = "quorum"

	OnSatisfiedLetRun          = "let_run"
	OnSatisfiedCancelRemaining = "cancel_remaining"

	GroupPending    = "pending"
	GroupSatisfied  = "satisfied"
	GroupImpossible = "impossible"
)

// Cancel-flow policies.
const (
	CancelFlowAll     = "cancel_all"
	CancelFlowPending = "cancel_pending"
	CancelFlowOnly    = "flow_only"
)

// Sources and reasons the flow transitions record.
const (
	CancelledByFlowJoin   = "flow_join"   // a sibling cancelled by cancel_remaining
	CancelledByFlowCancel = "flow_cancel" // a member cancelled with its flow
	SkipReasonImpossible  = "dependency_impossible"
)

// ParseFlowID validates a flow id: a canonical UUID other than the zero
// one.
func ParseFlowID(s string) (uuid.UUID, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || u == uuid.Nil || strings.ToLower(s) != s {
		return uuid.Nil, Validation(ErrInvalidInput, "flow_id %q: want a lowercase canonical uuid", clip(s))
	}
	return u, nil
}

// ValidateEdgeKind checks an edge kind; "" is success_only.
func ValidateEdgeKind(k string) (string, error) {
	switch k {
	case "":
		return EdgeSuccessOnly, nil
	case EdgeSuccessOnly, EdgeCompletion:
		return k, nil
	}
	return "", Validation(ErrInvalidInput, "edge kind %q: want success_only or completion", clip(k))
}

// EdgeResolution is the state an edge of kind takes when its upstream
// ends with outcome.
func EdgeResolution(kind string, outcome TerminalOutcome) string {
	if outcome == OutcomeSuccess || kind == EdgeCompletion {
		return EdgeSatisfied
	}
	return EdgeImpossible
}

// JoinPolicy is how a downstream member combines its inbound edges.
type JoinPolicy struct {
	Policy      string `json:"policy"`
	N           int    `json:"n,omitempty"`
	OnSatisfied string `json:"on_satisfied,omitempty"`
}

// Normalize fills the defaults (all_of, let_run) and validates j against
// the number of inbound edges it will have (upstreams; 0 skips the
// quorum bound, for an edge-less member whose edges come later).
func (j *JoinPolicy) Normalize(upstreams int) error {
	if j.Policy == "" {
		j.Policy = JoinAllOf
	}
	if j.OnSatisfied == "" {
		j.OnSatisfied = OnSatisfiedLetRun
	}
	switch j.OnSatisfied {
	case OnSatisfiedLetRun, OnSatisfiedCancelRemaining:
	default:
		return Validation(ErrInvalidInput, "join.on_satisfied %q: want let_run or cancel_remaining", clip(j.OnSatisfied))
	}
	switch j.Policy {
	case JoinAllOf, JoinAnyOf:
		if j.N != 0 {
			return Validation(ErrInvalidInput, "join.n: only for quorum")
		}
	case JoinQuorum:
		if j.N < 1 || (upstreams > 0 && j.N > upstreams) {
			return Validation(ErrInvalidInput, "join.n %d: quorum needs 1 <= n <= %d (the upstream count)", j.N, upstreams)
		}
	default:
		return Validation(ErrInvalidInput, "join.policy %q: want all_of, any_of or quorum", clip(j.Policy))
	}
	return nil
}

// EdgeCounts are a downstream's inbound edges by state.
type EdgeCounts struct {
	Total, Satisfied, Impossible int
}

// Decide evaluates the join over counts: satisfied, impossible or still
// pending. A member with no inbound edge is satisfied.
func (j JoinPolicy) Decide(c EdgeCounts) string {
	need := c.Total // all_of
	switch j.Policy {
	case JoinAnyOf:
		need = min(1, c.Total)
	case JoinQuorum:
		need = min(j.N, c.Total)
	}
	switch {
	case c.Satisfied >= need:
		return GroupSatisfied
	case c.Total-c.Impossible < need:
		return GroupImpossible
	}
	return GroupPending
}

// CancelsSiblings reports whether a decided join cancels the upstreams
// still unresolved (spec §1.9: on both decisions).
func (j JoinPolicy) CancelsSiblings() bool {
	return j.OnSatisfied == OnSatisfiedCancelRemaining && j.Policy != JoinAllOf
}

// DeriveFlowState is public_flow_state: cancelled when the flow was
// cancelled; otherwise from its members' public states: open while no
// member has started or ended, completed when every member completed or
// was skipped, failed when every member ended and one failed, expired or
// was cancelled, running in between. The stores count a losing sibling
// cancelled by a cancel_remaining join as skipped (backend.FlowStateCounts):
// the join asked for it.
func DeriveFlowState(stored string, members map[PublicState]int) string {
	if stored == FlowCancelled {
		return FlowCancelled
	}
	total, ended, bad, idle := 0, 0, 0, 0
	for st, n := range members {
		total += n
		switch {
		case st == PublicCompleted || st == PublicSkipped:
			ended += n
		case st.IsTerminal():
			ended += n
			bad += n
		case st == PublicWaiting || st == PublicWaitingChildren || st == PublicDelayed || st == PublicRateLimited:
			idle += n
		}
	}
	switch {
	case total == 0 || idle == total:
		return FlowOpen
	case ended == total && bad > 0:
		return FlowFailed
	case ended == total:
		return FlowCompleted
	}
	return FlowRunning
}

// ValidateCancelFlowPolicy checks a cancel-flow policy; "" is cancel_all.
func ValidateCancelFlowPolicy(p string) (string, error) {
	switch p {
	case "":
		return CancelFlowAll, nil
	case CancelFlowAll, CancelFlowPending, CancelFlowOnly:
		return p, nil
	}
	return "", Validation(ErrInvalidInput, "policy %q: want cancel_all, cancel_pending or flow_only", clip(p))
}

// CancelledByFlowPolicy reports whether a member in state st is one that
// cancel policy p cancels: every unended member for cancel_all, those
// not running (never claimed, waiting, delayed, blocked, suspended) for
// cancel_pending, none for flow_only.
func CancelledByFlowPolicy(p string, st StateVector) bool {
	if st.LifecyclePhase == PhaseTerminal {
		return false
	}
	switch p {
	case CancelFlowAll:
		return true
	case CancelFlowPending:
		return st.LifecyclePhase != PhaseActive
	}
	return false
}

// FlowEventData is the data of a flow event (type "flow").
type FlowEventData struct {
	FlowID        string `json:"flow_id"`
	Downstream    string `json:"downstream_execution_id,omitempty"`
	Upstream      string `json:"upstream_execution_id,omitempty"`
	EdgeID        string `json:"edge_id,omitempty"`
	GraphRevision int64  `json:"graph_revision,omitempty"`
	Policy        string `json:"policy,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Members       int    `json:"member_count,omitempty"`
}

// Flow event actions.
const (
	FlowEventCreated        = "flow_created"
	FlowEventMemberAdded    = "member_added"
	FlowEventEdgeAdded      = "edge_added"
	FlowEventJoinSatisfied  = "join_satisfied"
	FlowEventJoinImpossible = "join_impossible"
	FlowEventCancelled      = "flow_cancelled"
)

// FlowEvent returns a flow event about no single execution, or about
// member when it is not zero.
func FlowEvent(action string, partition uint16, namespace string, member *Execution, nowMs int64, data FlowEventData) Event {
	ev := Event{Type: EventFlow, Action: action, Namespace: namespace, Partition: partition, AtMs: nowMs, Data: data}
	if member != nil {
		ev.ExecutionID, ev.Lane = member.ID, member.Lane
	}
	return ev
}

// Flow transitions on a member execution.

func vecBlocked(attempt AttemptState) StateVector {
	return StateVector{PhaseRunnable, OwnershipUnowned, BlockedByDependencies, BlockingWaitingForChildren, OutcomeNone, attempt, ""}.Normalized()
}

// NotStarted reports whether e never ran: runnable, its first attempt
// still pending (W0 or C0), the only state an edge may be added into.
func (e *Execution) NotStarted() bool {
	s := e.State
	return s.LifecyclePhase == PhaseRunnable && s.AttemptState == AttemptPendingFirst &&
		(s.EligibilityState == EligibleNow || s.EligibilityState == BlockedByDependencies)
}

// BlockOnDependencies parks a member that has not started until its
// inbound edges resolve (W0 → C0); it is a no-op on C0. Anything else is
// execution_not_eligible.
func (e *Execution) BlockOnDependencies(nowMs int64) error {
	if !e.NotStarted() {
		return StateError(ErrNotEligible, "execution %s already started (%s): no edge can be added into it", e.ID, e.State.PublicState)
	}
	e.State = vecBlocked(AttemptPendingFirst)
	e.BlockingDetail = ""
	e.ReadyAtMs = 0
	e.UpdatedAtMs = nowMs
	return nil
}

// BlockedOnDependencies reports whether e waits for its inbound edges
// (C0 or CI).
func (e *Execution) BlockedOnDependencies() bool {
	return e.State.LifecyclePhase == PhaseRunnable && e.State.EligibilityState == BlockedByDependencies
}

// DependenciesSatisfied makes a member waiting on its edges claimable
// (C0 → W0, CI → RI, attempt state kept). It reports whether it changed
// anything.
func (e *Execution) DependenciesSatisfied(nowMs int64) bool {
	if !e.BlockedOnDependencies() {
		return false
	}
	e.State = vecReady(e.State.AttemptState)
	e.BlockingDetail = ""
	e.UpdatedAtMs = nowMs
	return true
}

// Skip ends a member whose join became impossible: terminal skipped from
// any unended phase, a running or interrupted attempt ended as
// ended_cancelled, a held lease revoked. It returns nil for an ended
// execution.
func (e *Execution) Skip(nowMs int64, reason string) *Effects {
	if e.State.LifecyclePhase == PhaseTerminal {
		return nil
	}
	fx := &Effects{}
	if idx, ok := e.openAttempt(); ok {
		fx.UpdateAttempts = append(fx.UpdateAttempts, AttemptUpdate{Index: idx, Lifecycle: AttemptEndedCancelled,
			EndedAtMs: nowMs, FailureReason: reason})
	}
	e.CancelReason = reason
	e.revokeHeldLease()
	e.terminate(nowMs, OutcomeSkipped, AttemptTerminalState, LeaseRevoked, fx)
	return fx
}

// LeaseReasonWaitingChildren is the reason of the lease event
// WaitChildren writes.
const LeaseReasonWaitingChildren = "waiting_children"

// WaitChildren parks the lease holder's attempt until its inbound edges
// (its spawned children) resolve: active → CI, the lease released (lease
// event released, reason waiting_children). When the join then is
// satisfied, the next claim resumes the same attempt.
func (e *Execution) WaitChildren(nowMs int64, f Fence) (*Effects, FenceResult, error) {
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		return nil, fr, err
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptSuspended}},
		Events: []Event{e.leaseEvent(LeaseReleased, nowMs, LeaseEventData{Reason: LeaseReasonWaitingChildren})}}
	e.clearLease()
	e.AttemptDeadlineMs = 0
	e.UpdatedAtMs = nowMs
	e.State = vecBlocked(AttemptInterrupted)
	e.BlockingDetail = ""
	e.ReadyAtMs = 0
	return fx, FenceResult{}, nil
}

// EndedNow reports whether fx ends e (it carries e's completion event):
// the moment a member's outgoing edges resolve.
func (fx *Effects) EndedNow() bool {
	if fx == nil {
		return false
	}
	for _, ev := range fx.Events {
		if ev.Type == EventCompletion {
			return true
		}
	}
	return false
}

// ParkOnDependencies parks a runnable, unowned execution on its inbound
// edges, keeping its attempt state (C0 with pending_replay_attempt for a
// replayed skipped member, whose reset edges are unresolved again:
// backend.ResetImpossibleEdges). It reports whether it changed anything.
func (e *Execution) ParkOnDependencies(nowMs int64) bool {
	s := e.State
	if s.LifecyclePhase != PhaseRunnable || s.OwnershipState != OwnershipUnowned || s.EligibilityState == BlockedByDependencies {
		return false
	}
	e.State = vecBlocked(s.AttemptState)
	e.ReadyAtMs = 0
	e.BlockingDetail = ""
	e.UpdatedAtMs = nowMs
	return true
}
