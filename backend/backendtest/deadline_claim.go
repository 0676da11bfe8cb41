package backendtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// A claim never hands out an execution past its execution deadline: it
// expires it instead, exactly as the deadline sweep would, whatever the
// kind of claim (fresh, resume, reclaim, retry).

func init() {
	register("Deadline/ClaimExpiresPending", testDeadlineClaimPending)
	register("Deadline/ClaimExpiresInterruptedAttempt", testDeadlineClaimResume)
	register("Deadline/ClaimExpiresReclaimable", testDeadlineClaimReclaim)
	register("Deadline/ClaimExpiresPendingRetry", testDeadlineClaimRetry)
}

// requireExpiredByClaim checks id was expired at its deadline by a claim
// and that the deadline sweep finds nothing left to do.
func (e *env) requireExpiredByClaim(id ff.ExecutionID) backend.ExecutionSnapshot {
	e.t.Helper()
	s := e.state(id, ff.PublicExpired)
	require.Equal(e.t, "execution_deadline", s.FailureReason)
	require.Equal(e.t, e.now(), ff.MsFromTime(s.CompletedAt))
	ev := e.oneCompletion(id, ff.OutcomeExpired)
	require.Equal(e.t, e.now(), ff.MsFromTime(ev.At))
	require.Zero(e.t, e.expireDeadlines(), "the claim already expired it")
	return s
}

// The expired head takes the place of one claimed execution; the work
// behind it is handed out by the same claim or the next one.
func testDeadlineClaimPending(t *testing.T, h Harness) {
	e := newEnv(t, h)
	late := e.create(backend.CreateExecutionParams{Lane: "dcp", Priority: 5, DeadlineAt: ff.TimeFromMs(e.now() + 1_000)})
	other := e.createIn("dcp")
	third := e.createIn("dcp")
	e.advance(1_000)
	p := claimParams("w1", "dcp")
	p.Max = 2
	tasks, err := e.b.Claim(e.ctx, p)
	require.NoError(t, err)
	require.Len(t, tasks, 1, "the expired head takes one place of the batch")
	require.Equal(t, other, tasks[0].ExecutionID)
	s := e.requireExpiredByClaim(late)
	require.Equal(t, ff.AttemptStateNone, s.StateVector.AttemptState)
	require.Zero(t, s.AttemptCount)
	require.Empty(t, e.attempts(late))
	require.Equal(t, third, e.claim("dcp").ExecutionID)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: tasks[0].Handle}))
}

// An attempt interrupted by Delay is not resumed past the deadline: it
// ends as a failure with reason execution_deadline.
func testDeadlineClaimResume(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dcr", DeadlineAt: ff.TimeFromMs(e.now() + 5_000)})
	task := e.claim("dcr")
	e.advance(100)
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now())}))
	e.advance(4_900)
	e.claimNone("dcr")
	s := e.requireExpiredByClaim(id)
	require.Equal(t, ff.AttemptTerminalState, s.StateVector.AttemptState)
	require.Equal(t, task.LeaseEpoch, s.Lease.Epoch, "an expiry takes no lease")
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedFailure, as[0].Lifecycle)
	require.Equal(t, "execution_deadline", as[0].FailureReason)
	require.Equal(t, string(ff.FailureTimeout), as[0].FailureClass)
	require.Equal(t, task.AttemptID, as[0].ID)
	require.Equal(t, e.now(), as[0].EndedAtMs)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
}

// A lost lease is not reclaimed past the deadline; its attempt already
// ended when the loss was recorded and is left as it was.
func testDeadlineClaimReclaim(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dcx", DeadlineAt: ff.TimeFromMs(e.now() + 3*defaultTTL)})
	e.expireLease(e.claim("dcx"))
	e.advance(2 * defaultTTL)
	e.claimNone("dcx")
	s := e.requireExpiredByClaim(id)
	require.Zero(t, s.ReclaimCount, "an expiry is not a reclaim")
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptInterruptedReclaimed, as[0].Lifecycle)
	require.Equal(t, "lease_expired", as[0].FailureReason)
}

// A retry is not started past the deadline.
func testDeadlineClaimRetry(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dct", Policy: retryPolicy(3, 0),
		DeadlineAt: ff.TimeFromMs(e.now() + 1_000)})
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"dct"}, LeaseTTL: time.Minute})
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "boom", Classification: ff.FailureTransient})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	e.advance(1_000)
	e.claimNone("dct")
	s := e.requireExpiredByClaim(id)
	require.Equal(t, uint32(1), s.AttemptCount, "no retry attempt was minted")
	require.Equal(t, 1, s.RetryCount)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedFailure, as[0].Lifecycle)
	require.Equal(t, "boom", as[0].FailureReason)
}
