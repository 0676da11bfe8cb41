package worker_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

// stuckFirstReport holds the first completion report until release
// fires; the others go through.
type stuckFirstReport struct {
	worker.Transport
	calls   atomic.Int32
	entered *signal
	release *signal
}

func (s *stuckFirstReport) hold(ctx context.Context) {
	if s.calls.Add(1) == 1 {
		s.entered.fire()
		select {
		case <-s.release.c():
		case <-ctx.Done():
		}
	}
}

func (s *stuckFirstReport) Complete(ctx context.Context, c backend.CompleteParams) error {
	s.hold(ctx)
	return s.Transport.Complete(ctx, c)
}

func (s *stuckFirstReport) CompleteMany(ctx context.Context, cs []backend.CompleteParams) []error {
	s.hold(ctx)
	return s.Transport.CompleteMany(ctx, cs)
}

// With two completers, a report that hangs does not hold back the
// results finished after it; the held one lands once it is let go.
func TestCompletersReportPastAStuckCall(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		tr := &stuckFirstReport{Transport: &pollingTransport{Transport: b}, entered: newSignal(), release: newSignal()}
		startWorker(t, tr, worker.Config{Concurrency: 2, Completers: 2}, registerDouble)
		first := submit(t, b, "double", echoIn{N: 1}, nil)
		tr.entered.wait(t)
		second := submit(t, b, "double", echoIn{N: 2}, nil)
		waitState(t, b, second, ff.PublicCompleted)
		st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: first})
		require.NoError(t, err)
		require.NotEqual(t, ff.PublicCompleted, st, "the first report is still held")
		tr.release.fire()
		waitState(t, b, first, ff.PublicCompleted)
	})
}

func TestCompletersConfig(t *testing.T) {
	t.Parallel()
	var tr worker.Transport = &pollingTransport{}
	w, err := worker.New(tr, worker.Config{WorkerID: "w"})
	require.NoError(t, err)
	require.Equal(t, worker.CompletersDefault, w.Config().Completers)
	for _, n := range []int{-1, 17} {
		_, err := worker.New(tr, worker.Config{WorkerID: "w", Completers: n})
		require.ErrorIs(t, err, ff.ErrInvalidInput, "completers %d", n)
	}
}
