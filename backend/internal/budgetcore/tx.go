// Package budgetcore is the budget and quota area's orchestration,
// written once for every store: usage reports with their dedup keys and
// breach counters, resets, limit changes, admission at claim and the
// unblocking of the executions admission blocked, and the reconcilers'
// sweeps. Each operation runs in one store transaction (Tx); the stores
// supply only the statements.
package budgetcore

import (
	ff "github.com/flowfabric-go/flowfabric"
)

// Kind names what blocked an execution: a budget or a quota (the kind
// column of the blocked rows).
type Kind string

const (
	KindBudget Kind = "budget"
	KindQuota  Kind = "quota"
)

// KindOf is the kind of the refusal by (ff.BlockedByBudget or
// ff.BlockedByQuota).
func KindOf(by ff.EligibilityState) Kind {
	if by == ff.BlockedByQuota {
		return KindQuota
	}
	return KindBudget
}

// Ref names a budget or a quota that blocks executions.
type Ref struct {
	Kind Kind
	ID   string
}

// Quota is a quota locked in the transaction with its current use.
type Quota struct {
	Def ff.QuotaDefinition
	Use ff.QuotaUse
}

// Tx is one store transaction. Now is its time (the database clock in
// production). The lock order is always execution → budget/quota →
// blocked executions, so two transactions never wait in a cycle; a store
// with a single writer may make the locks no-ops.
type Tx interface {
	Now() int64

	// LockExecution loads an execution under its row lock (not_found,
	// entity execution); SaveExecution writes it with fx and wakes its
	// lane after the commit when it became claimable.
	LockExecution(id ff.ExecutionID) (*ff.Execution, error)
	SaveExecution(e *ff.Execution, fx *ff.Effects) error
	InsertEvent(ev ff.Event) error

	BudgetTx
	QuotaTx
}

// BudgetTx is the budget half of Tx.
type BudgetTx interface {
	// InsertBudget inserts a budget row (without its limits) unless its
	// ID exists.
	InsertBudget(def ff.BudgetDefinition, nextResetAtMs int64) (inserted bool, err error)
	// LockBudget locks a budget row (shared for admission, which only
	// reads it) and returns its dimensions; an unknown budget is
	// not_found (entity budget).
	LockBudget(id string, shared bool) (map[string]ff.BudgetDim, error)
	// BudgetDims reads the dimensions of a budget locked before.
	BudgetDims(id string) (map[string]ff.BudgetDim, error)
	BudgetStatus(id string) (ff.BudgetStatus, error)
	// BudgetIDs lists up to limit budget ids after the id after, in id
	// order.
	BudgetIDs(after string, limit int) ([]string, error)
	// UpsertLimits writes the limits of the dimensions named, keeping
	// their usage; TouchBudget stamps the budget's updated_at.
	UpsertLimits(id string, limits map[string]ff.BudgetLimit) error
	TouchBudget(id string) error
	// ZeroUsage zeroes the usage, clears the last breach (keeping the
	// breach counters) and schedules the next reset, which it returns
	// (0 without an interval).
	ZeroUsage(id string) (nextResetAtMs int64, err error)
	// DedupApplied tells whether key was applied to the budget and has
	// not expired; PutDedup remembers it until expiresAtMs.
	DedupApplied(id, key string) (bool, error)
	PutDedup(id, key string, expiresAtMs int64) error
	// CountBreach stamps the budget's updated_at and counts res: a hard
	// breach in breach_count and the last breach, a soft one in
	// soft_breach_count.
	CountBreach(id string, res ff.UsageResult) error
	// SetUsage writes the usage of the dimensions named.
	SetUsage(id string, usage map[string]int64) error
	// DueBudgets locks up to limit budgets whose next reset has come,
	// soonest first, skipping those another transaction holds.
	DueBudgets(limit int) ([]string, error)
}

// QuotaTx is the quota and blocked-execution half of Tx.
type QuotaTx interface {
	InsertQuota(def ff.QuotaDefinition) (inserted bool, err error)
	QuotaStatus(id string) (ff.QuotaStatus, error)
	// QuotaIDs lists up to limit quota ids after the id after, in id
	// order.
	QuotaIDs(after string, limit int) ([]string, error)
	// LockQuota locks a quota row, drops the admissions that left its
	// window and counts its use; an unknown quota is not_found (entity
	// quota). LockQuotas does it for ids (sorted), leaving unknown ids
	// out, and then reads the transaction's time again so admissions are
	// stamped in the order they commit.
	LockQuota(id string) (Quota, error)
	LockQuotas(ids []string) ([]Quota, error)
	// SaveBlocked writes e (loaded by LockExecution and just blocked by
	// ref) with its blocked row; dueAtMs > 0 (a full window) moves the
	// quota's unblock due time earlier to it.
	SaveBlocked(e *ff.Execution, ref Ref, dueAtMs int64) error
	// UnblockRef returns up to n executions blocked by ref to the ready
	// index, in claim order, and returns how many.
	UnblockRef(ref Ref, n int64) (int, error)
	// Blocks tells whether ref blocks any execution.
	Blocks(ref Ref) (bool, error)
	// SetUnblockDue records when the quota's window frees next (0: no
	// execution waits for it).
	SetUnblockDue(quotaID string, dueAtMs int64) error
	// DueQuotas lists up to limit quotas whose unblock is due, soonest
	// first.
	DueQuotas(limit int) ([]string, error)
	// DeleteDriftSlots deletes up to limit quota slots whose execution no
	// longer holds the live lease that took them, and returns how many.
	DeleteDriftSlots(limit int) (int, error)
	// BlockingRefs lists every budget and quota that blocks executions.
	BlockingRefs() ([]Ref, error)
}
