package backend

import (
	"errors"
	"slices"

	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
)

// FlowStore is what one store transaction offers the flow algorithms
// below, which are written once for every store. Every method runs in the
// caller's transaction; Lock* methods take the row lock a concurrent
// writer of the same row waits for (Postgres FOR UPDATE; SQLite's single
// writer holds them all).
type FlowStore interface {
	NowMs() int64
	LockFlow(flowID string) (*FlowRecord, error) // not_found (entity flow)
	InsertFlow(f *FlowRecord) (inserted bool, err error)
	UpdateFlow(f *FlowRecord) error
	// Member returns the membership of id, nil when it is in no flow.
	Member(id ff.ExecutionID) (*FlowMemberRecord, error)
	InsertMember(m *FlowMemberRecord) error
	UpdateMember(m *FlowMemberRecord) error
	FlowMemberRefs(flowID string) (map[string]ff.ExecutionID, error)
	// InsertExecution stores a new record with its input (no
	// idempotency lookup: a held key or id is a conflict).
	InsertExecution(e *ff.Execution, input []byte) error
	// LockExecution loads a record under its row lock; with nowait a row
	// locked by another transaction fails at once with contention (the
	// caller's transaction is then retried whole).
	LockExecution(id ff.ExecutionID, nowait bool) (*ff.Execution, error)
	// LockExecutions locks and reads ids (in id order, one round trip
	// where the store can); unknown ids are absent from the map.
	LockExecutions(ids []ff.ExecutionID) (map[ff.ExecutionID]*ff.Execution, error)
	// SaveExecution writes a record and its effects, and nothing else.
	SaveExecution(before, e *ff.Execution, fx *ff.Effects) error
	FlowEdges(flowID string) ([]FlowEdge, error)
	// InsertEdge stores an edge; an existing (upstream, downstream) pair
	// is dependency_already_exists.
	InsertEdge(e FlowEdge) error
	// ResolveEdgesFrom sets the unresolved edges from ups (upstreams that
	// ended with one outcome) to the state their kind takes (states:
	// kind → state, from ff.EdgeResolution) and returns their
	// downstreams, in one statement.
	ResolveEdgesFrom(ups []ff.ExecutionID, states map[string]string, nowMs int64) ([]ff.ExecutionID, error)
	// LoadJoins locks each downstream of ds (in that order) and reads it
	// with its membership (nil when it is in no flow) and inbound edges,
	// in one round trip where the store can.
	LoadJoins(ds []ff.ExecutionID) ([]JoinInputs, error)
	EdgesInto(down ff.ExecutionID) ([]FlowEdge, error)
	SetEdgeState(flowID, edgeID, state string, nowMs int64) error
	// QueueCancels adds members to the flow's cancel backlog; CancelQueue
	// returns every queued member and those not yet done, in id order.
	QueueCancels(flowID string, partition uint16, ids []ff.ExecutionID) error
	CancelQueue(flowID string) (all, pending []ff.ExecutionID, err error)
	MarkCancelsDone(flowID string, ids []ff.ExecutionID) error
	FlowMembers(flowID string) ([]ff.ExecutionID, error)
	InsertEvents(events []ff.Event) error
	// Wake notifies lane's claimers once the transaction commits.
	Wake(lane string)
}

// FlowRecord is the stored flow row.
type FlowRecord struct {
	ID            string
	Partition     uint16
	Namespace     string
	Kind          string
	State         string // ff.FlowOpen or ff.FlowCancelled
	GraphRevision int64
	NodeCount     int
	EdgeCount     int
	CreatedAtMs   int64
	CancelledAtMs int64
	CancelPolicy  string
	CancelReason  string
}

// JoinInputs is a downstream as its join is decided: the locked record,
// its membership and its inbound edges.
type JoinInputs struct {
	Exec   *ff.Execution
	Member *FlowMemberRecord
	In     []FlowEdge
}

// FlowMemberRecord is one membership with its join.
type FlowMemberRecord struct {
	ExecutionID ff.ExecutionID
	FlowID      string
	Ref         string
	Join        ff.JoinPolicy
	GroupState  string
	AddedAtMs   int64
}

// SaveAndResolve writes a record and, when the transition ended a member
// with outgoing edges (HookFlow), resolves those edges in the same
// transaction. Every store write of a transition goes through it.
func SaveAndResolve(s FlowStore, before, e *ff.Execution, fx *ff.Effects) error {
	if err := s.SaveExecution(before, e, fx); err != nil {
		return err
	}
	if e.Claimable() {
		s.Wake(e.Lane)
	}
	if e.Hooks.Any(ff.HookFlow) && fx.EndedNow() {
		return ResolveFlowEdges(s, e)
	}
	return nil
}

// ResolveFlowEdges resolves the unresolved outgoing edges of up, which
// just ended, and decides each downstream's join.
func ResolveFlowEdges(s FlowStore, up *ff.Execution) error {
	return ResolveFlowEdgesMany(s, []*ff.Execution{up})
}

// ResolveFlowEdgesMany is ResolveFlowEdges for several upstreams that
// ended in one transaction (a batch of completions): one statement per
// outcome resolves their edges, one round trip loads the downstreams,
// then each join is decided in id order. A decision that cascades
// (a skip, a sibling cancel) may change downstreams loaded with it, so
// the rest are loaded again after one.
func ResolveFlowEdgesMany(s FlowStore, ups []*ff.Execution) error {
	return resolveMany(s, ups, nil)
}

// resolveMany is ResolveFlowEdgesMany; downstreams in ended (known to
// have ended in this transaction) are not loaded: their joins have
// nothing left to move.
func resolveMany(s FlowStore, ups []*ff.Execution, ended map[ff.ExecutionID]bool) error {
	byOutcome := map[ff.TerminalOutcome][]ff.ExecutionID{}
	for _, up := range ups {
		o := up.State.TerminalOutcome
		byOutcome[o] = append(byOutcome[o], up.ID)
	}
	seen := map[ff.ExecutionID]bool{}
	var downs []ff.ExecutionID
	for _, o := range []ff.TerminalOutcome{ff.OutcomeSuccess, ff.OutcomeFailed, ff.OutcomeCancelled, ff.OutcomeExpired, ff.OutcomeSkipped} {
		if len(byOutcome[o]) == 0 {
			continue
		}
		states := map[string]string{
			ff.EdgeSuccessOnly: ff.EdgeResolution(ff.EdgeSuccessOnly, o),
			ff.EdgeCompletion:  ff.EdgeResolution(ff.EdgeCompletion, o),
		}
		ds, err := s.ResolveEdgesFrom(byOutcome[o], states, s.NowMs())
		if err != nil {
			return err
		}
		for _, d := range ds {
			if !seen[d] && !ended[d] {
				seen[d] = true
				downs = append(downs, d)
			}
		}
	}
	sortIDs(downs)
	return decideJoins(s, downs)
}

// decideJoins decides the joins of downs, loaded together until a
// decision cascades.
func decideJoins(s FlowStore, downs []ff.ExecutionID) error {
	for len(downs) > 0 {
		joins, err := s.LoadJoins(downs)
		if err != nil {
			return err
		}
		done := len(joins)
		for k, j := range joins {
			cascaded, err := decideLoaded(s, j)
			if err != nil {
				return err
			}
			if cascaded {
				done = k + 1
				break
			}
		}
		downs = downs[done:]
	}
	return nil
}

func sortIDs(ids []ff.ExecutionID) {
	slices.SortFunc(ids, func(a, b ff.ExecutionID) int {
		switch as, bs := a.String(), b.String(); {
		case as < bs:
			return -1
		case as > bs:
			return 1
		}
		return 0
	})
}

// decideJoin evaluates d's join under d's row lock (the point where
// concurrent upstream ends serialize, so a join fires exactly once).
func decideJoin(s FlowStore, d ff.ExecutionID) error {
	return decideJoins(s, []ff.ExecutionID{d})
}

// decideLoaded decides one loaded join and reports whether the decision
// cascaded (ended the downstream or cancelled siblings), which may have
// changed other rows.
func decideLoaded(s FlowStore, j JoinInputs) (bool, error) {
	e, m, in := j.Exec, j.Member, j.In
	if m == nil || m.GroupState != ff.GroupPending || e.State.LifecyclePhase == ff.PhaseTerminal {
		return false, nil // an ended member's join has nothing left to move
	}
	dec := m.Join.Decide(countEdges(in))
	if dec == ff.GroupPending {
		return false, nil
	}
	m.GroupState = dec
	if err := s.UpdateMember(m); err != nil {
		return false, err
	}
	if err := applyJoin(s, e, m, dec); err != nil {
		return false, err
	}
	cascaded := dec == ff.GroupImpossible
	if !m.Join.CancelsSiblings() {
		return cascaded, nil
	}
	return true, cancelSiblings(s, in)
}

func countEdges(in []FlowEdge) ff.EdgeCounts {
	c := ff.EdgeCounts{Total: len(in)}
	for _, ed := range in {
		switch ed.State {
		case ff.EdgeSatisfied:
			c.Satisfied++
		case ff.EdgeImpossible:
			c.Impossible++
		}
	}
	return c
}

// applyJoin moves d per the decision: claimable when satisfied, skipped
// (and its own edges resolved) when impossible.
func applyJoin(s FlowStore, e *ff.Execution, m *FlowMemberRecord, dec string) error {
	now := s.NowMs()
	before := *e
	data := ff.FlowEventData{FlowID: m.FlowID, Downstream: e.ID.String()}
	if dec == ff.GroupSatisfied {
		ev := ff.FlowEvent(ff.FlowEventJoinSatisfied, e.ID.Partition, e.Namespace, e, now, data)
		if !e.DependenciesSatisfied(now) {
			return s.InsertEvents([]ff.Event{ev})
		}
		return SaveAndResolve(s, &before, e, &ff.Effects{Events: []ff.Event{ev}})
	}
	ev := ff.FlowEvent(ff.FlowEventJoinImpossible, e.ID.Partition, e.Namespace, e, now, data)
	fx := e.Skip(now, ff.SkipReasonImpossible)
	if fx == nil {
		return s.InsertEvents([]ff.Event{ev})
	}
	fx.Events = append([]ff.Event{ev}, fx.Events...)
	return SaveAndResolve(s, &before, e, fx)
}

// cancelSiblings cancels the upstreams whose edges are still unresolved
// once a cancel_remaining join is decided (spec §1.9), through the
// operator cancel transition (held leases revoked). Sibling rows are
// locked without waiting: their holder may be waiting for this
// downstream's lock, and the retried transaction then finds them ended.
func cancelSiblings(s FlowStore, in []FlowEdge) error {
	for _, ed := range in {
		if ed.State != ff.EdgeUnresolved {
			continue
		}
		e, err := s.LockExecution(ed.Upstream, true)
		if err != nil {
			return err
		}
		before := *e
		fx, err := e.OperatorCancel(s.NowMs(), "join of "+ed.Downstream.String()+" decided", ff.CancelledByFlowJoin)
		if errors.Is(err, ff.ErrExecutionNotActive) {
			continue
		}
		if err != nil {
			return err
		}
		if err := SaveAndResolve(s, &before, e, fx); err != nil {
			return err
		}
	}
	return nil
}

// CreateFlowTx creates the flow of p (normalized, members in order).
func CreateFlowTx(s FlowStore, p CreateFlowParams, members []FlowMemberParams) (CreateFlowResult, error) {
	u, _ := uuid.Parse(p.FlowID)
	now := s.NowMs()
	f := &FlowRecord{ID: p.FlowID, Partition: ff.FlowPartition(u, ff.DefaultFlowPartitions), Namespace: p.Namespace,
		Kind: p.Kind, State: ff.FlowOpen, CreatedAtMs: now}
	inserted, err := s.InsertFlow(f)
	if err != nil {
		return CreateFlowResult{}, err
	}
	if !inserted {
		return existingFlow(s, p.FlowID)
	}
	ids := make(map[string]ff.ExecutionID, len(members))
	for _, m := range members {
		ups := make([]ff.ExecutionID, len(m.DependsOnRefs))
		for i, r := range m.DependsOnRefs {
			ups[i] = ids[r]
		}
		e, err := createMember(s, f, m.Execution, ups, *m.Join, m.Ref)
		if err != nil {
			return CreateFlowResult{}, err
		}
		ids[m.Ref] = e.ID
	}
	f.GraphRevision++
	if err := s.UpdateFlow(f); err != nil {
		return CreateFlowResult{}, err
	}
	ev := ff.FlowEvent(ff.FlowEventCreated, f.Partition, f.Namespace, nil, now,
		ff.FlowEventData{FlowID: f.ID, Members: len(members), GraphRevision: f.GraphRevision})
	if err := s.InsertEvents([]ff.Event{ev}); err != nil {
		return CreateFlowResult{}, err
	}
	return CreateFlowResult{FlowID: f.ID, PublicFlowState: ff.FlowOpen, ExecutionIDs: ids}, nil
}

func existingFlow(s FlowStore, id string) (CreateFlowResult, error) {
	f, err := s.LockFlow(id)
	if err != nil {
		return CreateFlowResult{}, err
	}
	refs, err := s.FlowMemberRefs(id)
	if err != nil {
		return CreateFlowResult{}, err
	}
	return CreateFlowResult{FlowID: f.ID, PublicFlowState: f.State, ExecutionIDs: refs, Existing: true}, nil
}

// CreateMemberTx creates one execution as a member of p.FlowID with edges
// from p.DependsOn, under the flow's lock.
func CreateMemberTx(s FlowStore, p CreateExecutionParams) (CreateExecutionResult, error) {
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return CreateExecutionResult{}, err
	}
	j := ff.JoinPolicy{}
	if p.Join != nil {
		j = *p.Join
	}
	if err := j.Normalize(len(p.DependsOn)); err != nil {
		return CreateExecutionResult{}, err
	}
	if len(p.DependsOn) > ff.MaxFlowRequestEdges {
		return CreateExecutionResult{}, ff.Validation(ff.ErrPayloadTooLarge, "depends_on: %d, at most %d", len(p.DependsOn), ff.MaxFlowRequestEdges)
	}
	f, err := s.LockFlow(p.FlowID)
	if err != nil {
		return CreateExecutionResult{}, err
	}
	e, err := createMember(s, f, p, p.DependsOn, j, "")
	if err != nil {
		return CreateExecutionResult{}, err
	}
	f.GraphRevision++
	if err := s.UpdateFlow(f); err != nil {
		return CreateExecutionResult{}, err
	}
	ev := ff.FlowEvent(ff.FlowEventMemberAdded, f.Partition, f.Namespace, e, s.NowMs(),
		ff.FlowEventData{FlowID: f.ID, GraphRevision: f.GraphRevision})
	if err := s.InsertEvents([]ff.Event{ev}); err != nil {
		return CreateExecutionResult{}, err
	}
	return CreateExecutionResult{ExecutionID: e.ID, PublicState: e.State.PublicState}, nil
}

// createMember inserts the execution of p on f's partition (blocked when
// it has upstreams), its membership and its inbound edges, and settles
// the edges whose upstream already ended.
func createMember(s FlowStore, f *FlowRecord, p CreateExecutionParams, ups []ff.ExecutionID, j ff.JoinPolicy, ref string) (*ff.Execution, error) {
	if f.State == ff.FlowCancelled {
		return nil, ff.StateError(ff.ErrNotEligible, "flow %s is cancelled", f.ID)
	}
	spec := p.Spec()
	if spec.ID.IsZero() {
		u, _ := uuid.Parse(f.ID)
		spec.ID = ff.NewFlowMemberID(u)
	} else if spec.ID.Partition != f.Partition {
		return nil, ff.Validation(ff.ErrInvalidInput, "execution_id %s: flow members live on the flow's partition %d", spec.ID, f.Partition)
	}
	if p.Namespace == "" {
		spec.Namespace = f.Namespace
	}
	now := s.NowMs()
	e, err := ff.NewExecution(spec, now)
	if err != nil {
		return nil, err
	}
	if len(ups) > 0 && e.State.EligibilityState == ff.EligibleNow {
		_ = e.BlockOnDependencies(now)
	}
	if len(ups) > 0 && !e.BlockedOnDependencies() {
		return nil, ff.Validation(ff.ErrInvalidInput, "a flow member with upstreams cannot be delayed")
	}
	if err := s.InsertExecution(e, p.Input); err != nil {
		return nil, err
	}
	m := &FlowMemberRecord{ExecutionID: e.ID, FlowID: f.ID, Ref: ref, Join: j, GroupState: ff.GroupPending, AddedAtMs: now}
	if err := s.InsertMember(m); err != nil {
		return nil, err
	}
	f.NodeCount++
	for _, up := range ups {
		if _, err := insertEdge(s, f, up, e.ID, ff.EdgeSuccessOnly); err != nil {
			return nil, err
		}
	}
	if len(ups) > 0 {
		return e, decideJoin(s, e.ID)
	}
	return e, nil
}

// insertEdge stores up → down after checking that up is a member of f,
// marks up with HookFlow, and resolves the edge at once when up already
// ended. The caller holds f's lock and checks the downstream.
func insertEdge(s FlowStore, f *FlowRecord, up, down ff.ExecutionID, kind string) (FlowEdge, error) {
	if err := requireMember(s, f, up); err != nil {
		return FlowEdge{}, err
	}
	ue, err := s.LockExecution(up, false)
	if err != nil {
		return FlowEdge{}, err
	}
	now := s.NowMs()
	ed := FlowEdge{EdgeID: uuid.NewString(), FlowID: f.ID, Upstream: up, Downstream: down, Kind: kind,
		State: ff.EdgeUnresolved, CreatedAtMs: now}
	if ue.State.LifecyclePhase == ff.PhaseTerminal {
		ed.State, ed.ResolvedAtMs = ff.EdgeResolution(kind, ue.State.TerminalOutcome), now
	} else if !ue.Hooks.Any(ff.HookFlow) {
		before := *ue
		ue.Hooks |= ff.HookFlow
		if err := s.SaveExecution(&before, ue, nil); err != nil {
			return FlowEdge{}, err
		}
	}
	if err := s.InsertEdge(ed); err != nil {
		return FlowEdge{}, err
	}
	f.EdgeCount++
	return ed, nil
}

func requireMember(s FlowStore, f *FlowRecord, id ff.ExecutionID) error {
	m, err := s.Member(id)
	if err != nil {
		return err
	}
	if m == nil || m.FlowID != f.ID {
		return ff.Conflict(ff.ErrNotFlowMember, "execution %s is not a member of flow %s", id, f.ID)
	}
	return nil
}

// AddExecutionToFlowTx makes an existing, not started execution a member.
func AddExecutionToFlowTx(s FlowStore, p AddExecutionToFlowParams) (AddExecutionToFlowResult, error) {
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return AddExecutionToFlowResult{}, err
	}
	j := ff.JoinPolicy{}
	if p.Join != nil {
		j = *p.Join
	}
	if err := j.Normalize(0); err != nil {
		return AddExecutionToFlowResult{}, err
	}
	f, err := s.LockFlow(p.FlowID)
	if err != nil {
		return AddExecutionToFlowResult{}, err
	}
	e, err := s.LockExecution(p.ExecutionID, false)
	if err != nil {
		return AddExecutionToFlowResult{}, err
	}
	m, err := s.Member(e.ID)
	switch {
	case err != nil:
		return AddExecutionToFlowResult{}, err
	case m != nil && m.FlowID == f.ID:
		return AddExecutionToFlowResult{GraphRevision: f.GraphRevision, AlreadyMember: true}, nil
	case m != nil:
		return AddExecutionToFlowResult{}, ff.Conflict(ff.ErrNotFlowMember, "execution %s is a member of flow %s", e.ID, m.FlowID)
	case e.ID.Partition != f.Partition:
		return AddExecutionToFlowResult{}, ff.Conflict(ff.ErrNotFlowMember, "execution %s is on partition %d, flow %s on %d", e.ID, e.ID.Partition, f.ID, f.Partition)
	case f.State == ff.FlowCancelled:
		return AddExecutionToFlowResult{}, ff.StateError(ff.ErrNotEligible, "flow %s is cancelled", f.ID)
	}
	now := s.NowMs()
	if err := s.InsertMember(&FlowMemberRecord{ExecutionID: e.ID, FlowID: f.ID, Join: j, GroupState: ff.GroupPending, AddedAtMs: now}); err != nil {
		return AddExecutionToFlowResult{}, err
	}
	f.NodeCount++
	f.GraphRevision++
	if err := s.UpdateFlow(f); err != nil {
		return AddExecutionToFlowResult{}, err
	}
	ev := ff.FlowEvent(ff.FlowEventMemberAdded, f.Partition, f.Namespace, e, now, ff.FlowEventData{FlowID: f.ID, GraphRevision: f.GraphRevision})
	return AddExecutionToFlowResult{GraphRevision: f.GraphRevision}, s.InsertEvents([]ff.Event{ev})
}

// AddFlowEdgeTx stages and applies an edge (p normalized) under the
// flow's lock: the lock serializes every graph change of the flow, so
// the cycle check sees every committed edge and two edges that together
// close a cycle cannot both commit.
func AddFlowEdgeTx(s FlowStore, p AddFlowEdgeParams) (AddFlowEdgeResult, error) {
	f, err := s.LockFlow(p.FlowID)
	if err != nil {
		return AddFlowEdgeResult{}, err
	}
	if p.ExpectedGraphRevision != nil && *p.ExpectedGraphRevision != f.GraphRevision {
		return AddFlowEdgeResult{}, ff.Conflict(ff.ErrStaleGraphRevision, "flow %s is at graph revision %d, not %d", f.ID, f.GraphRevision, *p.ExpectedGraphRevision)
	}
	if f.State == ff.FlowCancelled {
		return AddFlowEdgeResult{}, ff.StateError(ff.ErrNotEligible, "flow %s is cancelled", f.ID)
	}
	if err := requireMember(s, f, p.Downstream); err != nil {
		return AddFlowEdgeResult{}, err
	}
	if err := requireMember(s, f, p.Upstream); err != nil {
		return AddFlowEdgeResult{}, err
	}
	if err := checkCycle(s, f.ID, p.Upstream, p.Downstream); err != nil {
		return AddFlowEdgeResult{}, err
	}
	return addEdge(s, f, p)
}

func addEdge(s FlowStore, f *FlowRecord, p AddFlowEdgeParams) (AddFlowEdgeResult, error) {
	ed, err := insertEdge(s, f, p.Upstream, p.Downstream, p.Kind)
	if err != nil {
		return AddFlowEdgeResult{}, err
	}
	de, err := s.LockExecution(p.Downstream, false)
	if err != nil {
		return AddFlowEdgeResult{}, err
	}
	before := *de
	now := s.NowMs()
	if err := de.BlockOnDependencies(now); err != nil {
		return AddFlowEdgeResult{}, err
	}
	if err := s.SaveExecution(&before, de, nil); err != nil {
		return AddFlowEdgeResult{}, err
	}
	if err := reopenJoin(s, p.Downstream); err != nil {
		return AddFlowEdgeResult{}, err
	}
	f.GraphRevision++
	if err := s.UpdateFlow(f); err != nil {
		return AddFlowEdgeResult{}, err
	}
	ev := ff.FlowEvent(ff.FlowEventEdgeAdded, f.Partition, f.Namespace, de, now, ff.FlowEventData{FlowID: f.ID,
		EdgeID: ed.EdgeID, Upstream: p.Upstream.String(), Downstream: p.Downstream.String(), GraphRevision: f.GraphRevision})
	if err := s.InsertEvents([]ff.Event{ev}); err != nil {
		return AddFlowEdgeResult{}, err
	}
	return AddFlowEdgeResult{EdgeID: ed.EdgeID, GraphRevision: f.GraphRevision}, decideJoin(s, p.Downstream)
}

// reopenJoin sets a not started member's join back to pending: a new
// inbound edge makes it wait again.
func reopenJoin(s FlowStore, id ff.ExecutionID) error {
	m, err := s.Member(id)
	if err != nil || m == nil || m.GroupState == ff.GroupPending {
		return err
	}
	m.GroupState = ff.GroupPending
	return s.UpdateMember(m)
}

// checkCycle reports cycle_detected when down already reaches up.
func checkCycle(s FlowStore, flowID string, up, down ff.ExecutionID) error {
	edges, err := s.FlowEdges(flowID)
	if err != nil {
		return err
	}
	out := map[ff.ExecutionID][]ff.ExecutionID{}
	for _, ed := range edges {
		if ed.Upstream == up && ed.Downstream == down {
			return ff.Conflict(ff.ErrDuplicateEdge, "edge %s → %s exists (%s)", up, down, ed.EdgeID)
		}
		out[ed.Upstream] = append(out[ed.Upstream], ed.Downstream)
	}
	seen := map[ff.ExecutionID]bool{down: true}
	queue := []ff.ExecutionID{down}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == up || len(seen) > ff.MaxCycleScan {
			return ff.Conflict(ff.ErrCycleDetected, "edge %s → %s would close a cycle", up, down)
		}
		for _, next := range out[n] {
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	return nil
}

// CancelFlowTx marks the flow cancelled and queues its members per the
// policy (the first call's policy holds; a repeat answers it), then with
// p.Wait cancels the queue in the same transaction.
func CancelFlowTx(s FlowStore, p CancelFlowParams) (CancelFlowResult, error) {
	f, err := s.LockFlow(p.FlowID)
	if err != nil {
		return CancelFlowResult{}, err
	}
	if f.State != ff.FlowCancelled {
		return cancelFresh(s, f, p)
	}
	n := 0
	if p.Wait {
		if n, err = workCancels(s, f, 0); err != nil {
			return CancelFlowResult{}, err
		}
	}
	all, pending, err := s.CancelQueue(f.ID)
	if err != nil {
		return CancelFlowResult{}, err
	}
	return CancelFlowResult{FlowID: f.ID, Policy: f.CancelPolicy, Members: all, Pending: len(pending),
		Repeated: true, Cancelled: n}, nil
}

// cancelFresh is the first cancel of f: the header (flow cancelled, the
// policy's members queued, the flow event) and, with p.Wait, the members
// cancelled from the records it locked.
func cancelFresh(s FlowStore, f *FlowRecord, p CancelFlowParams) (CancelFlowResult, error) {
	now := s.NowMs()
	f.State, f.CancelledAtMs, f.CancelPolicy, f.CancelReason = ff.FlowCancelled, now, p.Policy, p.Reason
	if err := s.UpdateFlow(f); err != nil {
		return CancelFlowResult{}, err
	}
	ids, err := s.FlowMembers(f.ID)
	if err != nil {
		return CancelFlowResult{}, err
	}
	recs, err := s.LockExecutions(ids)
	if err != nil {
		return CancelFlowResult{}, err
	}
	var queue []ff.ExecutionID
	for _, id := range ids {
		if e := recs[id]; e != nil && ff.CancelledByFlowPolicy(p.Policy, e.State) {
			queue = append(queue, id)
		}
	}
	if err := s.QueueCancels(f.ID, f.Partition, queue); err != nil {
		return CancelFlowResult{}, err
	}
	ev := ff.FlowEvent(ff.FlowEventCancelled, f.Partition, f.Namespace, nil, now,
		ff.FlowEventData{FlowID: f.ID, Policy: p.Policy, Reason: p.Reason, Members: len(queue)})
	if err := s.InsertEvents([]ff.Event{ev}); err != nil {
		return CancelFlowResult{}, err
	}
	res := CancelFlowResult{FlowID: f.ID, Policy: f.CancelPolicy, Members: queue, Pending: len(queue)}
	if p.Wait {
		res.Pending = 0
		res.Cancelled, err = cancelQueued(s, f, queue, recs)
	}
	return res, err
}

// WorkFlowCancelTx cancels up to limit (0: all) queued members of the
// flow, downstreams before their upstreams, so a queued downstream ends
// cancelled rather than skipped by its upstream's cancel (in a later
// batch).
func WorkFlowCancelTx(s FlowStore, flowID string, limit int) (int, error) {
	f, err := s.LockFlow(flowID)
	if err != nil {
		return 0, err
	}
	return workCancels(s, f, limit)
}

func workCancels(s FlowStore, f *FlowRecord, limit int) (int, error) {
	_, pending, err := s.CancelQueue(f.ID)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	if limit > 0 && len(pending) > limit {
		edges, err := s.FlowEdges(f.ID)
		if err != nil {
			return 0, err
		}
		depth := edgeDepths(edges)
		slices.SortStableFunc(pending, func(a, b ff.ExecutionID) int { return depth[b] - depth[a] })
		pending = pending[:limit]
	}
	recs, err := s.LockExecutions(pending)
	if err != nil {
		return 0, err
	}
	return cancelQueued(s, f, pending, recs)
}

// cancelQueued cancels the queued members ids (locked in recs) and marks
// them done. Every one is cancelled before any edge resolves: a
// downstream among them ends cancelled, never skipped.
func cancelQueued(s FlowStore, f *FlowRecord, ids []ff.ExecutionID, recs map[ff.ExecutionID]*ff.Execution) (int, error) {
	if err := s.MarkCancelsDone(f.ID, ids); err != nil {
		return 0, err
	}
	n := 0
	var ended []*ff.Execution
	cancelled := make(map[ff.ExecutionID]bool, len(ids))
	for _, id := range ids {
		e := recs[id]
		if e == nil {
			continue // deleted: nothing to cancel
		}
		before := *e
		fx, err := e.OperatorCancel(s.NowMs(), f.CancelReason, ff.CancelledByFlowCancel)
		if errors.Is(err, ff.ErrExecutionNotActive) {
			continue
		}
		if err != nil {
			return n, err
		}
		if err := s.SaveExecution(&before, e, fx); err != nil {
			return n, err
		}
		n++
		cancelled[id] = true
		if e.Hooks.Any(ff.HookFlow) {
			ended = append(ended, e)
		}
	}
	return n, resolveMany(s, ended, cancelled)
}

// edgeDepths is each member's longest distance from a root of the DAG
// (members without edges are absent: depth 0).
func edgeDepths(edges []FlowEdge) map[ff.ExecutionID]int {
	indeg := map[ff.ExecutionID]int{}
	out := map[ff.ExecutionID][]ff.ExecutionID{}
	for _, ed := range edges {
		indeg[ed.Downstream]++
		out[ed.Upstream] = append(out[ed.Upstream], ed.Downstream)
	}
	depth := map[ff.ExecutionID]int{}
	var queue []ff.ExecutionID
	for up := range out {
		if indeg[up] == 0 {
			queue = append(queue, up)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range out[n] {
			depth[d] = max(depth[d], depth[n]+1)
			if indeg[d]--; indeg[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	return depth
}

// SpawnChildrenTx creates the children of the lease holder's execution in
// its flow, each with an edge of kind completion into the parent.
func SpawnChildrenTx(s FlowStore, p SpawnChildrenParams) ([]ff.ExecutionID, error) {
	l := p.Handle.Lease
	parent, err := s.LockExecution(l.ExecutionID, false)
	if err != nil {
		return nil, err
	}
	if _, err := parent.CheckFence(s.NowMs(), l.Fence()); err != nil {
		return nil, err
	}
	m, err := s.Member(parent.ID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, ff.Conflict(ff.ErrNotFlowMember, "execution %s is in no flow: create it with a flow to spawn children", parent.ID)
	}
	f, err := s.LockFlow(m.FlowID)
	if err != nil {
		return nil, err
	}
	ids := make([]ff.ExecutionID, 0, len(p.Children))
	for _, c := range p.Children {
		e, err := createMember(s, f, c, nil, ff.JoinPolicy{Policy: ff.JoinAllOf, OnSatisfied: ff.OnSatisfiedLetRun}, "")
		if err != nil {
			return nil, err
		}
		if _, err := insertEdge(s, f, e.ID, parent.ID, ff.EdgeCompletion); err != nil {
			return nil, err
		}
		ids = append(ids, e.ID)
	}
	if err := reopenJoin(s, parent.ID); err != nil {
		return nil, err
	}
	f.GraphRevision++
	return ids, s.UpdateFlow(f)
}

// WaitChildrenTx parks the lease holder until its inbound edges resolve,
// or reports Ready when its join is already decided.
func WaitChildrenTx(s FlowStore, p WaitChildrenParams) (WaitChildrenResult, error) {
	l := p.Handle.Lease
	e, err := s.LockExecution(l.ExecutionID, false)
	if err != nil {
		return WaitChildrenResult{}, err
	}
	m, err := s.Member(e.ID)
	if err != nil {
		return WaitChildrenResult{}, err
	}
	before := *e
	if m == nil {
		_, err := e.CheckFence(s.NowMs(), l.Fence())
		return WaitChildrenResult{Ready: err == nil}, err
	}
	in, err := s.EdgesInto(e.ID)
	if err != nil {
		return WaitChildrenResult{}, err
	}
	if m.Join.Decide(countEdges(in)) != ff.GroupPending {
		_, err := e.CheckFence(s.NowMs(), l.Fence())
		return WaitChildrenResult{Ready: err == nil}, err
	}
	fx, fr, err := e.WaitChildren(s.NowMs(), l.Fence())
	if fr.MarkedExpired {
		if serr := s.SaveExecution(&before, e, fr.Effects); serr != nil {
			return WaitChildrenResult{}, serr
		}
		return WaitChildrenResult{}, &KeepWrites{Err: err}
	}
	if err != nil {
		return WaitChildrenResult{}, err
	}
	return WaitChildrenResult{}, s.SaveExecution(&before, e, fx)
}

// KeepWrites wraps an error whose transaction must still commit (a fence
// check that marked the lease expired).
type KeepWrites struct{ Err error }

func (k *KeepWrites) Error() string { return k.Err.Error() }
func (k *KeepWrites) Unwrap() error { return k.Err }

// ResetImpossibleEdges is the replay helper for a skipped flow member
// (core-semantics §2.4: replay of a skipped member): in the replay's
// transaction, after the replay transition, it sets the member's
// impossible inbound edges back to unresolved and its join to pending,
// and reports whether any edge is unresolved now, in which case the
// caller parks the member on its edges (C0 with pending_replay_attempt:
// state vector runnable/blocked_by_dependencies) instead of making it
// claimable. Edges of upstreams that are still ended stay as they are
// only for success; an impossible edge whose upstream is ended waits for
// that upstream's own replay.
func ResetImpossibleEdges(s FlowStore, id ff.ExecutionID) (blocked bool, err error) {
	m, err := s.Member(id)
	if err != nil || m == nil {
		return false, err
	}
	in, err := s.EdgesInto(id)
	if err != nil {
		return false, err
	}
	for _, ed := range in {
		if ed.State == ff.EdgeImpossible {
			if err := s.SetEdgeState(ed.FlowID, ed.EdgeID, ff.EdgeUnresolved, 0); err != nil {
				return false, err
			}
			blocked = true
		}
	}
	m.GroupState = ff.GroupPending
	return blocked, s.UpdateMember(m)
}

// ReplayInFlowTx is ReplayExecution in a flow transaction, written once
// for every store: the replay transition, then, for a skipped flow member
// (Effects.ResetSkippedEdges), its impossible inbound edges reset
// (ResetImpossibleEdges) and the member parked on them while any is
// unresolved. The reset is done here, so the flag is cleared before the
// record is saved.
func ReplayInFlowTx(s FlowStore, p ReplayExecutionParams) (ff.PublicState, error) {
	e, err := s.LockExecution(p.ExecutionID, false)
	if err != nil {
		return "", err
	}
	before := *e
	fx, err := e.Replay(s.NowMs(), p.Who)
	if err != nil {
		return "", err
	}
	if fx.ResetSkippedEdges {
		fx.ResetSkippedEdges = false
		blocked, err := ResetImpossibleEdges(s, e.ID)
		if err != nil {
			return "", err
		}
		if blocked {
			e.ParkOnDependencies(s.NowMs())
		}
	}
	return e.State.PublicState, SaveAndResolve(s, &before, e, fx)
}
