package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Terminal operations and retries: complete, fail with and without
// retries, backoff, classification, delay, and replay safety.

func init() {
	register("Complete/StoresResult", testCompleteStoresResult)
	register("Complete/ReplayReconciled", testCompleteReplay)
	register("Complete/CompleteMany", testCompleteMany)
	register("Fail/NoPolicyIsTerminal", testFailNoPolicy)
	register("Fail/RetryFixedBackoff", testFailRetryFixed)
	register("Fail/RetryExponentialBackoff", testFailRetryExponential)
	register("Fail/RetryZeroDelayReadyAtOnce", testFailRetryZeroDelay)
	register("Fail/RetriesExhausted", testFailRetriesExhausted)
	register("Fail/PermanentIsTerminal", testFailPermanent)
	register("Fail/RetryPermanentOptIn", testFailRetryPermanent)
	register("Fail/ReplayWithRetryLeft", testFailReplayRetry)
	register("Fail/ReplayTerminal", testFailReplayTerminal)
	register("Fail/HandleDeadWhileRetryPending", testFailHandleDeadWhileRetryPending)
	register("Delay/ResumesSameAttempt", testDelayResumes)
	register("Delay/PastUntilReadyAtOnce", testDelayPast)
	register("Delay/SecondDelayNotActive", testDelayTwice)
}

func testCompleteStoresResult(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("c")
	task := e.claim("c")
	e.advance(250)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`{"ok":true}`)}))
	s := e.state(id, ff.PublicCompleted)
	require.Equal(t, ff.OutcomeSuccess, s.StateVector.TerminalOutcome)
	require.Equal(t, ff.AttemptTerminalState, s.StateVector.AttemptState)
	require.Equal(t, e.now(), ff.MsFromTime(s.CompletedAt))
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, `{"ok":true}`, string(res))
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedSuccess, as[0].Lifecycle)
	require.Equal(t, e.now(), as[0].EndedAtMs)
	e.claimNone("c")

	// A completion without a result stores an empty one.
	id2 := e.createIn("c")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: e.claim("c").Handle}))
	res, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id2})
	require.NoError(t, err)
	require.Empty(t, res)
}

// Spec §9.7 item 3: a second complete with the same handle succeeds
// without applying anything again.
func testCompleteReplay(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("cr")
	task := e.claim("cr")
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`"first"`)}))
	completedAt := ff.MsFromTime(e.consistent(id).CompletedAt)
	e.advance(500)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: []byte(`"second"`)}),
		"a replayed complete is reconciled to success")
	s := e.state(id, ff.PublicCompleted)
	require.Equal(t, completedAt, ff.MsFromTime(s.CompletedAt), "the replay writes nothing")
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, `"first"`, string(res), "the result is stored once")
	require.Len(t, e.attempts(id), 1)
	e.oneCompletion(id, ff.OutcomeSuccess)

	// Other terminal operations with the completed handle are not replays.
	_, err = e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	requireKind(t, err, ff.ErrExecutionNotActive)
	requireKind(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	_, err = e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
	e.state(id, ff.PublicCompleted)
}

func testCompleteMany(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.createIn("cm")
	b := e.createIn("cm")
	ta := e.claim("cm")
	tb := e.claim("cm")
	stale := tb.Handle
	stale.Lease.LeaseEpoch += 7
	errs := e.b.CompleteMany(e.ctx, []backend.CompleteParams{
		{Handle: ta.Handle, Result: []byte(`"a"`)},
		{Handle: stale, Result: []byte(`"bad"`)},
	})
	require.Len(t, errs, 2)
	require.NoError(t, errs[0])
	requireKind(t, errs[1], ff.ErrStaleLease)
	e.state(a, ff.PublicCompleted)
	e.state(b, ff.PublicActive)
	errs = e.b.CompleteMany(e.ctx, []backend.CompleteParams{{Handle: tb.Handle, Result: []byte(`"b"`)}, {Handle: ta.Handle}})
	require.NoError(t, errs[0])
	require.NoError(t, errs[1], "a replay inside a batch is reconciled too")
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: a})
	require.NoError(t, err)
	require.Equal(t, `"a"`, string(res))
	res, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: b})
	require.NoError(t, err)
	require.Equal(t, `"b"`, string(res))
	require.Empty(t, e.b.CompleteMany(e.ctx, nil))
}

func testFailNoPolicy(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("f")
	task := e.claim("f")
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "disk full", Classification: ff.FailureTransient})
	require.NoError(t, err)
	require.Equal(t, ff.FailOutcome{}, out, "no retry policy means no retry")
	s := e.state(id, ff.PublicFailed)
	require.Equal(t, "disk full", s.FailureReason)
	require.Zero(t, s.RetryCount)
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptEndedFailure, as[0].Lifecycle)
	require.Equal(t, "disk full", as[0].FailureReason)
	require.Equal(t, string(ff.FailureTransient), as[0].FailureClass)
	e.claimNone("f")
	e.oneCompletion(id, ff.OutcomeFailed)
	_, err = e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	requireKind(t, err, ff.ErrNotFound)
}

// Spec §9.7 item 5 with a fixed backoff: no attempt row until the next
// claim, which is a retry attempt, only after delay_until.
func testFailRetryFixed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "rf", Policy: retryPolicy(2, 5_000)})
	task := e.claim("rf")
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "flaky", Classification: ff.FailureTransient})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	require.Equal(t, e.now()+5_000, ff.MsFromTime(out.DelayUntil))

	s := e.state(id, ff.PublicDelayed)
	require.Equal(t, ff.AttemptPendingRetry, s.StateVector.AttemptState)
	require.Equal(t, ff.BlockingWaitingForRetryBackoff, s.StateVector.BlockingReason)
	require.Equal(t, 1, s.RetryCount)
	require.Equal(t, ff.MsFromTime(out.DelayUntil), ff.MsFromTime(s.ReadyAt))
	require.Equal(t, uint64(1), s.Lease.Epoch, "a retry keeps the epoch")
	as := e.attempts(id)
	require.Len(t, as, 1, "a scheduled retry mints no attempt")
	require.Equal(t, ff.AttemptEndedFailure, as[0].Lifecycle)
	require.Empty(t, e.completions(), "a retry is not terminal")

	e.claimNone("rf")
	e.advance(4_999)
	require.Zero(t, e.promote())
	e.claimNone("rf")
	e.advance(1)
	require.Equal(t, 1, e.promote())
	s = e.state(id, ff.PublicWaiting)
	require.Equal(t, ff.AttemptPendingRetry, s.StateVector.AttemptState)
	require.Len(t, e.attempts(id), 1, "promotion mints no attempt")

	retry := e.claim("rf")
	require.Equal(t, id, retry.ExecutionID)
	require.Equal(t, ff.AttemptRetry, retry.AttemptType)
	require.Equal(t, ff.HandleFresh, retry.Handle.Kind)
	require.Equal(t, task.AttemptIndex+1, retry.AttemptIndex)
	require.NotEqual(t, task.AttemptID, retry.AttemptID)
	require.Equal(t, uint64(2), retry.LeaseEpoch)
	as = e.attempts(id)
	require.Len(t, as, 2)
	require.Equal(t, ff.AttemptRetry, as[1].Type)
	require.Equal(t, ff.AttemptStarted, as[1].Lifecycle)

	// The old handle is dead for the new attempt.
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrStaleLease)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: retry.Handle}))
	e.oneCompletion(id, ff.OutcomeSuccess)
}

func testFailRetryExponential(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 4, Backoff: ff.BackoffStrategy{
		Type: "exponential", InitialDelayMs: 1_000, Multiplier: 2, MaxDelayMs: 3_000}}}
	id := e.create(backend.CreateExecutionParams{Lane: "rx", Policy: pol})
	for i, want := range []int64{1_000, 2_000, 3_000, 3_000} {
		task := e.claim("rx")
		require.Equal(t, uint32(i), task.AttemptIndex)
		out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "again", Classification: ff.FailureTransient})
		require.NoError(t, err)
		require.True(t, out.RetryScheduled, "retry %d", i+1)
		require.Equal(t, e.now()+want, ff.MsFromTime(out.DelayUntil), "backoff before retry %d", i+1)
		require.Equal(t, i+1, e.state(id, ff.PublicDelayed).RetryCount)
		e.advance(want)
		require.Equal(t, 1, e.promote())
	}
	last := e.claim("rx")
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: last.Handle, Reason: "give up", Classification: ff.FailureTransient})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled, "max_retries counts retries after the first attempt")
	s := e.state(id, ff.PublicFailed)
	require.Equal(t, uint32(5), s.AttemptCount)
	require.Len(t, e.attempts(id), 5)
}

func testFailRetryZeroDelay(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "rz", Policy: retryPolicy(1, 0)})
	task := e.claim("rz")
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	require.Equal(t, e.now(), ff.MsFromTime(out.DelayUntil))
	s := e.state(id, ff.PublicWaiting)
	require.Equal(t, ff.AttemptPendingRetry, s.StateVector.AttemptState)
	retry := e.claim("rz")
	require.Equal(t, ff.AttemptRetry, retry.AttemptType)
	require.Equal(t, uint32(1), retry.AttemptIndex)
}

func testFailRetriesExhausted(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "re", Policy: retryPolicy(1, 100)})
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("re").Handle, Reason: "one"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	e.advance(100)
	require.Equal(t, 1, e.promote())
	out, err = e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("re").Handle, Reason: "two"})
	require.NoError(t, err)
	require.Equal(t, ff.FailOutcome{}, out)
	s := e.state(id, ff.PublicFailed)
	require.Equal(t, "two", s.FailureReason)
	require.Equal(t, 1, s.RetryCount)
	e.oneCompletion(id, ff.OutcomeFailed)
}

func testFailPermanent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "pm", Policy: retryPolicy(3, 100)})
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("pm").Handle, Reason: "bad input", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	require.False(t, out.RetryScheduled, "a permanent failure is not retried")
	s := e.state(id, ff.PublicFailed)
	require.Zero(t, s.RetryCount)
	as := e.attempts(id)
	require.Equal(t, string(ff.FailurePermanent), as[0].FailureClass)
	e.oneCompletion(id, ff.OutcomeFailed)
}

func testFailRetryPermanent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := retryPolicy(1, 100)
	pol.Retry.RetryPermanent = true
	id := e.create(backend.CreateExecutionParams{Lane: "rp", Policy: pol})
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: e.claim("rp").Handle, Reason: "bad", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled, "retry_permanent retries permanent failures")
	e.state(id, ff.PublicDelayed)
}

// Spec §9.7 item 3: a second fail with the same handle yields the same
// outcome when a retry was scheduled.
func testFailReplayRetry(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "fr", Policy: retryPolicy(3, 1_000)})
	task := e.claim("fr")
	p := backend.FailParams{Handle: task.Handle, Reason: "x", Classification: ff.FailureTransient}
	first, err := e.b.Fail(e.ctx, p)
	require.NoError(t, err)
	require.True(t, first.RetryScheduled)
	second, err := e.b.Fail(e.ctx, p)
	require.NoError(t, err, "a replayed fail is reconciled")
	require.True(t, second.RetryScheduled)
	s := e.state(id, ff.PublicDelayed)
	require.Equal(t, 1, s.RetryCount, "the replay schedules no second retry")
	require.Equal(t, ff.MsFromTime(first.DelayUntil), ff.MsFromTime(s.ReadyAt))
	require.Len(t, e.attempts(id), 1)
	require.Empty(t, e.completions())
}

func testFailReplayTerminal(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("ft")
	task := e.claim("ft")
	p := backend.FailParams{Handle: task.Handle, Reason: "x", Classification: ff.FailureTransient}
	first, err := e.b.Fail(e.ctx, p)
	require.NoError(t, err)
	require.Equal(t, ff.FailOutcome{}, first)
	failedAt := ff.MsFromTime(e.consistent(id).CompletedAt)
	e.advance(10)
	second, err := e.b.Fail(e.ctx, p)
	require.NoError(t, err, "a replayed terminal fail is reconciled")
	require.Equal(t, ff.FailOutcome{}, second)
	require.Equal(t, failedAt, ff.MsFromTime(e.state(id, ff.PublicFailed).CompletedAt))
	e.oneCompletion(id, ff.OutcomeFailed)
	// A complete with the failed handle is not a replay.
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
}

// Spec §9.6: after a retry was scheduled, the failed attempt's handle can
// no longer complete or cancel the execution (worker cancel is fenced in
// every phase).
func testFailHandleDeadWhileRetryPending(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.create(backend.CreateExecutionParams{Lane: "hd", Policy: retryPolicy(1, 1_000)})
	task := e.claim("hd")
	_, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	requireKind(t, e.b.Cancel(e.ctx, backend.CancelParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)
	requireKind(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 1}), ff.ErrExecutionNotActive)
	requireKind(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now())}), ff.ErrExecutionNotActive)
	s := e.state(id, ff.PublicDelayed)
	require.Equal(t, ff.AttemptPendingRetry, s.StateVector.AttemptState)
	require.Empty(t, e.completions())
}

// Spec §9.7 item 6 (delay): the next claim resumes the same attempt.
func testDelayResumes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("d")
	task := e.claim("d")
	require.NoError(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 30}))
	until := e.now() + 2_000
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(until)}))
	s := e.state(id, ff.PublicDelayed)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)
	require.Equal(t, ff.BlockingWaitingForDelay, s.StateVector.BlockingReason)
	require.Equal(t, until, ff.MsFromTime(s.ReadyAt))
	as := e.attempts(id)
	require.Len(t, as, 1)
	require.Equal(t, ff.AttemptSuspended, as[0].Lifecycle)
	require.Empty(t, e.completions())

	// The handle is dead while delayed.
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	requireKind(t, err, ff.ErrExecutionNotActive)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrExecutionNotActive)

	e.claimNone("d")
	e.advance(1_999)
	require.Zero(t, e.promote())
	e.claimNone("d")
	e.advance(1)
	require.Equal(t, 1, e.promote())
	s = e.state(id, ff.PublicWaiting)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState, "promotion keeps attempt_interrupted")

	resumed := e.claimWith(claimParams("w2", "d"))
	require.Equal(t, ff.HandleResumed, resumed.Handle.Kind)
	require.Equal(t, ff.AttemptResume, resumed.AttemptType, "a claim that continues an attempt reports resume")
	require.Equal(t, task.AttemptIndex, resumed.AttemptIndex, "a resume keeps the attempt index")
	require.Equal(t, task.AttemptID, resumed.AttemptID, "a resume keeps the attempt id")
	require.Equal(t, task.LeaseEpoch+1, resumed.LeaseEpoch)
	require.NotEqual(t, task.Handle.Lease.LeaseID, resumed.Handle.Lease.LeaseID, "a resume takes a new lease")
	as = e.attempts(id)
	require.Len(t, as, 1, "a resume mints no attempt")
	require.Equal(t, ff.AttemptStarted, as[0].Lifecycle)
	require.Equal(t, ff.AttemptInitial, as[0].Type, "the attempt keeps its own type")
	require.Equal(t, uint64(2), as[0].LeaseEpoch)
	require.Equal(t, "w2", as[0].WorkerID)
	s = e.state(id, ff.PublicActive)
	require.Equal(t, uint32(1), s.AttemptCount)
	require.Equal(t, 30, *s.ProgressPct, "progress survives a delay")

	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle}), ff.ErrStaleLease)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: resumed.Handle}))
	require.Equal(t, ff.AttemptEndedSuccess, e.attempts(id)[0].Lifecycle)
}

func testDelayPast(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("dp")
	task := e.claim("dp")
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now())}))
	s := e.state(id, ff.PublicWaiting)
	require.Equal(t, ff.AttemptInterrupted, s.StateVector.AttemptState)
	resumed := e.claim("dp")
	require.Equal(t, ff.HandleResumed, resumed.Handle.Kind)
	require.Equal(t, task.AttemptID, resumed.AttemptID)
}

// Delay has no replay reconciliation: a second call reports not active.
func testDelayTwice(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("dt")
	task := e.claim("dt")
	p := backend.DelayParams{Handle: task.Handle, Until: ff.TimeFromMs(e.now() + 1_000)}
	require.NoError(t, e.b.Delay(e.ctx, p))
	requireKind(t, e.b.Delay(e.ctx, p), ff.ErrExecutionNotActive)
	e.state(id, ff.PublicDelayed)
}
