package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// These tests exercise real-time lease renewal, so they are not run in
// parallel with the rest of the package.

// renewals counts successful lease renewals and RenewMany calls.
type renewals struct {
	worker.Transport
	ok   *counter // renewals that extended a lease
	many *counter // RenewMany calls
}

func countRenewals(tr worker.Transport) *renewals {
	return &renewals{Transport: tr, ok: newCounter(), many: newCounter()}
}

func (r *renewals) Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	res, err := r.Transport.Renew(ctx, p)
	if err == nil {
		r.ok.add(1)
	}
	return res, err
}

func (r *renewals) RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult {
	res := r.Transport.RenewMany(ctx, ps)
	var n int64
	for _, x := range res {
		if x.Err == nil {
			n++
		}
	}
	r.ok.add(n)
	r.many.add(1)
	return res
}

// waitCtx waits until c reaches n or ctx ends, and reports which.
func (c *counter) waitCtx(ctx context.Context, n int64) bool {
	for {
		changed := c.changes.next()
		if c.load() >= n {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

func TestLeaseRenewalKeepsLongHandlerAlive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		maintain(t, b) // expires any lease that is not renewed in time
		var cancelled causeBox
		tr := countRenewals(b)
		// The handler outlives three lease TTLs: it returns after nine
		// renewals (one every TTL/3). The TTL leaves renewal 2/3 of it as
		// slack, so a loaded machine does not lose it.
		startWorker(t, tr, worker.Config{LeaseTTL: 500 * time.Millisecond}, func(w *worker.Worker) {
			w.Register("long", func(ctx context.Context, _ *worker.Task) (any, error) {
				if tr.ok.waitCtx(ctx, 9) {
					return "finished", nil
				}
				cancelled.put(context.Cause(ctx))
				return nil, ctx.Err()
			})
		})
		id := submit(t, b, "long", nil, nil)
		waitState(t, b, id, ff.PublicCompleted)
		require.NoError(t, cancelled.get(), "the handler's context must not be cancelled")
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1, "the lease never lapsed, so no reclaim attempt")
		require.Equal(t, ff.AttemptEndedSuccess, attempts[0].Lifecycle)
	})
}

func TestRenewalsAreBatched(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		maintain(t, b)
		const n = 5
		ids := make([]ff.ExecutionID, n)
		for i := range ids {
			ids[i] = submit(t, b, "long", nil, nil)
		}
		// All five are claimed by one claim, so their renewals fall due
		// together; the handlers return after the first RenewMany.
		tr := countRenewals(&pollingTransport{Transport: b})
		startWorker(t, tr, worker.Config{Concurrency: n, LeaseTTL: 500 * time.Millisecond}, func(w *worker.Worker) {
			w.Register("long", func(ctx context.Context, _ *worker.Task) (any, error) {
				if tr.many.waitCtx(ctx, 1) {
					return nil, nil
				}
				return nil, ctx.Err()
			})
		})
		for _, id := range ids {
			waitState(t, b, id, ff.PublicCompleted)
			attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
			require.NoError(t, err)
			require.Len(t, attempts, 1)
		}
		require.Positive(t, tr.many.load(), "renewals due together go in one RenewMany")
	})
}

func TestOperatorCancelCancelsHandler(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started, returned := newSignal(), newSignal()
		var cause causeBox
		startWorker(t, b, worker.Config{LeaseTTL: 300 * time.Millisecond}, func(w *worker.Worker) {
			w.Register("cancellable", func(ctx context.Context, _ *worker.Task) (any, error) {
				defer returned.fire()
				started.fire()
				<-ctx.Done()
				cause.put(context.Cause(ctx))
				return nil, ctx.Err()
			})
		})
		id := submit(t, b, "cancellable", nil, retryPolicy(3))
		started.wait(t)
		_, err := b.CancelExecution(t.Context(), backend.CancelExecutionParams{ExecutionID: id, Reason: "operator says stop"})
		require.NoError(t, err)
		returned.wait(t)
		require.ErrorIs(t, cause.get(), worker.ErrExecutionCancelled)

		snap, err := b.DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: id})
		require.NoError(t, err)
		require.Equal(t, ff.PublicCancelled, snap.PublicState, "the handler's error must not turn into a failure or retry")
		require.Equal(t, "operator says stop", snap.CancelReason)
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, ff.AttemptEndedCancelled, attempts[0].Lifecycle)
	})
}

func TestKilledWorkerIsReclaimed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started := newSignal()
		var killedCause causeBox
		a, err := worker.New(b, worker.Config{WorkerID: "crashy", LeaseTTL: 300 * time.Millisecond, Logger: testLogger(t)})
		require.NoError(t, err)
		a.Register("job", func(ctx context.Context, _ *worker.Task) (any, error) {
			started.fire()
			<-ctx.Done()
			killedCause.put(context.Cause(ctx))
			return "must not be reported", nil
		})
		runErr := make(chan error, 1)
		go func() { runErr <- a.Run(context.Background()) }()
		t.Cleanup(a.Kill)

		id := submit(t, b, "job", nil, nil)
		started.wait(t)
		a.Kill()
		require.NoError(t, <-runErr)
		require.ErrorIs(t, killedCause.get(), worker.ErrKilled)
		st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
		require.NoError(t, err)
		require.Equal(t, ff.PublicActive, st, "a killed worker reports nothing")

		maintain(t, b)
		var seen atomic.Pointer[worker.Task]
		startWorker(t, b, worker.Config{WorkerID: "rescuer"}, func(w *worker.Worker) {
			w.Register("job", func(_ context.Context, tk *worker.Task) (any, error) {
				seen.Store(tk)
				return "rescued", nil
			})
		})
		waitState(t, b, id, ff.PublicCompleted)
		tk := seen.Load()
		require.NotNil(t, tk)
		require.EqualValues(t, 1, tk.AttemptIndex)
		require.Equal(t, ff.AttemptReclaim, tk.AttemptType)
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `"rescued"`, string(raw))
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 2)
		require.Equal(t, ff.AttemptInterruptedReclaimed, attempts[0].Lifecycle)
		require.Equal(t, ff.AttemptReclaim, attempts[1].Type)
		require.Equal(t, ff.AttemptEndedSuccess, attempts[1].Lifecycle)
	})
}

func TestProgressAfterCancelReportsLoss(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started, proceed := newSignal(), newSignal()
		var progressErr, cause causeBox
		startWorker(t, b, worker.Config{}, func(w *worker.Worker) {
			w.Register("chatty", func(ctx context.Context, tk *worker.Task) (any, error) {
				started.fire()
				<-proceed.c()
				err := tk.Progress(ctx, 10, "still here")
				progressErr.put(err)
				<-ctx.Done() // Progress noticed the loss and cancelled ctx
				cause.put(context.Cause(ctx))
				return nil, errors.New("ignored")
			})
		})
		id := submit(t, b, "chatty", nil, nil)
		started.wait(t)
		_, err := b.CancelExecution(t.Context(), backend.CancelExecutionParams{ExecutionID: id, Reason: "stop"})
		require.NoError(t, err)
		proceed.fire()
		require.ErrorIs(t, cause.wait(t), worker.ErrExecutionCancelled)
		require.ErrorIs(t, progressErr.get(), ff.ErrLeaseRevoked, "progress error: %v", progressErr.get())
		waitState(t, b, id, ff.PublicCancelled)
	})
}
