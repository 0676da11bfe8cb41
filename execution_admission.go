package flowfabric

// Admission at claim (spec flows-waitpoints-budgets-streams §3.6, the
// blocking model). A claim that finds an execution with HookAdmission
// checks its budgets and quotas first: refused, the execution is blocked
// (public rate_limited) and leaves the ready index until the event that
// frees it (a budget reset or raised limit, a released slot, the due time
// of a full window) unblocks it; admitted, the claim takes the lease and,
// when a quota has a concurrency cap, the execution holds a slot of it
// (HookQuotaSlot) until its lease ends.

// AdmissionRefusal is why a claim's admission refused an execution.
type AdmissionRefusal struct {
	By      EligibilityState // BlockedByBudget or BlockedByQuota
	RefID   string           // the budget or quota
	Detail  string
	DueAtMs int64 // a full window's due time; 0 when an event frees it
}

// BlockForAdmission moves a ready execution refused by admission out of
// the ready index: runnable, blocked by its budget or quota, public
// rate_limited, attempt state kept. Only a runnable eligible execution
// can be blocked; any other is not_runnable.
func (e *Execution) BlockForAdmission(nowMs int64, r AdmissionRefusal) error {
	s := e.State
	if s.LifecyclePhase != PhaseRunnable || s.EligibilityState != EligibleNow {
		return StateError(ErrNotRunnable, "execution %s is %s: only ready work is admitted", e.ID, s)
	}
	reason := BlockingWaitingForBudget
	if r.By == BlockedByQuota {
		reason = BlockingWaitingForQuota
	} else if r.By != BlockedByBudget {
		return Bug("block for admission: %s is not an admission block", r.By)
	}
	e.State = StateVector{PhaseRunnable, OwnershipUnowned, r.By, reason, OutcomeNone, s.AttemptState, ""}.Normalized()
	e.BlockingDetail = CutText(r.Detail, MaxReasonBytes)
	e.UpdatedAtMs = nowMs
	return nil
}

// AdmissionBlocked reports whether e is blocked by a budget or a quota.
func (e *Execution) AdmissionBlocked() bool {
	return e.State.LifecyclePhase == PhaseRunnable &&
		(e.State.EligibilityState == BlockedByBudget || e.State.EligibilityState == BlockedByQuota)
}

// Unblock returns an execution blocked by admission to the ready index
// (waiting), keeping its attempt state. It reports false, changing
// nothing, when e is not blocked by admission, so that an unblock is
// applied exactly once.
func (e *Execution) Unblock(nowMs int64) bool {
	if !e.AdmissionBlocked() {
		return false
	}
	e.State = vecReady(e.State.AttemptState)
	e.BlockingDetail = ""
	e.UpdatedAtMs = nowMs
	return true
}

// TakeQuotaSlots records that the claim which just leased e took slots of
// its capped quotas.
func (e *Execution) TakeQuotaSlots() { e.Hooks |= HookQuotaSlot }

// SettleQuotaSlots is the one place where the end of a lease gives its
// quota slots back. Every store calls it on every record it writes after
// a transition (complete, fail, cancel, delay, expiry, revoke, suspend,
// operator cancel, any transition to come): when e carries HookQuotaSlot
// but no longer holds a live lease, it clears the bit and reports true,
// and the store deletes e's slot rows (and unblocks the executions they
// free) in the same transaction.
func (e *Execution) SettleQuotaSlots() bool {
	if !e.Hooks.Any(HookQuotaSlot) {
		return false
	}
	if e.State.LifecyclePhase == PhaseActive && e.State.OwnershipState == OwnershipLeased {
		return false
	}
	e.Hooks &^= HookQuotaSlot
	return true
}

// LeftAdmissionBlock reports whether a transition took e out of an
// admission block other than through Unblock (an operator cancel, a
// deadline): the store deletes its blocked row in the same transaction.
func LeftAdmissionBlock(before, after *Execution) bool {
	return before.AdmissionBlocked() && !after.AdmissionBlocked()
}
