package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/flowfabric-go/flowfabric/backend"
)

// ListBudgets implements backend.Budgets.
func (b *Backend) ListBudgets(ctx context.Context, p backend.ListByIDParams) (backend.BudgetPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.BudgetPage{}, err
	}
	var page backend.BudgetPage
	err := b.budgetTx(ctx, "list budgets", func(t *budgetTx) error {
		ids, err := t.idPage(`SELECT budget_id FROM ff_budget WHERE budget_id > $1 ORDER BY budget_id LIMIT $2`, p)
		if err != nil {
			return err
		}
		page.Budgets, page.NextCursor, err = backend.ReadPage(p, ids, t.budgetStatus)
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
	err := b.budgetTx(ctx, "list quotas", func(t *budgetTx) error {
		ids, err := t.idPage(`SELECT quota_id FROM ff_quota WHERE quota_id > $1 ORDER BY quota_id LIMIT $2`, p)
		if err != nil {
			return err
		}
		page.Quotas, page.NextCursor, err = backend.ReadPage(p, ids, t.quotaStatus)
		return err
	})
	return page, err
}

// idPage reads the ids of q (cursor and limit as $1, $2) after p.Cursor,
// one more than a page so the caller sees whether more follow.
func (t *budgetTx) idPage(q string, p backend.ListByIDParams) ([]string, error) {
	rows, err := t.Query(t.ctx, q, p.Cursor, p.Limit+1)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
