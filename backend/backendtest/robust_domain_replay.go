package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Replays and policy defaults: a replayed terminal operation succeeds only
// on the outcome it wrote (issue 9 item 14), execution_not_active is never
// retryable (item 15), an omitted max_retries means 3 and an unknown
// failure classification is refused (issue 10 item 1).

func init() {
	register("RobustDomain/FailAfterReclaimCapIsNotReplayed", testRobustFailAfterReclaimCap)
	register("RobustDomain/CancelAfterOperatorCancelIsNotReplayed", testRobustCancelAfterOperator)
	register("RobustDomain/ReplayNeedsTheSameReport", testRobustReplaySameReport)
	register("RobustDomain/NotActiveIsNotRetryable", testRobustNotActiveNotRetryable)
	register("RobustDomain/MaxRetriesDefaultsToThree", testRobustMaxRetriesDefault)
	register("RobustDomain/UnknownClassificationRefused", testRobustUnknownClassification)
}

// requireNotActive asserts err is the not-active carrier for a terminal
// execution with outcome, and not retryable.
func requireNotActive(t *testing.T, err error, outcome ff.TerminalOutcome, msg string) {
	t.Helper()
	requireKind(t, err, ff.ErrExecutionNotActive, msg)
	ee, _ := ff.AsError(err)
	require.NotNil(t, ee.NotActive, msg)
	require.Equal(t, ff.PhaseTerminal, ee.NotActive.LifecyclePhase, msg)
	require.Equal(t, outcome, ee.NotActive.TerminalOutcome, msg)
	require.False(t, ff.IsRetryable(err), "%s: a terminal execution is not retryable", msg)
}

func testRobustFailAfterReclaimCap(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "rc", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)}})
	task := e.claim("rc")
	e.advance(defaultTTL)
	p := backend.FailParams{Handle: task.Handle, Reason: "real error", Classification: ff.FailurePermanent}
	_, err := e.b.Fail(e.ctx, p)
	requireKind(t, err, ff.ErrLeaseExpired, "the first report finds the lease lapsed")
	s := e.state(id, ff.PublicFailed)
	require.Equal(t, "max_reclaims_exceeded", s.FailureReason)
	for i := range 2 {
		out, err := e.b.Fail(e.ctx, p)
		requireNotActive(t, err, ff.OutcomeFailed, "repeat after the reclaim-cap expiry")
		require.False(t, out.RetryScheduled, "repeat %d", i)
	}
	require.Equal(t, "max_reclaims_exceeded", e.state(id, ff.PublicFailed).FailureReason)
	requireNotActive(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.OutcomeFailed, "complete")
	requireNotActive(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle}), ff.OutcomeFailed, "cancel")
	e.oneCompletion(id, ff.OutcomeFailed)

	// The same when the sweep, not the report, found the lease lapsed.
	id = e.create(backend.CreateExecutionParams{Lane: "rc", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)}})
	task = e.claim("rc")
	e.expireLease(task)
	e.state(id, ff.PublicFailed)
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "real error"})
	requireNotActive(t, err, ff.OutcomeFailed, "fail after the sweep")
}

func testRobustCancelAfterOperator(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for _, source := range []string{"", "console"} {
		id := e.createIn("rx")
		task := e.claim("rx")
		_, err := e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id, Reason: "stop", Source: source})
		require.NoError(t, err)
		for range 2 {
			err := e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle, Reason: "stop"})
			requireKind(t, err, ff.ErrLeaseRevoked, "worker cancel after an operator cancel ("+source+")")
			require.False(t, ff.IsRetryable(err))
		}
		requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrLeaseRevoked, "complete")
		e.oneCompletion(id, ff.OutcomeCancelled)
	}
	// The lease holder's own cancel still replays.
	id := e.createIn("rx")
	task := e.claim("rx")
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle, Reason: "mine"}))
	require.NoError(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle, Reason: "mine"}))
	e.oneCompletion(id, ff.OutcomeCancelled)
}

func testRobustReplaySameReport(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rr")
	task := e.claim("rr")
	p := backend.FailParams{Handle: task.Handle, Reason: "disk\x00full", Classification: ff.FailurePermanent}
	_, err := e.b.Fail(e.ctx, p)
	require.NoError(t, err)
	out, err := e.b.Fail(e.ctx, p)
	require.NoError(t, err, "the same report replays, also with text that was sanitized")
	require.False(t, out.RetryScheduled)
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "something else", Classification: ff.FailurePermanent})
	requireNotActive(t, err, ff.OutcomeFailed, "a different report")
	requireNotActive(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.OutcomeFailed, "complete after fail")
	e.oneCompletion(id, ff.OutcomeFailed)

	// Complete replays only its own completion.
	id = e.createIn("rr")
	task = e.claim("rr")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}))
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "late"})
	requireNotActive(t, err, ff.OutcomeSuccess, "fail after complete")
	e.oneCompletion(id, ff.OutcomeSuccess)
}

func testRobustNotActiveNotRetryable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "rn", Policy: retryPolicy(1, 5_000)})
	task := e.claim("rn")
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	// Runnable again, waiting for a retry: the old lease is gone for good.
	err = e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
	require.False(t, ff.IsRetryable(err), "no retry of the same call can succeed")
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	_, err = e.b.CancelExecution(e.ctx, backend.CancelExecutionParams{ExecutionID: id})
	requireNotActive(t, err, ff.OutcomeCancelled, "operator cancel of a terminal execution")
}

func testRobustMaxRetriesDefault(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol, err := ff.ParsePolicy([]byte(`{"retry_policy":{"backoff":{"type":"fixed","delay_ms":0}}}`))
	require.NoError(t, err)
	id := e.create(backend.CreateExecutionParams{Lane: "rd", Policy: pol})
	for i := range ff.DefaultMaxRetries {
		out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("rd").Handle, Reason: "flaky"})
		require.NoError(t, err)
		require.True(t, out.RetryScheduled, "failure %d is retried", i+1)
	}
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("rd").Handle, Reason: "flaky"})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled, "the fourth failure is final")
	s := e.state(id, ff.PublicFailed)
	require.Equal(t, 3, s.RetryCount)
	require.Len(t, e.attempts(id), 4)

	// An explicit 0 still means no retry.
	pol, err = ff.ParsePolicy([]byte(`{"retry_policy":{"max_retries":0}}`))
	require.NoError(t, err)
	e.create(backend.CreateExecutionParams{Lane: "rz", Policy: pol})
	out, err = e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("rz").Handle, Reason: "once"})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled)
}

func testRobustUnknownClassification(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "ru", Policy: retryPolicy(3, 0)})
	task := e.claim("ru")
	for _, class := range []ff.FailureClass{"PERMANENT", "bogus", "Transient"} {
		_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x", Classification: class})
		requireKind(t, err, ff.ErrInvalidInput, string(class))
		require.Contains(t, err.Error(), "infra_crash", "the error names the accepted values")
		e.state(id, ff.PublicActive)
	}
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled, "a canonical permanent failure is final")
	e.state(id, ff.PublicFailed)
}
