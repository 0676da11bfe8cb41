package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// twoSupervisors starts two supervisors, each over its own backend (its
// own pool), on one Postgres schema.
func twoSupervisors(t *testing.T) (url string, a, b *Supervisor) {
	url = pgtest.Schema(t)
	var sups [2]*Supervisor
	for i := range sups {
		pg, err := postgres.Open(context.Background(), postgres.Options{URL: url, AutoMigrate: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = pg.Close() })
		sup, err := New(pg, Config{LeaderRetryInterval: 20 * time.Millisecond})
		require.NoError(t, err)
		require.NoError(t, sup.Start(context.Background()))
		t.Cleanup(func() { stop(t, sup) })
		sups[i] = sup
	}
	return url, sups[0], sups[1]
}

// leader waits until exactly one of a, b leads and returns it first.
func leader(t *testing.T, a, b *Supervisor) (lead, follow *Supervisor) {
	t.Helper()
	require.Eventually(t, func() bool { return a.Leading() != b.Leading() }, 10*time.Second, 5*time.Millisecond)
	if a.Leading() {
		return a, b
	}
	return b, a
}

func TestPostgresOneLeaderAndHandOverOnStop(t *testing.T) {
	t.Parallel()
	_, a, b := twoSupervisors(t)
	lead, follow := leader(t, a, b)
	// The follower keeps retrying but never leads while the lock is held.
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		require.True(t, lead.Leading())
		require.False(t, follow.Leading())
	}
	stop(t, lead)
	require.False(t, lead.Leading())
	require.Eventually(t, follow.Leading, 10*time.Second, 5*time.Millisecond, "the follower takes over")
}

func TestPostgresHandOverWhenLeaderSessionDies(t *testing.T) {
	t.Parallel()
	url, a, b := twoSupervisors(t)
	_, _ = leader(t, a, b)

	// Kill the leader's session from outside: the server drops its
	// advisory lock, and a supervisor acquires leadership again.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var killed int
	err = conn.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(l.pid))::int
		FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND s.datname = current_database()
		  AND s.application_name = 'flowfabric'
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = (
		      SELECT ('x' || substr(md5('flowfabric:leader:' || current_schema() || ':' || $1), 1, 16))::bit(64)::bigint)`,
		DefaultLeaderName).Scan(&killed)
	require.NoError(t, err)
	require.Equal(t, 1, killed, "exactly one session holds the leader lock")

	// The old leader notices within its session check; then exactly one
	// supervisor leads again (either may win the race).
	require.Eventually(t, func() bool {
		var holders int
		err := conn.QueryRow(ctx, `SELECT count(*)::int FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'flowfabric'
			  AND ((l.classid::bigint << 32) | l.objid::bigint) = (
			      SELECT ('x' || substr(md5('flowfabric:leader:' || current_schema() || ':' || $1), 1, 16))::bit(64)::bigint)`,
			DefaultLeaderName).Scan(&holders)
		return err == nil && holders == 1 && a.Leading() != b.Leading()
	}, 15*time.Second, 20*time.Millisecond)
}
