package flowfabric_test

import (
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

// leaseOf is the lease a claim at claimedAt took on e, with end.
func leaseOf(e *ff.Execution, h ff.Handle, claimedAt int64, typ ff.AttemptType, end string) *ff.LeaseRef {
	return &ff.LeaseRef{AttemptIndex: h.Lease.AttemptIndex, AttemptID: h.Lease.AttemptID, AttemptType: typ,
		LeaseEpoch: h.Lease.LeaseEpoch, WorkerID: "w", WorkerInstanceID: "w-1", AcquiredAtMs: claimedAt,
		Reclaim: typ == ff.AttemptReclaim && e.CurrentAttemptStartedMs == claimedAt, End: end}
}

func wantLease(t *testing.T, ev ff.Event, want *ff.LeaseRef) {
	t.Helper()
	switch {
	case want == nil && ev.Lease == nil:
	case want == nil || ev.Lease == nil || *want != *ev.Lease:
		t.Fatalf("%s/%s lease %+v, want %+v", ev.Type, ev.Action, ev.Lease, want)
	}
}

// Every completion of a held lease names it, with the end it implies;
// its data holds the outcome's reasons and nothing for a success.
func TestCompletionEventsCarryTheLeaseTheyEnd(t *testing.T) {
	e := newExec(t, nil)
	h, _ := claim(t, e, t0)
	fx, _, err := e.Complete(t0+5, h.Lease.Fence(), nil)
	noErr(t, err)
	ev := wantEvent(t, fx, e, ff.OutcomeSuccess, t0+5)
	wantLease(t, ev, leaseOf(e, h, t0, ff.AttemptInitial, ff.LeaseReleased))
	if ev.Data != nil {
		t.Fatalf("success data %+v, want none", ev.Data)
	}

	e = newExec(t, nil)
	h, _ = claim(t, e, t0)
	_, fx, _, err = e.Fail(t0+5, h.Lease.Fence(), "bad", ff.FailurePermanent, nil)
	noErr(t, err)
	ev = wantEvent(t, fx, e, ff.OutcomeFailed, t0+5)
	wantLease(t, ev, leaseOf(e, h, t0, ff.AttemptInitial, ff.LeaseReleased))
	if ev.Data != (ff.CompletionData{FailureReason: "bad", FailureClass: "permanent"}) {
		t.Fatalf("failed data %+v", ev.Data)
	}

	e = newExec(t, nil)
	h, _ = claim(t, e, t0)
	fx, _, err = e.Cancel(t0+5, h.Lease.Fence(), "mine")
	noErr(t, err)
	ev = wantEvent(t, fx, e, ff.OutcomeCancelled, t0+5)
	wantLease(t, ev, leaseOf(e, h, t0, ff.AttemptInitial, ff.LeaseReleased))
	if ev.Data != (ff.CompletionData{CancelReason: "mine", CancelledBy: ff.CancelledByLeaseHolder}) {
		t.Fatalf("cancelled data %+v", ev.Data)
	}
}

// An operator cancel revokes a held lease; without one it names none.
// An expiry of a running attempt releases its lease.
func TestOperatorCancelAndExpiryEvents(t *testing.T) {
	e := newExec(t, nil)
	h, _ := claim(t, e, t0)
	fx, err := e.OperatorCancel(t0+5, "stop", "console")
	noErr(t, err)
	ev := wantEvent(t, fx, e, ff.OutcomeCancelled, t0+5)
	wantLease(t, ev, leaseOf(e, h, t0, ff.AttemptInitial, ff.LeaseRevoked))
	if ev.Data != (ff.CompletionData{CancelReason: "stop", CancelledBy: "console"}) {
		t.Fatalf("cancelled data %+v", ev.Data)
	}

	e = newExec(t, nil)
	fx, err = e.OperatorCancel(t0+5, "", "")
	noErr(t, err)
	wantLease(t, wantEvent(t, fx, e, ff.OutcomeCancelled, t0+5), nil)

	e = newExec(t, nil)
	h, _ = claim(t, e, t0)
	fx = e.Expire(t0+5, "attempt_timeout")
	ev = wantEvent(t, fx, e, ff.OutcomeExpired, t0+5)
	wantLease(t, ev, leaseOf(e, h, t0, ff.AttemptInitial, ff.LeaseReleased))
	if ev.Data != (ff.CompletionData{FailureReason: "attempt_timeout", FailureClass: "timeout"}) {
		t.Fatalf("expired data %+v", ev.Data)
	}

	e = newExec(t, nil)
	fx = e.Expire(t0+5, "execution_deadline")
	wantLease(t, wantEvent(t, fx, e, ff.OutcomeExpired, t0+5), nil)
}

// A lease that expires at the reclaim cap ends in the completion failed,
// which implies the lease expired; below the cap a lease event says so.
// A reclaim attempt's lease starts "reclaimed", until a resume of it.
func TestLeaseExpiryAndReclaimEvents(t *testing.T) {
	e := newExec(t, &ff.ExecutionPolicy{MaxReclaimCount: ptr(1)})
	h, _ := claim(t, e, t0)
	fx := e.MarkLeaseExpired(t0 + ttl)
	wantLease(t, wantLeaseEvent(t, fx, e, ff.LeaseExpired, ff.LeaseReasonExpired, t0+ttl),
		leaseOf(e, h, t0, ff.AttemptInitial, ""))

	at := t0 + ttl + 1
	h, _ = claim(t, e, at)
	ref := leaseOf(e, h, at, ff.AttemptReclaim, ff.LeaseReleased)
	if !ref.Reclaim || ref.StartAction() != ff.LeaseReclaimed {
		t.Fatalf("a reclaim claim's lease %+v", ref)
	}
	fx, _, err := e.Delay(at+1, h.Lease.Fence(), 0)
	noErr(t, err)
	wantLease(t, wantLeaseEvent(t, fx, e, ff.LeaseReleased, ff.LeaseReasonDelayed, at+1),
		leaseOf(e, h, at, ff.AttemptReclaim, ""))

	h, _ = claim(t, e, at+2) // resumes the reclaim attempt: acquired, not reclaimed
	fx = e.MarkLeaseExpired(at + 2 + ttl)
	ev := wantEvent(t, fx, e, ff.OutcomeFailed, at+2+ttl)
	want := leaseOf(e, h, at+2, ff.AttemptReclaim, ff.LeaseExpired)
	if want.Reclaim {
		t.Fatal("a resumed reclaim attempt's lease is not a reclaim")
	}
	wantLease(t, ev, want)
	if ev.Data != (ff.CompletionData{FailureReason: "max_reclaims_exceeded", FailureClass: "infra_crash"}) {
		t.Fatalf("reclaim-cap data %+v", ev.Data)
	}
}

// Event encoding rules the stores share.
func TestEventStoredForm(t *testing.T) {
	var ev ff.Event
	if ev.StoredExecutionID() != "" {
		t.Fatal("an event about no execution is stored with execution_id ''")
	}
	ev = ff.Event{ExecutionID: ff.ExecutionID{Partition: 7}, Partition: 0}
	if ev.StoredPartition() != 7 {
		t.Fatal("partition defaults to the execution's")
	}
	ev.Partition = 3
	if ev.StoredPartition() != 3 {
		t.Fatal("an explicit partition wins")
	}
	if b, err := (ff.Event{}).EncodeData(); b != nil || err != nil {
		t.Fatalf("nil data: %q %v", b, err)
	}
	if b, err := (ff.Event{Data: map[string]int{"n": 1}}).EncodeData(); string(b) != `{"n":1}` || err != nil {
		t.Fatalf("map data: %q %v", b, err)
	}
	for _, bad := range []any{[]int{1}, "s", 3, make(chan int)} {
		_, err := (ff.Event{Type: ff.EventFlow, Data: bad}).EncodeData()
		wantErr(t, err, ff.ClassBug, ff.ErrBug)
	}
}
