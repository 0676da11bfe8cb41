package flowfabric_test

import (
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestReleaseClaimResumesTheSameAttempt(t *testing.T) {
	e, f := running(t, &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(60_000))}})
	attemptID := e.CurrentAttemptID
	fx, fr, err := e.ReleaseClaim(t0+10, f)
	noErr(t, err)
	if fr.MarkedExpired {
		t.Fatal("a live lease was marked expired")
	}
	checkExec(t, e)
	wantVec(t, e, ff.StateVector{
		LifecyclePhase: ff.PhaseRunnable, OwnershipState: ff.OwnershipUnowned, EligibilityState: ff.EligibleNow,
		BlockingReason: ff.BlockingWaitingForWorker, TerminalOutcome: ff.OutcomeNone,
		AttemptState: ff.AttemptInterrupted, PublicState: ff.PublicWaiting,
	})
	wantUpdate(t, fx, 0, ff.AttemptSuspended)
	if fx.InsertAttempt != nil {
		t.Fatalf("release wrote more than the attempt update and its lease event: %+v", fx)
	}
	wantLeaseEvent(t, fx, e, ff.LeaseReleased, ff.LeaseReasonUnused, t0+10)
	if !e.Claimable() || e.AttemptDeadlineMs != 0 || e.UpdatedAtMs != t0+10 || e.LeaseEpoch != 1 {
		t.Fatalf("after release: claimable %v, attempt deadline %d, updated %d, epoch %d",
			e.Claimable(), e.AttemptDeadlineMs, e.UpdatedAtMs, e.LeaseEpoch)
	}
	h, fx := claim(t, e, t0+20)
	if h.Kind != ff.HandleResumed || h.Lease.AttemptIndex != 0 || h.Lease.AttemptID != attemptID || h.Lease.LeaseEpoch != 2 {
		t.Fatalf("claim after release: %+v", h)
	}
	if fx.InsertAttempt != nil || e.AttemptCount != 1 || e.ReclaimCount != 0 || e.RetryCount != 0 {
		t.Fatalf("claim after release counted: attempts %d reclaims %d retries %d insert %+v",
			e.AttemptCount, e.ReclaimCount, e.RetryCount, fx.InsertAttempt)
	}
}

func TestReleaseClaimOfAReclaimCountsNoSecondReclaim(t *testing.T) {
	e, _ := running(t, nil)
	e.MarkLeaseExpired(t0 + ttl)
	h, _ := claim(t, e, t0+ttl+1)
	if h.Kind != ff.HandleReclaimed || e.ReclaimCount != 1 {
		t.Fatalf("reclaim: kind %s, reclaims %d", h.Kind, e.ReclaimCount)
	}
	_, _, err := e.ReleaseClaim(t0+ttl+2, h.Lease.Fence())
	noErr(t, err)
	h2, _ := claim(t, e, t0+ttl+3)
	if h2.Kind != ff.HandleResumed || h2.Lease.AttemptID != h.Lease.AttemptID || e.ReclaimCount != 1 || e.AttemptCount != 2 {
		t.Fatalf("after release of a reclaim: kind %s, reclaims %d, attempts %d", h2.Kind, e.ReclaimCount, e.AttemptCount)
	}
}

func TestReleaseClaimIsFenced(t *testing.T) {
	t.Run("stale", func(t *testing.T) {
		e, f := running(t, nil)
		f.LeaseEpoch++
		before := *e
		_, _, err := e.ReleaseClaim(t0+1, f)
		wantErr(t, err, ff.ClassState, ff.ErrStaleLease)
		if e.State != before.State || e.LeaseID != before.LeaseID {
			t.Fatal("a refused release changed the record")
		}
	})
	t.Run("expired", func(t *testing.T) {
		e, f := running(t, nil)
		_, fr, err := e.ReleaseClaim(t0+ttl, f)
		wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
		if !fr.MarkedExpired || e.State.OwnershipState != ff.OwnershipLeaseExpired {
			t.Fatalf("expired lease not marked: %+v %s", fr, e.State)
		}
	})
	t.Run("repeated", func(t *testing.T) {
		e, f := running(t, nil)
		_, _, err := e.ReleaseClaim(t0+1, f)
		noErr(t, err)
		_, _, err = e.ReleaseClaim(t0+2, f)
		wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	})
	t.Run("no fence", func(t *testing.T) {
		e, _ := running(t, nil)
		_, _, err := e.ReleaseClaim(t0+1, ff.Fence{})
		wantErr(t, err, ff.ClassValidation, ff.ErrFenceRequired)
	})
}
