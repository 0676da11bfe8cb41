package backendtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Time-driven transitions: attempt timeouts and execution deadlines,
// swept by the Maintenance calls with the fake clock.

func init() {
	register("Timeout/AttemptTimeoutExpires", testTimeoutAttempt)
	register("Timeout/AttemptTimeoutRearmedPerAttempt", testTimeoutRearmed)
	register("Timeout/AttemptTimeoutDisarmedByDelay", testTimeoutDisarmedByDelay)
	register("Deadline/AbsoluteFromRunnable", testDeadlineAbsoluteRunnable)
	register("Deadline/PolicyRelativeFromActive", testDeadlinePolicyActive)
	register("Deadline/FromDelayed", testDeadlineFromDelayed)
	register("Deadline/FromLeaseExpired", testDeadlineFromLeaseExpired)
	register("Deadline/EarlierOfBothWins", testDeadlineEarlierWins)
	register("Deadline/TerminalUntouched", testDeadlineTerminalUntouched)
	register("Maintenance/SweepLimits", testMaintenanceLimits)
}

func attemptTimeout(ms int64) *ff.ExecutionPolicy {
	return &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(ms)}}
}

func (e *env) expireTimeouts() int {
	e.t.Helper()
	n, err := e.b.ExpireAttemptTimeouts(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(e.t, err)
	return n
}

func (e *env) expireDeadlines() int {
	e.t.Helper()
	n, err := e.b.ExpireDeadlines(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(e.t, err)
	return n
}

// An attempt past its timeout expires the execution; the retry policy is
// not consulted.
func testTimeoutAttempt(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := attemptTimeout(5_000)
	pol.Retry = &ff.RetryPolicy{MaxRetries: 3, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 10}}
	id := e.create(backend.CreateExecutionParams{Lane: "to", Policy: pol})
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"to"}, LeaseTTL: 60_000 * time.Millisecond})
	e.advance(4_999)
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	require.Zero(t, e.expireTimeouts(), "not due yet")
	e.advance(1)
	require.Equal(t, 1, e.expireTimeouts())
	s := e.state(id, ff.PublicExpired)
	require.Equal(t, ff.OutcomeExpired, s.StateVector.TerminalOutcome)
	require.Equal(t, "attempt_timeout", s.FailureReason)
	require.Zero(t, s.RetryCount, "an attempt timeout does not retry")
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedFailure, as[0].Lifecycle)
	require.Equal(t, "attempt_timeout", as[0].FailureReason)
	require.Equal(t, e.now(), as[0].EndedAtMs)
	e.oneCompletion(id, ff.OutcomeExpired)
	require.Zero(t, e.expireTimeouts(), "expired once")
	e.claimNone("to")

	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
}

// Each new attempt gets its own timeout window.
func testTimeoutRearmed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := attemptTimeout(5_000)
	pol.Retry = &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 0}}
	id := e.create(backend.CreateExecutionParams{Lane: "tr", Policy: pol})
	p := backend.ClaimParams{WorkerID: "w1", Lanes: []string{"tr"}, LeaseTTL: 60_000 * time.Millisecond}
	first := e.claimWith(p)
	e.advance(4_000)
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: first.Handle, Reason: "x"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	e.claimWith(p)
	e.advance(4_000) // 8 s after the first claim, 4 s into the retry
	require.Zero(t, e.expireTimeouts(), "the retry's window starts at its claim")
	e.state(id, ff.PublicActive)
	e.advance(1_000)
	require.Equal(t, 1, e.expireTimeouts())
	e.state(id, ff.PublicExpired)
}

func testTimeoutDisarmedByDelay(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "td", Policy: attemptTimeout(5_000)})
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"td"}, LeaseTTL: 60_000 * time.Millisecond})
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now() + 60_000)}))
	e.advance(10_000)
	require.Zero(t, e.expireTimeouts(), "a delayed execution has no running attempt to time out")
	e.state(id, ff.PublicDelayed)
}

// An absolute deadline expires work that never ran.
func testDeadlineAbsoluteRunnable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	deadline := e.now() + 10_000
	id := e.create(backend.CreateExecutionParams{Lane: "dl", DeadlineAt: ff.TimeFromMs(deadline)})
	require.Equal(t, deadline, ff.MsFromTime(e.consistent(id).DeadlineAt))
	e.advance(9_999)
	require.Zero(t, e.expireDeadlines())
	e.advance(1)
	require.Equal(t, 1, e.expireDeadlines())
	s := e.state(id, ff.PublicExpired)
	require.Equal(t, "execution_deadline", s.FailureReason)
	require.Equal(t, ff.AttemptStateNone, s.StateVector.AttemptState, "never attempted")
	require.Empty(t, e.attempts(id))
	e.oneCompletion(id, ff.OutcomeExpired)
	e.claimNone("dl")
	require.Zero(t, e.expireDeadlines())
}

// A relative policy deadline counts from creation and expires running
// work, ending its attempt.
func testDeadlinePolicyActive(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{ExecutionDeadlineMs: ptr(int64(3_000))}}
	id := e.create(backend.CreateExecutionParams{Lane: "dp", Policy: pol})
	require.Equal(t, e.now()+3_000, ff.MsFromTime(e.consistent(id).DeadlineAt))
	e.advance(1_000)
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"dp"}, LeaseTTL: 60_000 * time.Millisecond})
	e.advance(1_999)
	require.Zero(t, e.expireDeadlines())
	e.advance(1)
	require.Equal(t, 1, e.expireDeadlines())
	s := e.state(id, ff.PublicExpired)
	require.Equal(t, "execution_deadline", s.FailureReason)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedFailure, as[0].Lifecycle)
	require.Equal(t, "execution_deadline", as[0].FailureReason)
	e.oneCompletion(id, ff.OutcomeExpired)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
}

func testDeadlineFromDelayed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dd", DelayUntil: ff.TimeFromMs(e.now() + 60_000), DeadlineAt: ff.TimeFromMs(e.now() + 5_000)})
	e.advance(5_000)
	require.Equal(t, 1, e.expireDeadlines())
	e.state(id, ff.PublicExpired)
	e.advance(60_000)
	require.Zero(t, e.promote(), "an expired execution is never promoted")
	e.claimNone("dd")
}

// An execution whose lease expired (awaiting reclaim) still expires at
// its deadline; its already ended attempt is not rewritten.
func testDeadlineFromLeaseExpired(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dx", DeadlineAt: ff.TimeFromMs(e.now() + 2*defaultTTL)})
	e.expireLease(e.claim("dx"))
	e.advance(defaultTTL)
	require.Equal(t, 1, e.expireDeadlines())
	s := e.state(id, ff.PublicExpired)
	require.Equal(t, "execution_deadline", s.FailureReason)
	require.Equal(t, ff.AttemptInterruptedReclaimed, e.attempts(id)[0].Lifecycle)
	e.claimNone("dx")
	e.oneCompletion(id, ff.OutcomeExpired)
}

func testDeadlineEarlierWins(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{ExecutionDeadlineMs: ptr(int64(3_000))}}
	a := e.create(backend.CreateExecutionParams{Lane: "de", Policy: pol, DeadlineAt: ff.TimeFromMs(e.now() + 8_000)})
	b := e.create(backend.CreateExecutionParams{Lane: "de", Policy: pol, DeadlineAt: ff.TimeFromMs(e.now() + 1_000)})
	require.Equal(t, e.now()+3_000, ff.MsFromTime(e.consistent(a).DeadlineAt))
	require.Equal(t, e.now()+1_000, ff.MsFromTime(e.consistent(b).DeadlineAt))
}

func testDeadlineTerminalUntouched(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "dt", DeadlineAt: ff.TimeFromMs(e.now() + 1_000), Policy: attemptTimeout(500)})
	task := e.claim("dt")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	e.advance(5_000)
	require.Zero(t, e.expireDeadlines())
	require.Zero(t, e.expireTimeouts())
	n, err := e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 100})
	require.NoError(t, err)
	require.Zero(t, n)
	e.state(id, ff.PublicCompleted)
	e.oneCompletion(id, ff.OutcomeSuccess)
}

// Sweeps honour their batch limit and leave the rest for the next call.
func testMaintenanceLimits(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for range 3 {
		e.create(backend.CreateExecutionParams{Lane: "ml", DelayUntil: ff.TimeFromMs(e.now() + 100)})
	}
	e.advance(100)
	n, err := e.b.PromoteDelayed(e.ctx, backend.SweepParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = e.b.PromoteDelayed(e.ctx, backend.SweepParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 1, n)

	for range 3 {
		e.claim("ml")
	}
	e.advance(defaultTTL)
	n, err = e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = e.b.ExpireLeases(e.ctx, backend.SweepParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for _, s := range e.listAll(backend.ListExecutionsParams{Lane: "ml"}) {
		require.Equal(t, ff.OwnershipLeaseExpired, e.consistent(s.ExecutionID).StateVector.OwnershipState)
	}
}
