package flowfabric_test

import (
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestClaimInitial(t *testing.T) {
	policy := &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(7000))}}
	e := newExec(t, policy)
	now := t0 + 10
	h, fx, err := e.Claim(now, ff.ClaimArgs{WorkerID: "w", WorkerInstanceID: "w-1", LeaseTTLMs: ttl,
		LeaseID: "L1", AttemptID: "A1"}, ff.BackendSQLite)
	noErr(t, err)
	checkExec(t, e)
	wantVec(t, e, vecA)

	want := ff.Handle{Backend: ff.BackendSQLite, Kind: ff.HandleFresh, Lease: ff.Lease{
		ExecutionID: e.ID, AttemptIndex: 0, AttemptID: "A1", LeaseID: "L1", LeaseEpoch: 1,
		LeaseTTLMs: uint64(ttl), Lane: "default", WorkerInstanceID: "w-1",
	}}
	if h != want {
		t.Fatalf("handle\n got %+v\nwant %+v", h, want)
	}
	wantAttempt := ff.Attempt{ExecutionID: e.ID, Index: 0, ID: "A1", Type: ff.AttemptInitial, Lifecycle: ff.AttemptStarted,
		LeaseEpoch: 1, WorkerID: "w", WorkerInstanceID: "w-1", StartedAtMs: now}
	if fx.InsertAttempt == nil || *fx.InsertAttempt != wantAttempt {
		t.Fatalf("insert attempt\n got %+v\nwant %+v", fx.InsertAttempt, wantAttempt)
	}
	if len(fx.UpdateAttempts) != 0 || len(fx.Events) != 0 || fx.StoreResult {
		t.Fatalf("unexpected effects %+v", fx)
	}
	if e.LeaseEpoch != 1 || e.AttemptCount != 1 || e.CurrentAttemptID != "A1" || e.LeaseID != "L1" {
		t.Fatalf("record %+v", e)
	}
	if e.LeaseExpiresAtMs != now+ttl || e.LeaseTTLMs != ttl || e.LastHeartbeatMs != now || e.StartedAtMs != now || e.UpdatedAtMs != now {
		t.Fatalf("times: expires %d ttl %d hb %d started %d updated %d", e.LeaseExpiresAtMs, e.LeaseTTLMs, e.LastHeartbeatMs, e.StartedAtMs, e.UpdatedAtMs)
	}
	if e.WorkerID != "w" || e.WorkerInstanceID != "w-1" {
		t.Fatalf("worker %q/%q", e.WorkerID, e.WorkerInstanceID)
	}
	if e.AttemptDeadlineMs != now+7000 {
		t.Fatalf("attempt deadline %d, want %d", e.AttemptDeadlineMs, now+7000)
	}
	if idx, ok := e.CurrentAttemptIndex(); !ok || idx != 0 {
		t.Fatalf("CurrentAttemptIndex = %d, %v", idx, ok)
	}
}

func TestClaimMintsIDsWhenEmpty(t *testing.T) {
	e := newExec(t, nil)
	h, _, err := e.Claim(t0, ff.ClaimArgs{WorkerID: "w", WorkerInstanceID: "w-1", LeaseTTLMs: ttl}, ff.BackendPostgres)
	noErr(t, err)
	if len(h.Lease.LeaseID) != 36 || len(h.Lease.AttemptID) != 36 || h.Lease.LeaseID == h.Lease.AttemptID {
		t.Fatalf("minted ids %q %q", h.Lease.LeaseID, h.Lease.AttemptID)
	}
}

// TestClaimProgression walks one execution through every claim type and
// checks the epoch grows by exactly one each time while the attempt index
// grows only for new attempts.
func TestClaimProgression(t *testing.T) {
	policy := fixedRetry(1, 0)
	policy.Timeout = &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(60_000))}
	e := newExec(t, policy)
	now := t0

	type step struct {
		name    string
		prepare func()
		kind    ff.HandleKind
		typ     ff.AttemptType // "" for a resume (no new attempt)
		index   uint32
	}
	var last ff.Handle
	steps := []step{
		{"initial from W0", func() {}, ff.HandleFresh, ff.AttemptInitial, 0},
		{"retry from WR", func() {
			out, _, _, err := e.Fail(now, last.Lease.Fence(), "boom", ff.FailureTransient, nil)
			noErr(t, err)
			if !out.RetryScheduled || ff.MsFromTime(out.DelayUntil) != now {
				t.Fatalf("fail outcome %+v", out)
			}
			wantVec(t, e, vecWR)
		}, ff.HandleFresh, ff.AttemptRetry, 1},
		{"resume from RI", func() {
			_, _, err := e.Delay(now, last.Lease.Fence(), now)
			noErr(t, err)
			wantVec(t, e, vecRI)
		}, ff.HandleResumed, "", 1},
		{"reclaim from AX", func() {
			now += ttl
			if fx := e.MarkLeaseExpired(now); fx == nil {
				t.Fatal("lease not marked expired")
			}
			wantVec(t, e, vecAX)
		}, ff.HandleReclaimed, ff.AttemptReclaim, 2},
		{"reclaim from AR", func() {
			e.State = vecAR // revocation is not a domain transition yet
		}, ff.HandleReclaimed, ff.AttemptReclaim, 3},
		{"replay from WP", func() {
			_, _, err := e.Complete(now, last.Lease.Fence(), nil)
			noErr(t, err)
			// replay_execution is not a domain transition yet: emulate T → WP.
			e.State = vecWP
			e.CompletedAtMs = 0
		}, ff.HandleFresh, ff.AttemptReplay, 4},
	}
	for i, s := range steps {
		now += 100
		s.prepare()
		checkExec(t, e)
		prevEpoch, prevCount, prevAttemptID, started := e.LeaseEpoch, e.AttemptCount, e.CurrentAttemptID, e.StartedAtMs
		h, fx := claim(t, e, now)
		wantVec(t, e, vecA)
		if e.LeaseEpoch != prevEpoch+1 || h.Lease.LeaseEpoch != e.LeaseEpoch {
			t.Fatalf("%s: epoch %d -> %d (handle %d)", s.name, prevEpoch, e.LeaseEpoch, h.Lease.LeaseEpoch)
		}
		if uint64(i+1) != e.LeaseEpoch {
			t.Fatalf("%s: epoch %d after %d claims", s.name, e.LeaseEpoch, i+1)
		}
		if h.Kind != s.kind || h.Lease.AttemptIndex != s.index {
			t.Fatalf("%s: handle kind %s index %d, want %s %d", s.name, h.Kind, h.Lease.AttemptIndex, s.kind, s.index)
		}
		if idx, _ := e.CurrentAttemptIndex(); idx != s.index {
			t.Fatalf("%s: current attempt index %d", s.name, idx)
		}
		if i > 0 && e.StartedAtMs != started {
			t.Fatalf("%s: started_at moved from %d to %d", s.name, started, e.StartedAtMs)
		}
		if h.Lease.AttemptID != e.CurrentAttemptID || h.Lease.LeaseID != e.LeaseID {
			t.Fatalf("%s: handle ids disagree with the record", s.name)
		}
		if s.typ == "" {
			if fx.InsertAttempt != nil || e.AttemptCount != prevCount || e.CurrentAttemptID != prevAttemptID {
				t.Fatalf("%s: a resume minted a new attempt: %+v", s.name, fx.InsertAttempt)
			}
			u := wantUpdate(t, fx, s.index, ff.AttemptStarted)
			if u.LeaseEpoch != e.LeaseEpoch || u.WorkerID != "w" || u.WorkerInstanceID != "w-1" {
				t.Fatalf("%s: resume update %+v", s.name, u)
			}
			if e.AttemptDeadlineMs != 0 {
				t.Fatalf("%s: resume re-armed the attempt timeout", s.name)
			}
		} else {
			a := fx.InsertAttempt
			if a == nil || a.Type != s.typ || a.Index != s.index || a.LeaseEpoch != e.LeaseEpoch || a.Lifecycle != ff.AttemptStarted || a.ID != e.CurrentAttemptID {
				t.Fatalf("%s: insert attempt %+v", s.name, a)
			}
			if e.AttemptCount != prevCount+1 || len(fx.UpdateAttempts) != 0 {
				t.Fatalf("%s: attempt count %d -> %d, updates %+v", s.name, prevCount, e.AttemptCount, fx.UpdateAttempts)
			}
			if e.AttemptDeadlineMs != now+60_000 {
				t.Fatalf("%s: attempt deadline %d", s.name, e.AttemptDeadlineMs)
			}
		}
		last = h
	}
	if e.ReclaimCount != 2 || e.RetryCount != 1 {
		t.Fatalf("reclaims %d retries %d", e.ReclaimCount, e.RetryCount)
	}
}

func TestClaimRefusesUnclaimable(t *testing.T) {
	active, _ := running(t, nil)
	done, f := running(t, nil)
	_, _, err := done.Complete(t0+1, f, nil)
	noErr(t, err)
	delayed, err := ff.NewExecution(ff.CreateSpec{Kind: "job", DelayUntilMs: t0 + 5000}, t0)
	noErr(t, err)

	tests := []struct {
		name string
		e    *ff.Execution
		now  int64
	}{
		{"active and leased", active, t0 + 1},
		{"terminal", done, t0 + 2},
		{"delayed, not yet due", delayed, t0 + 4999},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.e
			_, fx, err := tc.e.Claim(tc.now, ff.ClaimArgs{WorkerID: "w", WorkerInstanceID: "w-2", LeaseTTLMs: ttl}, ff.BackendPostgres)
			wantErr(t, err, ff.ClassState, ff.ErrNotRunnable)
			if fx != nil {
				t.Fatal("effects returned with the error")
			}
			if tc.e.State != before.State || tc.e.LeaseEpoch != before.LeaseEpoch || tc.e.LeaseID != before.LeaseID {
				t.Fatal("a refused claim changed the record")
			}
		})
	}
}

func TestClaimDueDelayedWork(t *testing.T) {
	e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", DelayUntilMs: t0 + 5000}, t0)
	noErr(t, err)
	wantVec(t, e, vecD0)
	h, fx := claim(t, e, t0+5000)
	wantVec(t, e, vecA)
	if h.Kind != ff.HandleFresh || fx.InsertAttempt.Type != ff.AttemptInitial || e.ReadyAtMs != 0 {
		t.Fatalf("handle %+v attempt %+v ready_at %d", h, fx.InsertAttempt, e.ReadyAtMs)
	}
}

func TestPromoteIfDue(t *testing.T) {
	d0 := func() *ff.Execution {
		e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", DelayUntilMs: t0 + 5000}, t0)
		noErr(t, err)
		return e
	}
	br := func() *ff.Execution {
		e, f := running(t, fixedRetry(1, 5000))
		_, _, _, err := e.Fail(t0, f, "x", ff.FailureTransient, nil)
		noErr(t, err)
		wantVec(t, e, vecBR)
		return e
	}
	di := func() *ff.Execution {
		e, f := running(t, nil)
		_, _, err := e.Delay(t0, f, t0+5000)
		noErr(t, err)
		wantVec(t, e, vecDI)
		return e
	}
	tests := []struct {
		name string
		make func() *ff.Execution
		want ff.StateVector
	}{
		{"D0 to W0", d0, vecW0},
		{"BR to WR", br, vecWR},
		{"DI to RI", di, vecRI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.make()
			before := e.State
			if e.PromoteIfDue(t0 + 4999) {
				t.Fatal("promoted before ready_at")
			}
			if e.State != before || e.ReadyAtMs != t0+5000 {
				t.Fatal("an early promotion changed the record")
			}
			if !e.PromoteIfDue(t0 + 5000) {
				t.Fatal("not promoted at ready_at")
			}
			checkExec(t, e)
			wantVec(t, e, tc.want)
			if e.UpdatedAtMs != t0+5000 || e.BlockingDetail != "" {
				t.Fatalf("updated_at %d detail %q", e.UpdatedAtMs, e.BlockingDetail)
			}
			if e.PromoteIfDue(t0 + 6000) {
				t.Fatal("promoted twice")
			}
		})
	}
	w0 := newExec(t, nil)
	a, _ := running(t, nil)
	for _, e := range []*ff.Execution{w0, a} {
		if e.PromoteIfDue(t0 + 1_000_000) {
			t.Fatalf("promoted %v", e.State)
		}
	}
}

// A claim reports resume exactly when it continues an interrupted attempt.
func TestClaimedAttemptType(t *testing.T) {
	for _, typ := range []ff.AttemptType{ff.AttemptInitial, ff.AttemptRetry, ff.AttemptReclaim, ff.AttemptReplay} {
		if got := ff.ClaimedAttemptType(ff.HandleResumed, typ); got != ff.AttemptResume {
			t.Fatalf("resumed %s reported %s", typ, got)
		}
		for _, kind := range []ff.HandleKind{ff.HandleFresh, ff.HandleReclaimed} {
			if got := ff.ClaimedAttemptType(kind, typ); got != typ {
				t.Fatalf("%s claim of a %s attempt reported %s", kind, typ, got)
			}
		}
	}
}
