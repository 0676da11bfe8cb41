package flowfabric_test

import (
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

// wantTerminalLease asserts what a terminal transition keeps and clears:
// the lease and worker go, the epoch and attempt id stay for replay
// reconciliation.
func wantTerminalLease(t *testing.T, e *ff.Execution, f ff.Fence, now int64) {
	t.Helper()
	if e.LeaseID != "" || e.WorkerID != "" || e.WorkerInstanceID != "" || e.LeaseExpiresAtMs != 0 {
		t.Fatalf("lease not cleared: %q %q %q %d", e.LeaseID, e.WorkerID, e.WorkerInstanceID, e.LeaseExpiresAtMs)
	}
	if e.LeaseEpoch != f.LeaseEpoch || e.CurrentAttemptID != f.AttemptID {
		t.Fatalf("epoch %d attempt %q, want %d %q kept", e.LeaseEpoch, e.CurrentAttemptID, f.LeaseEpoch, f.AttemptID)
	}
	if e.CompletedAtMs != now || e.UpdatedAtMs != now || e.AttemptDeadlineMs != 0 || e.ReadyAtMs != 0 {
		t.Fatalf("times: completed %d updated %d attempt deadline %d ready %d", e.CompletedAtMs, e.UpdatedAtMs, e.AttemptDeadlineMs, e.ReadyAtMs)
	}
}

func TestComplete(t *testing.T) {
	e, f := running(t, nil)
	now := t0 + 50
	fx, fr, err := e.Complete(now, f, []byte(`{"ok":true}`))
	noErr(t, err)
	if fr != (ff.FenceResult{}) {
		t.Fatalf("fence result %+v", fr)
	}
	checkExec(t, e)
	wantVec(t, e, vecT(ff.OutcomeSuccess, ff.AttemptTerminalState))
	wantTerminalLease(t, e, f, now)
	if !fx.StoreResult || string(fx.Result) != `{"ok":true}` || fx.InsertAttempt != nil {
		t.Fatalf("effects %+v", fx)
	}
	if u := wantUpdate(t, fx, 0, ff.AttemptEndedSuccess); u.EndedAtMs != now {
		t.Fatalf("update %+v", u)
	}
	wantEvent(t, fx, e, ff.OutcomeSuccess, now)

	// A replay under the same fence is a success with nothing to write.
	before := *e
	fx, fr, err = e.Complete(now+10, f, []byte(`{"ok":true}`))
	if err != nil || fx != nil || fr != (ff.FenceResult{}) {
		t.Fatalf("replay: fx %+v fr %+v err %v", fx, fr, err)
	}
	if e.UpdatedAtMs != before.UpdatedAtMs || e.State != before.State {
		t.Fatal("replay changed the record")
	}
	// A different fence is not a replay.
	for _, g := range []ff.Fence{
		{LeaseID: f.LeaseID, LeaseEpoch: f.LeaseEpoch + 1, AttemptID: f.AttemptID},
		{LeaseID: f.LeaseID, LeaseEpoch: f.LeaseEpoch, AttemptID: "other"},
	} {
		_, _, err = e.Complete(now+10, g, nil)
		wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	}
}

func TestCompleteRejects(t *testing.T) {
	e, f := running(t, nil)
	_, _, err := e.Complete(t0+1, f, make([]byte, ff.MaxResultBytes+1))
	wantErr(t, err, ff.ClassValidation, ff.ErrPayloadTooLarge)
	wantVec(t, e, vecA)

	// Completing after a cooperative cancel under the same fence is not a replay.
	_, _, err = e.Cancel(t0+1, f, "bye")
	noErr(t, err)
	_, _, err = e.Complete(t0+2, f, nil)
	ee := wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	if ee.NotActive.TerminalOutcome != ff.OutcomeCancelled {
		t.Fatalf("detail %+v", ee.NotActive)
	}

	// Completing on an expired lease marks it and fails.
	e, f = running(t, nil)
	fx, fr, err := e.Complete(t0+ttl, f, nil)
	wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
	if fx != nil || !fr.MarkedExpired || fr.Effects == nil {
		t.Fatalf("fx %+v fr %+v", fx, fr)
	}
	wantVec(t, e, vecAX)
}

func TestFailSchedulesRetry(t *testing.T) {
	e, f := running(t, fixedRetry(2, 5000))
	now := t0 + 100
	out, fx, fr, err := e.Fail(now, f, "boom", ff.FailureTransient, nil)
	noErr(t, err)
	checkExec(t, e)
	if out != (ff.FailOutcome{RetryScheduled: true, DelayUntil: ff.TimeFromMs(now + 5000)}) || fr != (ff.FenceResult{}) {
		t.Fatalf("outcome %+v fr %+v", out, fr)
	}
	wantVec(t, e, vecBR)
	if e.ReadyAtMs != now+5000 || e.RetryCount != 1 || e.CurrentAttemptID != "" || e.LeaseEpoch != f.LeaseEpoch {
		t.Fatalf("ready %d retries %d attempt %q epoch %d", e.ReadyAtMs, e.RetryCount, e.CurrentAttemptID, e.LeaseEpoch)
	}
	if e.LeaseID != "" || e.WorkerID != "" || e.CompletedAtMs != 0 || e.AttemptDeadlineMs != 0 {
		t.Fatalf("lease/completion not reset: %+v", e)
	}
	if e.FailureReason != "boom" || e.FailureClass != "transient" || !strings.Contains(e.BlockingDetail, "retry 1 of 2") {
		t.Fatalf("reason %q class %q detail %q", e.FailureReason, e.FailureClass, e.BlockingDetail)
	}
	u := wantUpdate(t, fx, 0, ff.AttemptEndedFailure)
	if u.FailureReason != "boom" || u.FailureClass != "transient" || u.EndedAtMs != now {
		t.Fatalf("update %+v", u)
	}
	ev := wantLeaseEvent(t, fx, e, ff.LeaseReleased, ff.LeaseReasonRetryScheduled, now)
	if d := ev.Data.(ff.LeaseEventData); d.FailureReason != "boom" || d.FailureClass != "transient" {
		t.Fatalf("a scheduled retry's lease event: %+v", d)
	}

	// Second attempt fails: last retry. Third fails: terminal.
	if !e.PromoteIfDue(now + 5000) {
		t.Fatal("not promoted")
	}
	h, _ := claim(t, e, now+5000)
	out, _, _, err = e.Fail(now+5001, h.Lease.Fence(), "boom 2", ff.FailureInfra, nil)
	noErr(t, err)
	if !out.RetryScheduled || e.RetryCount != 2 {
		t.Fatalf("second failure: %+v retries %d", out, e.RetryCount)
	}
	e.PromoteIfDue(now + 20_000)
	h, _ = claim(t, e, now+20_000)
	out, fx, _, err = e.Fail(now+20_001, h.Lease.Fence(), "boom 3", ff.FailureTransient, nil)
	noErr(t, err)
	checkExec(t, e)
	if out != (ff.FailOutcome{}) {
		t.Fatalf("exhausted retries: %+v", out)
	}
	wantVec(t, e, vecT(ff.OutcomeFailed, ff.AttemptTerminalState))
	wantTerminalLease(t, e, h.Lease.Fence(), now+20_001)
	wantUpdate(t, fx, 2, ff.AttemptEndedFailure)
	wantEvent(t, fx, e, ff.OutcomeFailed, now+20_001)
	if e.AttemptCount != 3 || e.RetryCount != 2 || e.FailureReason != "boom 3" {
		t.Fatalf("attempts %d retries %d reason %q", e.AttemptCount, e.RetryCount, e.FailureReason)
	}
}

func TestFailExponentialBackoffUsesRetriesSoFar(t *testing.T) {
	policy := &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 3, Backoff: ff.BackoffStrategy{Type: "exponential", Jitter: 0.5}}}
	e, f := running(t, policy)
	now := t0
	rnd := func() float64 { return 0 } // lower bound: (1-j)·d
	for i, wantDelay := range []int64{500, 1000, 2000} {
		out, _, _, err := e.Fail(now, f, "x", ff.FailureTransient, rnd)
		noErr(t, err)
		if ff.MsFromTime(out.DelayUntil) != now+wantDelay || e.ReadyAtMs != now+wantDelay {
			t.Fatalf("retry %d: delay until %d, want %d", i+1, ff.MsFromTime(out.DelayUntil), now+wantDelay)
		}
		now = e.ReadyAtMs
		e.PromoteIfDue(now)
		h, _ := claim(t, e, now)
		f = h.Lease.Fence()
	}
}

func TestFailZeroBackoffIsReadyAtOnce(t *testing.T) {
	e, f := running(t, fixedRetry(1, 0))
	out, _, _, err := e.Fail(t0+1, f, "x", ff.FailureTransient, nil)
	noErr(t, err)
	checkExec(t, e)
	wantVec(t, e, vecWR)
	if out != (ff.FailOutcome{RetryScheduled: true, DelayUntil: ff.TimeFromMs(t0 + 1)}) || e.ReadyAtMs != 0 {
		t.Fatalf("outcome %+v ready %d", out, e.ReadyAtMs)
	}
}

func TestFailClassification(t *testing.T) {
	tests := []struct {
		name           string
		policy         *ff.ExecutionPolicy
		class          ff.FailureClass
		retryScheduled bool
	}{
		{"no policy", nil, ff.FailureTransient, false},
		{"zero retries", fixedRetry(0, 10), ff.FailureTransient, false},
		{"transient", fixedRetry(1, 10), ff.FailureTransient, true},
		{"infra crash", fixedRetry(1, 10), ff.FailureInfra, true},
		{"timeout", fixedRetry(1, 10), ff.FailureTimeout, true},
		{"cancelled", fixedRetry(1, 10), ff.FailureCancelled, true},
		{"permanent is terminal at once", fixedRetry(5, 10), ff.FailurePermanent, false},
		{"permanent retried when the policy says so", &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 1, RetryPermanent: true}}, ff.FailurePermanent, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, f := running(t, tc.policy)
			out, fx, _, err := e.Fail(t0+1, f, "x", tc.class, nil)
			noErr(t, err)
			checkExec(t, e)
			if out.RetryScheduled != tc.retryScheduled {
				t.Fatalf("outcome %+v", out)
			}
			if tc.retryScheduled {
				if e.State.AttemptState != ff.AttemptPendingRetry {
					t.Fatalf("state %v", e.State)
				}
				wantLeaseEvent(t, fx, e, ff.LeaseReleased, ff.LeaseReasonRetryScheduled, t0+1)
				return
			}
			wantVec(t, e, vecT(ff.OutcomeFailed, ff.AttemptTerminalState))
			wantEvent(t, fx, e, ff.OutcomeFailed, t0+1)
			if e.FailureClass != string(tc.class) || e.RetryCount != 0 {
				t.Fatalf("class %q retries %d", e.FailureClass, e.RetryCount)
			}
		})
	}
}

func TestFailTruncatesReason(t *testing.T) {
	e, f := running(t, nil)
	_, fx, _, err := e.Fail(t0+1, f, strings.Repeat("r", ff.MaxReasonBytes+10), ff.FailureTransient, nil)
	noErr(t, err)
	if len(e.FailureReason) != ff.MaxReasonBytes || len(fx.UpdateAttempts[0].FailureReason) != ff.MaxReasonBytes {
		t.Fatalf("reason lengths %d %d", len(e.FailureReason), len(fx.UpdateAttempts[0].FailureReason))
	}
}

func TestFailReplay(t *testing.T) {
	t.Run("terminal failed", func(t *testing.T) {
		e, f := running(t, nil)
		_, _, _, err := e.Fail(t0+1, f, "x", ff.FailureTransient, nil)
		noErr(t, err)
		before := *e
		out, fx, fr, err := e.Fail(t0+2, f, "x", ff.FailureTransient, nil)
		if err != nil || fx != nil || out != (ff.FailOutcome{}) || fr != (ff.FenceResult{}) {
			t.Fatalf("replay: out %+v fx %+v fr %+v err %v", out, fx, fr, err)
		}
		if e.UpdatedAtMs != before.UpdatedAtMs {
			t.Fatal("replay changed the record")
		}
		other := f
		other.AttemptID = "other"
		_, _, _, err = e.Fail(t0+2, other, "x", ff.FailureTransient, nil)
		wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	})
	t.Run("retry scheduled", func(t *testing.T) {
		e, f := running(t, fixedRetry(1, 5000))
		_, _, _, err := e.Fail(t0+1, f, "x", ff.FailureTransient, nil)
		noErr(t, err)
		for _, promote := range []bool{false, true} { // BR, then WR
			if promote && !e.PromoteIfDue(t0+5001) {
				t.Fatal("not promoted")
			}
			before := *e
			out, fx, fr, err := e.Fail(t0+2, f, "x", ff.FailureTransient, nil)
			if err != nil || fx != nil || fr != (ff.FenceResult{}) {
				t.Fatalf("replay: fx %+v fr %+v err %v", fx, fr, err)
			}
			// delay_until 0 is the "unknown on replay" sentinel.
			if out != (ff.FailOutcome{RetryScheduled: true}) {
				t.Fatalf("replay outcome %+v", out)
			}
			if e.State != before.State || e.RetryCount != 1 || e.UpdatedAtMs != before.UpdatedAtMs {
				t.Fatal("replay changed the record")
			}
		}
		// Once a retry attempt holds the execution the old fence is stale.
		claim(t, e, t0+5002)
		_, _, _, err = e.Fail(t0+5003, f, "x", ff.FailureTransient, nil)
		wantErr(t, err, ff.ClassState, ff.ErrStaleLease)
	})
	t.Run("after a worker delay is not a replay", func(t *testing.T) {
		e, f := running(t, fixedRetry(1, 5000))
		_, _, err := e.Delay(t0+1, f, t0+100)
		noErr(t, err)
		_, _, _, err = e.Fail(t0+2, f, "x", ff.FailureTransient, nil)
		wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
		wantVec(t, e, vecDI)
	})
}

func TestCancelByLeaseHolder(t *testing.T) {
	e, f := running(t, nil)
	fx, _, err := e.Cancel(t0+5, f, "no longer needed")
	noErr(t, err)
	checkExec(t, e)
	wantVec(t, e, vecT(ff.OutcomeCancelled, ff.AttemptTerminalState))
	wantTerminalLease(t, e, f, t0+5)
	if u := wantUpdate(t, fx, 0, ff.AttemptEndedCancelled); u.FailureReason != "no longer needed" {
		t.Fatalf("update %+v", u)
	}
	wantEvent(t, fx, e, ff.OutcomeCancelled, t0+5)
	if e.CancelledBy != "lease_holder" || e.CancelReason != "no longer needed" {
		t.Fatalf("cancelled by %q reason %q", e.CancelledBy, e.CancelReason)
	}

	fx, fr, err := e.Cancel(t0+6, f, "again")
	if err != nil || fx != nil || fr != (ff.FenceResult{}) {
		t.Fatalf("replay: fx %+v fr %+v err %v", fx, fr, err)
	}
	if e.CancelReason != "no longer needed" {
		t.Fatal("replay changed the record")
	}
	// Cancel after complete under the same fence is not a replay.
	e, f = running(t, nil)
	_, _, err = e.Complete(t0+1, f, nil)
	noErr(t, err)
	_, _, err = e.Cancel(t0+2, f, "x")
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
}

func TestDelay(t *testing.T) {
	policy := &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(1000))}}
	tests := []struct {
		name    string
		until   int64
		want    ff.StateVector
		readyAt int64
	}{
		{"future is DI", t0 + 9000, vecDI, t0 + 9000},
		{"now is RI", t0 + 10, vecRI, 0},
		{"past is RI", t0, vecRI, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, f := running(t, policy)
			fx, fr, err := e.Delay(t0+10, f, tc.until)
			noErr(t, err)
			checkExec(t, e)
			wantVec(t, e, tc.want)
			if fr != (ff.FenceResult{}) || e.ReadyAtMs != tc.readyAt {
				t.Fatalf("fr %+v ready %d", fr, e.ReadyAtMs)
			}
			wantUpdate(t, fx, 0, ff.AttemptSuspended)
			if fx.InsertAttempt != nil {
				t.Fatalf("effects %+v", fx)
			}
			wantLeaseEvent(t, fx, e, ff.LeaseReleased, ff.LeaseReasonDelayed, t0+10)
			if e.LeaseID != "" || e.LeaseEpoch != 1 || e.CurrentAttemptID != f.AttemptID || e.AttemptDeadlineMs != 0 {
				t.Fatalf("lease %q epoch %d attempt %q deadline %d", e.LeaseID, e.LeaseEpoch, e.CurrentAttemptID, e.AttemptDeadlineMs)
			}
			if e.AttemptTimedOut(t0 + 1_000_000) {
				t.Fatal("attempt timeout still armed after delay")
			}
			// No replay reconciliation for delay.
			_, _, err = e.Delay(t0+11, f, tc.until)
			ee := wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
			if ee.NotActive.LifecyclePhase != ff.PhaseRunnable {
				t.Fatalf("detail %+v", ee.NotActive)
			}
		})
	}
}

// phases builds an execution in each named state reachable by the domain
// transitions (AR and WP are set directly: revoke and replay are not
// domain transitions yet).
func phases(t *testing.T) map[string]*ff.Execution {
	m := map[string]*ff.Execution{}
	m["W0"] = newExec(t, nil)
	d0, err := ff.NewExecution(ff.CreateSpec{Kind: "job", DelayUntilMs: t0 + 5000}, t0)
	noErr(t, err)
	m["D0"] = d0
	m["A"], _ = running(t, nil)

	br, f := running(t, fixedRetry(1, 5000))
	_, _, _, err = br.Fail(t0, f, "x", ff.FailureTransient, nil)
	noErr(t, err)
	m["BR"] = br
	wr, f := running(t, fixedRetry(1, 0))
	_, _, _, err = wr.Fail(t0, f, "x", ff.FailureTransient, nil)
	noErr(t, err)
	m["WR"] = wr
	di, f := running(t, nil)
	_, _, err = di.Delay(t0, f, t0+5000)
	noErr(t, err)
	m["DI"] = di
	ri, f := running(t, nil)
	_, _, err = ri.Delay(t0, f, t0)
	noErr(t, err)
	m["RI"] = ri
	ax, _ := running(t, nil)
	ax.MarkLeaseExpired(t0 + ttl)
	m["AX"] = ax
	ar, _ := running(t, nil)
	ar.State = vecAR
	m["AR"] = ar
	wp, f := running(t, nil)
	_, _, err = wp.Complete(t0, f, nil)
	noErr(t, err)
	wp.State, wp.CompletedAtMs = vecWP, 0
	m["WP"] = wp

	want := map[string]ff.StateVector{"W0": vecW0, "D0": vecD0, "A": vecA, "BR": vecBR, "WR": vecWR, "DI": vecDI,
		"RI": vecRI, "AX": vecAX, "AR": vecAR, "WP": vecWP}
	for name, e := range m {
		checkExec(t, e)
		wantVec(t, e, want[name])
	}
	return m
}

func TestOperatorCancelFromEveryPhase(t *testing.T) {
	// endsAttempt: whether the current attempt is still open and must be
	// ended as cancelled (running or interrupted by a worker delay).
	endsAttempt := map[string]bool{"A": true, "DI": true, "RI": true}
	noAttempt := map[string]bool{"W0": true, "D0": true}
	for name, e := range phases(t) {
		t.Run(name, func(t *testing.T) {
			now := t0 + 2*ttl
			epoch := e.LeaseEpoch
			fx, err := e.OperatorCancel(now, "operator says stop", "")
			noErr(t, err)
			checkExec(t, e)
			attempt := ff.AttemptTerminalState
			if noAttempt[name] {
				attempt = ff.AttemptStateNone
			}
			wantVec(t, e, vecT(ff.OutcomeCancelled, attempt))
			wantEvent(t, fx, e, ff.OutcomeCancelled, now)
			if endsAttempt[name] {
				idx, _ := e.CurrentAttemptIndex()
				if u := wantUpdate(t, fx, idx, ff.AttemptEndedCancelled); u.EndedAtMs != now || u.FailureReason != "operator says stop" {
					t.Fatalf("update %+v", u)
				}
			} else if len(fx.UpdateAttempts) != 0 {
				t.Fatalf("updates %+v", fx.UpdateAttempts)
			}
			if e.CancelledBy != "operator_override" || e.CancelReason != "operator says stop" || e.LeaseEpoch != epoch {
				t.Fatalf("by %q reason %q epoch %d", e.CancelledBy, e.CancelReason, e.LeaseEpoch)
			}
			if want := map[bool]uint64{true: epoch}[name == "A"]; e.RevokedLeaseEpoch != want {
				t.Fatalf("revoked epoch %d, want %d: only a held lease is revoked", e.RevokedLeaseEpoch, want)
			}
			if e.LeaseID != "" || e.CompletedAtMs != now {
				t.Fatalf("lease %q completed %d", e.LeaseID, e.CompletedAtMs)
			}

			// Cancelling a terminal execution yields the not-active carrier.
			before := *e
			fx, err = e.OperatorCancel(now+1, "again", "flow_cascade")
			ee := wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
			if fx != nil || ee.NotActive.LifecyclePhase != ff.PhaseTerminal || ee.NotActive.TerminalOutcome != ff.OutcomeCancelled {
				t.Fatalf("fx %+v detail %+v", fx, ee.NotActive)
			}
			if e.CancelReason != before.CancelReason || e.UpdatedAtMs != before.UpdatedAtMs {
				t.Fatal("cancel of a terminal execution changed the record")
			}
		})
	}
	e := newExec(t, nil)
	_, err := e.OperatorCancel(t0, "x", "flow_cascade")
	noErr(t, err)
	if e.CancelledBy != "flow_cascade" {
		t.Fatalf("source %q", e.CancelledBy)
	}
}

func TestMarkLeaseExpired(t *testing.T) {
	e, f := running(t, &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(10 * ttl))}})
	if e.LeaseExpired(t0+ttl-1) || e.MarkLeaseExpired(t0+ttl-1) != nil {
		t.Fatal("marked before expiry")
	}
	wantVec(t, e, vecA)
	if !e.LeaseExpired(t0 + ttl) {
		t.Fatal("LeaseExpired false at expiry")
	}
	fx := e.MarkLeaseExpired(t0 + ttl)
	checkExec(t, e)
	wantVec(t, e, vecAX)
	u := wantUpdate(t, fx, 0, ff.AttemptInterruptedReclaimed)
	if u.EndedAtMs != t0+ttl || u.FailureReason != "lease_expired" || u.FailureClass != "infra_crash" {
		t.Fatalf("update %+v", u)
	}
	wantLeaseEvent(t, fx, e, ff.LeaseExpired, ff.LeaseReasonExpired, t0+ttl)
	if e.BlockingDetail == "" || e.AttemptDeadlineMs != 0 {
		t.Fatalf("detail %q attempt deadline %d", e.BlockingDetail, e.AttemptDeadlineMs)
	}
	// Identity is kept for fencing; the epoch does not move.
	if e.LeaseID != f.LeaseID || e.CurrentAttemptID != f.AttemptID || e.LeaseEpoch != f.LeaseEpoch {
		t.Fatalf("lease identity changed: %q %q %d", e.LeaseID, e.CurrentAttemptID, e.LeaseEpoch)
	}
	if e.MarkLeaseExpired(t0+2*ttl) != nil {
		t.Fatal("marked an AX execution again")
	}
	for _, other := range []*ff.Execution{newExec(t, nil)} {
		if other.MarkLeaseExpired(t0+10*ttl) != nil {
			t.Fatal("marked a runnable execution")
		}
	}
}

func TestMarkLeaseExpiredReclaimCap(t *testing.T) {
	tests := []struct {
		name string
		cap  *int
		want int // reclaims allowed before the terminal failure
	}{
		{"cap 0", ptr(0), 0},
		{"cap 1", ptr(1), 1},
		{"cap 3", ptr(3), 3},
		{"default cap", nil, ff.DefaultMaxReclaimCount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := running(t, &ff.ExecutionPolicy{MaxReclaimCount: tc.cap})
			now := t0
			for i := 0; i < tc.want; i++ {
				now += ttl
				fx := e.MarkLeaseExpired(now)
				wantLeaseEvent(t, fx, e, ff.LeaseExpired, ff.LeaseReasonExpired, now)
				wantVec(t, e, vecAX)
				claim(t, e, now)
			}
			if e.ReclaimCount != tc.want {
				t.Fatalf("reclaims %d", e.ReclaimCount)
			}
			now += ttl
			idx, _ := e.CurrentAttemptIndex()
			fx := e.MarkLeaseExpired(now)
			checkExec(t, e)
			wantVec(t, e, vecT(ff.OutcomeFailed, ff.AttemptTerminalState))
			wantUpdate(t, fx, idx, ff.AttemptInterruptedReclaimed)
			wantEvent(t, fx, e, ff.OutcomeFailed, now)
			if e.FailureReason != "max_reclaims_exceeded" || e.FailureClass != "infra_crash" {
				t.Fatalf("reason %q class %q", e.FailureReason, e.FailureClass)
			}
			if e.LeaseID != "" || e.CompletedAtMs != now {
				t.Fatalf("lease %q completed %d", e.LeaseID, e.CompletedAtMs)
			}
		})
	}
}

func TestExpire(t *testing.T) {
	// endsAttempt: the attempt is still open (running or interrupted by a
	// worker delay) and must be ended as a timeout failure.
	endsAttempt := map[string]bool{"A": true, "DI": true, "RI": true}
	noAttempt := map[string]bool{"W0": true, "D0": true}
	for name, e := range phases(t) {
		for _, reason := range []string{"attempt_timeout", "execution_deadline"} {
			t.Run(name+"/"+reason, func(t *testing.T) {
				e := *e // each reason gets its own copy
				now := t0 + 3*ttl
				fx := e.Expire(now, reason)
				checkExec(t, &e)
				attempt := ff.AttemptTerminalState
				if noAttempt[name] {
					attempt = ff.AttemptStateNone
				}
				wantVec(t, &e, vecT(ff.OutcomeExpired, attempt))
				wantEvent(t, fx, &e, ff.OutcomeExpired, now)
				if endsAttempt[name] {
					idx, _ := e.CurrentAttemptIndex()
					u := wantUpdate(t, fx, idx, ff.AttemptEndedFailure)
					if u.FailureReason != reason || u.FailureClass != "timeout" || u.EndedAtMs != now {
						t.Fatalf("update %+v", u)
					}
				} else if len(fx.UpdateAttempts) != 0 {
					t.Fatalf("updates %+v", fx.UpdateAttempts)
				}
				if e.FailureReason != reason || e.FailureClass != "timeout" {
					t.Fatalf("reason %q class %q", e.FailureReason, e.FailureClass)
				}
				// Expire on a terminal execution is a no-op.
				before := e
				if e.Expire(now+1, reason) != nil || e.UpdatedAtMs != before.UpdatedAtMs || e.State != before.State {
					t.Fatal("expired a terminal execution again")
				}
			})
		}
	}
}

func TestAttemptTimeoutIgnoresRetryPolicy(t *testing.T) {
	policy := fixedRetry(5, 10)
	policy.Timeout = &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(1000))}
	e, _ := running(t, policy)
	if e.AttemptTimedOut(t0+999) || !e.AttemptTimedOut(t0+1000) {
		t.Fatalf("AttemptTimedOut wrong around deadline %d", e.AttemptDeadlineMs)
	}
	fx := e.Expire(t0+1000, "attempt_timeout")
	checkExec(t, e)
	wantVec(t, e, vecT(ff.OutcomeExpired, ff.AttemptTerminalState))
	wantEvent(t, fx, e, ff.OutcomeExpired, t0+1000)
	if e.RetryCount != 0 || e.AttemptTimedOut(t0+2000) {
		t.Fatalf("retries %d", e.RetryCount)
	}
	// Expire on already-terminal executions of every outcome returns nil.
	for _, end := range []func(*ff.Execution, ff.Fence){
		func(e *ff.Execution, f ff.Fence) { _, _, _ = e.Complete(t0+1, f, nil) },
		func(e *ff.Execution, f ff.Fence) { _, _, _, _ = e.Fail(t0+1, f, "x", ff.FailurePermanent, nil) },
		func(e *ff.Execution, f ff.Fence) { _, _, _ = e.Cancel(t0+1, f, "x") },
	} {
		e, f := running(t, nil)
		end(e, f)
		if e.State.LifecyclePhase != ff.PhaseTerminal {
			t.Fatalf("not terminal: %v", e.State)
		}
		if e.Expire(t0+2, "execution_deadline") != nil || e.State.TerminalOutcome == ff.OutcomeExpired {
			t.Fatal("expired a terminal execution")
		}
	}
}
