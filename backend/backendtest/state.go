package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The state vector (spec §9.7 item 13): every transition leaves a
// consistent vector with the named state of spec §2.3, and state survives
// a reopen of the store.

func init() {
	register("State/NamedVectorsAlongTransitions", testStateNamedVectors)
	register("State/DurableAcrossReopen", testStateDurable)
}

// vectorOf states the expected (lifecycle, ownership, eligibility,
// blocking reason, outcome, attempt state) of a named state.
func vectorOf(phase ff.LifecyclePhase, own ff.OwnershipState, elig ff.EligibilityState, reason ff.BlockingReason,
	outcome ff.TerminalOutcome, attempt ff.AttemptState) ff.StateVector {
	return ff.StateVector{LifecyclePhase: phase, OwnershipState: own, EligibilityState: elig, BlockingReason: reason,
		TerminalOutcome: outcome, AttemptState: attempt}.Normalized()
}

var (
	vecW0 = vectorOf(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptPendingFirst)
	vecD0 = vectorOf(ff.PhaseRunnable, ff.OwnershipUnowned, ff.NotEligibleUntilTime, ff.BlockingWaitingForDelay, ff.OutcomeNone, ff.AttemptPendingFirst)
	vecA  = vectorOf(ff.PhaseActive, ff.OwnershipLeased, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeNone, ff.AttemptRunning)
	vecBR = vectorOf(ff.PhaseRunnable, ff.OwnershipUnowned, ff.NotEligibleUntilTime, ff.BlockingWaitingForRetryBackoff, ff.OutcomeNone, ff.AttemptPendingRetry)
	vecWR = vectorOf(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptPendingRetry)
	vecDI = vectorOf(ff.PhaseRunnable, ff.OwnershipUnowned, ff.NotEligibleUntilTime, ff.BlockingWaitingForDelay, ff.OutcomeNone, ff.AttemptInterrupted)
	vecRI = vectorOf(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptInterrupted)
	vecAX = vectorOf(ff.PhaseActive, ff.OwnershipLeaseExpired, ff.EligibilityNotApplicable, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptInterrupted)
)

func vecT(outcome ff.TerminalOutcome) ff.StateVector {
	return vectorOf(ff.PhaseTerminal, ff.OwnershipUnowned, ff.EligibilityNotApplicable, ff.BlockingNone, outcome, ff.AttemptTerminalState)
}

func (e *env) vector(id ff.ExecutionID, name string, want ff.StateVector) {
	e.t.Helper()
	require.Equal(e.t, want, e.consistent(id).StateVector, "want %s", name)
}

// One execution walks D0 → W0 → A → BR → WR → A → DI → RI → A → AX → A →
// T(success), checking the whole vector at every step.
func testStateNamedVectors(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "sv", DelayUntil: ff.TimeFromMs(e.now() + 100), Policy: retryPolicy(1, 100)})
	e.vector(id, "D0", vecD0)
	e.advance(100)
	require.Equal(t, 1, e.promote())
	e.vector(id, "W0", vecW0)

	task := e.claim("sv")
	e.vector(id, "A", vecA)
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	e.vector(id, "A after renew", vecA)
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 1}))
	e.vector(id, "A after progress", vecA)

	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	e.vector(id, "BR", vecBR)
	e.advance(100)
	require.Equal(t, 1, e.promote())
	e.vector(id, "WR", vecWR)

	task = e.claim("sv")
	e.vector(id, "A (retry)", vecA)
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now() + 100)}))
	e.vector(id, "DI", vecDI)
	e.advance(100)
	require.Equal(t, 1, e.promote())
	e.vector(id, "RI", vecRI)

	task = e.claim("sv")
	e.vector(id, "A (resumed)", vecA)
	e.expireLease(task)
	e.vector(id, "AX", vecAX)
	task = e.claim("sv")
	e.vector(id, "A (reclaimed)", vecA)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	e.vector(id, "T(success)", vecT(ff.OutcomeSuccess))

	// The other terminal vectors.
	f := e.createIn("sv2")
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("sv2").Handle, Reason: "x"})
	require.NoError(t, err)
	e.vector(f, "T(failed)", vecT(ff.OutcomeFailed))
	c := e.createIn("sv2")
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: e.claim("sv2").Handle}))
	e.vector(c, "T(cancelled)", vecT(ff.OutcomeCancelled))
	x := e.create(backend.CreateExecutionParams{Lane: "sv2", Policy: attemptTimeout(100)})
	e.claim("sv2")
	e.advance(100)
	require.Equal(t, 1, e.expireTimeouts())
	e.vector(x, "T(expired)", vecT(ff.OutcomeExpired))
	never := e.createIn("sv3")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: never})
	require.NoError(t, err)
	e.vector(never, "T(cancelled) before any attempt",
		vectorOf(ff.PhaseTerminal, ff.OwnershipUnowned, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeCancelled, ff.AttemptStateNone))
}

// What was committed is still there after the store is closed and opened
// again, and a handle minted before keeps working.
func testStateDurable(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("the harness cannot reopen its store")
	}
	e := newEnv(t, h)
	done := e.createIn("du")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("du").Handle, Result: []byte(`"kept"`)}))
	id := e.createIn("du")
	task := e.claim("du")
	waiting := e.createIn("du")
	before := e.consistent(id)

	e.b = h.Reopen(t)
	require.NotNil(t, e.b)
	require.Equal(t, before, e.consistent(id))
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: done})
	require.NoError(t, err)
	require.Equal(t, `"kept"`, string(res))
	e.state(waiting, ff.PublicWaiting)
	e.oneCompletion(done, ff.OutcomeSuccess)

	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	require.Equal(t, waiting, e.claim("du").ExecutionID)
}
