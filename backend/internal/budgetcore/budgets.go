package budgetcore

import (
	"math"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/internal/wpcore"
)

// CreateBudget inserts a budget with its limits; an existing ID answers
// Created=false and changes nothing.
func CreateBudget(t Tx, p backend.CreateBudgetParams) (backend.CreateResult, error) {
	created, err := t.InsertBudget(p.BudgetDefinition, ff.NextResetMs(t.Now(), p.ResetIntervalMs))
	if err != nil || !created {
		return backend.CreateResult{}, err
	}
	return backend.CreateResult{Created: true}, t.UpsertLimits(p.ID, p.Limits)
}

// SetLimits replaces the limits p names, then unblocks the executions
// the budget no longer holds at a hard limit.
func SetLimits(t Tx, p backend.SetBudgetLimitsParams) (ff.BudgetStatus, error) {
	if _, err := t.LockBudget(p.BudgetID, false); err != nil {
		return ff.BudgetStatus{}, err
	}
	if err := t.UpsertLimits(p.BudgetID, p.Limits); err != nil {
		return ff.BudgetStatus{}, err
	}
	if err := t.TouchBudget(p.BudgetID); err != nil {
		return ff.BudgetStatus{}, err
	}
	if _, err := UnblockBudget(t, p.BudgetID); err != nil {
		return ff.BudgetStatus{}, err
	}
	return t.BudgetStatus(p.BudgetID)
}

// Reset locks a budget and resets it (see resetLocked).
func Reset(t Tx, id string) (backend.ResetBudgetResult, error) {
	if _, err := t.LockBudget(id, false); err != nil {
		return backend.ResetBudgetResult{}, err
	}
	return resetLocked(t, id)
}

// resetLocked zeroes a locked budget's usage, schedules its next reset,
// writes the reset event and unblocks its executions: a manual reset
// and a due one are the same.
func resetLocked(t Tx, id string) (backend.ResetBudgetResult, error) {
	var res backend.ResetBudgetResult
	var err error
	if res.NextResetAtMs, err = t.ZeroUsage(id); err != nil {
		return res, err
	}
	if err := t.InsertEvent(ff.BudgetResetEvent(id, t.Now())); err != nil {
		return res, err
	}
	res.Unblocked, err = UnblockBudget(t, id)
	return res, err
}

// ReportTask checks the fence of the reporting lease (an expired lease
// is marked and committed: wpcore.CommitThen), then reports to every budget of
// the execution's policy, in the policy's order.
func ReportTask(t Tx, tag ff.BackendTag, p backend.ReportTaskUsageParams) ([]ff.UsageResult, error) {
	if err := p.Handle.CheckBackend(tag); err != nil {
		return nil, err
	}
	e, err := t.LockExecution(p.Handle.Lease.ExecutionID)
	if err != nil {
		return nil, err
	}
	if fr, err := e.CheckFence(t.Now(), p.Handle.Lease.Fence()); err != nil {
		return nil, fenceFail(t, e, fr, err)
	}
	var out []ff.UsageResult
	for _, id := range e.Policy.Budgets() {
		r, err := Report(t, id, p.Dimensions, p.DedupKey, e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func fenceFail(t Tx, e *ff.Execution, fr ff.FenceResult, err error) error {
	if !fr.MarkedExpired {
		return err
	}
	if serr := t.SaveExecution(e, fr.Effects); serr != nil {
		return serr
	}
	return &wpcore.CommitThen{Err: err}
}

// Report applies one usage report to one budget (exec is the reporting
// execution, nil for an operator). A key already applied answers
// already_applied; a hard breach changes only the breach counters; the
// key is remembered only when the report applied, so a retry after a
// hard breach is evaluated again. Every evaluated report writes its
// budget event.
func Report(t Tx, id string, deltas map[string]int64, key string, exec *ff.Execution) (ff.UsageResult, error) {
	dims, err := t.LockBudget(id, false)
	if err != nil {
		return ff.UsageResult{}, err
	}
	if key != "" {
		applied, err := t.DedupApplied(id, key)
		if err != nil {
			return ff.UsageResult{}, err
		}
		if applied {
			return ff.UsageResult{BudgetID: id, Outcome: ff.UsageAlreadyApplied}, nil
		}
	}
	res := ff.ApplyUsage(dims, deltas)
	res.BudgetID = id
	if err := writeUsage(t, res, dims, deltas, key); err != nil {
		return res, err
	}
	return res, t.InsertEvent(ff.UsageEvent(res, deltas, exec, t.Now()))
}

func writeUsage(t Tx, res ff.UsageResult, dims map[string]ff.BudgetDim, deltas map[string]int64, key string) error {
	if err := t.CountBreach(res.BudgetID, res); err != nil {
		return err
	}
	if res.Outcome == ff.UsageHardBreach {
		return nil
	}
	usage := make(map[string]int64, len(deltas))
	for n := range deltas {
		usage[n] = dims[n].Usage
	}
	if err := t.SetUsage(res.BudgetID, usage); err != nil {
		return err
	}
	if key == "" {
		return nil
	}
	return t.PutDedup(res.BudgetID, key, ff.AddMs(t.Now(), ff.DefaultUsageDedupTTLMs))
}

// UnblockBudget unblocks every execution blocked by a locked budget once
// no dimension of it is at its hard limit.
func UnblockBudget(t Tx, id string) (int, error) {
	dims, err := t.BudgetDims(id)
	if err != nil {
		return 0, err
	}
	if _, full := ff.BudgetExhausted(dims); full {
		return 0, nil
	}
	return t.UnblockRef(Ref{KindBudget, id}, math.MaxInt64)
}
