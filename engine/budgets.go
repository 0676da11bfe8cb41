package engine

import (
	"context"
	"fmt"

	"github.com/flowfabric-go/flowfabric/backend"
)

// The reconcilers of budgets and quotas (issue 13), run when
// Config.Budgets is set. Admission itself runs in the claim; these are
// the due-time events and the backstops.

// budgetReset resets the budgets whose next_reset_at_ms has come, which
// unblocks their executions in the same transaction.
type budgetReset struct {
	b     backend.Budgets
	batch int
}

func (r *budgetReset) name() string { return "budget_reset" }

func (r *budgetReset) runOnce(ctx context.Context) (int, error) {
	n, err := r.b.ResetDueBudgets(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("reset due budgets: %w", err)
	}
	return n, nil
}

// quotaUnblock unblocks executions waiting for a full quota window at the
// window's due time (a slot's release unblocks in its own transaction).
type quotaUnblock struct {
	b     backend.Budgets
	batch int
}

func (r *quotaUnblock) name() string { return "quota_unblock" }

func (r *quotaUnblock) runOnce(ctx context.Context) (int, error) {
	n, err := r.b.UnblockDue(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("unblock due quotas: %w", err)
	}
	return n, nil
}

// quotaRepair repairs concurrency-slot drift from the live leases and,
// as the backstop of every unblocking event, unblocks what each budget or
// quota has room for.
type quotaRepair struct {
	b     backend.Budgets
	batch int
}

func (r *quotaRepair) name() string { return "quota_repair" }

func (r *quotaRepair) runOnce(ctx context.Context) (int, error) {
	n, err := r.b.RepairQuotaSlots(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("repair quota slots: %w", err)
	}
	return n, nil
}

// usageDedupExpiry deletes usage dedup keys past their expiry.
type usageDedupExpiry struct {
	b     backend.Budgets
	batch int
}

func (r *usageDedupExpiry) name() string { return "usage_dedup_expiry" }

func (r *usageDedupExpiry) runOnce(ctx context.Context) (int, error) {
	n, err := r.b.ExpireUsageDedup(ctx, backend.SweepParams{Limit: r.batch})
	if err != nil {
		return n, fmt.Errorf("expire usage dedup keys: %w", err)
	}
	return n, nil
}
