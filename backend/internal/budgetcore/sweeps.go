package budgetcore

// ResetDue resets up to limit budgets whose next reset has come, each
// like a manual reset, and returns how many.
func ResetDue(t Tx, limit int) (int, error) {
	ids, err := t.DueBudgets(limit)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := resetLocked(t, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// UnblockDue unblocks the executions of up to limit quotas whose window
// has room again and returns how many it unblocked.
func UnblockDue(t Tx, limit int) (int, error) {
	ids, err := t.DueQuotas(limit)
	if err != nil {
		return 0, err
	}
	refs := make([]Ref, len(ids))
	for i, id := range ids {
		refs[i] = Ref{KindQuota, id}
	}
	return unblockAll(t, refs)
}

// RepairSlots deletes up to limit drifted quota slots; then, as the
// backstop of every unblocking event, each budget or quota with blocked
// executions unblocks what it has room for. It returns the slots
// deleted plus the executions unblocked.
func RepairSlots(t Tx, limit int) (int, error) {
	n, err := t.DeleteDriftSlots(limit)
	if err != nil {
		return 0, err
	}
	refs, err := t.BlockingRefs()
	if err != nil {
		return 0, err
	}
	k, err := unblockAll(t, refs)
	return n + k, err
}

func unblockAll(t Tx, refs []Ref) (int, error) {
	n := 0
	for _, r := range refs {
		k, err := Unblock(t, r)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}
