package sqlite

import (
	"context"

	"github.com/flowfabric-go/flowfabric/backend"
)

// ListBudgets implements backend.Budgets.
func (b *Backend) ListBudgets(ctx context.Context, p backend.ListByIDParams) (backend.BudgetPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.BudgetPage{}, err
	}
	var page backend.BudgetPage
	err := b.write(ctx, "sqlite: list budgets", func(w *writeTx) error {
		ids, err := w.idPage("sqlite: list budgets", `SELECT budget_id FROM ff_budget WHERE budget_id > ? ORDER BY budget_id LIMIT ?`, p)
		if err != nil {
			return err
		}
		page.Budgets, page.NextCursor, err = backend.ReadPage(p, ids, w.budgetStatus)
		return err
	})
	return page, err
}

// ListQuotas implements backend.Budgets.
func (b *Backend) ListQuotas(ctx context.Context, p backend.ListByIDParams) (backend.QuotaPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.QuotaPage{}, err
	}
	var page backend.QuotaPage
	err := b.write(ctx, "sqlite: list quotas", func(w *writeTx) error {
		ids, err := w.idPage("sqlite: list quotas", `SELECT quota_id FROM ff_quota WHERE quota_id > ? ORDER BY quota_id LIMIT ?`, p)
		if err != nil {
			return err
		}
		page.Quotas, page.NextCursor, err = backend.ReadPage(p, ids, w.quotaStatus)
		return err
	})
	return page, err
}

// idPage reads the ids of q (cursor and limit as arguments) after
// p.Cursor, one more than a page so the caller sees whether more follow.
func (w *writeTx) idPage(op, q string, p backend.ListByIDParams) ([]string, error) {
	rows, err := w.query(op, q, p.Cursor, p.Limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, driverError(op, err)
		}
		ids = append(ids, id)
	}
	return ids, driverError(op, rows.Err())
}
