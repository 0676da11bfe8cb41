package server

import (
	"fmt"
	"reflect"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The constraints of the budget and quota routes, merged into the tables
// of constraints.go.
func init() {
	pathParams["budget_id"] = map[string]any{"description": "budget id, percent-encoded",
		"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": ff.MaxIdentifierBytes, "pattern": identPattern}}
	pathParams["quota_id"] = map[string]any{"description": "quota id, percent-encoded",
		"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": ff.MaxIdentifierBytes, "pattern": identPattern}}
	limits := kw("maxProperties", ff.MaxBudgetDimensions,
		"propertyNames", map[string]any{"minLength": 1, "maxLength": ff.MaxDimensionBytes, "pattern": identPattern},
		"description", fmt.Sprintf("per dimension {\"hard\":n,\"soft\":n}, each an integer >= 0 (0 = no limit); at most %d dimensions", ff.MaxBudgetDimensions))
	deltas := kw("minProperties", 1, "maxProperties", ff.MaxBudgetDimensions,
		"propertyNames", map[string]any{"minLength": 1, "maxLength": ff.MaxDimensionBytes, "pattern": identPattern},
		"additionalProperties", map[string]any{"type": "integer", "minimum": 0},
		"description", "the increment of each dimension, an integer >= 0")
	dedup := kw("maxLength", ff.MaxIdentifierBytes, "pattern", keyPattern,
		"description", "a report with a key already applied to the budget (within 24 h) answers already_applied")
	fieldRules[reflect.TypeFor[wire.CreateBudgetRequest]()] = map[string]rule{
		"budget_id":         identRule("the budget's id"),
		"scope_type":        kw("maxLength", ff.MaxIdentifierBytes, "pattern", namePattern),
		"scope_id":          kw("maxLength", ff.MaxIdentifierBytes, "pattern", namePattern),
		"limits":            limits,
		"reset_interval_ms": kw("minimum", 0, "maximum", ff.MaxDurationMs, "description", "0 = never; usage is zeroed every interval"),
	}
	fieldRules[reflect.TypeFor[ff.BudgetLimit]()] = map[string]rule{
		"hard": kw("minimum", 0, "description", "a report that would go above it is refused (hard_breach); a claim admits nothing while usage is at it"),
		"soft": kw("minimum", 0, "description", "a report that goes above it is applied and counted (soft_breach)"),
	}
	fieldRules[reflect.TypeFor[wire.SetBudgetLimitsRequest]()] = map[string]rule{"limits": limits}
	fieldRules[reflect.TypeFor[wire.ReportUsageRequest]()] = map[string]rule{"dimensions": deltas, "dedup_key": dedup}
	fieldRules[reflect.TypeFor[wire.TaskUsageRequest]()] = map[string]rule{"handle": handleRule(), "dimensions": deltas, "dedup_key": dedup}
	fieldRules[reflect.TypeFor[wire.CreateQuotaRequest]()] = map[string]rule{
		"quota_id":       identRule("the quota's id"),
		"window_ms":      kw("minimum", 0, "maximum", ff.MaxDurationMs, "description", "the sliding window of max_per_window (exact); required with it"),
		"max_per_window": kw("minimum", 0, "description", "admissions allowed in any window_ms; 0 = no rate limit"),
		"max_concurrent": kw("minimum", 0, "description", "executions holding a lease at once; 0 = no cap"),
	}
	pol := fieldRules[reflect.TypeFor[ff.ExecutionPolicy]()]
	refs := func(what string) rule {
		return kw("maxItems", ff.MaxPolicyRefs, "uniqueItems", true,
			"items", map[string]any{"type": "string", "minLength": 1, "maxLength": ff.MaxIdentifierBytes, "pattern": identPattern},
			"description", "the "+what+" the execution runs under (admission at claim); each must exist at create")
	}
	pol["budget_ids"] = refs("budgets")
	pol["quota_ids"] = refs("quotas")
}
