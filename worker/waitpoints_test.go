package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

func seedKey(t *testing.T, b backend.Backend) {
	t.Helper()
	_, err := b.SeedWaitpointKey(t.Context(), backend.SeedWaitpointKeyParams{Generate: true})
	require.NoError(t, err)
}

// A handler creates a waitpoint, hands its token out, suspends, and on
// re-entry reads the signal that resumed it.
func TestSuspendThenResumeWithSignal(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		seedKey(t, b)
		handed := make(chan worker.Waitpoint, 1)
		var types []ff.AttemptType
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("approval", func(ctx context.Context, tk *worker.Task) (any, error) {
				types = append(types, tk.AttemptType)
				if sig, ok := tk.ResumedSignal("approve"); ok {
					return json.RawMessage(sig.Payload), nil
				}
				wp, err := tk.CreateWaitpoint(ctx, "approval", 0)
				if err != nil {
					return nil, err
				}
				handed <- wp
				return nil, tk.Suspend(worker.OnWaitpoints("approval"), worker.ForSignal("approve"), worker.Timeout(time.Hour),
					worker.Reason("waiting_for_approval"))
			})
		})
		id := submit(t, b, "approval", nil, nil)
		wp := <-handed
		waitState(t, b, id, ff.PublicSuspended)
		res, err := b.DeliverSignal(t.Context(), backend.DeliverSignalParams{ExecutionID: wp.ExecutionID, WaitpointID: wp.ID,
			Token: wp.Token, Name: "approve", Payload: json.RawMessage(`{"by":"ann"}`)})
		require.NoError(t, err)
		require.Equal(t, ff.EffectResumeConditionSatisfied, res.Effect)
		waitState(t, b, id, ff.PublicCompleted)
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `{"by":"ann"}`, string(raw))
		require.Equal(t, []ff.AttemptType{ff.AttemptInitial, ff.AttemptResume}, types)
	})
}

// Signals buffered before the suspend satisfy it at once: the handler
// runs again under the same lease, with the signals.
func TestSuspendAlreadySatisfiedRerunsHandler(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		seedKey(t, b)
		handed := make(chan worker.Waitpoint, 1)
		proceed := make(chan struct{})
		var suspendErr error
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("cb", func(ctx context.Context, tk *worker.Task) (any, error) {
				if len(tk.ResumedSignals()) > 0 {
					return tk.ResumedSignals()[0].Name, nil
				}
				wp, err := tk.CreateWaitpoint(ctx, "", time.Hour)
				if err != nil {
					return nil, err
				}
				handed <- wp
				<-proceed
				suspendErr = tk.Suspend(worker.OnWaitpoints(wp.Key))
				return nil, suspendErr
			})
		})
		id := submit(t, b, "cb", nil, nil)
		wp := <-handed
		res, err := b.DeliverSignal(t.Context(), backend.DeliverSignalParams{ExecutionID: id, WaitpointKey: wp.Key,
			Token: wp.Token, Name: "callback"})
		require.NoError(t, err)
		require.Equal(t, ff.EffectBufferedForPending, res.Effect)
		close(proceed)
		waitState(t, b, id, ff.PublicCompleted)
		require.True(t, errors.Is(suspendErr, worker.ErrSuspended))
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `"callback"`, string(raw))
	})
}

// A refused suspension fails the attempt permanently.
func TestSuspendRefusedIsPermanent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		seedKey(t, b)
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("bad", func(ctx context.Context, tk *worker.Task) (any, error) {
				return nil, tk.Suspend(worker.ForCount(0, ff.DistinctSignals))
			})
		})
		id := submit(t, b, "bad", nil, retryPolicy(3))
		waitState(t, b, id, ff.PublicFailed)
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1, "not retried")
		require.Equal(t, string(ff.FailurePermanent), attempts[0].FailureClass)
	})
}

// The same suspend and resume with the worker talking HTTP: the client
// is a WaitpointTransport, and the signal goes through the public route.
func TestSuspendOverHTTP(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		seedKey(t, b)
		c := remote(t, b)
		handed := make(chan worker.Waitpoint, 1)
		startWorker(t, c, worker.Config{Concurrency: 2}, func(w *worker.Worker) {
			w.Register("gate", func(ctx context.Context, tk *worker.Task) (any, error) {
				if sig, ok := tk.ResumedSignal("approve"); ok {
					return json.RawMessage(sig.Payload), nil
				}
				err := tk.Suspend(worker.ForSignal("approve"), worker.Timeout(time.Hour))
				var se *worker.SuspendedError
				if errors.As(err, &se) {
					handed <- se.Waitpoints[0]
				}
				return nil, err
			})
		})
		id := submit(t, b, "gate", nil, nil)
		wp := <-handed
		_, err := c.Signal(t.Context(), id, wp.ID, wp.Token, "approve", map[string]int{"n": 7})
		require.NoError(t, err)
		waitState(t, b, id, ff.PublicCompleted)
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `{"n":7}`, string(raw))
	})
}
