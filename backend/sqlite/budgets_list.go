package sqlite

// BudgetIDs implements budgetcore.Tx.
func (t *sqTx) BudgetIDs(after string, limit int) ([]string, error) {
	return t.idPage("sqlite: list budgets", `SELECT budget_id FROM ff_budget WHERE budget_id > ? ORDER BY budget_id LIMIT ?`, after, limit)
}

// QuotaIDs implements budgetcore.Tx.
func (t *sqTx) QuotaIDs(after string, limit int) ([]string, error) {
	return t.idPage("sqlite: list quotas", `SELECT quota_id FROM ff_quota WHERE quota_id > ? ORDER BY quota_id LIMIT ?`, after, limit)
}

// idPage reads the ids of q, its cursor and limit as arguments.
func (t *sqTx) idPage(op, q, after string, limit int) ([]string, error) {
	rows, err := t.w.query(op, q, after, limit)
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
