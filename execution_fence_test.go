package flowfabric_test

import (
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestCheckFenceShape(t *testing.T) {
	e, f := running(t, nil)
	tests := []struct {
		name  string
		fence ff.Fence
		kind  ff.ErrorKind
	}{
		{"missing", ff.Fence{}, ff.ErrFenceRequired},
		{"lease id only", ff.Fence{LeaseID: f.LeaseID}, ff.ErrPartialFence},
		{"epoch only", ff.Fence{LeaseEpoch: f.LeaseEpoch}, ff.ErrPartialFence},
		{"attempt id only", ff.Fence{AttemptID: f.AttemptID}, ff.ErrPartialFence},
		{"no lease id", ff.Fence{LeaseEpoch: f.LeaseEpoch, AttemptID: f.AttemptID}, ff.ErrPartialFence},
		{"no epoch", ff.Fence{LeaseID: f.LeaseID, AttemptID: f.AttemptID}, ff.ErrPartialFence},
		{"no attempt id", ff.Fence{LeaseID: f.LeaseID, LeaseEpoch: f.LeaseEpoch}, ff.ErrPartialFence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Even past expiry the fence shape is checked first and nothing is marked.
			fr, err := e.CheckFence(t0+ttl+1, tc.fence)
			wantErr(t, err, ff.ClassValidation, tc.kind)
			if fr.MarkedExpired || fr.Effects != nil {
				t.Fatal("a malformed fence marked the lease expired")
			}
			wantVec(t, e, vecA)
		})
	}
	fr, err := e.CheckFence(t0+1, f)
	noErr(t, err)
	if fr != (ff.FenceResult{}) {
		t.Fatalf("valid fence returned %+v", fr)
	}
}

func TestCheckFenceNotActive(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(*testing.T) (*ff.Execution, ff.Fence)
		phase      ff.LifecyclePhase
		outcome    ff.TerminalOutcome
		keepsAttID bool
	}{
		{"completed", func(t *testing.T) (*ff.Execution, ff.Fence) {
			e, f := running(t, nil)
			_, _, err := e.Complete(t0+1, f, nil)
			noErr(t, err)
			return e, f
		}, ff.PhaseTerminal, ff.OutcomeSuccess, true},
		{"retry scheduled", func(t *testing.T) (*ff.Execution, ff.Fence) {
			e, f := running(t, fixedRetry(1, 10))
			_, _, _, err := e.Fail(t0+1, f, "x", ff.FailureTransient, nil)
			noErr(t, err)
			return e, f
		}, ff.PhaseRunnable, ff.OutcomeNone, false},
		{"delayed by the worker", func(t *testing.T) (*ff.Execution, ff.Fence) {
			e, f := running(t, nil)
			_, _, err := e.Delay(t0+1, f, t0+100)
			noErr(t, err)
			return e, f
		}, ff.PhaseRunnable, ff.OutcomeNone, true},
		{"operator cancelled after the lease expired", func(t *testing.T) (*ff.Execution, ff.Fence) {
			e, f := running(t, nil)
			e.MarkLeaseExpired(t0 + ttl)
			_, err := e.OperatorCancel(t0+ttl+1, "stop", "")
			noErr(t, err)
			return e, f
		}, ff.PhaseTerminal, ff.OutcomeCancelled, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, f := tc.prepare(t)
			before := *e
			// Not-active wins over expiry: nothing is marked.
			fr, err := e.CheckFence(t0+ttl+5, f)
			ee := wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
			if ee.Retryable() {
				t.Fatal("not-active carrier is retryable: the same call can never succeed")
			}
			want := ff.NotActiveDetail{LifecyclePhase: tc.phase, TerminalOutcome: tc.outcome, LeaseEpoch: 1}
			if tc.keepsAttID {
				want.AttemptID = f.AttemptID
			}
			if ee.NotActive == nil || *ee.NotActive != want {
				t.Fatalf("detail %+v, want %+v", ee.NotActive, want)
			}
			if fr.MarkedExpired || e.State != before.State || e.UpdatedAtMs != before.UpdatedAtMs {
				t.Fatal("check changed the record")
			}
		})
	}
}

// An operator cancel of a leased execution revokes the lease: exactly
// that lease's fence is answered lease_revoked, before and after its
// expiry; any other fence gets the not-active carrier, and no later
// lease's fence ever matches.
func TestCheckFenceRevokedByOperatorCancel(t *testing.T) {
	e, f := running(t, nil)
	_, err := e.OperatorCancel(t0+1, "stop", "")
	noErr(t, err)
	if e.RevokedLeaseEpoch != f.LeaseEpoch {
		t.Fatalf("revoked epoch %d, want %d", e.RevokedLeaseEpoch, f.LeaseEpoch)
	}
	before := *e
	for _, now := range []int64{t0 + 2, t0 + 10*ttl} {
		fr, err := e.CheckFence(now, f)
		if ee := wantErr(t, err, ff.ClassState, ff.ErrLeaseRevoked); ee.Retryable() || ee.NotActive != nil {
			t.Fatalf("revoked: %+v", ee)
		}
		if fr.MarkedExpired || e.State != before.State {
			t.Fatal("check changed the record")
		}
	}
	for _, other := range []ff.Fence{
		{LeaseID: f.LeaseID, LeaseEpoch: f.LeaseEpoch, AttemptID: "other"},
		{LeaseID: f.LeaseID, LeaseEpoch: f.LeaseEpoch + 1, AttemptID: f.AttemptID},
	} {
		_, err := e.CheckFence(t0+2, other)
		wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	}

	// Replayed (which clears the revocation), the next lease has a
	// higher epoch: the revoked fence is merely stale, and after that
	// lease ends, merely not active.
	_, err = e.Replay(t0+3, ff.Actor{})
	noErr(t, err)
	h, _ := claim(t, e, t0+3)
	_, err = e.CheckFence(t0+4, f)
	wantErr(t, err, ff.ClassState, ff.ErrStaleLease)
	_, _, err = e.Complete(t0+4, h.Lease.Fence(), nil)
	noErr(t, err)
	_, err = e.CheckFence(t0+5, f)
	wantErr(t, err, ff.ClassContention, ff.ErrExecutionNotActive)
	fx, _, err := e.Complete(t0+5, h.Lease.Fence(), nil)
	if fx != nil || err != nil {
		t.Fatalf("the new holder's replay: %+v %v", fx, err)
	}
}

func TestCheckFenceRevokedWinsOverExpiryAndStaleness(t *testing.T) {
	e, f := running(t, nil)
	e.State = vecAR // revocation is not a domain transition yet
	checkExec(t, e)
	for _, fence := range []ff.Fence{f, {LeaseID: "other", LeaseEpoch: 9, AttemptID: "other"}} {
		for _, now := range []int64{t0 + 1, t0 + ttl, t0 + 10*ttl} {
			fr, err := e.CheckFence(now, fence)
			wantErr(t, err, ff.ClassState, ff.ErrLeaseRevoked)
			if fr.MarkedExpired {
				t.Fatal("revoked lease marked expired")
			}
			wantVec(t, e, vecAR)
		}
	}
}

func TestCheckFenceExpiry(t *testing.T) {
	t.Run("just before expiry is valid", func(t *testing.T) {
		e, f := running(t, nil)
		_, err := e.CheckFence(t0+ttl-1, f)
		noErr(t, err)
		wantVec(t, e, vecA)
	})
	for _, name := range []string{"current fence", "stale fence"} {
		t.Run(name+" at expiry marks the lease expired", func(t *testing.T) {
			e, f := running(t, nil)
			if name == "stale fence" {
				f.LeaseEpoch = 99 // expiry is checked before the fence comparison
			}
			now := t0 + ttl
			fr, err := e.CheckFence(now, f)
			wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
			if !fr.MarkedExpired || fr.Effects == nil {
				t.Fatalf("fence result %+v", fr)
			}
			checkExec(t, e)
			wantVec(t, e, vecAX)
			u := wantUpdate(t, fr.Effects, 0, ff.AttemptInterruptedReclaimed)
			if u.EndedAtMs != now {
				t.Fatalf("update %+v", u)
			}
		})
	}
	t.Run("already expired", func(t *testing.T) {
		e, f := running(t, nil)
		if e.MarkLeaseExpired(t0+ttl) == nil {
			t.Fatal("not marked")
		}
		fr, err := e.CheckFence(t0+ttl+1, f)
		wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
		if fr.MarkedExpired {
			t.Fatal("marked twice")
		}
		stale := f
		stale.LeaseEpoch = f.LeaseEpoch + 1
		_, err = e.CheckFence(t0+ttl+1, stale)
		wantErr(t, err, ff.ClassState, ff.ErrStaleLease)
		wantVec(t, e, vecAX)
	})
	t.Run("expiry at the reclaim cap fails the execution", func(t *testing.T) {
		e, f := running(t, &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)})
		fr, err := e.CheckFence(t0+ttl, f)
		wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
		if !fr.MarkedExpired {
			t.Fatal("not marked")
		}
		checkExec(t, e)
		wantVec(t, e, vecT(ff.OutcomeFailed, ff.AttemptTerminalState))
		wantEvent(t, fr.Effects, e, ff.OutcomeFailed, t0+ttl)
	})
}

func TestCheckFenceStale(t *testing.T) {
	// Reclaim once so that epoch 1 belongs to a genuinely older owner.
	e, _ := running(t, nil)
	e.MarkLeaseExpired(t0 + ttl)
	h, _ := claim(t, e, t0+ttl)
	f := h.Lease.Fence()
	if f.LeaseEpoch != 2 {
		t.Fatalf("epoch %d", f.LeaseEpoch)
	}
	tests := []struct {
		name   string
		mutate func(*ff.Fence)
	}{
		{"older epoch", func(g *ff.Fence) { g.LeaseEpoch = 1 }},
		{"newer epoch", func(g *ff.Fence) { g.LeaseEpoch = 3 }},
		{"other lease id", func(g *ff.Fence) { g.LeaseID = "someone-else" }},
		{"other attempt id", func(g *ff.Fence) { g.AttemptID = "someone-else" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := f
			tc.mutate(&g)
			before := *e
			fr, err := e.CheckFence(t0+ttl+1, g)
			wantErr(t, err, ff.ClassState, ff.ErrStaleLease)
			if fr.MarkedExpired || e.State != before.State || e.LeaseExpiresAtMs != before.LeaseExpiresAtMs {
				t.Fatal("stale check changed the record")
			}
		})
	}
}

func TestRenew(t *testing.T) {
	e, f := running(t, nil)
	fr, err := e.Renew(t0+ttl-1, f, 60_000)
	noErr(t, err)
	if fr != (ff.FenceResult{}) {
		t.Fatalf("fence result %+v", fr)
	}
	checkExec(t, e)
	if e.LeaseExpiresAtMs != t0+ttl-1+60_000 || e.LastHeartbeatMs != t0+ttl-1 || e.LeaseEpoch != 1 || e.LeaseID != f.LeaseID {
		t.Fatalf("after renew: expires %d hb %d epoch %d lease %q", e.LeaseExpiresAtMs, e.LastHeartbeatMs, e.LeaseEpoch, e.LeaseID)
	}
	// The old expiry has passed but the renewal moved it: still valid.
	_, err = e.CheckFence(t0+ttl+1, f)
	noErr(t, err)

	stale := f
	stale.LeaseID = "x"
	_, err = e.Renew(t0+ttl+2, stale, 60_000)
	wantErr(t, err, ff.ClassState, ff.ErrStaleLease)

	late := e.LeaseExpiresAtMs
	fr, err = e.Renew(late, f, 60_000)
	wantErr(t, err, ff.ClassState, ff.ErrLeaseExpired)
	if !fr.MarkedExpired || e.LeaseExpiresAtMs != late {
		t.Fatalf("late renew: %+v, expires %d", fr, e.LeaseExpiresAtMs)
	}
	wantVec(t, e, vecAX)
}

func TestProgress(t *testing.T) {
	e, f := running(t, nil)
	if e.ProgressPct != -1 {
		t.Fatalf("initial progress %d", e.ProgressPct)
	}
	_, err := e.Progress(t0+1, f, 40, "halfway-ish")
	noErr(t, err)
	if e.ProgressPct != 40 || e.ProgressMessage != "halfway-ish" || e.LastHeartbeatMs != t0+1 {
		t.Fatalf("progress %d %q hb %d", e.ProgressPct, e.ProgressMessage, e.LastHeartbeatMs)
	}
	_, err = e.Progress(t0+2, f, -1, "message only")
	noErr(t, err)
	if e.ProgressPct != 40 || e.ProgressMessage != "message only" {
		t.Fatalf("progress %d %q", e.ProgressPct, e.ProgressMessage)
	}
	for _, pct := range []int{-2, 101} {
		_, err = e.Progress(t0+3, f, pct, "")
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
	}
	_, err = e.Progress(t0+3, f, 50, strings.Repeat("m", ff.MaxReasonBytes+1))
	wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
	if e.ProgressPct != 40 {
		t.Fatal("rejected progress was stored")
	}
	stale := f
	stale.AttemptID = "x"
	_, err = e.Progress(t0+3, stale, 50, "")
	wantErr(t, err, ff.ClassState, ff.ErrStaleLease)
	checkExec(t, e)
}
