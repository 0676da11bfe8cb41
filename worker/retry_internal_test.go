package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// A failure report that meets an outage longer than the old four tries
// (about 350 ms) keeps trying, with jittered waits that double from 50 ms
// up to the 2 s cap, and gets through when the engine is back.
func TestReportRetriedWithBackoffUntilItGetsThrough(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	const outage = 9 // failed calls before the engine answers
	tr.fail = func(n int) error {
		if n <= outage {
			return transportErr()
		}
		return nil
	}
	w, clk, logs := newTestWorker(t, tr)
	tk := leasedTask(w, 0, clk.Now().Add(30*time.Second))
	w.fail(tk, errors.New("boom"))

	require.Equal(t, outage+1, tr.callsOf("fail"))
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000, 2000} // ms, rnd = 1: each wait is its ceiling
	for i := range want {
		want[i] *= time.Millisecond
	}
	require.Equal(t, want, clk.waits())
	require.Zero(t, w.Stats().ReportsAbandoned)
	require.Empty(t, logs.at(slog.LevelWarn))
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{0, 0.5, 0.999} {
		bo := newBackoff(func() float64 { return r })
		ceil := retryBase
		for range 12 {
			d := bo.next()
			require.GreaterOrEqual(t, d, ceil/2)
			require.LessOrEqual(t, d, ceil)
			require.LessOrEqual(t, d, retryCap)
			ceil = min(2*ceil, retryCap)
		}
	}
}

// When the lease runs out first, the report is given up: the last try is
// made at the lease's expiry, never after, and the give-up is logged at
// warn with the execution, the attempt and the last error's kind, and
// counted.
func TestReportGivenUpWhenTheLeaseRunsOut(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	tr.fail = func(int) error { return transportErr() }
	w, clk, logs := newTestWorker(t, tr)
	start := clk.Now()
	tk := leasedTask(w, 3, start.Add(5*time.Second))
	w.delay(tk, start.Add(time.Minute))

	var total time.Duration
	for _, d := range clk.waits() {
		total += d
	}
	require.Equal(t, 5*time.Second, total, "retried until the expiry, the last wait cut to reach it exactly")
	require.Equal(t, len(clk.waits())+1, tr.callsOf("delay"))
	require.EqualValues(t, 1, w.Stats().ReportsAbandoned)
	warns := logs.at(slog.LevelWarn)
	require.Len(t, warns, 1)
	require.Equal(t, tk.ExecutionID.String(), warns[0]["execution_id"])
	require.EqualValues(t, 3, warns[0]["attempt_index"])
	require.Equal(t, "delay", warns[0]["op"])
	require.Equal(t, string(ff.ErrTransport), warns[0]["error_kind"])
	require.EqualValues(t, tr.callsOf("delay"), warns[0]["tries"])
	require.Empty(t, logs.at(slog.LevelError), "a give-up is logged once, at warn")
}

// A definitive answer is never retried, and is not a give-up.
func TestReportNotRetriedOnADefinitiveAnswer(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		ff.StateError(ff.ErrStaleLease, "superseded"),
		ff.StateError(ff.ErrLeaseExpired, "expired"),
		ff.StateError(ff.ErrLeaseRevoked, "revoked"),
		ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseTerminal}),
		ff.NotFound("execution", "x"),
		ff.Validation(ff.ErrInvalidInput, "bad"),
		ff.Bug("broken"),
		ff.Unavailable("release_claims"),
	} {
		tr := newScripted()
		tr.fail = func(int) error { return err }
		w, clk, _ := newTestWorker(t, tr)
		w.fail(leasedTask(w, 0, clk.Now().Add(time.Minute)), errors.New("x"))
		require.Equal(t, 1, tr.callsOf("fail"), "%v", err)
		require.Empty(t, clk.waits(), "%v", err)
		require.Zero(t, w.Stats().ReportsAbandoned, "%v", err)
	}
}

func TestRetryableErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		ff.Transport("POST /v1/tasks/complete", io.ErrUnexpectedEOF, true),
		ff.Transport("POST /v1/tasks/complete", errors.New("HTTP 500"), false), // a 5xx without a verdict
		&ff.Error{Class: ff.ClassTimeout, Kind: ff.ErrTimeout},
		ff.Contention(ff.ErrContention, "serialization"),
		&ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted},
		errMissingResult,
		context.DeadlineExceeded, // one try ran out of time, not the worker
		ff.Validation(wire.ErrRequestTimeout, "request body not received within the read timeout"),
	} {
		require.True(t, retryable(err), "%v", err)
	}
	for _, err := range []error{
		ff.StateError(ff.ErrNotEligible, "terminal"), // a retry cannot change it
		ff.StateError(ff.ErrLeaseRevoked, "revoked"),
		ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseTerminal}),
		ff.Validation(ff.ErrInvalidInput, "bad"),
		ff.Unavailable("flows"),
	} {
		require.False(t, retryable(err), "%v", err)
	}
}

// Completions that fail with a retryable error are retried together,
// with what arrived meanwhile; an entry refused definitively is not
// retried, and one whose lease runs out is given up alone.
func TestCompletionsRetriedTogetherUntilTheirLeasesRunOut(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	w, clk, logs := newTestWorker(t, tr)
	now := clk.Now()
	ok := leasedTask(w, 0, now.Add(30*time.Second))
	short := leasedTask(w, 0, now.Add(time.Second))
	stale := leasedTask(w, 0, now.Add(30*time.Second))
	late := leasedTask(w, 0, now.Add(30*time.Second))
	tr.complete = func(n int, p backend.CompleteParams) error {
		switch {
		case p.Handle.Lease.ExecutionID == stale.ExecutionID:
			return ff.StateError(ff.ErrStaleLease, "superseded")
		case clk.Now().Before(now.Add(3 * time.Second)): // the outage
			return transportErr()
		}
		return nil
	}
	c := w.completer
	for _, tk := range []*Task{ok, short, stale} {
		c.in <- completion{task: tk}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(context.Background(), false)
	}()
	// A completion that arrives during the outage joins the retries.
	c.in <- completion{task: late}
	c.close()
	<-done

	require.Equal(t, 1, tr.perKey["complete/"+stale.ExecutionID.String()], "a definitive answer is not retried")
	require.Greater(t, tr.perKey["complete/"+ok.ExecutionID.String()], 4)
	require.Positive(t, tr.callsOf("complete_many"))
	require.EqualValues(t, 1, w.Stats().ReportsAbandoned, "only the short lease ran out")
	warns := logs.at(slog.LevelWarn)
	require.Len(t, warns, 1)
	require.Equal(t, short.ExecutionID.String(), warns[0]["execution_id"])
	var total time.Duration
	for _, d := range clk.waits() {
		require.LessOrEqual(t, d, retryCap)
		total += d
	}
	require.GreaterOrEqual(t, total, 3*time.Second, "retried through the outage")
	require.Less(t, total, 3*time.Second+retryCap, "and stopped once through")
}

// A failed renewal is retried with backoff until the lease's expiry; then
// the lease is given up: logged at warn, counted, and the handler's
// context cancelled with ErrLeaseLost.
func TestRenewalRetriedThenGivenUp(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	tr.renew = func(int) error { return transportErr() }
	w, clk, logs := newTestWorker(t, tr)
	claimed := clk.Now()
	tk := leasedTask(w, 1, claimed.Add(w.cfg.LeaseTTL))
	r := w.renewer
	r.add(tk, claimed)
	ctx := context.Background()
	for tk.ctx.Err() == nil {
		require.Less(t, tr.callsOf("renew"), 100, "the renewer never gives up")
		r.mu.Lock()
		due := r.leases[tk].due
		r.mu.Unlock()
		require.False(t, due.After(tk.leaseExpiry()), "a retry is never scheduled after the expiry")
		clk.set(due)
		r.renewDue(ctx)
	}
	require.ErrorIs(t, context.Cause(tk.ctx), ErrLeaseLost)
	require.Equal(t, tk.leaseExpiry(), clk.Now(), "the last try was at the expiry")
	require.EqualValues(t, 1, w.Stats().RenewalsAbandoned)
	warns := logs.at(slog.LevelWarn)
	require.Len(t, warns, 1)
	require.Equal(t, tk.ExecutionID.String(), warns[0]["execution_id"])
	require.Equal(t, string(ff.ErrTransport), warns[0]["error_kind"])
}

// A renewal that gets through after failures extends the lease from its
// own start and resets the backoff; a definitive refusal cancels the
// handler at once.
func TestRenewalRecoversOrStopsOnARefusal(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	tr.renew = func(n int) error {
		if n <= 3 {
			return transportErr()
		}
		return nil
	}
	w, clk, _ := newTestWorker(t, tr)
	claimed := clk.Now()
	tk := leasedTask(w, 0, claimed.Add(w.cfg.LeaseTTL))
	r := w.renewer
	r.add(tk, claimed)
	for tr.callsOf("renew") < 4 {
		r.mu.Lock()
		due := r.leases[tk].due
		r.mu.Unlock()
		clk.set(due)
		r.renewDue(context.Background())
	}
	require.NoError(t, tk.ctx.Err())
	require.Equal(t, clk.Now().Add(w.cfg.LeaseTTL), tk.leaseExpiry())
	r.mu.Lock()
	require.Equal(t, clk.Now().Add(r.interval), r.leases[tk].due)
	require.Equal(t, retryBase, r.leases[tk].retry.ceil, "the backoff starts over")
	r.mu.Unlock()

	tr.renew = func(int) error { return ff.Validation(ff.ErrInvalidHandle, "garbled") }
	clk.set(clk.Now().Add(r.interval))
	r.renewDue(context.Background())
	require.ErrorIs(t, context.Cause(tk.ctx), ErrLeaseLost)
	require.ErrorIs(t, context.Cause(tk.ctx), ff.ErrInvalidHandle)
	require.Zero(t, w.Stats().RenewalsAbandoned, "a refusal is not a give-up")
}

// A renewal answered lease_revoked cancels the handler's context at once,
// without a retry: as a lost lease when the execution goes on (an
// operator revoke), as a cancellation when the revocation came with a
// cancel.
func TestRenewalLeaseRevokedCancelsTheHandler(t *testing.T) {
	t.Parallel()
	for state, want := range map[ff.PublicState]error{ff.PublicActive: ErrLeaseLost, ff.PublicCancelled: ErrExecutionCancelled} {
		tr := newScripted()
		tr.state = state
		tr.renew = func(int) error { return ff.StateError(ff.ErrLeaseRevoked, "revoked") }
		w, clk, _ := newTestWorker(t, tr)
		claimed := clk.Now()
		tk := leasedTask(w, 0, claimed.Add(w.cfg.LeaseTTL))
		w.renewer.add(tk, claimed)
		clk.set(claimed.Add(w.renewer.interval))
		w.renewer.renewDue(context.Background())
		require.ErrorIs(t, context.Cause(tk.ctx), want, "execution %s", state)
		require.ErrorIs(t, context.Cause(tk.ctx), ff.ErrLeaseRevoked)
		require.Equal(t, 1, tr.callsOf("renew"), "a revoked lease is not renewed again")
		require.Zero(t, w.Stats().RenewalsAbandoned)
	}
}

// The SDK only ever sends canonical failure classes: transient for an
// error or a panic, permanent for Permanent (however deeply wrapped).
func TestFailSendsCanonicalClasses(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	tr.fail = func(int) error { return nil }
	w, clk, _ := newTestWorker(t, tr)
	for _, err := range []error{
		errors.New("plain"),
		&panicError{value: "boom"},
		Permanent(errors.New("bad input")),
		fmt.Errorf("wrapped: %w", Permanent(errors.New("bad input"))),
	} {
		w.fail(leasedTask(w, 0, clk.Now().Add(time.Minute)), err)
	}
	require.Len(t, tr.failed, 4)
	want := []ff.FailureClass{ff.FailureTransient, ff.FailureTransient, ff.FailurePermanent, ff.FailurePermanent}
	for i, p := range tr.failed {
		class, err := ff.ParseFailureClass(string(p.Classification))
		require.NoError(t, err)
		require.Equal(t, want[i], class)
		require.Equal(t, want[i], p.Classification)
	}
}
