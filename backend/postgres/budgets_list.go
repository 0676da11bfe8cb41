package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// ListBudgets implements backend.Budgets.
func (b *Backend) ListBudgets(ctx context.Context, p backend.ListByIDParams) (backend.BudgetPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.BudgetPage{}, err
	}
	page := backend.BudgetPage{Budgets: []ff.BudgetStatus{}}
	err := b.budgetTx(ctx, "list budgets", func(t *budgetTx) error {
		ids, err := t.idPage(`SELECT budget_id FROM ff_budget WHERE budget_id > $1 ORDER BY budget_id LIMIT $2`, p)
		if err != nil {
			return err
		}
		ids, page.NextCursor = p.PageOfIDs(ids)
		for _, id := range ids {
			st, err := t.budgetStatus(id)
			if err != nil {
				return err
			}
			page.Budgets = append(page.Budgets, st)
		}
		return nil
	})
	return page, err
}

// ListQuotas implements backend.Budgets.
func (b *Backend) ListQuotas(ctx context.Context, p backend.ListByIDParams) (backend.QuotaPage, error) {
	if err := p.Normalize(); err != nil {
		return backend.QuotaPage{}, err
	}
	page := backend.QuotaPage{Quotas: []ff.QuotaStatus{}}
	err := b.budgetTx(ctx, "list quotas", func(t *budgetTx) error {
		ids, err := t.idPage(`SELECT quota_id FROM ff_quota WHERE quota_id > $1 ORDER BY quota_id LIMIT $2`, p)
		if err != nil {
			return err
		}
		ids, page.NextCursor = p.PageOfIDs(ids)
		for _, id := range ids {
			st, err := t.quotaStatus(id)
			if err != nil {
				return err
			}
			page.Quotas = append(page.Quotas, st)
		}
		return nil
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
