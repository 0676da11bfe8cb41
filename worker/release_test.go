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

// lateClaims is a transport whose claim answers only once the worker has
// begun to stop, as a claim reply that arrives just as Stop or Kill is
// called: the tasks are leased, but the worker must not start them.
type lateClaims struct {
	worker.Transport
	claimed *signal
}

func (l *lateClaims) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	tasks, err := l.Transport.Claim(context.WithoutCancel(ctx), p)
	if len(tasks) == 0 || err != nil {
		return tasks, err
	}
	l.claimed.fire()
	<-ctx.Done()
	return tasks, nil
}

// TestStopReleasesUnstartedClaims: tasks claimed but never started when
// the worker stops (gracefully or hard) are given back at once — waiting,
// claimable, the next claim resuming the same attempt with no reclaim —
// instead of staying leased until their leases expire.
func TestStopReleasesUnstartedClaims(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"stop", "kill", "remote"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, b backend.Backend) {
				var tr worker.Transport = b
				if how == "remote" {
					tr = remote(t, b)
				}
				late := &lateClaims{Transport: tr, claimed: newSignal()}
				var ran atomic.Int32
				w, err := worker.New(late, worker.Config{WorkerID: "leaver", Concurrency: 2, LeaseTTL: time.Minute,
					Logger: testLogger(t)})
				require.NoError(t, err)
				w.Register("job", func(context.Context, *worker.Task) (any, error) {
					ran.Add(1)
					return nil, nil
				})
				ids := []ff.ExecutionID{submit(t, b, "job", nil, nil), submit(t, b, "job", nil, nil)}
				runErr := make(chan error, 1)
				go func() { runErr <- w.Run(context.Background()) }()
				t.Cleanup(w.Kill)
				late.claimed.wait(t)
				if how == "kill" {
					w.Kill()
				} else {
					require.NoError(t, w.Stop(t.Context()))
				}
				require.NoError(t, <-runErr)

				require.Zero(t, ran.Load(), "nothing claimed during the stop was started")
				require.EqualValues(t, 2, w.Stats().ClaimsReleased)
				for _, id := range ids {
					st, err := b.ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
					require.NoError(t, err)
					require.Equal(t, ff.PublicWaiting, st, "given back at once, not leased for a minute")
				}
				tasks, err := b.Claim(t.Context(), backend.ClaimParams{WorkerID: "next", LeaseTTL: time.Minute, Max: 2})
				require.NoError(t, err)
				require.Len(t, tasks, 2)
				for _, tk := range tasks {
					require.EqualValues(t, 0, tk.AttemptIndex, "the same attempt")
					require.Equal(t, ff.AttemptResume, tk.AttemptType, "the same attempt resumed, no reclaim")
				}
			})
		})
	}
}
