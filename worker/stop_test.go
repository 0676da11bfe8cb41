package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// holdHandler blocks until release fires, counting the handlers that
// started.
func holdHandler(started *counter, release *signal) worker.Handler {
	return func(ctx context.Context, _ *worker.Task) (any, error) {
		started.add(1)
		select {
		case <-release.c():
			return "drained", nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// stopSpy is the backend as a transport, signalling when the worker's
// work subscription ends: the claim loop's context is cancelled only by a
// stop.
type stopSpy struct {
	backend.Backend
	stopped signal
}

func (s *stopSpy) SubscribeWork(ctx context.Context, p backend.SubscribeWorkParams) (<-chan struct{}, func()) {
	ch, unsubscribe := s.Backend.SubscribeWork(ctx, p)
	go func() {
		<-ctx.Done()
		s.stopped.fire()
	}()
	return ch, unsubscribe
}

func TestGracefulStopDrains(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started, release := newCounter(), newSignal()
		spy := &stopSpy{Backend: b}
		w, err := worker.New(spy, worker.Config{WorkerID: "drainer", Concurrency: 4, Logger: testLogger(t)})
		require.NoError(t, err)
		w.Register("hold", holdHandler(started, release))
		runErr := make(chan error, 1)
		go func() { runErr <- w.Run(context.Background()) }()
		t.Cleanup(w.Kill)

		ids := []ff.ExecutionID{submit(t, b, "hold", nil, nil), submit(t, b, "hold", nil, nil)}
		started.waitFor(t, 2)

		stopErr := make(chan error, 1)
		go func() { stopErr <- w.Stop(context.Background()) }()
		// Once the stop has ended the claim loop's subscription, Stop can
		// only return after Run, which waits for the held handlers.
		spy.stopped.wait(t)
		select {
		case err := <-stopErr:
			t.Fatalf("Stop returned (%v) while handlers were still running", err)
		default:
		}
		release.fire()
		require.NoError(t, <-stopErr)
		require.NoError(t, <-runErr)
		// Run returns only after the outcomes were reported.
		for _, id := range ids {
			st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
			require.NoError(t, err)
			require.Equal(t, ff.PublicCompleted, st)
		}
	})
}

func TestCancelledRunStopsClaiming(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started, release := newCounter(), newSignal()
		w, err := worker.New(b, worker.Config{WorkerID: "one-slot", Concurrency: 1, Logger: testLogger(t)})
		require.NoError(t, err)
		w.Register("hold", holdHandler(started, release))
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- w.Run(ctx) }()
		t.Cleanup(w.Kill)

		first := submit(t, b, "hold", nil, nil)
		started.waitFor(t, 1)
		second := submit(t, b, "hold", nil, nil)
		cancel() // the only slot is busy: the claim loop is parked and now exits
		release.fire()
		require.NoError(t, <-runErr)

		st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: first})
		require.NoError(t, err)
		require.Equal(t, ff.PublicCompleted, st)
		st, err = b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: second})
		require.NoError(t, err)
		require.Equal(t, ff.PublicWaiting, st, "a stopping worker claims nothing new")
		require.EqualValues(t, 1, started.load())
	})
}

func TestShutdownGraceReleasesAttempt(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started := newSignal()
		var cause causeBox
		w, err := worker.New(b, worker.Config{WorkerID: "impatient", ShutdownGrace: 50 * time.Millisecond, Logger: testLogger(t)})
		require.NoError(t, err)
		w.Register("stubborn", func(ctx context.Context, _ *worker.Task) (any, error) {
			started.fire()
			<-ctx.Done()
			cause.put(context.Cause(ctx))
			return nil, ctx.Err()
		})
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- w.Run(ctx) }()
		t.Cleanup(w.Kill)

		id := submit(t, b, "stubborn", nil, nil) // no retry policy: a failure would be final
		started.wait(t)
		cancel()
		require.NoError(t, <-runErr)
		require.ErrorIs(t, cause.get(), worker.ErrShutdown)
		st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
		require.NoError(t, err)
		require.Equal(t, ff.PublicWaiting, st, "the cut-short attempt is handed back, not failed")

		var resumed atomic.Pointer[worker.Task]
		startWorker(t, b, worker.Config{WorkerID: "successor"}, func(w *worker.Worker) {
			w.Register("stubborn", func(_ context.Context, tk *worker.Task) (any, error) {
				resumed.Store(tk)
				return "finally", nil
			})
		})
		waitState(t, b, id, ff.PublicCompleted)
		require.EqualValues(t, 0, resumed.Load().AttemptIndex, "the same attempt is resumed")
		require.Equal(t, ff.HandleResumed, resumed.Load().Handle().Kind)
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
	})
}
