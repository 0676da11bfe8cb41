package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

type echoIn struct {
	N int `json:"n"`
}

type echoOut struct {
	Double int `json:"double"`
}

func registerDouble(w *worker.Worker) {
	w.Register("double", worker.Typed(func(_ context.Context, _ *worker.Task, in echoIn) (echoOut, error) {
		return echoOut{Double: in.N * 2}, nil
	}))
}

func TestCompletesAll(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"wakeup", "polling"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, b backend.Backend) {
				var tr worker.Transport = b
				pt := &pollingTransport{Transport: b}
				if mode == "polling" {
					tr = pt
				}
				startWorker(t, tr, worker.Config{Concurrency: 8}, registerDouble)
				const n = 40
				ids := make([]ff.ExecutionID, n)
				for i := range ids {
					ids[i] = submit(t, b, "double", echoIn{N: i}, nil)
				}
				for i, id := range ids {
					waitState(t, b, id, ff.PublicCompleted)
					raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
					require.NoError(t, err)
					require.JSONEq(t, fmt.Sprintf(`{"double":%d}`, 2*i), string(raw))
				}
				if mode == "polling" {
					require.EqualValues(t, n, pt.completed.Load(), "each execution completed exactly once")
				}
			})
		})
	}
}

func TestRetryThenSucceeds(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		var calls atomic.Int32
		var mu sync.Mutex
		var seen []ff.AttemptType
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("flaky", func(_ context.Context, tk *worker.Task) (any, error) {
				calls.Add(1)
				mu.Lock()
				seen = append(seen, tk.AttemptType)
				mu.Unlock()
				if tk.AttemptIndex < 2 {
					return nil, fmt.Errorf("flaky failure %d", tk.AttemptIndex)
				}
				return json.RawMessage(`{"ok":true}`), nil
			})
		})
		id := submit(t, b, "flaky", nil, retryPolicy(3))
		waitState(t, b, id, ff.PublicCompleted)
		require.EqualValues(t, 3, calls.Load())
		mu.Lock()
		require.Equal(t, []ff.AttemptType{ff.AttemptInitial, ff.AttemptRetry, ff.AttemptRetry}, seen)
		mu.Unlock()
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `{"ok":true}`, string(raw))
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 3)
		require.Equal(t, ff.AttemptEndedFailure, attempts[0].Lifecycle)
		require.Equal(t, string(ff.FailureTransient), attempts[0].FailureClass)
		require.Equal(t, "flaky failure 0", attempts[0].FailureReason)
		require.Equal(t, ff.AttemptEndedSuccess, attempts[2].Lifecycle)
	})
}

func TestPermanentFailsWithoutRetry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		var calls atomic.Int32
		startWorker(t, b, worker.Config{}, func(w *worker.Worker) {
			w.Register("doomed", func(context.Context, *worker.Task) (any, error) {
				calls.Add(1)
				return nil, worker.Permanent(errors.New("bad input"))
			})
		})
		id := submit(t, b, "doomed", nil, retryPolicy(5))
		waitState(t, b, id, ff.PublicFailed)
		require.EqualValues(t, 1, calls.Load())
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, string(ff.FailurePermanent), attempts[0].FailureClass)
		require.Equal(t, "bad input", attempts[0].FailureReason)
	})
}

func TestPanicFailsAttemptAndWorkerSurvives(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("boom", func(context.Context, *worker.Task) (any, error) { panic("kaboom") })
			registerDouble(w)
		})
		boom := submit(t, b, "boom", nil, nil)
		waitState(t, b, boom, ff.PublicFailed)
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: boom})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, "handler panicked: kaboom", attempts[0].FailureReason)
		require.Equal(t, string(ff.FailureTransient), attempts[0].FailureClass)

		next := submit(t, b, "double", echoIn{N: 21}, nil)
		waitState(t, b, next, ff.PublicCompleted)
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: next})
		require.NoError(t, err)
		require.JSONEq(t, `{"double":42}`, string(raw))
	})
}

func TestPanicIsRetriedPerPolicy(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		startWorker(t, b, worker.Config{}, func(w *worker.Worker) {
			w.Register("boom-once", func(_ context.Context, tk *worker.Task) (any, error) {
				if tk.AttemptIndex == 0 {
					var m map[string]int
					m["x"] = 1 // a real runtime panic
				}
				return "recovered", nil
			})
		})
		id := submit(t, b, "boom-once", nil, retryPolicy(1))
		waitState(t, b, id, ff.PublicCompleted)
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: id})
		require.NoError(t, err)
		require.JSONEq(t, `"recovered"`, string(raw))
	})
}

func TestUnknownKindFailsPermanently(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		startWorker(t, b, worker.Config{}, registerDouble)
		id := submit(t, b, "mystery", nil, retryPolicy(3))
		waitState(t, b, id, ff.PublicFailed)
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, string(ff.FailurePermanent), attempts[0].FailureClass)
		require.Contains(t, attempts[0].FailureReason, `no handler registered for kind "mystery"`)
	})
}

func TestTypedDecodeErrorIsPermanent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		startWorker(t, b, worker.Config{}, registerDouble)
		id := submit(t, b, "double", map[string]string{"n": "not a number"}, retryPolicy(3))
		waitState(t, b, id, ff.PublicFailed)
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, string(ff.FailurePermanent), attempts[0].FailureClass)
	})
}

func TestDelayResumesSameAttempt(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		maintain(t, b)
		var calls atomic.Int32
		var indexes [2]atomic.Uint32
		startWorker(t, b, worker.Config{Concurrency: 1}, func(w *worker.Worker) {
			w.Register("later", func(_ context.Context, tk *worker.Task) (any, error) {
				n := calls.Add(1)
				if n <= 2 {
					indexes[n-1].Store(tk.AttemptIndex + 1)
				}
				if n == 1 {
					return nil, tk.Delay(time.Now().Add(50 * time.Millisecond))
				}
				return "done", nil
			})
		})
		id := submit(t, b, "later", nil, nil)
		waitState(t, b, id, ff.PublicCompleted)
		require.EqualValues(t, 2, calls.Load())
		require.EqualValues(t, 1, indexes[0].Load(), "first run on attempt 0")
		require.EqualValues(t, 1, indexes[1].Load(), "the delayed attempt is resumed, not retried")
		attempts, err := b.ListAttempts(t.Context(), backend.ListAttemptsParams{ExecutionID: id})
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, ff.AttemptEndedSuccess, attempts[0].Lifecycle)
	})
}

func TestProgressIsRecorded(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		startWorker(t, b, worker.Config{}, func(w *worker.Worker) {
			w.Register("report", func(ctx context.Context, tk *worker.Task) (any, error) {
				if err := tk.Progress(ctx, 50, "halfway"); err != nil {
					return nil, err
				}
				return nil, nil
			})
		})
		id := submit(t, b, "report", nil, nil)
		waitState(t, b, id, ff.PublicCompleted)
		snap, err := b.DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: id})
		require.NoError(t, err)
		require.NotNil(t, snap.ProgressPct)
		require.Equal(t, 50, *snap.ProgressPct)
		require.Equal(t, "halfway", snap.ProgressMessage)
	})
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		const limit = 3
		var cur, peak atomic.Int32
		started, release := newCounter(), newSignal()
		startWorker(t, b, worker.Config{Concurrency: limit}, func(w *worker.Worker) {
			w.Register("hold", func(ctx context.Context, _ *worker.Task) (any, error) {
				n := cur.Add(1)
				defer cur.Add(-1)
				started.add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				select {
				case <-release.c():
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return nil, nil
			})
		})
		ids := make([]ff.ExecutionID, 4*limit)
		for i := range ids {
			ids[i] = submit(t, b, "hold", nil, nil)
		}
		started.waitFor(t, limit)
		// Every slot is busy, so the claim loop is parked on the slots and
		// no claim can be in flight: exactly limit executions are leased.
		page, err := b.ListExecutions(t.Context(), backend.ListExecutionsParams{PublicState: ff.PublicActive})
		require.NoError(t, err)
		require.Len(t, page.Executions, limit, "the worker claims only into free slots")
		release.fire()
		for _, id := range ids {
			waitState(t, b, id, ff.PublicCompleted)
		}
		require.EqualValues(t, limit, peak.Load())
	})
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := worker.New(nil, worker.Config{WorkerID: "w"})
	require.Error(t, err)
	var tr worker.Transport = &pollingTransport{}
	_, err = worker.New(tr, worker.Config{})
	require.Error(t, err, "worker id is required")
	_, err = worker.New(tr, worker.Config{WorkerID: "w", LeaseTTL: time.Millisecond})
	require.Error(t, err)
	_, err = worker.New(tr, worker.Config{WorkerID: "w", Lanes: []string{""}})
	require.Error(t, err)
	_, err = worker.New(tr, worker.Config{WorkerID: "w", Capabilities: []string{"a,b"}})
	require.Error(t, err)

	w, err := worker.New(tr, worker.Config{WorkerID: "w", Concurrency: 500})
	require.NoError(t, err)
	cfg := w.Config()
	require.Equal(t, []string{"default"}, cfg.Lanes)
	require.Equal(t, worker.ClaimBatchMax, cfg.ClaimBatch)
	require.Equal(t, 1, cfg.Claimers)
	require.Equal(t, 30*time.Second, cfg.LeaseTTL)
	require.Regexp(t, `^w-[0-9a-f]{12}$`, cfg.InstanceID)

	w, err = worker.New(tr, worker.Config{WorkerID: "w", Concurrency: 4})
	require.NoError(t, err)
	require.Equal(t, 4, w.Config().ClaimBatch)
	require.Panics(t, func() { w.Register("", func(context.Context, *worker.Task) (any, error) { return nil, nil }) })
	w.Register("k", func(context.Context, *worker.Task) (any, error) { return nil, nil })
	require.Panics(t, func() { w.Register("k", func(context.Context, *worker.Task) (any, error) { return nil, nil }) })
}

func TestPermanentWrapping(t *testing.T) {
	t.Parallel()
	require.NoError(t, worker.Permanent(nil))
	base := errors.New("x")
	err := fmt.Errorf("wrapped: %w", worker.Permanent(base))
	require.True(t, worker.IsPermanent(err))
	require.ErrorIs(t, err, base)
	require.False(t, worker.IsPermanent(base))
	var tk worker.Task
	require.ErrorIs(t, tk.Delay(time.Now()), worker.ErrDelayed)
}
