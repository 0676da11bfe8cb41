package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

func TestOpenRefusesUnmigratedSchema(t *testing.T) {
	url := pgtest.Schema(t)
	_, err := postgres.Open(context.Background(), postgres.Options{URL: url})
	require.Error(t, err)
	require.ErrorIs(t, err, ff.ErrSchemaMismatch)
	require.Contains(t, err.Error(), "flowfabric migrate up")

	status, err := postgres.MigrationStatusURL(context.Background(), url)
	require.NoError(t, err)
	require.NotEmpty(t, status)
	require.False(t, status[0].Applied)

	applied, err := postgres.MigrateURL(context.Background(), url)
	require.NoError(t, err)
	require.Equal(t, postgres.LatestVersion(), applied[len(applied)-1])
	b, err := postgres.Open(context.Background(), postgres.Options{URL: url})
	require.NoError(t, err)
	defer b.Close()
	status, err = b.MigrationStatus(context.Background())
	require.NoError(t, err)
	for _, s := range status {
		require.True(t, s.Applied, "migration %d", s.Version)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	b, url := openFresh(t, nil)
	_, err := b.Pool().Exec(context.Background(), "INSERT INTO ff_schema_migrations (version, name) VALUES ($1, 'future')", postgres.LatestVersion()+1)
	require.NoError(t, err)
	_, err = postgres.Open(context.Background(), postgres.Options{URL: url, AutoMigrate: true})
	require.Error(t, err)
	require.ErrorIs(t, err, ff.ErrSchemaMismatch)
	require.Contains(t, err.Error(), "newer than this build")
}

func TestConcurrentMigratorsApplyOnce(t *testing.T) {
	url := pgtest.Schema(t)
	var wg sync.WaitGroup
	results := make([][]int, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = postgres.MigrateURL(context.Background(), url)
		}(i)
	}
	wg.Wait()
	total := 0
	for i := range results {
		require.NoError(t, errs[i])
		total += len(results[i])
	}
	require.Equal(t, postgres.LatestVersion(), total, "each migration applied exactly once")
}

func TestLeaderElection(t *testing.T) {
	ctx := context.Background()
	a, url := openFresh(t, nil)
	b, err := postgres.Open(ctx, postgres.Options{URL: url})
	require.NoError(t, err)
	defer b.Close()

	la, err := a.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.NotNil(t, la)
	held, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.Nil(t, held, "a second leader while the first holds the lock")
	other, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "something-else"})
	require.NoError(t, err)
	require.NotNil(t, other, "names elect independently")
	require.NoError(t, other.Release(ctx))

	require.NoError(t, la.Release(ctx))
	select {
	case <-la.Lost():
	default:
		t.Fatal("Lost not closed after Release")
	}
	lb, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.NotNil(t, lb, "takes over after release")

	// Killing the leader's session ends leadership.
	// Only the session holding this schema's key is terminated, so tests
	// running in parallel elsewhere keep their leaders.
	_, err = a.Pool().Exec(ctx, `WITH k AS (
		SELECT ('x' || substr(md5('flowfabric:leader:' || current_schema() || ':reconcilers'), 1, 16))::bit(64)::bigint AS key)
		SELECT pg_terminate_backend(l.pid) FROM pg_locks l, k
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.classid::bigint = (k.key >> 32) & 4294967295 AND l.objid::bigint = k.key & 4294967295`)
	require.NoError(t, err)
	select {
	case <-lb.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("leadership not reported lost after the session died")
	}
	la2, err := a.TryAcquireLeader(ctx, backend.LeaderParams{Name: "reconcilers"})
	require.NoError(t, err)
	require.NotNil(t, la2)
	require.NoError(t, la2.Release(ctx))
}

func TestCrossProcessWakeup(t *testing.T) {
	ctx := context.Background()
	a, url := openFresh(t, nil)
	b, err := postgres.Open(ctx, postgres.Options{URL: url})
	require.NoError(t, err)
	defer b.Close()
	ch, cancel := a.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{"wake"}})
	defer cancel()
	// The listener connects asynchronously; keep creating until a
	// wake-up arrives through the database (b and a share no memory).
	deadline := time.After(15 * time.Second)
	for {
		_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "wake", Kind: "k"})
		require.NoError(t, err)
		select {
		case <-ch:
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no wake-up crossed from b to a")
		}
	}
}

// Migration 2 gives the idempotency keys written under version 1 the
// default dedup window from their creation.
func TestMigration2KeysGetTheDefaultWindow(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Schema(t)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	ms, err := postgres.Migrations()
	require.NoError(t, err)
	require.Equal(t, 2, ms[1].Version)
	_, err = pool.Exec(ctx, ms[0].SQL)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE TABLE ff_schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO ff_schema_migrations (version, name) VALUES (1, 'init')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO ff_execution (id, partition, lane, kind, priority, cap_sig, idempotency_key,
		lifecycle_phase, ownership_state, eligibility_state, blocking_reason, terminal_outcome, attempt_state,
		public_state, ready, created_at_ms, updated_at_ms, input)
		SELECT '{fp:1}:' || gen_random_uuid(), 1, 'l', 'k', 0, 0, k, 'runnable', 'unowned', 'eligible_now',
			'waiting_for_worker', 'none', 'pending_first_attempt', 'waiting', true, 5000, 5000, '\x'::bytea
		FROM unnest(ARRAY['old-key', '']) k`)
	require.NoError(t, err)

	applied, err := postgres.MigrateURL(ctx, url)
	require.NoError(t, err)
	require.Equal(t, 2, applied[0])
	rows, err := pool.Query(ctx, `SELECT idempotency_key, idempotency_expires_at_ms FROM ff_execution ORDER BY 1`)
	require.NoError(t, err)
	got := map[string]int64{}
	var (
		key     string
		expires int64
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &expires}, func() error { got[key] = expires; return nil })
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"old-key": 5000 + ff.DefaultDedupWindowMs, "": 0}, got)
}
