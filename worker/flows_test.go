package worker_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// A parent spawns children, parks on WaitChildren, and is resumed on the
// same attempt once they end, reading their results; a DAG member reads
// its upstream's result.
func TestSpawnWaitChildrenAndUpstreamResults(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		var mu sync.Mutex
		var parentTypes []ff.AttemptType
		// The children run only once the parent has parked, so its next
		// claim is a resume (children ended before WaitChildren would let
		// it keep its lease and finish on its first attempt).
		release := make(chan struct{})
		startWorker(t, b, worker.Config{Concurrency: 6}, func(w *worker.Worker) {
			w.Register("times10", worker.Typed(func(ctx context.Context, _ *worker.Task, n int) (int, error) {
				select {
				case <-release:
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				return n * 10, nil
			}))
			w.Register("parent", func(ctx context.Context, tk *worker.Task) (any, error) {
				mu.Lock()
				parentTypes = append(parentTypes, tk.AttemptType)
				mu.Unlock()
				if tk.AttemptType != ff.AttemptResume {
					if _, err := tk.SpawnChildren(ctx,
						backend.CreateExecutionParams{Kind: "times10", Input: []byte(`1`)},
						backend.CreateExecutionParams{Kind: "times10", Input: []byte(`2`)}); err != nil {
						return nil, err
					}
					if err := tk.WaitChildren(ctx); err != nil {
						return nil, err
					}
				}
				return sumUpstreams(ctx, tk)
			})
			w.Register("sum", func(ctx context.Context, tk *worker.Task) (any, error) { return sumUpstreams(ctx, tk) })
		})
		f, err := b.CreateFlow(t.Context(), backend.CreateFlowParams{Kind: "fan", Members: []backend.FlowMemberParams{
			{Ref: "p", Execution: backend.CreateExecutionParams{Kind: "parent"}},
			{Ref: "s", Execution: backend.CreateExecutionParams{Kind: "sum"}, DependsOnRefs: []string{"p"}}}})
		require.NoError(t, err)
		// CreateFlow is not announced by the watcher: a create is.
		submit(t, b, "times10", 0, nil)
		waitState(t, b, f.ExecutionIDs["p"], ff.PublicWaitingChildren)
		close(release)
		waitState(t, b, f.ExecutionIDs["s"], ff.PublicCompleted)
		raw, err := b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: f.ExecutionIDs["p"]})
		require.NoError(t, err)
		require.JSONEq(t, `30`, string(raw))
		raw, err = b.GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: f.ExecutionIDs["s"]})
		require.NoError(t, err)
		require.JSONEq(t, `30`, string(raw))
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []ff.AttemptType{ff.AttemptInitial, ff.AttemptResume}, parentTypes)
	})
}

func sumUpstreams(ctx context.Context, tk *worker.Task) (int, error) {
	ups, err := tk.UpstreamResults(ctx)
	if err != nil {
		return 0, err
	}
	sum := 0
	for _, u := range ups {
		var n int
		if err := json.Unmarshal(u.Result, &n); err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}
