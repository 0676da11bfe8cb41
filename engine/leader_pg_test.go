package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// elector is a supervisor's backend as the test sees it: it reports every
// leadership change (as an Observer) and counts failed acquisitions, so
// the tests wait on those events instead of sleeping.
type elector struct {
	backend.Maintenance
	leader chan bool // ObserveLeader events

	mu     sync.Mutex
	misses int           // TryAcquireLeader calls that found the lease taken
	missed chan struct{} // closed and replaced at each miss
}

func newElector(m backend.Maintenance) *elector {
	return &elector{Maintenance: m, leader: make(chan bool, 64), missed: make(chan struct{})}
}

func (e *elector) TryAcquireLeader(ctx context.Context, p backend.LeaderParams) (backend.LeaderLease, error) {
	l, err := e.Maintenance.TryAcquireLeader(ctx, p)
	if err == nil && l == nil {
		e.mu.Lock()
		e.misses++
		close(e.missed)
		e.missed = make(chan struct{})
		e.mu.Unlock()
	}
	return l, err
}

func (e *elector) Observe(string, int, error, time.Duration) {}

func (e *elector) ObserveLeader(held bool) { e.leader <- held }

// waitMisses waits until e has failed to acquire leadership n times.
func (e *elector) waitMisses(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		misses, missed := e.misses, e.missed
		e.mu.Unlock()
		if misses >= n {
			return
		}
		select {
		case <-missed:
		case <-timeout:
			t.Fatalf("%d failed acquisitions, want %d", misses, n)
		}
	}
}

func (e *elector) missCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.misses
}

// next waits for e's next leadership change.
func (e *elector) next(t *testing.T) bool {
	t.Helper()
	select {
	case held := <-e.leader:
		return held
	case <-time.After(10 * time.Second):
		t.Fatal("no leadership change")
		return false
	}
}

// candidate is a supervisor and its elector.
type candidate struct {
	sup *Supervisor
	e   *elector
}

// twoSupervisors starts two supervisors, each over its own backend (its
// own pool), on one Postgres schema.
func twoSupervisors(t *testing.T) (url string, a, b candidate) {
	url = pgtest.Schema(t)
	var cs [2]candidate
	for i := range cs {
		pg, err := postgres.Open(context.Background(), postgres.Options{URL: url, AutoMigrate: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = pg.Close() })
		e := newElector(pg)
		sup, err := New(e, Config{LeaderRetryInterval: 20 * time.Millisecond, Observer: e})
		require.NoError(t, err)
		require.NoError(t, sup.Start(context.Background()))
		t.Cleanup(func() { stop(t, sup) })
		cs[i] = candidate{sup, e}
	}
	return url, cs[0], cs[1]
}

// leader waits until one of a, b leads and returns it first.
func leader(t *testing.T, a, b candidate) (lead, follow candidate) {
	t.Helper()
	select {
	case held := <-a.e.leader:
		require.True(t, held)
		lead, follow = a, b
	case held := <-b.e.leader:
		require.True(t, held)
		lead, follow = b, a
	case <-time.After(10 * time.Second):
		t.Fatal("nobody leads")
	}
	require.True(t, lead.sup.Leading())
	return lead, follow
}

func TestPostgresOneLeaderAndHandOverOnStop(t *testing.T) {
	t.Parallel()
	_, a, b := twoSupervisors(t)
	lead, follow := leader(t, a, b)
	// The follower keeps retrying but never leads while the lock is held.
	first := follow.e.missCount() + 1
	for n := first; n < first+5; n++ {
		follow.e.waitMisses(t, n)
		require.True(t, lead.sup.Leading())
		require.False(t, follow.sup.Leading())
	}
	stop(t, lead.sup)
	require.False(t, lead.sup.Leading())
	require.False(t, lead.e.next(t))
	require.True(t, follow.e.next(t), "the follower takes over")
	require.True(t, follow.sup.Leading())
}

func TestPostgresHandOverWhenLeaderSessionDies(t *testing.T) {
	t.Parallel()
	url, a, b := twoSupervisors(t)
	lead, _ := leader(t, a, b)

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
	// supervisor leads again (either may win the race, and the follower
	// may win it before the old leader has noticed).
	var noticed, retaken bool
	for !noticed || !retaken {
		select {
		case held := <-lead.e.leader:
			noticed = noticed || !held
			retaken = retaken || (held && noticed)
		case held := <-other(lead, a, b).e.leader:
			retaken = retaken || held
		case <-time.After(15 * time.Second):
			t.Fatalf("leadership not handed over (noticed %v, retaken %v)", noticed, retaken)
		}
	}
	var holders int
	err = conn.QueryRow(ctx, `SELECT count(*)::int FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'flowfabric'
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = (
		      SELECT ('x' || substr(md5('flowfabric:leader:' || current_schema() || ':' || $1), 1, 16))::bit(64)::bigint)`,
		DefaultLeaderName).Scan(&holders)
	require.NoError(t, err)
	require.Equal(t, 1, holders)
	require.NotEqual(t, a.sup.Leading(), b.sup.Leading())
}

// other is whichever of a, b is not c.
func other(c, a, b candidate) candidate {
	if c.sup == a.sup {
		return b
	}
	return a
}
