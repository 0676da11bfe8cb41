package server

import (
	"fmt"
	"reflect"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The constraints of the events and operator routes, merged into the
// tables of constraints.go.
func init() {
	pathParams["lane"] = map[string]any{"description": "lane name, percent-encoded",
		"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": ff.MaxLaneBytes, "pattern": lanePattern}}
	reason := kw("description", fmt.Sprintf("why: free text, stored cut at %d bytes on a character boundary", ff.MaxReasonBytes))
	source := kw("default", ff.DefaultOperatorSource,
		"description", fmt.Sprintf("who: a person, a tool; free text cut at %d bytes", ff.MaxCancelSourceBytes))
	fieldRules[reflect.TypeFor[wire.OperatorRequest]()] = map[string]rule{"reason": reason, "source": source}
	fieldRules[reflect.TypeFor[wire.PriorityRequest]()] = map[string]rule{
		"priority": kw("minimum", ff.MinPriority, "maximum", ff.MaxPriority,
			"description", "required; larger is more urgent; out of range is refused (400)"),
		"reason": reason, "source": source,
	}
	fieldRules[reflect.TypeFor[wire.BulkRequest]()] = map[string]rule{
		"public_state": kw("enum", strs(ff.PublicStates...),
			"description", "required; bulk-replay takes a terminal state, bulk-cancel a non-terminal one"),
		"cursor": kw("pattern", executionIDPat, "description", "next_cursor of the previous step; absent: from the start"),
		"limit":  kw("minimum", 0, "maximum", 1000, "default", 100, "description", "executions acted on at most in this step; absent or 0 means 100"),
		"reason": reason, "source": source,
	}
}
