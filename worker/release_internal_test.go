package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A task an executor picks up after the worker began to stop is given
// back, not run.
func TestExecuteReleasesATaskPickedUpWhileStopping(t *testing.T) {
	t.Parallel()
	tr := newScripted()
	w, clk, _ := newTestWorker(t, tr)
	ran := false
	w.Register("k", func(context.Context, *Task) (any, error) {
		ran = true
		return nil, nil
	})
	claimCtx, stop := context.WithCancel(context.Background())
	w.claimCtx = claimCtx
	stop()

	tk := leasedTask(w, 0, clk.Now().Add(time.Minute))
	require.Equal(t, 1, w.slots.take(1))
	w.renewer.add(tk, clk.Now())
	w.running.Add(1)
	w.inflight.Add(1)
	w.execute(tk)

	require.False(t, ran)
	require.Len(t, tr.released, 1)
	require.Equal(t, tk.handle, tr.released[0].Handle)
	require.EqualValues(t, 1, w.Stats().ClaimsReleased)
	require.Zero(t, w.running.Load())
	require.Equal(t, w.cfg.Concurrency, w.slots.available())
	w.renewer.mu.Lock()
	require.Empty(t, w.renewer.leases)
	w.renewer.mu.Unlock()
}
