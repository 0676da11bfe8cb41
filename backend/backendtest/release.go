package backendtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// ReleaseClaims: leases whose claim never reached the worker go back to
// the queue at once, uncounted.

func init() {
	register("Release/ClaimableAtOnceResumesSameAttempt", testReleaseResumes)
	register("Release/BatchEntriesFailAlone", testReleaseBatch)
	register("Release/ReclaimCountedOnce", testReleaseReclaim)
	register("Release/ExpiredLeaseIsMarked", testReleaseExpired)
	register("Release/WakesTheLane", testReleaseWakes)
}

func (e *env) release(hs ...ff.Handle) []error {
	e.t.Helper()
	ps := make([]backend.ReleaseClaimParams, len(hs))
	for i, h := range hs {
		ps[i] = backend.ReleaseClaimParams{Handle: h}
	}
	errs := e.b.ReleaseClaims(e.ctx, ps)
	require.Len(e.t, errs, len(hs), "ReleaseClaims errors must align with its params")
	return errs
}

func testReleaseResumes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rel")
	first := e.claim("rel")
	e.advance(5)
	require.NoError(t, e.release(first.Handle)[0])
	s := e.state(id, ff.PublicWaiting)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)
	require.Equal(t, 0, s.ReclaimCount)
	require.Equal(t, 0, s.RetryCount)
	require.Equal(t, e.now(), ff.MsFromTime(s.UpdatedAt))
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: first.Handle}), ff.ErrExecutionNotActive,
		"the released handle is dead")
	requireKind(t, e.release(first.Handle)[0], ff.ErrExecutionNotActive, "a repeated release finds no lease")

	again := e.claim("rel")
	require.Equal(t, id, again.ExecutionID)
	require.Equal(t, ff.HandleResumed, again.Handle.Kind)
	require.Equal(t, first.AttemptIndex, again.AttemptIndex)
	require.Equal(t, first.AttemptID, again.AttemptID)
	require.Equal(t, ff.AttemptResume, again.AttemptType, "a claim that continues an attempt reports resume")
	require.Equal(t, first.LeaseEpoch+1, again.LeaseEpoch)
	s = e.consistent(id)
	require.Equal(t, uint32(1), s.AttemptCount)
	require.Equal(t, 0, s.ReclaimCount)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptStarted, as[0].Lifecycle)
	require.Equal(t, ff.AttemptInitial, as[0].Type, "the attempt keeps its own type")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: again.Handle}))
	require.Equal(t, ff.AttemptInitial, e.attempts(id)[0].Type)
	e.oneCompletion(id, ff.OutcomeSuccess)
}

// Each entry of a batch is fenced alone: a dead, foreign, unknown or
// duplicated handle fails without stopping the others.
func testReleaseBatch(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a, b := e.createIn("relb"), e.createIn("relb")
	ta, tb := e.claim("relb"), e.claim("relb")
	foreign := ta.Handle
	foreign.Backend = otherBackend(ta.Handle.Backend)
	unknown := ta.Handle
	unknown.Lease.ExecutionID = randomID()
	stale := tb.Handle
	stale.Lease.LeaseEpoch++
	errs := e.release(ta.Handle, foreign, unknown, stale, tb.Handle, ta.Handle)
	require.NoError(t, errs[0])
	requireKind(t, errs[1], ff.ErrHandleFromOtherBackend)
	requireKind(t, errs[2], ff.ErrNotFound)
	requireKind(t, errs[3], ff.ErrStaleLease)
	require.NoError(t, errs[4])
	requireKind(t, errs[5], ff.ErrExecutionNotActive, "the same handle twice in one batch releases once")
	e.state(a, ff.PublicWaiting)
	e.state(b, ff.PublicWaiting)
	require.Empty(t, e.release())
}

// Releasing a reclaim keeps its one reclaim: the next claim resumes the
// reclaim attempt and counts nothing more.
func testReleaseReclaim(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("relr")
	e.expireLease(e.claim("relr"))
	re := e.claim("relr")
	require.Equal(t, ff.HandleReclaimed, re.Handle.Kind)
	require.NoError(t, e.release(re.Handle)[0])
	require.Equal(t, 1, e.state(id, ff.PublicWaiting).ReclaimCount)
	again := e.claim("relr")
	require.Equal(t, ff.HandleResumed, again.Handle.Kind)
	require.Equal(t, re.AttemptID, again.AttemptID)
	require.Equal(t, ff.AttemptResume, again.AttemptType)
	require.Equal(t, ff.AttemptReclaim, e.attempts(id)[1].Type, "the reclaim attempt keeps its type")
	s := e.consistent(id)
	require.Equal(t, 1, s.ReclaimCount)
	require.Equal(t, uint32(2), s.AttemptCount)
}

// A release that arrives after the lease expired fails with
// lease_expired and records the expiry, like any fenced write.
func testReleaseExpired(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("relx")
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"relx"}, LeaseTTL: time.Second})
	e.advance(1_000)
	requireKind(t, e.release(task.Handle)[0], ff.ErrLeaseExpired)
	s := e.state(id, ff.PublicActive)
	require.Equal(t, ff.OwnershipLeaseExpired, s.StateVector.OwnershipState)
	require.Equal(t, ff.HandleReclaimed, e.claim("relx").Handle.Kind)
}

// A release makes work claimable, so it wakes the lane's subscribers.
func testReleaseWakes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.createIn("relw")
	task := e.claim("relw")
	ch, stop := e.b.SubscribeWork(e.ctx, backend.SubscribeWorkParams{Lanes: []string{"relw"}})
	defer stop()
	drain(ch)
	require.NoError(t, e.release(task.Handle)[0])
	e.awaitWake(ch, "a release")
}
