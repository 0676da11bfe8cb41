package backend

import (
	"context"

	ff "github.com/flowfabric-go/flowfabric"
)

// Budgets cover budgets, usage and quotas (a later wave).
type Budgets interface {
	CreateBudget(ctx context.Context, p CreateBudgetParams) error
	ReportUsage(ctx context.Context, p ReportUsageParams) (ReportUsageResult, error)
	GetBudgetStatus(ctx context.Context, budget string) (BudgetStatus, error)
	CreateQuotaPolicy(ctx context.Context, p CreateQuotaParams) error
}

type CreateBudgetParams struct {
	BudgetID   string
	Dimensions map[string]BudgetLimit
}

type BudgetLimit struct {
	Soft int64
	Hard int64
}

type ReportUsageParams struct {
	Handle   ff.Handle
	BudgetID string
	Usage    map[string]int64
	DedupKey string
}

type ReportUsageResult struct {
	Outcome string
}

type BudgetStatus struct {
	BudgetID string
	Usage    map[string]int64
}

type CreateQuotaParams struct {
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
func (UnimplementedBudgets) GetBudgetStatus(context.Context, string) (BudgetStatus, error) {
	return BudgetStatus{}, ff.Unavailable("get_budget_status")
}
func (UnimplementedBudgets) CreateQuotaPolicy(context.Context, CreateQuotaParams) error {
	return ff.Unavailable("create_quota_policy")
}
