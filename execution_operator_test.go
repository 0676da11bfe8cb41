package flowfabric_test

import (
	"errors"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func wantErrKind(t *testing.T, err error, kind ff.ErrorKind) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %s", err, kind)
	}
}

func operatorData(t *testing.T, fx *ff.Effects, action string) ff.OperatorEventData {
	t.Helper()
	for _, ev := range fx.Events {
		if ev.Type == ff.EventOperator && ev.Action == action {
			return ev.Data.(ff.OperatorEventData)
		}
	}
	t.Fatalf("no operator event %s in %+v", action, fx.Events)
	return ff.OperatorEventData{}
}

func TestChangePriority(t *testing.T) {
	e := newExec(t, nil)
	fx, err := e.ChangePriority(t0+1, 500, ff.Actor{Source: " bob\x00", Reason: "vip"})
	noErr(t, err)
	checkExec(t, e)
	if e.Priority != 500 || e.UpdatedAtMs != t0+1 {
		t.Fatalf("priority %d updated %d", e.Priority, e.UpdatedAtMs)
	}
	d := operatorData(t, fx, ff.OperatorPriorityChanged)
	if *d.OldPriority != 0 || *d.Priority != 500 || d.Reason != "vip" || d.Source == "" {
		t.Fatalf("data %+v", d)
	}
	if fx, err := e.ChangePriority(t0+2, 500, ff.Actor{}); err != nil || fx != nil {
		t.Fatalf("the same priority again: %v %v, want nothing to write", fx, err)
	}
	for _, p := range []int64{-1, 9001} {
		_, err := e.ChangePriority(t0, p, ff.Actor{})
		wantErrKind(t, err, ff.ErrInvalidInput)
	}
	e.Expire(t0+3, "execution_deadline")
	_, err = e.ChangePriority(t0+4, 1, ff.Actor{})
	wantErrKind(t, err, ff.ErrNotEligible)
}

func TestReplay(t *testing.T) {
	e, f := running(t, &ff.ExecutionPolicy{MaxReplayCount: ptrInt(1)})
	_, err := e.Replay(t0, ff.Actor{})
	wantErrKind(t, err, ff.ErrExecutionNotTerminal)
	_, _, err = e.Complete(t0+5, f, []byte(`1`))
	noErr(t, err)
	fx, err := e.Replay(t0+10, ff.Actor{Reason: "again"})
	noErr(t, err)
	checkExec(t, e)
	if e.State.PublicState != ff.PublicWaiting || e.State.AttemptState != ff.AttemptPendingReplay || e.ReplayCount != 1 || e.CompletedAtMs != 0 {
		t.Fatalf("after replay: %s %s replays %d completed %d", e.State.PublicState, e.State.AttemptState, e.ReplayCount, e.CompletedAtMs)
	}
	if len(fx.UpdateAttempts) != 1 || fx.UpdateAttempts[0].Lifecycle != ff.AttemptEndedSuccess || fx.UpdateAttempts[0].EndedAtMs != t0+5 {
		t.Fatalf("the successful attempt is named for stores that keep it on the row: %+v", fx.UpdateAttempts)
	}
	if fx.ResetSkippedEdges {
		t.Fatal("a completed execution has no skipped edges to reset")
	}
	d := operatorData(t, fx, ff.OperatorReplayed)
	if d.PreviousOutcome != "success" || d.ReplayCount != 1 || d.Source != ff.DefaultOperatorSource {
		t.Fatalf("data %+v", d)
	}
	h, _ := claim(t, e, t0+20)
	if h.Kind != ff.HandleFresh || e.CurrentAttemptType != ff.AttemptReplay || e.AttemptCount != 2 {
		t.Fatalf("claim after replay: %s %s %d", h.Kind, e.CurrentAttemptType, e.AttemptCount)
	}
	_, _, err = e.Complete(t0+30, h.Lease.Fence(), nil)
	noErr(t, err)
	_, err = e.Replay(t0+40, ff.Actor{})
	wantErrKind(t, err, ff.ErrMaxReplaysExhausted)
}

func TestReplayOfSkippedAsksForItsEdges(t *testing.T) {
	e := newExec(t, nil)
	e.State = ff.StateVector{LifecyclePhase: ff.PhaseTerminal, OwnershipState: ff.OwnershipUnowned,
		EligibilityState: ff.EligibilityNotApplicable, BlockingReason: ff.BlockingNone, TerminalOutcome: ff.OutcomeSkipped,
		AttemptState: ff.AttemptStateNone}.Normalized()
	fx, err := e.Replay(t0, ff.Actor{})
	noErr(t, err)
	if !fx.ResetSkippedEdges || len(fx.UpdateAttempts) != 0 {
		t.Fatalf("effects %+v", fx)
	}
}

func TestRevokeLease(t *testing.T) {
	e, f := running(t, nil)
	epoch := e.LeaseEpoch
	fx, got := e.RevokeLease(t0+5, ff.Actor{Reason: "wedged"})
	checkExec(t, e)
	if fx == nil || got != epoch || e.RevokedLeaseEpoch != epoch || e.State.OwnershipState != ff.OwnershipLeaseRevoked || !e.Claimable() {
		t.Fatalf("revoke: %v %d %+v", fx, got, e.State)
	}
	if len(fx.Events) != 2 || fx.Events[1].Type != ff.EventLease || fx.Events[1].Action != ff.LeaseRevoked || fx.Events[1].Lease == nil {
		t.Fatalf("events %+v", fx.Events)
	}
	if fx.UpdateAttempts[0].Lifecycle != ff.AttemptInterruptedReclaimed {
		t.Fatalf("the attempt ends interrupted: %+v", fx.UpdateAttempts)
	}
	if fx, _ := e.RevokeLease(t0+6, ff.Actor{}); fx != nil {
		t.Fatal("a second revoke finds no lease")
	}
	_, err := e.Renew(t0+7, f, ttl)
	wantErrKind(t, err, ff.ErrLeaseRevoked)
	h, _ := claim(t, e, t0+8)
	if h.Kind != ff.HandleReclaimed {
		t.Fatalf("the next claim reclaims: %s", h.Kind)
	}
	_, _, err = e.Complete(t0+9, f, nil)
	wantErrKind(t, err, ff.ErrLeaseRevoked)
	_, _, err = e.Complete(t0+9, h.Lease.Fence(), nil)
	noErr(t, err)
}

func TestCancelByOperatorWritesItsEvent(t *testing.T) {
	e := newExec(t, nil)
	fx, err := e.CancelByOperator(t0, ff.Actor{Source: "console", Reason: "dup"})
	noErr(t, err)
	if len(fx.Events) != 2 || fx.Events[0].Type != ff.EventOperator || fx.Events[1].Type != ff.EventCompletion {
		t.Fatalf("events %+v", fx.Events)
	}
	if e.CancelledBy != "console" {
		t.Fatalf("cancelled_by %q", e.CancelledBy)
	}
	e2 := newExec(t, nil)
	_, err = e2.CancelByOperator(t0, ff.Actor{})
	noErr(t, err)
	if e2.CancelledBy != "operator_override" {
		t.Fatalf("default cancelled_by %q", e2.CancelledBy)
	}
}

func TestShowLanePaused(t *testing.T) {
	e := newExec(t, nil)
	if !e.ReadyToShow() || !e.ShowLanePaused() {
		t.Fatal("ready work shows paused")
	}
	checkExec(t, e)
	if e.State.PublicState != ff.PublicWaiting || e.State.EligibilityState != ff.BlockedByLaneState {
		t.Fatalf("%+v", e.State)
	}
	r, _ := running(t, nil)
	if r.ShowLanePaused() {
		t.Fatal("running work is not blocked by its lane")
	}
}

func ptrInt(v int) *int { return &v }
