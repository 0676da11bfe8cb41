package postgres

import (
	"github.com/jackc/pgx/v5"
)

// BudgetIDs implements budgetcore.Tx.
func (t *budgetTx) BudgetIDs(after string, limit int) ([]string, error) {
	return t.idPage(`SELECT budget_id FROM ff_budget WHERE budget_id > $1 ORDER BY budget_id LIMIT $2`, after, limit)
}

// QuotaIDs implements budgetcore.Tx.
func (t *budgetTx) QuotaIDs(after string, limit int) ([]string, error) {
	return t.idPage(`SELECT quota_id FROM ff_quota WHERE quota_id > $1 ORDER BY quota_id LIMIT $2`, after, limit)
}

// idPage reads the ids of q, its cursor and limit as $1, $2.
func (t *budgetTx) idPage(q, after string, limit int) ([]string, error) {
	rows, err := t.Query(t.ctx, q, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
