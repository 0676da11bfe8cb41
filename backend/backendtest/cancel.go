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
	register("Cancel/OperatorRevokesTheLease", testCancelOperatorRevokes)
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

// Once the operator cancelled, the holder's handle reports its lease
// revoked (WAVE2 mechanic 5), never a replay of its own commit.
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
	requireKind(t, err, ff.ErrLeaseRevoked)
	require.ErrorIs(t, err, ff.ClassState)
	require.False(t, ff.IsRetryable(err))

	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrLeaseRevoked)
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrLeaseRevoked)
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
	e.oneCompletion(id, ff.OutcomeCancelled)
}

// Every lease-bound call of the revoked lease's holder fails with
// lease_revoked and changes nothing, in batches too and after a restart;
// the revocation names exactly that lease: a handle with another epoch or
// attempt is told the execution is not active.
func testCancelOperatorRevokes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("orv")
	task := e.claim("orv")
	e.advance(5)
	_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "abort"})
	require.NoError(t, err)
	hd := task.Handle
	calls := map[string]func() error{
		"complete": func() error { return e.b.Complete(e.ctx, backend.CompleteParams{Handle: hd}) },
		"complete many": func() error {
			return e.b.CompleteMany(e.ctx, []backend.CompleteParams{{Handle: hd}})[0]
		},
		"renew":      func() error { _, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: hd}); return err },
		"renew many": func() error { return e.b.RenewMany(e.ctx, []backend.RenewParams{{Handle: hd}})[0].Err },
		"fail":       func() error { _, err := e.b.Fail(e.ctx, backend.FailParams{Handle: hd}); return err },
		"cancel":     func() error { return e.b.Cancel(e.ctx, backend.CancelParams{Handle: hd}) },
		"progress":   func() error { return e.b.Progress(e.ctx, backend.ProgressParams{Handle: hd, Percent: 1}) },
		"delay":      func() error { return e.b.Delay(e.ctx, backend.DelayParams{Handle: hd}) },
		"release":    func() error { return e.release(hd)[0] },
	}
	check := func(when string) {
		for name, call := range calls {
			requireKind(t, call(), ff.ErrLeaseRevoked, "%s %s", name, when)
		}
		s := e.state(id, ff.PublicCancelled)
		require.Equal(t, "abort", s.CancelReason)
		e.oneCompletion(id, ff.OutcomeCancelled)
	}
	check("after the cancel")
	e.advance(defaultTTL * 2)
	check("after the lease's expiry")
	for name, f := range map[string]func(*ff.Handle){
		"another attempt": func(h *ff.Handle) { h.Lease.AttemptID = "not-the-attempt" },
		"another epoch":   func(h *ff.Handle) { h.Lease.LeaseEpoch++ },
	} {
		other := task.Handle
		f(&other)
		requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: other}), ff.ErrExecutionNotActive, name)
	}
	if h.Reopen != nil {
		e.b = h.Reopen(t)
		check("after a restart")
	}
}

// An operator cancel finds no lease to revoke once the lease expired: the
// old holder is told the execution is not active.
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
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
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
