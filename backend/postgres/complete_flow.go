package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The flow completion statement: a batch of flow upstreams (HookFlow)
// completes in one statement together with the common case of their
// edges, a downstream whose only inbound edge is the one the completion
// satisfies. Such a join is decided by this upstream alone (every join
// policy of one edge is satisfied by it, and there is no sibling to
// cancel), so the statement restates backend.ResolveFlowEdgesMany for it:
// the edge satisfied, the membership's join satisfied, the downstream
// made claimable (flowfabric.Execution.DependenciesSatisfied from C0) and
// a join_satisfied flow event. Every other outgoing edge (a downstream
// with more inbound edges, or not in C0) is left unresolved and settled
// right after by the generic transaction (resolveLeftEdges), which
// decides it under the downstream's lock; the completion has committed by
// then, and after a crash RepairFlowEdges finds the edge (unresolved,
// upstream terminal).
//
// The statement plans from one snapshot, so it guards against graph
// changes that commit while it runs: inserting an edge rewrites both its
// endpoints' rows (flowStore.InsertEdge), and the statement writes an
// upstream or a downstream only while its row is still the version it
// planned from (xmin). An upstream that gained an edge meanwhile is not
// completed here (the slow path completes it); a downstream that gained
// one, or changed at all, is left to resolveLeftEdges.

// flowStates are the literals of the statement, taken from the state
// machine and the flow constants so the SQL cannot disagree with them.
type flowStates struct {
	blocked, promoted ff.StateVector // C0 and what DependenciesSatisfied makes of it
}

func newFlowStates() flowStates {
	e, err := ff.NewExecution(ff.CreateSpec{Lane: "l", Kind: "k"}, 0)
	if err != nil || e.BlockOnDependencies(0) != nil {
		return flowStates{} // matches no row: the statement then settles nothing
	}
	st := flowStates{blocked: e.State}
	e.DependenciesSatisfied(0)
	st.promoted = e.State
	return st
}

// lit quotes s as an SQL string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// otherSlowHooks are the slow hooks besides HookFlow: a row with one of
// them takes the generic path, where its feature's writes happen.
const otherSlowHooks = ff.HooksCompleteSlow &^ ff.HookFlow

var completeFlowSQL = buildCompleteFlowSQL(newFlowStates())

func buildCompleteFlowSQL(st flowStates) string {
	b, p := st.blocked, st.promoted
	satisfied := func(kind string) string { return lit(ff.EdgeResolution(kind, ff.OutcomeSuccess)) }
	return `WITH i AS (
	SELECT x.*, coalesce($6::bigint, ff_now_ms()) AS now
	FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bytea[]) AS x(id, lease_id, epoch, attempt_id, result)
), seen AS (
	-- the upstream rows as this statement plans from them
	SELECT e.id, e.xmin AS v FROM ff_execution e JOIN i ON i.id = e.id
), upd AS (
	UPDATE ff_execution e SET ` + completeSet + `
	FROM i JOIN seen s ON s.id = i.id
	WHERE ` + fenceSQL + ` AND e.xmin = s.v
	AND (e.hooks & ` + strconv.Itoa(int(int16(ff.HookFlow))) + `) <> 0` + hooksGuard(otherSlowHooks) + `
	RETURNING ` + completeReturning + `
), out AS (
	-- every unresolved outgoing edge, and whether its downstream is one
	-- this statement decides: its only inbound edge, join pending, in C0
	SELECT ed.flow_id, ed.edge_id, ed.upstream_id, ed.downstream_id, d.xmin AS v, u.now,
		m.group_state = ` + lit(ff.GroupPending) + ` AND d.lifecycle_phase = ` + lit(string(b.LifecyclePhase)) + `
		AND d.eligibility_state = ` + lit(string(b.EligibilityState)) + ` AND d.attempt_state = ` + lit(string(b.AttemptState)) + `
		AND NOT EXISTS (SELECT 1 FROM ff_flow_edge o WHERE o.downstream_id = ed.downstream_id AND o.upstream_id <> ed.upstream_id) AS sole
	FROM upd u
	JOIN ff_flow_edge ed ON ed.upstream_id = u.id AND ed.state = ` + lit(ff.EdgeUnresolved) + `
	JOIN ff_execution d ON d.id = ed.downstream_id
	JOIN ff_flow_member m ON m.execution_id = ed.downstream_id
), down AS (
	UPDATE ff_execution d SET lifecycle_phase = ` + lit(string(p.LifecyclePhase)) + `,
		ownership_state = ` + lit(string(p.OwnershipState)) + `, eligibility_state = ` + lit(string(p.EligibilityState)) + `,
		blocking_reason = ` + lit(string(p.BlockingReason)) + `, terminal_outcome = ` + lit(string(p.TerminalOutcome)) + `,
		attempt_state = ` + lit(string(p.AttemptState)) + `, public_state = ` + lit(string(p.PublicState)) + `,
		ready = true, blocking_detail = '', updated_at_ms = o.now
	FROM out o
	WHERE d.id = o.downstream_id AND o.sole AND d.xmin = o.v
	RETURNING d.id, d.partition, d.lane, d.namespace, o.flow_id, o.edge_id, o.now
), edges AS (
	UPDATE ff_flow_edge ed SET state = CASE ed.kind WHEN ` + lit(ff.EdgeCompletion) + ` THEN ` + satisfied(ff.EdgeCompletion) + `
		ELSE ` + satisfied(ff.EdgeSuccessOnly) + ` END, resolved_at_ms = w.now
	FROM down w WHERE ed.flow_id = w.flow_id AND ed.edge_id = w.edge_id
), members AS (
	UPDATE ff_flow_member m SET group_state = ` + lit(ff.GroupSatisfied) + `
	FROM down w WHERE m.execution_id = w.id
), ev AS (
	-- completions first, then the joins they satisfied: ordered by type
	-- ('completion' < 'flow'), then execution id
	` + eventInsertHead + `
	SELECT ` + completionEventCols + ` FROM upd
	UNION ALL
	SELECT ` + lit(string(ff.EventFlow)) + `, ` + lit(ff.FlowEventJoinSatisfied) + `, id, partition, lane, namespace, now,
		-1, '', '', 0, '', '', 0, '', '', jsonb_build_object('flow_id', flow_id, 'downstream_execution_id', id)
	FROM down
	ORDER BY 1, 3
)
SELECT u.id, count(o.edge_id) - count(w.id), array_remove(array_agg(DISTINCT w.lane), NULL)
FROM upd u LEFT JOIN out o ON o.upstream_id = u.id LEFT JOIN down w ON w.edge_id = o.edge_id
GROUP BY u.id`
}

// completeFlowMany runs completeFlowSQL for the inputs idx of a batch
// (those the plain statement did not settle) and returns the ones it did
// not settle either, for the slow path. Upstreams with edges it left are
// resolved at once by resolveLeftEdges; the claimers of promoted
// downstreams' lanes are woken.
func (b *Backend) completeFlowMany(ctx context.Context, ps []backend.CompleteParams, idx []int, errs []error) []int {
	var c completionBatch
	for _, i := range idx {
		c.add(i, ps[i])
	}
	if len(c.ids) == 0 {
		return c.slow
	}
	left, lanes, err := b.runCompleteFlow(ctx, &c, ps)
	if err != nil {
		err = mapPgError("complete", err)
		c.failAll(func(i int) { errs[i] = err })
		return c.slow
	}
	if len(c.pos) < len(c.ids) {
		b.eventsCommitted()
	}
	b.wake(lanes...)
	if len(left) > 0 {
		// The completions have committed: a failure here leaves the
		// edges to RepairFlowEdges, it does not fail them.
		if err := b.resolveLeftEdges(ctx, left); err != nil {
			b.log.Warn("complete: flow edges left to the repair sweep", "error", err)
		}
	}
	return c.slowPath()
}

// runCompleteFlow runs completeFlowSQL over c, settling what it
// completed, and returns the upstreams whose edges it left and the lanes
// of the downstreams it promoted.
func (b *Backend) runCompleteFlow(ctx context.Context, c *completionBatch, ps []backend.CompleteParams) (left []ff.ExecutionID, lanes []string, err error) {
	rows, err := b.pool.Query(ctx, completeFlowSQL, c.args(b.nowArg())...)
	if err != nil {
		return nil, nil, err
	}
	var (
		id       string
		unsolved int64
		woken    []string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &unsolved, &woken}, func() error {
		i := c.settle(id)
		lanes = append(lanes, woken...)
		if unsolved > 0 {
			left = append(left, ps[i].Handle.Lease.ExecutionID)
		}
		return nil
	})
	return left, lanes, err
}

// resolveLeftEdges resolves, in one transaction, the unresolved outgoing
// edges of ups, which have ended, and decides their downstreams' joins
// (LockExecutions locks ups in id order).
func (b *Backend) resolveLeftEdges(ctx context.Context, ups []ff.ExecutionID) error {
	return b.inFlowTx(ctx, "resolve flow edges", func(s *flowStore) error {
		recs, err := s.LockExecutions(ups)
		if err != nil {
			return err
		}
		ended := make([]*ff.Execution, 0, len(ups))
		for _, id := range ups {
			if e := recs[id]; e != nil && e.State.LifecyclePhase == ff.PhaseTerminal {
				ended = append(ended, e)
			}
		}
		return backend.ResolveFlowEdgesMany(s, ended)
	})
}
