package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Budgets cover budgets, usage and quotas (a later wave; the types below
// are placeholders its team will redesign). An unknown budget is
// not_found.
type Budgets interface {
	// CreateBudget creates a budget; the same BudgetID again is harmless.
	CreateBudget(ctx context.Context, p CreateBudgetParams) error
	// ReportUsage adds usage under the lease; the same DedupKey again is
	// applied once (already_applied).
	ReportUsage(ctx context.Context, p ReportUsageParams) (ReportUsageResult, error)
	// GetBudgetStatus returns a budget's usage.
	GetBudgetStatus(ctx context.Context, p GetBudgetStatusParams) (BudgetStatus, error)
	// CreateQuotaPolicy creates a quota; the same QuotaID again is
	// harmless.
	CreateQuotaPolicy(ctx context.Context, p CreateQuotaPolicyParams) error
}

// CreateBudgetParams is the input of CreateBudget.
type CreateBudgetParams struct {
	BudgetID   string
	Dimensions map[string]BudgetLimit
}

// BudgetLimit is one dimension's limits.
type BudgetLimit struct {
	Soft int64
	Hard int64
}

// ReportUsageParams is the input of ReportUsage.
type ReportUsageParams struct {
	Handle   ff.Handle
	BudgetID string
	Usage    map[string]int64
	DedupKey string
}

// ReportUsageResult is the result of ReportUsage.
type ReportUsageResult struct {
	Outcome string
}

// GetBudgetStatusParams is the input of GetBudgetStatus.
type GetBudgetStatusParams struct {
	BudgetID string
}

// BudgetStatus is a budget's usage.
type BudgetStatus struct {
	BudgetID string
	Usage    map[string]int64
}

// CreateQuotaPolicyParams is the input of CreateQuotaPolicy.
type CreateQuotaPolicyParams struct {
	QuotaID        string
	RatePerSecond  float64
	MaxConcurrency int
}

// UnimplementedBudgets answers every budget and quota operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedBudgets struct{}

func (UnimplementedBudgets) CreateBudget(context.Context, CreateBudgetParams) error {
	return ff.Unavailable("create_budget")
}

func (UnimplementedBudgets) ReportUsage(context.Context, ReportUsageParams) (ReportUsageResult, error) {
	return ReportUsageResult{}, ff.Unavailable("report_usage")
}

func (UnimplementedBudgets) GetBudgetStatus(context.Context, GetBudgetStatusParams) (BudgetStatus, error) {
	return BudgetStatus{}, ff.Unavailable("get_budget_status")
}

func (UnimplementedBudgets) CreateQuotaPolicy(context.Context, CreateQuotaPolicyParams) error {
	return ff.Unavailable("create_quota_policy")
}
