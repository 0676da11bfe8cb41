package flowfabric

// ReleaseClaim gives back a lease whose claim never reached its worker
// (the claim's reply could not be delivered). The lease is released and
// the execution is claimable at once (waiting, attempt interrupted); the
// next claim resumes the same attempt, with the same index and id under a
// new epoch, because the attempt never ran. Nothing is counted: no
// reclaim, no retry, no new attempt. As for Delay, the attempt timeout is
// disarmed and not re-armed by the resume. The lease event released
// (reason unused) is written: the lease existed, so its history ends.
//
// It is fenced like Delay: a lease already gone fails with the fence's
// error (an expired lease is marked, see FenceResult), and a repeated
// release finds the execution no longer active.
func (e *Execution) ReleaseClaim(nowMs int64, f Fence) (*Effects, FenceResult, error) {
	fr, err := e.CheckFence(nowMs, f)
	if err != nil {
		return nil, fr, err
	}
	idx, _ := e.CurrentAttemptIndex()
	fx := &Effects{UpdateAttempts: []AttemptUpdate{{Index: idx, Lifecycle: AttemptSuspended}},
		Events: []Event{e.leaseEvent(LeaseReleased, nowMs, LeaseEventData{Reason: LeaseReasonUnused})}}
	e.clearLease()
	e.AttemptDeadlineMs = 0
	e.ReadyAtMs = 0
	e.State = vecReady(AttemptInterrupted)
	e.BlockingDetail = ""
	e.UpdatedAtMs = nowMs
	return fx, FenceResult{}, nil
}
