package backend

import (
	"context"
	"sync/atomic"

	ff "github.com/flowfabric-go/flowfabric"
)

// Budgets cover budgets, usage reports, quotas and the reconcilers of
// admission (spec flows-waitpoints-budgets-streams §3). An unknown budget
// is not_found (entity "budget"), an unknown quota not_found (entity
// "quota"). Admission itself runs inside Claim for executions whose
// policy lists budgets or quotas (ff.HookAdmission).
type Budgets interface {
	// CreateBudget creates a budget; the same ID again answers
	// Created=false and changes nothing.
	CreateBudget(ctx context.Context, p CreateBudgetParams) (CreateResult, error)
	// GetBudget returns a budget's definition and usage.
	GetBudget(ctx context.Context, p GetBudgetParams) (ff.BudgetStatus, error)
	// SetBudgetLimits replaces the limits of the dimensions p names
	// (raise or lower; others are kept). Executions blocked by the budget
	// that it no longer holds at a hard limit become claimable in the
	// same transaction.
	SetBudgetLimits(ctx context.Context, p SetBudgetLimitsParams) (ff.BudgetStatus, error)
	// ResetBudget zeroes the usage, clears the last breach (the breach
	// counters are kept), schedules the next reset, and makes the
	// executions blocked by the budget claimable, in one transaction.
	ResetBudget(ctx context.Context, p ResetBudgetParams) (ResetBudgetResult, error)
	// ReportUsage is an operator's report against one budget.
	ReportUsage(ctx context.Context, p ReportUsageParams) (ff.UsageResult, error)
	// ReportTaskUsage is a worker's report under its lease (fenced)
	// against every budget in the execution's policy.budget_ids, each
	// evaluated on its own, in one transaction; results follow the
	// policy's order.
	ReportTaskUsage(ctx context.Context, p ReportTaskUsageParams) ([]ff.UsageResult, error)
	// CreateQuota creates a quota; the same ID again answers
	// Created=false and changes nothing.
	CreateQuota(ctx context.Context, p CreateQuotaParams) (CreateResult, error)
	// GetQuota returns a quota's definition and current use.
	GetQuota(ctx context.Context, p GetQuotaParams) (ff.QuotaStatus, error)
	// ListBudgets pages budgets by id, each as GetBudget answers it.
	ListBudgets(ctx context.Context, p ListByIDParams) (BudgetPage, error)
	// ListQuotas pages quotas by id, each as GetQuota answers it.
	ListQuotas(ctx context.Context, p ListByIDParams) (QuotaPage, error)

	// The reconcilers' sweeps (safe to repeat and to run concurrently).

	// ResetDueBudgets resets up to p.Limit budgets whose next_reset_at_ms
	// has come, each like ResetBudget (a concurrent manual reset makes it
	// a no-op), and returns how many.
	ResetDueBudgets(ctx context.Context, p SweepParams) (int, error)
	// UnblockDue unblocks the executions of up to p.Limit quotas whose
	// window has room again (the due time recorded when a full window
	// blocked one) and returns how many executions it unblocked.
	UnblockDue(ctx context.Context, p SweepParams) (int, error)
	// RepairQuotaSlots deletes up to p.Limit slot rows whose execution no
	// longer holds a live lease (drift); then, as the backstop of every
	// unblocking event, each budget or quota with blocked executions
	// unblocks what it has room for. It returns the slots deleted plus
	// the executions unblocked.
	RepairQuotaSlots(ctx context.Context, p SweepParams) (int, error)
	// ExpireUsageDedup deletes up to p.Limit usage dedup keys past their
	// expiry and returns how many.
	ExpireUsageDedup(ctx context.Context, p SweepParams) (int, error)
	// AdmissionStats reads how many executions wait blocked by a budget
	// and by a quota (from the store), and how many claims this process's
	// backend refused since it was opened (a process-local counter).
	AdmissionStats(ctx context.Context, p AdmissionStatsParams) (AdmissionStats, error)
}

// AdmissionStatsParams selects the admission statistics; it has no field
// yet (every statistic is read), and keeps the seam's (ctx, params) shape.
type AdmissionStatsParams struct{}

// AdmissionStats is the input of the admission metrics.
type AdmissionStats struct {
	BlockedByBudget, BlockedByQuota int64
	RefusedByBudget, RefusedByQuota uint64
}

// AdmissionCounter counts a store's admission refusals by reason; safe
// for concurrent use. Stores embed it and call Refused.
type AdmissionCounter struct {
	budget, quota atomic.Uint64
}

// Refused counts one refusal by its eligibility (BlockedByBudget or
// BlockedByQuota).
func (c *AdmissionCounter) Refused(by ff.EligibilityState) {
	if by == ff.BlockedByBudget {
		c.budget.Add(1)
	} else {
		c.quota.Add(1)
	}
}

// Counts returns the refusals so far (budget, quota).
func (c *AdmissionCounter) Counts() (budget, quota uint64) { return c.budget.Load(), c.quota.Load() }

// CreateResult tells a create-if-absent whether it created.
type CreateResult struct {
	Created bool
}

// CreateBudgetParams is the input of CreateBudget.
type CreateBudgetParams struct {
	ff.BudgetDefinition
}

// Normalize validates p (ff.BudgetDefinition.Validate).
func (p *CreateBudgetParams) Normalize() error { return p.Validate() }

// GetBudgetParams is the input of GetBudget.
type GetBudgetParams struct {
	BudgetID string
}

// SetBudgetLimitsParams is the input of SetBudgetLimits.
type SetBudgetLimitsParams struct {
	BudgetID string
	Limits   map[string]ff.BudgetLimit
}

// Normalize validates p: a budget id and 1..MaxBudgetDimensions limits.
func (p *SetBudgetLimitsParams) Normalize() error {
	if err := ff.ValidateIdentifier("budget_id", p.BudgetID); err != nil {
		return err
	}
	if len(p.Limits) == 0 {
		return ff.Validation(ff.ErrInvalidInput, "limits: at least one dimension is required")
	}
	return ff.ValidateLimits(p.Limits)
}

// ResetBudgetParams is the input of ResetBudget.
type ResetBudgetParams struct {
	BudgetID string
}

// ResetBudgetResult is the result of ResetBudget: the next scheduled
// reset, 0 when the budget has no interval.
type ResetBudgetResult struct {
	NextResetAtMs int64
	Unblocked     int
}

// ReportUsageParams is the input of ReportUsage. A report whose
// DedupKey was already applied to the budget answers already_applied.
type ReportUsageParams struct {
	BudgetID   string
	Dimensions map[string]int64
	DedupKey   string
}

// Normalize validates p.
func (p *ReportUsageParams) Normalize() error {
	if err := ff.ValidateIdentifier("budget_id", p.BudgetID); err != nil {
		return err
	}
	return ff.ValidateUsage(p.Dimensions, p.DedupKey)
}

// ReportTaskUsageParams is the input of ReportTaskUsage.
type ReportTaskUsageParams struct {
	Handle     ff.Handle
	Dimensions map[string]int64
	DedupKey   string
}

// Normalize validates p (the fence is checked by the store).
func (p *ReportTaskUsageParams) Normalize() error {
	return ff.ValidateUsage(p.Dimensions, p.DedupKey)
}

// CreateQuotaParams is the input of CreateQuota.
type CreateQuotaParams struct {
	ff.QuotaDefinition
}

// Normalize validates p (ff.QuotaDefinition.Validate).
func (p *CreateQuotaParams) Normalize() error { return p.Validate() }

// GetQuotaParams is the input of GetQuota.
type GetQuotaParams struct {
	QuotaID string
}

// Validate checks the id a read or reset names.
func (p GetBudgetParams) Validate() error   { return ff.ValidateIdentifier("budget_id", p.BudgetID) }
func (p ResetBudgetParams) Validate() error { return ff.ValidateIdentifier("budget_id", p.BudgetID) }
func (p GetQuotaParams) Validate() error    { return ff.ValidateIdentifier("quota_id", p.QuotaID) }

// ListByIDParams pages budgets or quotas by id, after Cursor (an id,
// exclusive).
type ListByIDParams struct {
	Cursor string
	Limit  int // 0 = 50; at most 1000
}

// Normalize validates the cursor and applies the paging rule every store
// shares.
func (p *ListByIDParams) Normalize() error {
	if err := ff.ValidateKey("cursor", p.Cursor, ff.MaxIdentifierBytes); err != nil {
		return err
	}
	return normalizePageLimit(&p.Limit, 50)
}

// ReadPage cuts ids, read with Limit+1, to one page and reads each with
// get: the page and the cursor of the next one ("" on the last page).
func ReadPage[T any](p ListByIDParams, ids []string, get func(id string) (T, error)) ([]T, string, error) {
	next := ""
	if len(ids) > p.Limit {
		ids, next = ids[:p.Limit], ids[p.Limit-1]
	}
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		v, err := get(id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}

// BudgetPage is a page of ListBudgets.
type BudgetPage struct {
	Budgets    []ff.BudgetStatus
	NextCursor string // "" on the last page
}

// QuotaPage is a page of ListQuotas.
type QuotaPage struct {
	Quotas     []ff.QuotaStatus
	NextCursor string // "" on the last page
}

// UnimplementedBudgets answers every budget and quota operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedBudgets struct{}

func (UnimplementedBudgets) CreateBudget(context.Context, CreateBudgetParams) (CreateResult, error) {
	return CreateResult{}, ff.Unavailable("create_budget")
}

func (UnimplementedBudgets) GetBudget(context.Context, GetBudgetParams) (ff.BudgetStatus, error) {
	return ff.BudgetStatus{}, ff.Unavailable("get_budget_status")
}

func (UnimplementedBudgets) SetBudgetLimits(context.Context, SetBudgetLimitsParams) (ff.BudgetStatus, error) {
	return ff.BudgetStatus{}, ff.Unavailable("set_budget_limits")
}

func (UnimplementedBudgets) ResetBudget(context.Context, ResetBudgetParams) (ResetBudgetResult, error) {
	return ResetBudgetResult{}, ff.Unavailable("reset_budget")
}

func (UnimplementedBudgets) ReportUsage(context.Context, ReportUsageParams) (ff.UsageResult, error) {
	return ff.UsageResult{}, ff.Unavailable("report_usage")
}

func (UnimplementedBudgets) ReportTaskUsage(context.Context, ReportTaskUsageParams) ([]ff.UsageResult, error) {
	return nil, ff.Unavailable("report_usage")
}

func (UnimplementedBudgets) CreateQuota(context.Context, CreateQuotaParams) (CreateResult, error) {
	return CreateResult{}, ff.Unavailable("create_quota_policy")
}

func (UnimplementedBudgets) ListBudgets(context.Context, ListByIDParams) (BudgetPage, error) {
	return BudgetPage{}, ff.Unavailable("list_budgets")
}

func (UnimplementedBudgets) ListQuotas(context.Context, ListByIDParams) (QuotaPage, error) {
	return QuotaPage{}, ff.Unavailable("list_quotas")
}

func (UnimplementedBudgets) GetQuota(context.Context, GetQuotaParams) (ff.QuotaStatus, error) {
	return ff.QuotaStatus{}, ff.Unavailable("get_quota")
}

func (UnimplementedBudgets) ResetDueBudgets(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("reset_due_budgets")
}

func (UnimplementedBudgets) UnblockDue(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("unblock_due")
}

func (UnimplementedBudgets) RepairQuotaSlots(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("repair_quota_slots")
}

func (UnimplementedBudgets) ExpireUsageDedup(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("expire_usage_dedup")
}

func (UnimplementedBudgets) AdmissionStats(context.Context, AdmissionStatsParams) (AdmissionStats, error) {
	return AdmissionStats{}, ff.Unavailable("admission_stats")
}
