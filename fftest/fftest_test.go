package fftest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/worker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type greetIn struct {
	Name string `json:"name"`
}

type greetOut struct {
	Greeting string `json:"greeting"`
}

func greet(_ context.Context, _ *worker.Task, in greetIn) (greetOut, error) {
	if in.Name == "" {
		return greetOut{}, worker.Permanent(errors.New("no name"))
	}
	return greetOut{Greeting: "hello, " + in.Name}, nil
}

func TestCompletesWithResult(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		w := e.NewWorker(worker.Config{})
		w.Register("greet", worker.Typed(greet))
		id := e.Create(backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"ada"}`)})
		e.RunUntil(w, fftest.Completed(id))
		fftest.RequireCompleted(t, e, id, `{"greeting":"hello, ada"}`)
		fftest.RequireCompleted(t, e, id, greetOut{Greeting: "hello, ada"})
		var out greetOut
		fftest.RequireResult(t, e.Backend(), id, &out)
		require.Equal(t, "hello, ada", out.Greeting)
		fftest.RequireAttempts(t, e, id, 1)
	})
}

func TestFailsWithClass(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		w := e.NewWorker(worker.Config{})
		w.Register("greet", worker.Typed(greet))
		id := e.Create(backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{}`)})
		e.RunUntil(w, fftest.Ended(id))
		fftest.RequireFailed(t, e, id, ff.FailurePermanent)
		fftest.RequireFailed(t, e, id, "")
	})
}

// A retry waits for its backoff on the fake clock: nothing happens until
// the test advances it.
func TestRetryNeedsAdvance(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		var calls atomic.Int32
		w := e.NewWorker(worker.Config{})
		w.Register("flaky", func(context.Context, *worker.Task) (any, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("first try fails")
			}
			return "ok", nil
		})
		id := e.Create(backend.CreateExecutionParams{Kind: "flaky", Policy: &ff.ExecutionPolicy{
			Retry: &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 5000}}}})
		e.Start(w)
		e.WaitFor(fftest.InState(id, ff.PublicDelayed))
		e.Advance(4 * time.Second)
		fftest.RequireState(t, e, id, ff.PublicDelayed)
		e.Advance(time.Second) // the promoter runs inside Advance
		e.WaitFor(fftest.Completed(id))
		fftest.RequireAttempts(t, e, id, 2)
	})
}

// A worker that dies holding a lease: Advance past the TTL expires it and
// another worker completes the execution in a reclaim attempt.
func TestLeaseExpiryOnAdvance(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		started := make(chan struct{})
		dead := e.NewWorker(worker.Config{WorkerID: "dead", LeaseTTL: 2 * time.Second})
		dead.Register("job", func(ctx context.Context, _ *worker.Task) (any, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		id := e.Create(backend.CreateExecutionParams{Kind: "job"})
		e.Start(dead)
		<-started
		dead.Kill()
		e.Advance(3 * time.Second)
		w := e.NewWorker(worker.Config{WorkerID: "alive"})
		var typ ff.AttemptType
		w.Register("job", func(_ context.Context, task *worker.Task) (any, error) {
			typ = task.AttemptType
			return nil, nil
		})
		e.RunUntil(w, fftest.Completed(id))
		require.Equal(t, ff.AttemptReclaim, typ)
	})
}

// An hourly schedule over three hours fires three times: Advance stops at
// each tick.
func TestScheduleTicksOnAdvance(t *testing.T) {
	hourly := backend.CreateScheduleParams{ID: "hourly", Spec: ff.ScheduleSpec{Every: time.Hour},
		Execution: backend.CreateExecutionParams{Lane: "reports", Kind: "report"}}
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		e.Advance(3 * time.Hour)
		h := fftest.Epoch.Add(time.Hour)
		fftest.RequireTicksFired(t, e, "", "hourly", h, h.Add(time.Hour), h.Add(2*time.Hour))
		var ran atomic.Int32
		w := e.NewWorker(worker.Config{Lanes: []string{"reports"}})
		w.Register("report", func(context.Context, *worker.Task) (any, error) {
			ran.Add(1)
			return nil, nil
		})
		e.RunUntil(w, fftest.Cond("three reports ran", func(context.Context, fftest.Reader) (bool, error) {
			return ran.Load() == 3, nil
		}))
	}, fftest.WithSchedules(hourly))
}

// recorder is a testing.TB whose Fatalf records the message and ends its
// goroutine, as t.Fatalf does, without failing the real test.
type recorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func TestTimeoutMessageNamesState(t *testing.T) {
	rec := &recorder{TB: t}
	e := fftest.New(rec)
	id := e.Create(backend.CreateExecutionParams{Kind: "later", DelayUntil: fftest.Epoch.Add(5 * time.Second)})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.WaitFor(fftest.Completed(id), fftest.Timeout(100*time.Millisecond))
	}()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Contains(t, rec.msg, "timed out after 100ms waiting for "+id.String()+" completed")
	require.Contains(t, rec.msg, "delayed, until 2026-01-01T00:00:05Z")
	require.Contains(t, rec.msg, "need Advance")
}

// Workers over HTTP, as a separate worker process runs.
func TestRemoteWorkers(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		w := e.NewWorker(worker.Config{})
		w.Register("greet", worker.Typed(greet))
		id, err := e.Client().CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"bob"}`)})
		require.NoError(t, err)
		e.RunUntil(w, fftest.Completed(id.ExecutionID))
		fftest.RequireCompleted(t, e.Client(), id.ExecutionID, `{"greeting":"hello, bob"}`)
	}, fftest.WithRemoteWorkers())
}

// With the real clock the reconcilers run in the background.
func TestRealClock(t *testing.T) {
	e := fftest.New(t, fftest.WithRealClock())
	w := e.NewWorker(worker.Config{})
	w.Register("greet", worker.Typed(greet))
	id := e.Create(backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"cy"}`),
		DelayUntil: time.Now().Add(50 * time.Millisecond)})
	e.RunUntil(w, fftest.Completed(id))
	fftest.RequireCompleted(t, e, id, nil)
}

// A handler that suspends on a signal is found suspended on its
// waitpoint; a one-member flow that completes is completed.
func TestSuspendedAndFlowState(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		w := e.NewWorker(worker.Config{})
		w.Register("approve", func(_ context.Context, tk *worker.Task) (any, error) {
			return nil, tk.Suspend(worker.ForSignal("approve"))
		})
		id := e.Create(backend.CreateExecutionParams{Kind: "approve"})
		e.RunUntil(w, fftest.InState(id, ff.PublicSuspended))
		wp := fftest.RequireSuspended(t, e, id, "")
		require.Equal(t, ff.WaitpointActive, wp.State)
		require.Empty(t, wp.Token, "reads never carry the token")

		f, err := e.Backend().CreateFlow(t.Context(), backend.CreateFlowParams{Kind: "one", Members: []backend.FlowMemberParams{
			{Ref: "g", Execution: backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"name":"ada"}`)}}}})
		require.NoError(t, err)
		fftest.RequireFlowState(t, e, f.FlowID, ff.FlowOpen)
		w2 := e.NewWorker(worker.Config{}) // a worker runs once
		w2.Register("greet", worker.Typed(greet))
		e.RunUntil(w2, fftest.Completed(f.ExecutionIDs["g"]))
		fftest.RequireFlowState(t, e, f.FlowID, ff.FlowCompleted)
	})
}
