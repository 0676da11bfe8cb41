package backendtest

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Overflowing times (issue 9 item 1): every duration and instant has a
// documented maximum, refused beyond it, and the state machine's time
// arithmetic saturates, so no stored value can make a later statement
// fail or wrap.

func init() {
	register("RobustDomain/HugeDurationsRefused", testRobustHugeDurations)
	register("RobustDomain/MaximumDurationsWork", testRobustMaximumDurations)
	register("RobustDomain/ExponentialBackoffStaysPositive", testRobustBackoffPositive)
	register("RobustDomain/DelayInstantBounded", testRobustDelayBounded)
}

func testRobustHugeDurations(t *testing.T, h Harness) {
	e := newEnv(t, h)
	huge := int64(math.MaxInt64)
	over := ff.MaxDurationMs + 1
	policies := map[string]*ff.ExecutionPolicy{
		"timeout_policy.attempt_timeout_ms":    {Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: &huge}},
		"timeout_policy.execution_deadline_ms": {Timeout: &ff.TimeoutPolicy{ExecutionDeadlineMs: &huge}},
		"retry_policy.backoff.delay_ms": {Retry: &ff.RetryPolicy{MaxRetries: 1,
			Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: huge}}},
		"retry_policy.backoff.initial_delay_ms": {Retry: &ff.RetryPolicy{MaxRetries: 1,
			Backoff: ff.BackoffStrategy{Type: "exponential", InitialDelayMs: over}}},
		"retry_policy.backoff.max_delay_ms": {Retry: &ff.RetryPolicy{MaxRetries: 1,
			Backoff: ff.BackoffStrategy{Type: "exponential", MaxDelayMs: huge}}},
		"dedup_window_ms": {DedupWindow: &huge},
	}
	for field, pol := range policies {
		_, err := e.b.CreateExecution(e.ctx, backend.CreateExecutionParams{Lane: "rt", Kind: "k", Policy: pol})
		requireKind(t, err, ff.ErrInvalidPolicy, field)
		require.Contains(t, err.Error(), field)
		e.nothingWritten()
	}
	instants := map[string]backend.CreateExecutionParams{
		"delay_until_ms": {DelayUntil: time.UnixMilli(ff.MaxInstantMs + 1)},
		"deadline_at_ms": {DeadlineAt: time.UnixMilli(math.MaxInt64)},
	}
	for field, p := range instants {
		for _, far := range []time.Time{time.UnixMilli(ff.MaxInstantMs + 1), time.Unix(1<<62, 0)} {
			if !p.DelayUntil.IsZero() {
				p.DelayUntil = far
			} else {
				p.DeadlineAt = far
			}
			p.Lane, p.Kind = "rt", "k"
			_, err := e.b.CreateExecution(e.ctx, p)
			requireKind(t, err, ff.ErrInvalidInput, field)
			require.Contains(t, err.Error(), field)
			require.Contains(t, err.Error(), strconv.FormatInt(ff.MaxInstantMs, 10))
			e.nothingWritten()
		}
	}
	// The lane is not blocked: the next claim on it works.
	id := e.createIn("rt")
	require.Equal(t, id, e.claim("rt").ExecutionID)
}

// The largest accepted values are stored and used without error, also by
// the Postgres claim statement that adds the attempt timeout to now.
func testRobustMaximumDurations(t *testing.T, h Harness) {
	e := newEnv(t, h)
	maxD := ff.MaxDurationMs
	pol := &ff.ExecutionPolicy{
		Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: &maxD, ExecutionDeadlineMs: &maxD},
		Retry: &ff.RetryPolicy{MaxRetries: 2, Backoff: ff.BackoffStrategy{Type: "exponential",
			InitialDelayMs: maxD, MaxDelayMs: maxD, Multiplier: 1e300}},
		DedupWindow: ptr(int64(ff.MaxDedupWindowMs)),
	}
	id := e.create(backend.CreateExecutionParams{Lane: "rm", Policy: pol, DeadlineAt: time.UnixMilli(ff.MaxInstantMs)})
	created := e.now()
	s := e.consistent(id)
	require.Equal(t, created+maxD, ff.MsFromTime(s.DeadlineAt), "the earlier (relative) deadline wins")
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{"rm"}, LeaseTTL: ff.MaxLeaseTTLMs * time.Millisecond})
	e.advance(ff.MaxLeaseTTLMs - 1)
	require.Zero(t, e.expireTimeouts())
	require.Zero(t, e.expireDeadlines())
	_, err := e.b.Renew(e.ctx, backend.RenewParams{Handle: task.Handle})
	require.NoError(t, err)
	out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "x"})
	require.NoError(t, err)
	require.True(t, out.RetryScheduled)
	require.Equal(t, e.now()+maxD, ff.MsFromTime(out.DelayUntil))
	s = e.state(id, ff.PublicDelayed)
	require.Equal(t, e.now()+maxD, ff.MsFromTime(s.ReadyAt))
	require.Zero(t, e.promote())
	// Another execution on the lane is claimable as usual.
	other := e.createIn("rm")
	require.Equal(t, other, e.claim("rm").ExecutionID)
}

// A huge multiplier saturates at the maximum delay instead of wrapping to
// a negative delay (which would retry at once).
func testRobustBackoffPositive(t *testing.T, h Harness) {
	e := newEnv(t, h)
	pol := &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 3,
		Backoff: ff.BackoffStrategy{Type: "exponential", InitialDelayMs: 1000, MaxDelayMs: ff.MaxDurationMs, Multiplier: 1e300}}}
	id := e.create(backend.CreateExecutionParams{Lane: "rb", Policy: pol})
	wants := []int64{1000, ff.MaxDurationMs, ff.MaxDurationMs}
	for i, want := range wants {
		task := e.claim("rb")
		out, err := e.b.Fail(e.ctx, backend.FailParams{Handle: task.Handle, Reason: "again"})
		require.NoError(t, err)
		require.True(t, out.RetryScheduled, "retry %d", i+1)
		s := e.state(id, ff.PublicDelayed)
		require.Equal(t, e.now()+want, ff.MsFromTime(s.ReadyAt), "retry %d", i+1)
		e.claimNone("rb")
		e.advance(want)
		require.Equal(t, 1, e.promote())
	}
}

func testRobustDelayBounded(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("rd")
	task := e.claim("rd")
	for _, far := range []time.Time{time.UnixMilli(ff.MaxInstantMs + 1), time.Unix(1<<62, 0), time.UnixMilli(-5)} {
		err := e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: far})
		requireKind(t, err, ff.ErrInvalidInput, "until %v", far)
		require.Contains(t, err.Error(), "delay_until_ms")
		e.state(id, ff.PublicActive)
	}
	require.NoError(t, e.b.Delay(e.ctx, backend.DelayParams{Handle: task.Handle, Until: time.UnixMilli(ff.MaxInstantMs)}))
	s := e.state(id, ff.PublicDelayed)
	require.Equal(t, ff.MaxInstantMs, ff.MsFromTime(s.ReadyAt))
	e.advance(365 * 24 * 3600 * 1000)
	require.Zero(t, e.promote())
}
