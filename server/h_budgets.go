package server

import (
	"net/http"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// budgetRoutes are the routes of budgets, quotas and usage (issue 13,
// DESIGN §5.1 "Budgets, quotas, admission"), plus the reads and the limit
// change the design leaves to the same style.
func (s *Server) budgetRoutes() []*route {
	lim := s.limits
	return []*route{
		{method: "POST", path: "/v1/budgets", op: "createBudget", limit: lim.Create,
			summary: "Create a budget; the same budget_id again answers 200 and changes nothing.",
			body:    wire.CreateBudgetRequest{},
			responses: []response{ok(201, "created", wire.CreateBudgetResponse{}),
				ok(200, "the budget exists (its definition unchanged)", wire.CreateBudgetResponse{})},
			handle: (*Server).createBudget},
		{method: "GET", path: "/v1/budgets/{budget_id}", op: "getBudget",
			summary:   "A budget's limits, usage and breach counters.",
			responses: []response{ok(200, "the budget", wire.Budget{})},
			handle:    (*Server).getBudget},
		{method: "PUT", path: "/v1/budgets/{budget_id}/limits", op: "setBudgetLimits", limit: lim.Control,
			summary:   "Raise or lower the limits of the dimensions named (others are kept); executions the budget no longer blocks become claimable.",
			body:      wire.SetBudgetLimitsRequest{},
			responses: []response{ok(200, "the budget", wire.Budget{})},
			handle:    (*Server).setBudgetLimits},
		{method: "POST", path: "/v1/budgets/{budget_id}/usage", op: "reportBudgetUsage", limit: lim.Control,
			summary:   "An operator's usage report; a hard breach applies nothing; a dedup_key already applied answers already_applied.",
			body:      wire.ReportUsageRequest{},
			responses: []response{ok(200, "the outcome", wire.UsageOutcome{})},
			handle:    (*Server).reportBudgetUsage},
		{method: "POST", path: "/v1/budgets/{budget_id}/reset", op: "resetBudget",
			summary:   "Zero the usage and schedule the next reset; executions blocked by the budget become claimable.",
			responses: []response{ok(200, "reset", wire.ResetBudgetResponse{})},
			handle:    (*Server).resetBudget},
		{method: "POST", path: "/v1/tasks/usage", op: "reportTaskUsage", limit: lim.Control,
			summary:   "A worker's usage report under its lease, against every budget of the execution's policy.budget_ids.",
			body:      wire.TaskUsageRequest{},
			responses: []response{ok(200, "one outcome per budget", wire.TaskUsageResponse{})},
			handle:    (*Server).reportTaskUsage},
		{method: "POST", path: "/v1/quotas", op: "createQuota", limit: lim.Create,
			summary: "Create a quota (a rate window and/or a concurrency cap); the same quota_id again answers 200 and changes nothing.",
			body:    wire.CreateQuotaRequest{},
			responses: []response{ok(201, "created", wire.CreateQuotaResponse{}),
				ok(200, "the quota exists (its definition unchanged)", wire.CreateQuotaResponse{})},
			handle: (*Server).createQuota},
		{method: "GET", path: "/v1/quotas/{quota_id}", op: "getQuota",
			summary:   "A quota's definition and current use.",
			responses: []response{ok(200, "the quota", wire.Quota{})},
			handle:    (*Server).getQuota},
	}
}

func (s *Server) createBudget(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateBudgetRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	res, err := s.b.CreateBudget(r.Context(), backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{
		ID: req.BudgetID, ScopeType: req.ScopeType, ScopeID: req.ScopeID, Limits: req.Limits,
		ResetIntervalMs: req.ResetIntervalMs}})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, createdOr200(res.Created), wire.CreateBudgetResponse{BudgetID: req.BudgetID})
	return nil
}

func createdOr200(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) getBudget(w http.ResponseWriter, r *http.Request) error {
	st, err := s.b.GetBudget(r.Context(), backend.GetBudgetParams{BudgetID: r.PathValue("budget_id")})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.BudgetOf(st))
	return nil
}

func (s *Server) setBudgetLimits(w http.ResponseWriter, r *http.Request) error {
	var req wire.SetBudgetLimitsRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	st, err := s.b.SetBudgetLimits(r.Context(), backend.SetBudgetLimitsParams{BudgetID: r.PathValue("budget_id"), Limits: req.Limits})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.BudgetOf(st))
	return nil
}

func (s *Server) reportBudgetUsage(w http.ResponseWriter, r *http.Request) error {
	var req wire.ReportUsageRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	res, err := s.b.ReportUsage(r.Context(), backend.ReportUsageParams{BudgetID: r.PathValue("budget_id"),
		Dimensions: req.Dimensions, DedupKey: req.DedupKey})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.UsageOutcomeOf(res))
	return nil
}

func (s *Server) resetBudget(w http.ResponseWriter, r *http.Request) error {
	res, err := s.b.ResetBudget(r.Context(), backend.ResetBudgetParams{BudgetID: r.PathValue("budget_id")})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.ResetBudgetResponse{NextResetAtMs: res.NextResetAtMs, Unblocked: res.Unblocked})
	return nil
}

func (s *Server) reportTaskUsage(w http.ResponseWriter, r *http.Request) error {
	var req wire.TaskUsageRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	h, err := parseHandle("handle", req.Handle)
	if err != nil {
		return err
	}
	res, err := s.b.ReportTaskUsage(r.Context(), backend.ReportTaskUsageParams{Handle: h, Dimensions: req.Dimensions,
		DedupKey: req.DedupKey})
	if err != nil {
		return err
	}
	out := wire.TaskUsageResponse{Outcomes: []wire.UsageOutcome{}}
	for _, o := range res {
		out.Outcomes = append(out.Outcomes, wire.UsageOutcomeOf(o))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) createQuota(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateQuotaRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	res, err := s.b.CreateQuota(r.Context(), backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{
		ID: req.QuotaID, WindowMs: req.WindowMs, MaxPerWindow: req.MaxPerWindow, MaxConcurrent: req.MaxConcurrent}})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, createdOr200(res.Created), wire.CreateQuotaResponse{QuotaID: req.QuotaID})
	return nil
}

func (s *Server) getQuota(w http.ResponseWriter, r *http.Request) error {
	st, err := s.b.GetQuota(r.Context(), backend.GetQuotaParams{QuotaID: r.PathValue("quota_id")})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.QuotaOf(st))
	return nil
}
