package server

import (
	"fmt"
	"reflect"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// flowIDPattern is a flow id: a lowercase canonical UUID (ff.ParseFlowID).
const flowIDPattern = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`

// The constraints of the flow routes, merged into the tables of
// constraints.go.
func init() {
	pathParams["flow_id"] = map[string]any{"description": "flow id (a lowercase uuid)",
		"schema": map[string]any{"type": "string", "pattern": flowIDPattern}}
	create := fieldRules[reflect.TypeFor[wire.CreateExecutionRequest]()]
	create["flow_id"] = kw("pattern", flowIDPattern, "description", "make the execution a member of this flow (created on its partition)")
	create["depends_on"] = kw("maxItems", ff.MaxFlowRequestEdges, "items", map[string]any{"type": "string", "pattern": executionIDPat},
		"description", "upstream members of the same flow (edges success_only); needs flow_id; the member is waiting_children until its join is satisfied")
	create["join"] = kw("description", `{"policy":"all_of"|"any_of"|"quorum","n":k (quorum: 1..upstreams),"on_satisfied":"let_run"|"cancel_remaining"}; default all_of, let_run`)
	fieldRules[reflect.TypeFor[wire.CreateFlowRequest]()] = map[string]rule{
		"flow_id":    kw("pattern", flowIDPattern, "description", "minted when absent; the same id again answers the stored flow"),
		"kind":       create["kind"],
		"namespace":  create["namespace"],
		"executions": kw("maxItems", ff.MaxFlowRequestExecutions, "description", fmt.Sprintf("the DAG: at most %d executions and %d depends_on_refs in all", ff.MaxFlowRequestExecutions, ff.MaxFlowRequestEdges)),
	}
	fieldRules[reflect.TypeFor[wire.FlowExecution]()] = map[string]rule{
		"ref":             kw("minLength", 1, "maxLength", ff.MaxIdentifierBytes, "description", "a name local to the request, unique in it"),
		"depends_on_refs": kw("description", "refs of this request this execution depends on"),
	}
	fieldRules[reflect.TypeFor[wire.AddFlowEdgeRequest]()] = map[string]rule{
		"upstream_execution_id":   kw("pattern", executionIDPat),
		"downstream_execution_id": kw("pattern", executionIDPat),
		"kind":                    kw("enum", []string{ff.EdgeSuccessOnly, ff.EdgeCompletion}, "description", "success_only (default): satisfied by success; completion: by any end"),
		"expected_graph_revision": kw("minimum", 0, "description", "optimistic check: 409 stale_graph_revision when the flow is elsewhere"),
	}
	fieldRules[reflect.TypeFor[wire.CancelFlowRequest]()] = map[string]rule{
		"policy": kw("enum", []string{ff.CancelFlowAll, ff.CancelFlowPending, ff.CancelFlowOnly},
			"description", "cancel_all (default): every unended member; cancel_pending: members not running; flow_only: none"),
		"reason": kw("description", fmt.Sprintf("free text, stored cut at %d bytes on a character boundary", ff.MaxReasonBytes)),
		"wait":   kw("description", "cancel the members before answering (pending 0); otherwise a reconciler works the backlog"),
	}
}
