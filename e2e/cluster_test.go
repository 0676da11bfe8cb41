package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/worker"
)

const (
	leaderGauge     = "ff_reconciler_leader"
	leaseExpiryRuns = `ff_reconciler_runs_total{reconciler="lease_expiry"}`
)

// TestTwoServersOnePostgres: two server processes on one schema share
// the work; exactly one runs the reconcilers; when it is SIGKILLed the
// other takes over within about one leader-retry interval and its
// reconcilers reclaim an abandoned lease.
func TestTwoServersOnePostgres(t *testing.T) {
	t.Parallel()
	db := postgresDB(t)
	const retry = 200 * time.Millisecond
	flags := []string{"--api-token", token, "--leader-retry-interval", retry.String()}
	// Both start at once: their migrations and elections race.
	var servers [2]*serverProc
	var errs [2]error
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() { servers[i], errs[i] = launchServer(t, db, flags...) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs[:]...))

	// Exactly one leads, by its metrics and by its logs.
	var leader, follower *serverProc
	require.Eventually(t, func() bool {
		a, b := scrape(t, servers[0].URL)[leaderGauge], scrape(t, servers[1].URL)[leaderGauge]
		switch {
		case a == 1 && b == 0:
			leader, follower = servers[0], servers[1]
		case a == 0 && b == 1:
			leader, follower = servers[1], servers[0]
		default:
			return false
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "one leader")
	require.Equal(t, 1, leader.logs.count("reconciler leadership acquired"))
	require.Zero(t, follower.logs.count("reconciler leadership acquired"))

	// Only the leader sweeps: while the leader runs several lease expiry
	// sweeps (50ms apart), the follower runs none.
	f0 := scrape(t, follower.URL)[leaseExpiryRuns]
	l0 := scrape(t, leader.URL)[leaseExpiryRuns]
	require.Eventually(t, func() bool { return scrape(t, leader.URL)[leaseExpiryRuns] >= l0+5 }, 10*time.Second,
		20*time.Millisecond, "the leader's lease expiry sweeps run")
	f1 := scrape(t, follower.URL)[leaseExpiryRuns]
	require.Equal(t, f0, f1, "the follower runs no sweeps")
	require.Zero(t, f1)

	// Work submitted to one server is shared by workers on both.
	c := newClient(leader.URL, token)
	const n = 24
	ids := make([]ff.ExecutionID, n)
	for i := range ids {
		res, err := c.CreateExecution(context.Background(), backend.CreateExecutionParams{
			Kind: "share", Input: fmt.Appendf(nil, `{"i":%d}`, i)})
		require.NoError(t, err)
		ids[i] = res.ExecutionID
	}
	var mu sync.Mutex
	byWorker := map[string]int{}
	share := func(name string) worker.Handler {
		return func(ctx context.Context, _ *worker.Task) (any, error) {
			mu.Lock()
			byWorker[name]++
			mu.Unlock()
			select {
			case <-time.After(40 * time.Millisecond):
			case <-ctx.Done():
			}
			return map[string]string{"by": name}, nil
		}
	}
	onLeader := startWorker(t, leader.URL, token, worker.Config{WorkerID: "on-leader", Concurrency: 2},
		map[string]worker.Handler{"share": share("on-leader")})
	startWorker(t, follower.URL, token, worker.Config{WorkerID: "on-follower", Concurrency: 2},
		map[string]worker.Handler{"share": share("on-follower")})
	for _, id := range ids {
		waitState(t, c, id, ff.PublicCompleted)
	}
	mu.Lock()
	require.Positive(t, byWorker["on-leader"], "%v", byWorker)
	require.Positive(t, byWorker["on-follower"], "%v", byWorker)
	require.Equal(t, n, byWorker["on-leader"]+byWorker["on-follower"], "each execution ran once")
	mu.Unlock()

	// Crash the leader. The follower takes over.
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, onLeader.Stop(stopCtx))
	killedAt := time.Now()
	leader.kill()
	require.Eventually(t, func() bool { return scrape(t, follower.URL)[leaderGauge] == 1 },
		2*time.Second, 10*time.Millisecond, "the follower takes over")
	took := time.Since(killedAt)
	t.Logf("takeover after SIGKILL: %v (leader retry interval %v)", took, retry)
	require.LessOrEqual(t, took, retry+3*time.Second, "takeover within a retry interval plus scheduling slack")
	require.Equal(t, 1, follower.logs.count("reconciler leadership acquired"))

	// The new leader's reconcilers work: an abandoned lease is expired
	// and the execution is reclaimed by the worker on the survivor.
	fc := newClient(follower.URL, token)
	res, err := fc.CreateExecution(context.Background(), backend.CreateExecutionParams{Kind: "abandoned", Lane: "orphans", Input: []byte(`{}`)})
	require.NoError(t, err)
	tasks, err := fc.Claim(context.Background(), backend.ClaimParams{WorkerID: "crasher", Lanes: []string{"orphans"}, LeaseTTL: 200 * time.Millisecond})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	startWorker(t, follower.URL, token, worker.Config{WorkerID: "orphan-taker", Lanes: []string{"orphans"}},
		map[string]worker.Handler{"abandoned": func(_ context.Context, t *worker.Task) (any, error) {
			return map[string]any{"attempt": t.AttemptIndex, "type": t.AttemptType}, nil
		}})
	waitState(t, fc, res.ExecutionID, ff.PublicCompleted)
	out, err := fc.GetExecutionResult(context.Background(), backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"attempt": float64(1), "type": "reclaim"}, resultOf(t, out))
}
