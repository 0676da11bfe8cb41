package wire

import ff "github.com/flowfabric-go/flowfabric"

// CreateBudgetRequest is the body of POST /v1/budgets.
type CreateBudgetRequest struct {
	BudgetID  string `json:"budget_id"`
	ScopeType string `json:"scope_type,omitempty"`
	ScopeID   string `json:"scope_id,omitempty"`
	// Limits are per dimension: {"<dimension>":{"hard":n,"soft":n}}, 0 =
	// no limit of that kind.
	Limits          map[string]ff.BudgetLimit `json:"limits,omitempty"`
	ResetIntervalMs int64                     `json:"reset_interval_ms,omitempty"`
}

// CreateBudgetResponse answers POST /v1/budgets (201 created, 200
// existing).
type CreateBudgetResponse struct {
	BudgetID string `json:"budget_id"`
}

// Budget is a budget's definition and usage (GET /v1/budgets/{id}).
type Budget struct {
	BudgetID            string           `json:"budget_id"`
	ScopeType           string           `json:"scope_type"`
	ScopeID             string           `json:"scope_id"`
	Usage               map[string]int64 `json:"usage"`
	HardLimits          map[string]int64 `json:"hard_limits"`
	SoftLimits          map[string]int64 `json:"soft_limits"`
	BreachCount         int64            `json:"breach_count"`
	SoftBreachCount     int64            `json:"soft_breach_count"`
	LastBreachDimension string           `json:"last_breach_dimension"`
	LastBreachAtMs      int64            `json:"last_breach_at_ms,omitempty"`
	ResetIntervalMs     int64            `json:"reset_interval_ms"`
	NextResetAtMs       int64            `json:"next_reset_at_ms"`
	CreatedAtMs         int64            `json:"created_at_ms"`
}

// BudgetOf is the wire form of st.
func BudgetOf(st ff.BudgetStatus) Budget {
	return Budget{BudgetID: st.ID, ScopeType: st.ScopeType, ScopeID: st.ScopeID, Usage: st.Usage,
		HardLimits: st.HardLimits, SoftLimits: st.SoftLimits, BreachCount: st.BreachCount,
		SoftBreachCount: st.SoftBreachCount, LastBreachDimension: st.LastBreachDimension,
		LastBreachAtMs: st.LastBreachAtMs, ResetIntervalMs: st.ResetIntervalMs, NextResetAtMs: st.NextResetAtMs,
		CreatedAtMs: st.CreatedAtMs}
}

// SetBudgetLimitsRequest is the body of PUT /v1/budgets/{id}/limits: the
// dimensions named get these limits (raise or lower); others are kept.
type SetBudgetLimitsRequest struct {
	Limits map[string]ff.BudgetLimit `json:"limits"`
}

// ReportUsageRequest is the body of POST /v1/budgets/{id}/usage.
type ReportUsageRequest struct {
	Dimensions map[string]int64 `json:"dimensions"`
	DedupKey   string           `json:"dedup_key,omitempty"`
}

// UsageOutcome is the outcome of a report against one budget.
type UsageOutcome struct {
	BudgetID     string          `json:"budget_id,omitempty"`
	Outcome      ff.UsageOutcome `json:"outcome"`
	Dimension    string          `json:"dimension,omitempty"`
	CurrentUsage int64           `json:"current_usage"`
	Limit        int64           `json:"limit"`
}

// UsageOutcomeOf is the wire form of r.
func UsageOutcomeOf(r ff.UsageResult) UsageOutcome {
	return UsageOutcome{BudgetID: r.BudgetID, Outcome: r.Outcome, Dimension: r.Dimension,
		CurrentUsage: r.CurrentUsage, Limit: r.Limit}
}

// UsageResult converts back to the domain form.
func (o UsageOutcome) UsageResult() ff.UsageResult {
	return ff.UsageResult{BudgetID: o.BudgetID, Outcome: o.Outcome, Dimension: o.Dimension,
		CurrentUsage: o.CurrentUsage, Limit: o.Limit}
}

// ResetBudgetResponse answers POST /v1/budgets/{id}/reset.
type ResetBudgetResponse struct {
	NextResetAtMs int64 `json:"next_reset_at_ms"`
	Unblocked     int   `json:"unblocked"`
}

// TaskUsageRequest is the body of POST /v1/tasks/usage.
type TaskUsageRequest struct {
	Handle     string           `json:"handle"`
	Dimensions map[string]int64 `json:"dimensions"`
	DedupKey   string           `json:"dedup_key,omitempty"`
}

// TaskUsageResponse answers POST /v1/tasks/usage: one outcome per budget
// of the execution's policy.budget_ids, in its order.
type TaskUsageResponse struct {
	Outcomes []UsageOutcome `json:"outcomes"`
}

// CreateQuotaRequest is the body of POST /v1/quotas.
type CreateQuotaRequest struct {
	QuotaID       string `json:"quota_id"`
	WindowMs      int64  `json:"window_ms,omitempty"`
	MaxPerWindow  int64  `json:"max_per_window,omitempty"`
	MaxConcurrent int64  `json:"max_concurrent,omitempty"`
}

// CreateQuotaResponse answers POST /v1/quotas (201 created, 200
// existing).
type CreateQuotaResponse struct {
	QuotaID string `json:"quota_id"`
}

// Quota is a quota's definition and current use (GET /v1/quotas/{id}).
type Quota struct {
	QuotaID           string `json:"quota_id"`
	WindowMs          int64  `json:"window_ms"`
	MaxPerWindow      int64  `json:"max_per_window"`
	MaxConcurrent     int64  `json:"max_concurrent"`
	InWindow          int64  `json:"in_window"`
	ActiveConcurrency int64  `json:"active_concurrency"`
	Blocked           int64  `json:"blocked"`
	CreatedAtMs       int64  `json:"created_at_ms"`
}

// QuotaOf is the wire form of st.
func QuotaOf(st ff.QuotaStatus) Quota {
	return Quota{QuotaID: st.ID, WindowMs: st.WindowMs, MaxPerWindow: st.MaxPerWindow, MaxConcurrent: st.MaxConcurrent,
		InWindow: st.InWindow, ActiveConcurrency: st.ActiveConcurrency, Blocked: st.Blocked, CreatedAtMs: st.CreatedAtMs}
}

// Status is the domain form of q.
func (q Quota) Status() ff.QuotaStatus {
	return ff.QuotaStatus{QuotaDefinition: ff.QuotaDefinition{ID: q.QuotaID, WindowMs: q.WindowMs,
		MaxPerWindow: q.MaxPerWindow, MaxConcurrent: q.MaxConcurrent}, InWindow: q.InWindow,
		ActiveConcurrency: q.ActiveConcurrency, Blocked: q.Blocked, CreatedAtMs: q.CreatedAtMs}
}

// Status is the domain form of b.
func (b Budget) Status() ff.BudgetStatus {
	return ff.BudgetStatus{ID: b.BudgetID, ScopeType: b.ScopeType, ScopeID: b.ScopeID, Usage: b.Usage,
		HardLimits: b.HardLimits, SoftLimits: b.SoftLimits, BreachCount: b.BreachCount,
		SoftBreachCount: b.SoftBreachCount, LastBreachDimension: b.LastBreachDimension,
		LastBreachAtMs: b.LastBreachAtMs, ResetIntervalMs: b.ResetIntervalMs, NextResetAtMs: b.NextResetAtMs,
		CreatedAtMs: b.CreatedAtMs}
}
