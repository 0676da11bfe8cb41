package client

import (
	"context"
	"net/http"
	"net/url"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The budget and quota methods mirror backend.Budgets over /v1/budgets,
// /v1/quotas and /v1/tasks/usage. The reconcilers' sweeps have no route.

// CreateBudget creates a budget (POST /v1/budgets); Created is false when
// it already existed.
func (c *Client) CreateBudget(ctx context.Context, p backend.CreateBudgetParams) (backend.CreateResult, error) {
	req := wire.CreateBudgetRequest{BudgetID: p.ID, ScopeType: p.ScopeType, ScopeID: p.ScopeID, Limits: p.Limits,
		ResetIntervalMs: p.ResetIntervalMs}
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/budgets", in: req}, nil)
	return backend.CreateResult{Created: status == http.StatusCreated}, err
}

// GetBudget returns a budget's limits and usage (GET /v1/budgets/{id}).
func (c *Client) GetBudget(ctx context.Context, p backend.GetBudgetParams) (ff.BudgetStatus, error) {
	var out wire.Budget
	_, err := c.do(ctx, call{method: http.MethodGet, path: budgetPath(p.BudgetID, "")}, &out)
	return out.Status(), err
}

// SetBudgetLimits raises or lowers limits (PUT /v1/budgets/{id}/limits).
func (c *Client) SetBudgetLimits(ctx context.Context, p backend.SetBudgetLimitsParams) (ff.BudgetStatus, error) {
	var out wire.Budget
	_, err := c.do(ctx, call{method: http.MethodPut, path: budgetPath(p.BudgetID, "/limits"),
		in: wire.SetBudgetLimitsRequest{Limits: p.Limits}}, &out)
	return out.Status(), err
}

// ResetBudget zeroes a budget's usage (POST /v1/budgets/{id}/reset).
func (c *Client) ResetBudget(ctx context.Context, p backend.ResetBudgetParams) (backend.ResetBudgetResult, error) {
	var out wire.ResetBudgetResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: budgetPath(p.BudgetID, "/reset")}, &out)
	return backend.ResetBudgetResult{NextResetAtMs: out.NextResetAtMs, Unblocked: out.Unblocked}, err
}

// ReportUsage is an operator's usage report (POST /v1/budgets/{id}/usage).
func (c *Client) ReportUsage(ctx context.Context, p backend.ReportUsageParams) (ff.UsageResult, error) {
	var out wire.UsageOutcome
	_, err := c.do(ctx, call{method: http.MethodPost, path: budgetPath(p.BudgetID, "/usage"),
		in: wire.ReportUsageRequest{Dimensions: p.Dimensions, DedupKey: p.DedupKey}}, &out)
	return out.UsageResult(), err
}

// ReportTaskUsage is a worker's usage report under its lease (POST
// /v1/tasks/usage).
func (c *Client) ReportTaskUsage(ctx context.Context, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	var out wire.TaskUsageResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/usage",
		in: wire.TaskUsageRequest{Handle: p.Handle.String(), Dimensions: p.Dimensions, DedupKey: p.DedupKey}}, &out)
	if err != nil {
		return nil, err
	}
	res := make([]ff.UsageResult, len(out.Outcomes))
	for i, o := range out.Outcomes {
		res[i] = o.UsageResult()
	}
	return res, nil
}

// CreateQuota creates a quota (POST /v1/quotas); Created is false when it
// already existed.
func (c *Client) CreateQuota(ctx context.Context, p backend.CreateQuotaParams) (backend.CreateResult, error) {
	req := wire.CreateQuotaRequest{QuotaID: p.ID, WindowMs: p.WindowMs, MaxPerWindow: p.MaxPerWindow, MaxConcurrent: p.MaxConcurrent}
	status, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/quotas", in: req}, nil)
	return backend.CreateResult{Created: status == http.StatusCreated}, err
}

// GetQuota returns a quota's definition and use (GET /v1/quotas/{id}).
func (c *Client) GetQuota(ctx context.Context, p backend.GetQuotaParams) (ff.QuotaStatus, error) {
	var out wire.Quota
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/quotas/" + url.PathEscape(p.QuotaID)}, &out)
	return out.Status(), err
}

func budgetPath(id, suffix string) string {
	return "/v1/budgets/" + url.PathEscape(id) + suffix
}
