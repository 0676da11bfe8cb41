package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// store is one real backend driven by a fake clock.
type store struct {
	b     backend.Backend
	clock *clock.Fake
}

type opener func(t *testing.T) store

func openSQLite(t *testing.T) store {
	fake := clock.NewFake(time.UnixMilli(1_700_000_000_000))
	ctx := context.Background()
	b, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "ff.db"), Clock: fake, AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return store{b, fake}
}

func openPostgres(t *testing.T) store {
	fake := clock.NewFake(time.UnixMilli(1_700_000_000_000))
	url := pgtest.Schema(t)
	b, err := postgres.Open(context.Background(), postgres.Options{URL: url, Clock: fake, AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return store{b, fake}
}

func eachBackend(t *testing.T, f func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); f(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); f(t, openPostgres) })
}

func create(t *testing.T, s store, p backend.CreateExecutionParams) ff.ExecutionID {
	t.Helper()
	if p.Kind == "" {
		p.Kind = "test.job"
	}
	if p.Input == nil {
		p.Input = []byte(`{}`)
	}
	r, err := s.b.CreateExecution(context.Background(), p)
	require.NoError(t, err)
	return r.ExecutionID
}

func claim(t *testing.T, s store, ttlMs int64) []backend.ClaimedTask {
	t.Helper()
	tasks, err := s.b.Claim(context.Background(), backend.ClaimParams{WorkerID: "w1", LeaseTTL: time.Duration(ttlMs) * time.Millisecond, Max: 10})
	require.NoError(t, err)
	return tasks
}

func describe(t *testing.T, s store, id ff.ExecutionID) backend.ExecutionSnapshot {
	t.Helper()
	snap, err := s.b.DescribeExecution(context.Background(), backend.DescribeExecutionParams{ExecutionID: id})
	require.NoError(t, err)
	return snap
}

func TestLeaseExpiryRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		r := &leaseExpiry{s.b, 100}
		id := create(t, s, backend.CreateExecutionParams{})
		tasks := claim(t, s, 1000)
		require.Len(t, tasks, 1)

		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a live lease is left alone")

		s.clock.Advance(1500 * time.Millisecond)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		snap := describe(t, s, id)
		require.Equal(t, ff.OwnershipLeaseExpired, snap.StateVector.OwnershipState)

		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "an expired lease is marked once")

		again := claim(t, s, 1000)
		require.Len(t, again, 1, "the expired execution is reclaimable")
		require.Equal(t, id, again[0].ExecutionID)
		require.Equal(t, uint32(1), again[0].AttemptIndex)
		require.Equal(t, ff.AttemptReclaim, again[0].AttemptType)
	})
}

func TestAttemptTimeoutRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		r := &attemptTimeout{s.b, 100}
		timeout := int64(500)
		id := create(t, s, backend.CreateExecutionParams{Policy: &ff.ExecutionPolicy{
			Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: &timeout}}})
		other := create(t, s, backend.CreateExecutionParams{})
		require.Len(t, claim(t, s, 60_000), 2)

		s.clock.Advance(400 * time.Millisecond)
		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		s.clock.Advance(200 * time.Millisecond)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, ff.PublicExpired, describe(t, s, id).PublicState)
		require.Equal(t, ff.PublicActive, describe(t, s, other).PublicState, "no timeout, no expiry")
	})
}

func TestExecutionDeadlineRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		r := &executionDeadline{s.b, 100}
		now := s.clock.Now().UnixMilli()
		waiting := create(t, s, backend.CreateExecutionParams{DeadlineAt: ff.TimeFromMs(now + 1000)})
		later := create(t, s, backend.CreateExecutionParams{DeadlineAt: ff.TimeFromMs(now + 60_000)})

		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		s.clock.Advance(time.Second)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, ff.PublicExpired, describe(t, s, waiting).PublicState)
		require.Equal(t, ff.PublicWaiting, describe(t, s, later).PublicState)
	})
}

func TestDelayedPromoterRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		r := &delayedPromoter{s.b, 2}
		now := s.clock.Now().UnixMilli()
		var ids []ff.ExecutionID
		for range 3 {
			ids = append(ids, create(t, s, backend.CreateExecutionParams{DelayUntil: ff.TimeFromMs(now + 1000)}))
		}
		require.Equal(t, ff.PublicDelayed, describe(t, s, ids[0]).PublicState)

		s.clock.Advance(2 * time.Second)
		require.Empty(t, claim(t, s, 1000), "due work is claimable only after promotion")

		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n, "one sweep is bounded by the batch")
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		for _, id := range ids {
			require.Equal(t, ff.PublicWaiting, describe(t, s, id).PublicState)
		}
		require.Len(t, claim(t, s, 1000), 3)
	})
}

// TestSupervisorDrivesSweeps runs the whole supervisor on a real backend:
// a claimed execution whose lease runs out is made reclaimable without
// calling any reconciler by hand.
func TestSupervisorDrivesSweeps(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		id := create(t, s, backend.CreateExecutionParams{})
		require.Len(t, claim(t, s, 1000), 1)
		obs := newSweeps()
		sup, err := New(s.b, Config{LeaseExpiryInterval: 20 * time.Millisecond, LeaderRetryInterval: 20 * time.Millisecond,
			Observer: obs})
		require.NoError(t, err)
		require.NoError(t, sup.Start(context.Background()))
		defer stop(t, sup)
		s.clock.Advance(2 * time.Second)
		// Sweeps come every 20ms; the first to run after the clock moved
		// expires the lease.
		for expired := 0; expired == 0; {
			o := obs.next(t, "lease_expiry")
			require.NoError(t, o.err)
			expired = o.n
		}
		require.Equal(t, ff.OwnershipLeaseExpired, describe(t, s, id).StateVector.OwnershipState)
		require.True(t, sup.Leading())
	})
}
