package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Fencing and leases: renewal, expiry, reclaim, the epoch, and handles
// that must be refused.

func init() {
	register("Fence/RenewExtendsKeepsEpoch", testFenceRenew)
	register("Fence/RenewDefersExpiry", testFenceRenewDefersExpiry)
	register("Fence/RenewMany", testFenceRenewMany)
	register("Fence/Progress", testFenceProgress)
	register("Fence/ExpiredLeaseRejectsOwner", testFenceExpiredLeaseRejectsOwner)
	register("Fence/ExpireLeasesSweep", testFenceExpireLeasesSweep)
	register("Fence/ReclaimMakesOldHandleStale", testFenceReclaimStale)
	register("Fence/ReclaimCap", testFenceReclaimCap)
	register("Fence/EpochGrowsByOnePerClaim", testFenceEpoch)
	register("Fence/TamperedEpochIsStale", testFenceTamperedEpoch)
	register("Fence/TamperedIdentityIsStale", testFenceTamperedIdentity)
	register("Fence/HandleFromOtherBackend", testFenceOtherBackend)
	register("Fence/PartialFence", testFencePartial)
	register("Fence/HandleForUnknownExecution", testFenceUnknownExecution)
}

// Spec §9.7 item 4, first half: renew extends the lease and keeps its
// identity.
func testFenceRenew(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("r")
	task := e.claim("r")
	e.advance(4_000)
	r, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	require.Equal(t, e.now()+defaultTTL, ff.MsFromTime(r.ExpiresAt), "renew extends to now + the claim's TTL")
	require.Equal(t, task.LeaseEpoch, r.LeaseEpoch, "renew keeps the epoch")
	s := e.state(id, ff.PublicActive)
	require.Equal(t, task.Handle.Lease.LeaseID, s.Lease.LeaseID, "renew keeps the lease id")
	require.Equal(t, uint64(1), s.Lease.Epoch)
	require.Equal(t, ff.MsFromTime(r.ExpiresAt), ff.MsFromTime(s.Lease.ExpiresAt))
	require.Equal(t, e.now(), ff.MsFromTime(s.Lease.LastHeartbeatAt))
	require.Len(t, e.attempts(id), 1)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), "the handle stays valid after renew")
}

func testFenceRenewDefersExpiry(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("r")
	task := e.claim("r")
	for range 5 {
		e.advance(defaultTTL - 1)
		n, err := e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
		require.NoError(t, err)
		require.Zero(t, n, "a renewed lease is not due")
		_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
		require.NoError(t, err)
	}
	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.OwnershipLeased, s.StateVector.OwnershipState)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
}

func testFenceRenewMany(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("rm")
	e.createIn("rm")
	t1 := e.claim("rm")
	t2 := e.claim("rm")
	stale := t2.Handle
	stale.Lease.LeaseEpoch++
	e.advance(1_000)
	res := e.b.RenewMany(e.ctx, []backend.RenewParams{{Handle: t1.Handle}, {Handle: stale}, {Handle: t2.Handle}})
	require.Len(t, res, 3)
	require.NoError(t, res[0].Err)
	require.Equal(t, e.now()+defaultTTL, ff.MsFromTime(res[0].Renewal.ExpiresAt))
	require.Equal(t, uint64(1), res[0].Renewal.LeaseEpoch)
	requireKind(t, res[1].Err, ff.ErrStaleLease)
	require.NoError(t, res[2].Err)
	require.Equal(t, e.now()+defaultTTL, ff.MsFromTime(res[2].Renewal.ExpiresAt))
	require.Empty(t, e.b.RenewMany(e.ctx, nil))
}

func testFenceProgress(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("pg")
	task := e.claim("pg")
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 40, Message: "warming up"}))
	s := e.state(id, ff.PublicActive)
	require.NotNil(t, s.ProgressPct)
	require.Equal(t, 40, *s.ProgressPct)
	require.Equal(t, "warming up", s.ProgressMessage)

	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: -1, Message: "still"}))
	s = e.state(id, ff.PublicActive)
	require.Equal(t, 40, *s.ProgressPct, "percent -1 leaves the percentage")
	require.Equal(t, "still", s.ProgressMessage)

	err := e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 101})
	requireKind(t, err, ff.ErrInvalidInput)
	require.Equal(t, 40, *e.consistent(id).ProgressPct)
	require.Equal(t, uint64(1), e.consistent(id).Lease.Epoch, "progress never changes the epoch")
}

// Spec §9.7 item 2 and invariant 4: once the lease is due, the owner's
// writes fail even before any sweep ran, and the failing write marks the
// lease expired; after a reclaim the old handle is stale.
func testFenceExpiredLeaseRejectsOwner(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("x")
	task := e.claim("x")
	e.advance(defaultTTL + 1)

	err := e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`1`)})
	requireKind(t, err, ff.ErrLeaseExpired, "complete after expiry")
	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.OwnershipLeaseExpired, s.StateVector.OwnershipState, "the failing write marks the lease expired")
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)

	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrLeaseExpired, "renew after expiry")
	err = e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 10})
	requireKind(t, err, ff.ErrLeaseExpired, "progress after expiry")
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "late"})
	requireKind(t, err, ff.ErrLeaseExpired, "fail after expiry")
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound, "a rejected complete stores no result")
	require.Empty(t, e.completions())

	_, err = e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(t, err)
	e.consistent(id)
	re := e.claimWith(claimParams("w2", "x"))
	require.Equal(t, id, re.ExecutionID)
	require.Equal(t, ff.HandleReclaimed, re.Handle.Kind)
	require.Equal(t, ff.AttemptReclaim, re.AttemptType)
	require.Equal(t, task.AttemptIndex+1, re.AttemptIndex)
	require.Equal(t, task.LeaseEpoch+1, re.LeaseEpoch)

	err = e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrStaleLease, "complete with the pre-reclaim handle")
	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrStaleLease, "renew with the pre-reclaim handle")
	err = e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 10})
	requireKind(t, err, ff.ErrStaleLease, "progress with the pre-reclaim handle")
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrStaleLease, "fail with the pre-reclaim handle")
	err = e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrStaleLease, "cancel with the pre-reclaim handle")
	err = e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now() + 10)})
	requireKind(t, err, ff.ErrStaleLease, "delay with the pre-reclaim handle")
	s = e.state(id, ff.PublicActive)
	require.Equal(t, re.Handle.Lease.LeaseID, s.Lease.LeaseID, "stale writes change nothing")

	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: re.Handle, Result: []byte(`2`)}))
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, `2`, string(res))
}

// The sweep marks due leases; an expired-but-unswept lease is not
// claimable, a swept one is reclaimed with a new attempt.
func testFenceExpireLeasesSweep(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("sw")
	task := e.claim("sw")

	e.advance(defaultTTL - 1)
	n, err := e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(t, err)
	require.Zero(t, n, "a live lease is not swept")
	e.advance(1)
	e.claimNone("sw") // due, but not yet marked: only the sweep makes it reclaimable

	n, err = e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.OwnershipLeaseExpired, s.StateVector.OwnershipState)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptInterruptedReclaimed, as[0].Lifecycle)
	require.Equal(t, e.now(), as[0].EndedAtMs)
	n, err = e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(t, err)
	require.Zero(t, n, "an expired lease is marked once")

	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrLeaseExpired)

	re := e.claimWith(claimParams("w2", "sw"))
	require.Equal(t, id, re.ExecutionID)
	require.Equal(t, ff.HandleReclaimed, re.Handle.Kind)
	require.Equal(t, ff.AttemptReclaim, re.AttemptType)
	require.Equal(t, uint32(1), re.AttemptIndex)
	require.NotEqual(t, task.AttemptID, re.AttemptID)
	require.Equal(t, uint64(2), re.LeaseEpoch)
	s = e.state(id, ff.PublicActive)
	require.Equal(t, 1, s.ReclaimCount)
	require.Equal(t, uint32(2), s.AttemptCount)
	require.Equal(t, "w2", s.Lease.WorkerID)
	as = e.attempts(id)
	require.Len(t, as, 2)
	require.Equal(t, ff.AttemptInterruptedReclaimed, as[0].Lifecycle)
	require.Equal(t, ff.AttemptReclaim, as[1].Type)
	require.Equal(t, ff.AttemptStarted, as[1].Lifecycle)
	require.Equal(t, uint64(2), as[1].LeaseEpoch)
	require.Empty(t, e.completions(), "a lease expiry is not terminal")
}

func testFenceReclaimStale(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rs")
	old := e.claim("rs")
	e.expireLease(old)
	re := e.claim("rs")
	// The old handle is well-formed and its lease id looks plausible; the
	// epoch alone decides.
	err := e.b.Complete(e.ctx, backend.CompleteParams{Handle: old.Handle})
	requireKind(t, err, ff.ErrStaleLease)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: re.Handle}))
	// After the new owner completed, the old handle reports not active,
	// not success: it is not a replay of its own call.
	err = e.b.Complete(e.ctx, backend.CompleteParams{Handle: old.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
	e.oneCompletion(id, ff.OutcomeSuccess)
}

// Reclaims are capped by max_reclaim_count; the expiry past the cap fails
// the execution with max_reclaims_exceeded.
func testFenceReclaimCap(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "cap", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(1)}})
	first := e.claim("cap")
	e.expireLease(first)
	re := e.claim("cap")
	require.Equal(t, ff.AttemptReclaim, re.AttemptType)
	require.Equal(t, 1, e.consistent(id).ReclaimCount)

	e.expireLease(re)
	s := e.state(id, ff.PublicFailed)
	require.Equal(t, "max_reclaims_exceeded", s.FailureReason)
	require.Equal(t, ff.OutcomeFailed, s.StateVector.TerminalOutcome)
	as := e.attempts(id)
	require.Len(t, as, 2)
	require.Equal(t, ff.AttemptInterruptedReclaimed, as[1].Lifecycle)
	e.claimNone("cap")
	e.oneCompletion(id, ff.OutcomeFailed)

	err := e.b.Complete(e.ctx, backend.CompleteParams{Handle: re.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)

	// A cap of zero fails at the first expiry.
	id0 := e.create(backend.CreateExecutionParams{Lane: "cap0", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)}})
	e.expireLease(e.claim("cap0"))
	require.Equal(t, "max_reclaims_exceeded", e.state(id0, ff.PublicFailed).FailureReason)
}

// Spec §9.7 item 4: fresh, resumed and reclaimed claims each add exactly
// one to the epoch; renew, delay and terminal transitions keep it.
func testFenceEpoch(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ep")
	epoch := func() uint64 {
		s := e.consistent(id)
		require.NotNil(t, s.Lease, "the epoch is always reported once claimed")
		return s.Lease.Epoch
	}

	fresh := e.claim("ep")
	require.Equal(t, ff.HandleFresh, fresh.Handle.Kind)
	require.Equal(t, uint64(1), fresh.Handle.Lease.LeaseEpoch)
	require.Equal(t, uint64(1), epoch())

	r, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: fresh.Handle})
	require.NoError(t, err)
	require.Equal(t, uint64(1), r.LeaseEpoch)
	require.Equal(t, uint64(1), epoch(), "renew keeps the epoch")

	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: fresh.Handle, Until: ff.TimeFromMs(e.now() + 1_000)}))
	require.Equal(t, uint64(1), epoch(), "delay keeps the epoch")
	e.advance(1_000)
	require.Equal(t, 1, e.promote())
	resumed := e.claim("ep")
	require.Equal(t, ff.HandleResumed, resumed.Handle.Kind)
	require.Equal(t, uint64(2), resumed.Handle.Lease.LeaseEpoch)
	require.Equal(t, uint64(2), epoch())

	e.expireLease(resumed)
	require.Equal(t, uint64(2), epoch(), "expiry keeps the epoch")
	reclaimed := e.claim("ep")
	require.Equal(t, ff.HandleReclaimed, reclaimed.Handle.Kind)
	require.Equal(t, uint64(3), reclaimed.Handle.Lease.LeaseEpoch)
	require.Equal(t, uint64(3), epoch())

	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: reclaimed.Handle}))
	require.Equal(t, uint64(3), epoch(), "the epoch is never cleared, not even when terminal")
}

func testFenceTamperedEpoch(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("tm")
	task := e.claim("tm")
	for _, bump := range []uint64{1, 1000} {
		bad := task.Handle
		bad.Lease.LeaseEpoch += bump
		requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: bad}), ff.ErrStaleLease)
		_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: bad})
		requireKind(t, err, ff.ErrStaleLease)
		_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: bad})
		requireKind(t, err, ff.ErrStaleLease)
		requireKind(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: bad}), ff.ErrStaleLease)
	}
	s := e.state(id, ff.PublicActive)
	require.Equal(t, uint64(1), s.Lease.Epoch, "a rejected write changes nothing")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
}

// Every part of the fence triple is checked, not just the epoch.
func testFenceTamperedIdentity(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ti")
	task := e.claim("ti")
	badLease := task.Handle
	badLease.Lease.LeaseID = "00000000-0000-4000-8000-000000000000"
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: badLease}), ff.ErrStaleLease, "wrong lease id")
	badAttempt := task.Handle
	badAttempt.Lease.AttemptID = "00000000-0000-4000-8000-000000000001"
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: badAttempt}), ff.ErrStaleLease, "wrong attempt id")
	e.state(id, ff.PublicActive)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
}

func testFenceOtherBackend(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ob")
	task := e.claim("ob")
	bad := task.Handle
	bad.Backend = otherBackend(task.Handle.Backend)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: bad}), ff.ErrHandleFromOtherBackend)
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: bad})
	requireKind(t, err, ff.ErrHandleFromOtherBackend)
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: bad})
	requireKind(t, err, ff.ErrHandleFromOtherBackend)
	requireKind(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: bad, Percent: 1}), ff.ErrHandleFromOtherBackend)
	e.state(id, ff.PublicActive)
}

func testFencePartial(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("pf")
	task := e.claim("pf")
	noLease := task.Handle
	noLease.Lease.LeaseID = ""
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: noLease}), ff.ErrPartialFence)
	empty := task.Handle
	empty.Lease.LeaseID, empty.Lease.AttemptID, empty.Lease.LeaseEpoch = "", "", 0
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: empty}), ff.ErrFenceRequired)
	e.state(task.ExecutionID, ff.PublicActive)
}

func testFenceUnknownExecution(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("ue")
	task := e.claim("ue")
	ghost := task.Handle
	ghost.Lease.ExecutionID = randomID()
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: ghost}), ff.ErrNotFound)
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: ghost})
	requireKind(t, err, ff.ErrNotFound)
}
