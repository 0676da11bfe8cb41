package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Cancellation: the lease holder's cancel and the operator's.

func init() {
	register("Cancel/WorkerCancel", testCancelWorker)
	register("Cancel/OperatorFromRunnable", testCancelOperatorRunnable)
	register("Cancel/OperatorFromDelayed", testCancelOperatorDelayed)
	register("Cancel/OperatorFromActive", testCancelOperatorActive)
	register("Cancel/OperatorFromLeaseExpired", testCancelOperatorLeaseExpired)
	register("Cancel/OperatorOnTerminal", testCancelOperatorTerminal)
}

func testCancelWorker(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("wc")
	task := e.claim("wc")
	p := backend.CancelParams{Handle: task.Handle, Reason: "user asked"}
	require.NoError(t, e.b.Cancel(e.ctx, p))
	s := e.state(id, ff.PublicCancelled)
	require.Equal(t, ff.OutcomeCancelled, s.StateVector.TerminalOutcome)
	require.Equal(t, "user asked", s.CancelReason)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedCancelled, as[0].Lifecycle)

	require.NoError(t, e.b.Cancel(e.ctx, p), "a replayed cancel is reconciled")
	e.oneCompletion(id, ff.OutcomeCancelled)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	e.claimNone("wc")
}

func testCancelOperatorRunnable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("oc")
	st, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "not needed"})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCancelled, st)
	s := e.state(id, ff.PublicCancelled)
	require.Equal(t, "not needed", s.CancelReason)
	require.Equal(t, ff.AttemptStateNone, s.StateVector.AttemptState)
	require.Empty(t, e.attempts(id))
	e.claimNone("oc")
	e.oneCompletion(id, ff.OutcomeCancelled)
}

func testCancelOperatorDelayed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "od", Policy: retryPolicy(1, 5_000)})
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("od").Handle, Reason: "x"})
	require.NoError(t, err)
	e.state(id, ff.PublicDelayed)
	st, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCancelled, st)
	e.state(id, ff.PublicCancelled)
	e.advance(5_000)
	require.Zero(t, e.promote(), "a cancelled execution is never promoted")
	e.claimNone("od")
	e.oneCompletion(id, ff.OutcomeCancelled)
}

// Spec §3.3: once the operator cancelled, the holder's handle reports
// not active, and its replay check does not mistake that for its own
// commit.
func testCancelOperatorActive(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("oa")
	task := e.claim("oa")
	st, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "abort"})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCancelled, st)
	s := e.state(id, ff.PublicCancelled)
	require.Equal(t, uint64(1), s.Lease.Epoch)
	require.Equal(t, ff.AttemptEndedCancelled, e.attempts(id)[0].Lifecycle)

	err = e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`1`)})
	requireKind(t, err, ff.ErrExecutionNotActive)
	require.ErrorIs(t, err, ff.ClassContention)
	ee, _ := ff.AsError(err)
	require.NotNil(t, ee.NotActive, "execution_not_active carries the replay detail")
	require.Equal(t, ff.PhaseTerminal, ee.NotActive.LifecyclePhase)
	require.Equal(t, ff.OutcomeCancelled, ee.NotActive.TerminalOutcome)
	require.Equal(t, uint64(1), ee.NotActive.LeaseEpoch)

	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
	e.oneCompletion(id, ff.OutcomeCancelled)
}

func testCancelOperatorLeaseExpired(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ol")
	task := e.claim("ol")
	e.expireLease(task)
	_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	e.state(id, ff.PublicCancelled)
	as := e.attempts(id)
	require.Equal(t, ff.AttemptInterruptedReclaimed, as[0].Lifecycle, "an already ended attempt is not rewritten")
	e.claimNone("ol")
	e.oneCompletion(id, ff.OutcomeCancelled)
}

func testCancelOperatorTerminal(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ot")
	task := e.claim("ot")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`"r"`)}))
	_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id})
	requireKind(t, err, ff.ErrExecutionNotActive)
	s := e.state(id, ff.PublicCompleted)
	require.Empty(t, s.CancelReason)
	e.oneCompletion(id, ff.OutcomeSuccess)

	id2 := e.createIn("ot")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id2})
	require.NoError(t, err)
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id2})
	requireKind(t, err, ff.ErrExecutionNotActive, "cancelling twice")
	e.oneCompletion(id2, ff.OutcomeCancelled)
}
