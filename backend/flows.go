package backend

import (
	"context"

	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
)

// Flows are DAGs of executions (spec §1, DESIGN §5.1). Membership and the
// edges into a member are written in the transaction that creates it (a
// flow-member CreateExecution, CreateFlow with Members, or
// AddExecutionToFlow/AddFlowEdge on a member that has not started), so a
// member with unresolved edges is never claimable. When a member ends,
// its outgoing edges resolve in the same transaction (ResolveFlowEdges).
// An unknown flow is not_found (entity "flow").
type Flows interface {
	// CreateFlow creates a flow and, with Members, a whole DAG in one
	// transaction. The same FlowID again returns the stored flow
	// (Existing) with the refs of its first creation and writes nothing.
	CreateFlow(ctx context.Context, p CreateFlowParams) (CreateFlowResult, error)
	// AddExecutionToFlow makes an existing execution that has not started
	// a member (same partition as the flow); repeating it is harmless; a
	// member of another flow is not_flow_member.
	AddExecutionToFlow(ctx context.Context, p AddExecutionToFlowParams) (AddExecutionToFlowResult, error)
	// AddFlowEdge stages and applies an edge in one transaction, bumping
	// the graph revision: cycle_detected, stale_graph_revision,
	// not_flow_member, dependency_already_exists, execution_not_eligible
	// (the downstream started). Two concurrent edges that together close
	// a cycle never both commit.
	AddFlowEdge(ctx context.Context, p AddFlowEdgeParams) (AddFlowEdgeResult, error)
	// DescribeFlow returns the flow with its members and edges.
	DescribeFlow(ctx context.Context, p DescribeFlowParams) (FlowSnapshot, error)
	// ListFlows pages flows by id.
	ListFlows(ctx context.Context, p ListFlowsParams) (FlowPage, error)
	// ListFlowEdges lists a flow's edges, optionally only those from or
	// into one member.
	ListFlowEdges(ctx context.Context, p ListFlowEdgesParams) ([]FlowEdge, error)
	// CancelFlow cancels a flow and queues its members per the policy in
	// a durable backlog; with Wait the backlog is worked in the same
	// transaction. Repeating it answers the stored policy and members.
	CancelFlow(ctx context.Context, p CancelFlowParams) (CancelFlowResult, error)
	// WorkFlowCancels is the reconciler's sweep of the cancel backlog:
	// it cancels up to p.Limit queued members (held leases revoked).
	WorkFlowCancels(ctx context.Context, p SweepParams) (int, error)
	// RepairFlowEdges is the backstop: it resolves up to p.Limit edges
	// whose upstream ended without resolving them (an end written by a
	// path that does not resolve edges). Never needed on the paths the
	// stores write themselves.
	RepairFlowEdges(ctx context.Context, p SweepParams) (int, error)
	// SpawnChildren creates children of the handle's execution in its
	// flow, each with an edge of kind completion into the parent; the
	// parent then parks with WaitChildren.
	SpawnChildren(ctx context.Context, p SpawnChildrenParams) ([]ff.ExecutionID, error)
	// WaitChildren parks the lease holder until its inbound edges
	// resolve; the next claim resumes the same attempt. When they are
	// already resolved it keeps the lease and reports Ready.
	WaitChildren(ctx context.Context, p WaitChildrenParams) (WaitChildrenResult, error)
	// UpstreamResults returns the upstreams of an execution with their
	// states and stored results.
	UpstreamResults(ctx context.Context, p UpstreamResultsParams) ([]UpstreamResult, error)
	// FlowStats counts flows by public flow state and edges by state,
	// for metrics (read at scrape time; at most MaxFlowStatsFlows flows).
	FlowStats(ctx context.Context) (FlowStats, error)
}

// MaxFlowStatsFlows bounds the flows one FlowStats reads.
const MaxFlowStatsFlows = 10000

// FlowStats are the counts FlowStats returns.
type FlowStats struct {
	Flows map[string]int // public_flow_state → flows
	Edges map[string]int // edge state → edges
}

// FlowStatRow is one group of members of a flow as a store reads it for
// FlowStats.
type FlowStatRow struct {
	FlowID           string
	PublicState      ff.PublicState
	SiblingCancelled bool
	Count            int
}

// BuildFlowStats derives each flow's public state (stored: flow id →
// stored state) from its member groups and counts them.
func BuildFlowStats(stored map[string]string, rows []FlowStatRow, edges map[string]int) FlowStats {
	per := map[string]map[ff.PublicState]int{}
	for _, r := range rows {
		if _, ok := stored[r.FlowID]; !ok {
			continue
		}
		st := r.PublicState
		if r.SiblingCancelled {
			st = ff.PublicSkipped
		}
		if per[r.FlowID] == nil {
			per[r.FlowID] = map[ff.PublicState]int{}
		}
		per[r.FlowID][st] += r.Count
	}
	out := FlowStats{Flows: map[string]int{}, Edges: edges}
	for id, st := range stored {
		out.Flows[ff.DeriveFlowState(st, per[id])]++
	}
	return out
}

// CreateFlowParams is the input of CreateFlow. A zero FlowID is minted.
type CreateFlowParams struct {
	FlowID    string
	Namespace string
	Kind      string
	Members   []FlowMemberParams
}

// FlowMemberParams is one execution of a DAG created with its flow.
type FlowMemberParams struct {
	Ref           string
	Execution     CreateExecutionParams // FlowID, DependsOn and Join are ignored
	DependsOnRefs []string
	Join          *ff.JoinPolicy
}

// Normalize validates p once for every store: the flow id (minted when
// empty), kind, namespace, the request limits, unique refs, refs that
// exist, a DAG among the refs, and the joins. It returns the members in
// an order where every upstream comes before its downstreams.
func (p *CreateFlowParams) Normalize() ([]FlowMemberParams, error) {
	if p.FlowID == "" {
		p.FlowID = uuid.NewString()
	}
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return nil, err
	}
	if err := ff.ValidateKind(p.Kind); err != nil {
		return nil, err
	}
	if err := ff.ValidateNamespace(p.Namespace); err != nil {
		return nil, err
	}
	if len(p.Members) > ff.MaxFlowRequestExecutions {
		return nil, ff.Validation(ff.ErrPayloadTooLarge, "executions: %d, at most %d in one request", len(p.Members), ff.MaxFlowRequestExecutions)
	}
	return orderMembers(p.Members)
}

// orderMembers checks refs and joins and sorts members topologically.
func orderMembers(ms []FlowMemberParams) ([]FlowMemberParams, error) {
	idx := make(map[string]int, len(ms))
	edges := 0
	for i, m := range ms {
		if err := ff.ValidateIdentifier("ref", m.Ref); err != nil {
			return nil, err
		}
		if _, dup := idx[m.Ref]; dup {
			return nil, ff.Validation(ff.ErrInvalidInput, "ref %q: used twice", m.Ref)
		}
		idx[m.Ref] = i
		edges += len(m.DependsOnRefs)
	}
	if edges > ff.MaxFlowRequestEdges {
		return nil, ff.Validation(ff.ErrPayloadTooLarge, "edges: %d, at most %d in one request", edges, ff.MaxFlowRequestEdges)
	}
	for i := range ms {
		if err := checkMemberRefs(&ms[i], idx); err != nil {
			return nil, err
		}
	}
	return topoOrder(ms, idx)
}

func checkMemberRefs(m *FlowMemberParams, idx map[string]int) error {
	seen := map[string]bool{}
	for _, up := range m.DependsOnRefs {
		if _, ok := idx[up]; !ok {
			return ff.Validation(ff.ErrInvalidInput, "depends_on_refs of %q: unknown ref %q", m.Ref, ff.CutText(up, 64))
		}
		if up == m.Ref {
			return ff.Conflict(ff.ErrCycleDetected, "ref %q depends on itself", m.Ref)
		}
		if seen[up] {
			return ff.Conflict(ff.ErrDuplicateEdge, "ref %q lists %q twice", m.Ref, up)
		}
		seen[up] = true
	}
	j := ff.JoinPolicy{}
	if m.Join != nil {
		j = *m.Join
	}
	if err := j.Normalize(len(m.DependsOnRefs)); err != nil {
		return err
	}
	m.Join = &j
	return nil
}

// topoOrder is Kahn's algorithm over the refs; a leftover is a cycle.
func topoOrder(ms []FlowMemberParams, idx map[string]int) ([]FlowMemberParams, error) {
	indeg := make([]int, len(ms))
	out := make([][]int, len(ms))
	for i, m := range ms {
		for _, up := range m.DependsOnRefs {
			out[idx[up]] = append(out[idx[up]], i)
			indeg[i]++
		}
	}
	var queue, order []int
	for i := range ms {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, i)
		for _, d := range out[i] {
			if indeg[d]--; indeg[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if len(order) != len(ms) {
		return nil, ff.Conflict(ff.ErrCycleDetected, "depends_on_refs form a cycle")
	}
	sorted := make([]FlowMemberParams, len(ms))
	for k, i := range order {
		sorted[k] = ms[i]
	}
	return sorted, nil
}

// CreateFlowResult is the flow and the ids of the members its refs named.
type CreateFlowResult struct {
	FlowID          string
	PublicFlowState string
	ExecutionIDs    map[string]ff.ExecutionID
	// Existing is true when the flow already existed (nothing written).
	Existing bool
}

// AddExecutionToFlowParams is the input of AddExecutionToFlow.
type AddExecutionToFlowParams struct {
	FlowID      string
	ExecutionID ff.ExecutionID
	Join        *ff.JoinPolicy
}

// AddExecutionToFlowResult is the flow's new graph revision.
type AddExecutionToFlowResult struct {
	GraphRevision int64
	AlreadyMember bool
}

// AddFlowEdgeParams is the input of AddFlowEdge. ExpectedGraphRevision
// nil skips the revision check.
type AddFlowEdgeParams struct {
	FlowID                string
	Upstream              ff.ExecutionID
	Downstream            ff.ExecutionID
	Kind                  string
	ExpectedGraphRevision *int64
}

// Normalize validates p once for every store.
func (p *AddFlowEdgeParams) Normalize() error {
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return err
	}
	k, err := ff.ValidateEdgeKind(p.Kind)
	if err != nil {
		return err
	}
	p.Kind = k
	if p.Upstream.IsZero() || p.Downstream.IsZero() {
		return ff.Validation(ff.ErrInvalidInput, "upstream_execution_id and downstream_execution_id are required")
	}
	if p.Upstream == p.Downstream {
		return ff.Conflict(ff.ErrCycleDetected, "edge %s → itself", p.Upstream)
	}
	return nil
}

// AddFlowEdgeResult is the new edge and graph revision.
type AddFlowEdgeResult struct {
	EdgeID        string
	GraphRevision int64
}

// DescribeFlowParams is the input of DescribeFlow.
type DescribeFlowParams struct {
	FlowID string
}

// FlowSnapshot describes a flow.
type FlowSnapshot struct {
	FlowID          string
	Namespace       string
	Kind            string
	PublicFlowState string
	GraphRevision   int64
	CreatedAtMs     int64
	CancelledAtMs   int64
	CancelPolicy    string
	CancelReason    string
	Members         []FlowMemberState
	Edges           []FlowEdge
}

// FlowMemberState is one member with its public state and join.
type FlowMemberState struct {
	ExecutionID ff.ExecutionID
	PublicState ff.PublicState
	Ref         string
	Join        ff.JoinPolicy
	JoinState   string
	// SiblingCancelled: cancelled by a cancel_remaining join as a losing
	// upstream; the flow's state counts it as skipped, not as a failure.
	SiblingCancelled bool
}

// FlowStateCounts are the members' public states as the flow's state
// counts them (a losing sibling of a cancel_remaining join as skipped).
func FlowStateCounts(ms []FlowMemberState) map[ff.PublicState]int {
	c := map[ff.PublicState]int{}
	for _, m := range ms {
		st := m.PublicState
		if m.SiblingCancelled {
			st = ff.PublicSkipped
		}
		c[st]++
	}
	return c
}

// FlowEdge is one dependency edge.
type FlowEdge struct {
	EdgeID       string
	FlowID       string
	Upstream     ff.ExecutionID
	Downstream   ff.ExecutionID
	Kind         string
	State        string
	CreatedAtMs  int64
	ResolvedAtMs int64
}

// ListFlowsParams pages flows by id, after Cursor (a flow id).
type ListFlowsParams struct {
	Namespace string // "" = every namespace
	Cursor    string
	Limit     int // 0 = 100; at most 1000
}

// FlowSnapshotOf is DescribeFlow's answer for the stored flow f with its
// members and edges: the public flow state derived from the members.
func FlowSnapshotOf(f *FlowRecord, members []FlowMemberState, edges []FlowEdge) FlowSnapshot {
	return FlowSnapshot{FlowID: f.ID, Namespace: f.Namespace, Kind: f.Kind, GraphRevision: f.GraphRevision,
		CreatedAtMs: f.CreatedAtMs, CancelledAtMs: f.CancelledAtMs, CancelPolicy: f.CancelPolicy, CancelReason: f.CancelReason,
		Members: members, Edges: edges, PublicFlowState: ff.DeriveFlowState(f.State, FlowStateCounts(members))}
}

// FlowPageOf cuts recs, read with p.Limit+1 in id order, to one page of
// summaries, each with its public flow state from state.
func FlowPageOf(p ListFlowsParams, recs []*FlowRecord, state func(*FlowRecord) (string, error)) (FlowPage, error) {
	var page FlowPage
	if len(recs) > p.Limit {
		recs = recs[:p.Limit]
		page.NextCursor = recs[len(recs)-1].ID
	}
	page.Flows = make([]FlowSummary, 0, len(recs))
	for _, f := range recs {
		st, err := state(f)
		if err != nil {
			return FlowPage{}, err
		}
		page.Flows = append(page.Flows, FlowSummary{FlowID: f.ID, Namespace: f.Namespace, Kind: f.Kind,
			PublicFlowState: st, GraphRevision: f.GraphRevision, CreatedAtMs: f.CreatedAtMs})
	}
	return page, nil
}

// Normalize applies the paging rule every store shares.
func (p *ListFlowsParams) Normalize() error {
	if p.Limit == 0 {
		p.Limit = 100
	}
	if p.Limit < 0 || p.Limit > 1000 {
		return ff.Validation(ff.ErrInvalidInput, "limit %d outside [1, 1000]", p.Limit)
	}
	if p.Cursor != "" {
		if _, err := ff.ParseFlowID(p.Cursor); err != nil {
			return ff.Validation(ff.ErrInvalidInput, "cursor: not a flow id")
		}
	}
	return nil
}

// FlowPage is one page of ListFlows.
type FlowPage struct {
	Flows      []FlowSummary
	NextCursor string // "" on the last page
}

// FlowSummary is one flow of a list.
type FlowSummary struct {
	FlowID          string
	Namespace       string
	Kind            string
	PublicFlowState string
	GraphRevision   int64
	CreatedAtMs     int64
}

// ListFlowEdgesParams is the input of ListFlowEdges; a zero Upstream or
// Downstream does not filter.
type ListFlowEdgesParams struct {
	FlowID     string
	Upstream   ff.ExecutionID
	Downstream ff.ExecutionID
}

// CancelFlowParams is the input of CancelFlow.
type CancelFlowParams struct {
	FlowID string
	Policy string // "" = cancel_all
	Reason string
	Wait   bool
}

// Normalize validates p once for every store.
func (p *CancelFlowParams) Normalize() error {
	if _, err := ff.ParseFlowID(p.FlowID); err != nil {
		return err
	}
	pol, err := ff.ValidateCancelFlowPolicy(p.Policy)
	if err != nil {
		return err
	}
	p.Policy = pol
	p.Reason = ff.SanitizeText(p.Reason, ff.MaxReasonBytes)
	return nil
}

// CancelFlowResult is the cancel's (first) policy, the members it
// queued, and how many are still queued.
type CancelFlowResult struct {
	FlowID    string
	Policy    string
	Members   []ff.ExecutionID
	Pending   int
	Repeated  bool
	Cancelled int // members this call cancelled
}

// SpawnChildrenParams creates Children in the flow of the handle's
// execution, each with an edge into it.
type SpawnChildrenParams struct {
	Handle   ff.Handle
	Children []CreateExecutionParams
}

// WaitChildrenParams is the input of WaitChildren.
type WaitChildrenParams struct {
	Handle ff.Handle
}

// WaitChildrenResult says whether the attempt parked.
type WaitChildrenResult struct {
	// Ready is true when every inbound edge was already resolved: the
	// lease is kept and the handler goes on.
	Ready bool
}

// UpstreamResultsParams names the downstream execution.
type UpstreamResultsParams struct {
	ExecutionID ff.ExecutionID
}

// UpstreamResult is one upstream of an execution.
type UpstreamResult struct {
	ExecutionID ff.ExecutionID
	EdgeState   string
	PublicState ff.PublicState
	Result      []byte // nil unless completed
}

// UnimplementedFlows answers every flow operation with Unavailable. A
// backend embeds it until it builds the area; Capabilities must agree.
type UnimplementedFlows struct{}

func (UnimplementedFlows) CreateFlow(context.Context, CreateFlowParams) (CreateFlowResult, error) {
	return CreateFlowResult{}, ff.Unavailable("create_flow")
}

func (UnimplementedFlows) AddExecutionToFlow(context.Context, AddExecutionToFlowParams) (AddExecutionToFlowResult, error) {
	return AddExecutionToFlowResult{}, ff.Unavailable("add_execution_to_flow")
}

func (UnimplementedFlows) AddFlowEdge(context.Context, AddFlowEdgeParams) (AddFlowEdgeResult, error) {
	return AddFlowEdgeResult{}, ff.Unavailable("add_flow_edge")
}

func (UnimplementedFlows) DescribeFlow(context.Context, DescribeFlowParams) (FlowSnapshot, error) {
	return FlowSnapshot{}, ff.Unavailable("describe_flow")
}

func (UnimplementedFlows) ListFlows(context.Context, ListFlowsParams) (FlowPage, error) {
	return FlowPage{}, ff.Unavailable("list_flows")
}

func (UnimplementedFlows) ListFlowEdges(context.Context, ListFlowEdgesParams) ([]FlowEdge, error) {
	return nil, ff.Unavailable("list_flow_edges")
}

func (UnimplementedFlows) CancelFlow(context.Context, CancelFlowParams) (CancelFlowResult, error) {
	return CancelFlowResult{}, ff.Unavailable("cancel_flow")
}

func (UnimplementedFlows) WorkFlowCancels(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("work_flow_cancels")
}

func (UnimplementedFlows) RepairFlowEdges(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("repair_flow_edges")
}

func (UnimplementedFlows) SpawnChildren(context.Context, SpawnChildrenParams) ([]ff.ExecutionID, error) {
	return nil, ff.Unavailable("spawn_children")
}

func (UnimplementedFlows) WaitChildren(context.Context, WaitChildrenParams) (WaitChildrenResult, error) {
	return WaitChildrenResult{}, ff.Unavailable("wait_children")
}

func (UnimplementedFlows) FlowStats(context.Context) (FlowStats, error) {
	return FlowStats{}, ff.Unavailable("flow_stats")
}

func (UnimplementedFlows) UpstreamResults(context.Context, UpstreamResultsParams) ([]UpstreamResult, error) {
	return nil, ff.Unavailable("upstream_results")
}
