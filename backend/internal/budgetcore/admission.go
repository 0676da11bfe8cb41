package budgetcore

import (
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
)

// Admit checks a claimable execution's budgets (shared locks), then its
// quotas: it returns the refusal, or the quotas to record the admission
// in. With a refusal by a quota, the quotas returned are those that had
// room (see PassOn). Budgets and quotas are never deleted, so an unknown
// one can only be named by a policy older than its creation: it fails
// open.
func Admit(t Tx, e *ff.Execution) (*ff.AdmissionRefusal, []Quota, error) {
	for _, id := range e.Policy.Budgets() {
		dims, err := t.LockBudget(id, true)
		if errors.Is(err, ff.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if dim, full := ff.BudgetExhausted(dims); full {
			return &ff.AdmissionRefusal{By: ff.BlockedByBudget, RefID: id,
				Detail: "budget " + id + " at its hard limit on " + dim}, nil, nil
		}
	}
	quotas, err := t.LockQuotas(e.Policy.Quotas())
	if err != nil || len(quotas) == 0 {
		return nil, nil, err
	}
	return decideQuotas(quotas)
}

// decideQuotas applies ff.AdmitQuotas: the refusal with the quotas that
// had room, or the quotas to record the admission in.
func decideQuotas(quotas []Quota) (*ff.AdmissionRefusal, []Quota, error) {
	defs, uses := make([]ff.QuotaDefinition, len(quotas)), make([]ff.QuotaUse, len(quotas))
	for i, q := range quotas {
		defs[i], uses[i] = q.Def, q.Use
	}
	refusal, passed := ff.AdmitQuotas(defs, uses)
	if refusal == nil {
		return nil, quotas, nil
	}
	room := make([]Quota, 0, len(passed))
	for _, i := range passed {
		room = append(room, quotas[i])
	}
	return refusal, room, nil
}

// Refuse blocks a refused execution (loaded by LockExecution), then
// passes on the room of the quotas that had some (see PassOn). A refused
// lost lease is left as it is: blocking applies to runnable work only.
func Refuse(t Tx, e *ff.Execution, r ff.AdmissionRefusal, room []Quota) error {
	if e.State.LifecyclePhase == ff.PhaseRunnable {
		if err := e.BlockForAdmission(t.Now(), r); err != nil {
			return err
		}
		if err := t.SaveBlocked(e, Ref{KindOf(r.By), r.RefID}, r.DueAtMs); err != nil {
			return err
		}
	}
	return PassOn(t, room)
}

// PassOn hands the room an execution refused by one quota leaves in the
// quotas that admitted it to the executions they block: a slot release
// unblocks one execution per freed slot, and when that one is then
// refused by its other quota, the slot would otherwise stay free while
// others wait for it. Each handed-on execution, refused in turn, hands
// on again, so blocked work drains to the quota that binds it.
func PassOn(t Tx, room []Quota) error {
	for _, q := range room {
		if _, err := t.UnblockRef(Ref{KindQuota, q.Def.ID}, q.Def.Free(q.Use)); err != nil {
			return err
		}
	}
	return nil
}

// UnblockQuota unblocks as many executions blocked by a locked quota as
// it has room for, and records when its window frees next if some still
// wait for it.
func UnblockQuota(t Tx, q Quota) (int, error) {
	n, err := t.UnblockRef(Ref{KindQuota, q.Def.ID}, q.Def.Free(q.Use))
	if err != nil {
		return n, err
	}
	due := int64(0)
	if q.Def.MaxPerWindow > 0 && q.Use.InWindow > 0 {
		waiting, err := t.Blocks(Ref{KindQuota, q.Def.ID})
		if err != nil {
			return n, err
		}
		if waiting {
			due = q.Use.OldestInWin + q.Def.WindowMs
		}
	}
	return n, t.SetUnblockDue(q.Def.ID, due)
}

// Unblock unblocks what a budget or quota has room for, under its lock.
func Unblock(t Tx, r Ref) (int, error) {
	if r.Kind == KindBudget {
		if _, err := t.LockBudget(r.ID, false); err != nil {
			return 0, err
		}
		return UnblockBudget(t, r.ID)
	}
	q, err := t.LockQuota(r.ID)
	if err != nil {
		return 0, err
	}
	return UnblockQuota(t, q)
}

// AdmissionRows writes the rows of one admission; a store may queue them
// into the statement that writes the claimed record (no round trip of
// their own on the claim path).
type AdmissionRows interface {
	// AdmitInWindow records e's admission, at the transaction's time, in
	// the window of quota q.
	AdmitInWindow(q ff.QuotaDefinition, e *ff.Execution) error
	// TakeSlot takes, for e's lease, a slot under quota q's concurrency
	// cap.
	TakeSlot(q ff.QuotaDefinition, e *ff.Execution) error
}

// RecordAdmission records the admission of e, just claimed, in the
// quotas Admit returned: a row in each window, and a slot under each
// cap, which e then holds until its lease ends.
func RecordAdmission(w AdmissionRows, e *ff.Execution, quotas []Quota) error {
	for _, q := range quotas {
		if q.Def.WindowMs > 0 {
			if err := w.AdmitInWindow(q.Def, e); err != nil {
				return err
			}
		}
		if q.Def.MaxConcurrent == 0 {
			continue
		}
		if err := w.TakeSlot(q.Def, e); err != nil {
			return err
		}
		e.TakeQuotaSlots()
	}
	return nil
}
